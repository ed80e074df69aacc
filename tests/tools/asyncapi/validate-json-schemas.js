#!/usr/bin/env node
// Checks JSON Schema files against the draft-04 metaschema (ajv-draft-04, strict
// mode, with ajv-formats) and runs sample instances through them.
// Usage: node validate-json-schemas.js MANIFEST.json, where the manifest is
//   [{ "schema": "path/to/X.schema.json",
//      "cases": [{ "name": "...", "valid": true|false, "instance": {...} }] }]
// Prints every failure; exits 1 when there is one.
// The packages come from NODE_PATH (.ci/contract-tools/node_modules).
'use strict';

const fs = require('fs');
const Ajv04 = require('ajv-draft-04');
const addFormats = require('ajv-formats');

function main(manifestPath) {
  if (!manifestPath) {
    console.error('usage: validate-json-schemas.js MANIFEST.json');
    return 2;
  }
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  const failures = [];
  let cases = 0;
  for (const entry of manifest) {
    // A fresh validator per schema: every file stands alone.
    const ajv = new Ajv04({ strict: true, allErrors: true, allowUnionTypes: true });
    addFormats(ajv);
    let schema;
    try {
      schema = JSON.parse(fs.readFileSync(entry.schema, 'utf8'));
    } catch (e) {
      failures.push(`${entry.schema}: not JSON: ${e.message}`);
      continue;
    }
    if (schema.$schema !== 'http://json-schema.org/draft-04/schema#') {
      failures.push(`${entry.schema}: $schema is ${JSON.stringify(schema.$schema)}, not draft-04`);
    }
    if (!ajv.validateSchema(schema)) {
      failures.push(`${entry.schema}: not a valid draft-04 schema: ${ajv.errorsText(ajv.errors)}`);
      continue;
    }
    let validate;
    try {
      validate = ajv.compile(schema);
    } catch (e) {
      failures.push(`${entry.schema}: does not compile: ${e.message}`);
      continue;
    }
    for (const c of entry.cases || []) {
      cases += 1;
      const ok = validate(c.instance);
      if (ok !== c.valid) {
        const why = ok ? 'accepted' : `rejected: ${ajv.errorsText(validate.errors)}`;
        failures.push(
          `${entry.schema}: case "${c.name}" should be ${c.valid ? 'valid' : 'invalid'} but was ${why}\n    instance: ${JSON.stringify(c.instance)}`,
        );
      }
    }
  }
  for (const f of failures) console.log(f);
  console.log(`${manifest.length} schemas, ${cases} sample cases, ${failures.length} failures`);
  return failures.length === 0 ? 0 : 1;
}

try {
  process.exit(main(process.argv[2]));
} catch (e) {
  console.error(e && e.stack ? e.stack : String(e));
  process.exit(1);
}
