// Rust models from AsyncAPI documents with AsyncAPI Modelina, the reference
// generator: `node benches/modelina.mjs IN_DIR OUT_DIR`. Every
// `IN_DIR/<context>/asyncapi.yaml` storm generated becomes Rust models in
// `OUT_DIR/<context>/`. Used by benches/modelina.sh, which times it against storm.
import modelina from '@asyncapi/modelina'; // CommonJS: no named exports

import { parse } from 'yaml';
import { readdirSync, readFileSync, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const { RustFileGenerator, defaultRustRenderCompleteModelOptions } = modelina;

const [inputArg, outputArg] = process.argv.slice(2);
if (!inputArg || !outputArg) {
  console.error('usage: node modelina.mjs IN_DIR OUT_DIR');
  process.exit(2);
}
const [input, output] = [resolve(inputArg), resolve(outputArg)];
const contexts = readdirSync(input)
  .filter((c) => existsSync(join(input, c, 'asyncapi.yaml')))
  .sort();
if (contexts.length === 0) {
  console.error(`no ${input}/<context>/asyncapi.yaml files`);
  process.exit(2);
}
const generator = new RustFileGenerator();
let models = 0;
for (const context of contexts) {
  // The documents' payloads are `$ref`s to the schema files beside them, which
  // the parser resolves from the working directory.
  process.chdir(join(input, context));
  const doc = parse(readFileSync(join(input, context, 'asyncapi.yaml'), 'utf8'));
  const out = join(output, context);
  mkdirSync(out, { recursive: true });
  const generated = await generator.generateToFiles(
    doc,
    out,
    defaultRustRenderCompleteModelOptions,
    true,
  );
  models += generated.length;
}
console.log(`modelina: ${contexts.length} documents, ${models} models`);
