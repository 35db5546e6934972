// Verifies a sigstore bundle with a public key, as @sigstore/verify does for any client:
// node verify-bundle.mjs BUNDLE.json KEY.pub [ARTIFACT]  (prints the verified signer's hint, exits non-zero on failure)
import fs from 'node:fs';
import crypto from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';

const [bundlePath, keyPath, artifactPath] = process.argv.slice(2);
const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
const hint = bundle.verificationMaterial.content.publicKey.hint;
const der = crypto.createPublicKey(fs.readFileSync(keyPath, 'utf8')).export({ format: 'der', type: 'spki' });
const emptyRoot = { mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], ctlogs: [], certificateAuthorities: [], timestampAuthorities: [] };
const trust = toTrustMaterial(emptyRoot, { [hint]: { rawBytes: der } });
// Offline: no transparency log, CT log or timestamp authority to count.
const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
const entity = toSignedEntity(bundle, artifactPath ? fs.readFileSync(artifactPath) : undefined);
verifier.verify(entity);
console.log(`verified: ${hint}`);
