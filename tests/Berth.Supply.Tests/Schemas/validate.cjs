// node validate.cjs SCHEMA DOCUMENT [REFERENCED-SCHEMA...]: exit 0 when valid, else the errors on stderr.
const fs = require('fs');
const Ajv = require('ajv');
const addFormats = require('ajv-formats');
const [schemaPath, docPath, ...refs] = process.argv.slice(2);
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
for (const r of refs) ajv.addSchema(JSON.parse(fs.readFileSync(r, 'utf8')));
const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaPath, 'utf8')));
if (!validate(JSON.parse(fs.readFileSync(docPath, 'utf8')))) {
  console.error(JSON.stringify(validate.errors.slice(0, 20), null, 1));
  process.exit(1);
}
