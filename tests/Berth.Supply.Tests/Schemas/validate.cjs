// node validate.cjs SCHEMA DOCUMENT [REFERENCED-SCHEMA...]: exit 0 when valid, else the errors on stderr.
// Referenced schemas are registered under their file name next to SCHEMA's $id, which is how the
// CycloneDX snapshots refer to each other ("spdx.SNAPSHOT.schema.json").
const fs = require('fs');
const path = require('path');
const Ajv = require('ajv');
const addFormats = require('ajv-formats');
const [schemaPath, docPath, ...refs] = process.argv.slice(2);
const read = p => JSON.parse(fs.readFileSync(p, 'utf8'));
const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
addFormats(ajv);
// Formats ajv-formats does not implement; the schemas' other constraints still apply.
for (const f of ['iri-reference', 'idn-email', 'iri']) ajv.addFormat(f, true);
const main = read(schemaPath);
for (const r of refs) {
  const s = read(r);
  delete s.$id;
  ajv.addSchema(s, new URL(path.basename(r), main.$id || 'file:///').href);
}
const validate = ajv.compile(main);
if (!validate(read(docPath))) {
  console.error(JSON.stringify(validate.errors.slice(0, 20), null, 1));
  process.exit(1);
}
