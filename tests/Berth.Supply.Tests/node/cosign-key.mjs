// An independent reader and writer of cosign's encrypted key format (node's scrypt, tweetnacl's secretbox):
//   node cosign-key.mjs sign KEY PASSPHRASE PAYLOAD   → base64 ECDSA-SHA256 signature of PAYLOAD with the key in KEY
//   node cosign-key.mjs generate PREFIX PASSPHRASE     → PREFIX.key (ENCRYPTED SIGSTORE PRIVATE KEY) and PREFIX.pub
import fs from 'node:fs';
import crypto from 'node:crypto';
import nacl from 'tweetnacl';

const [op, a, passphrase, payload] = process.argv.slice(2);
const scrypt = (salt, p) => crypto.scryptSync(Buffer.from(passphrase, 'utf8'), salt, 32, { N: p.N, r: p.r, p: p.p, maxmem: 128 << 20 });

function pem(label, der) {
  const b64 = der.toString('base64').match(/.{1,64}/g).join('\n');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

if (op === 'sign') {
  const text = fs.readFileSync(a, 'utf8');
  const m = text.match(/-----BEGIN ENCRYPTED (SIGSTORE|COSIGN) PRIVATE KEY-----([\s\S]*?)-----END/);
  if (!m) throw new Error('not an encrypted cosign key');
  const env = JSON.parse(Buffer.from(m[2].replace(/\s+/g, ''), 'base64').toString('utf8'));
  if (env.kdf.name !== 'scrypt' || env.cipher.name !== 'nacl/secretbox') throw new Error('unexpected kdf or cipher');
  const key = scrypt(Buffer.from(env.kdf.salt, 'base64'), env.kdf.params);
  const pkcs8 = nacl.secretbox.open(new Uint8Array(Buffer.from(env.ciphertext, 'base64')), new Uint8Array(Buffer.from(env.cipher.nonce, 'base64')), new Uint8Array(key));
  if (!pkcs8) throw new Error('secretbox: wrong passphrase');
  const priv = crypto.createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  process.stdout.write(crypto.sign('sha256', fs.readFileSync(payload), priv).toString('base64'));
} else if (op === 'generate') {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const params = { N: 32768, r: 8, p: 1 };
  const salt = crypto.randomBytes(32);
  const nonce = crypto.randomBytes(24);
  const box = nacl.secretbox(new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' })), new Uint8Array(nonce), new Uint8Array(scrypt(salt, params)));
  const env = {
    kdf: { name: 'scrypt', params, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(box).toString('base64'),
  };
  fs.writeFileSync(`${a}.key`, pem('ENCRYPTED SIGSTORE PRIVATE KEY', Buffer.from(JSON.stringify(env))), { mode: 0o600 });
  fs.writeFileSync(`${a}.pub`, publicKey.export({ format: 'pem', type: 'spki' }));
} else {
  throw new Error(`unknown operation ${op}`);
}
