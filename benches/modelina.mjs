// Rust models from AsyncAPI documents with AsyncAPI Modelina, the reference
// generator: `node benches/modelina.mjs IN_DIR OUT_DIR`. Every
// `IN_DIR/<context>/asyncapi.yaml` storm generated becomes Rust models in
// `OUT_DIR/<context>/`. Used by benches/modelina.sh, which times it against storm.
import { RustFileGenerator, defaultRustOptions } from '@asyncapi/modelina';
import { parse } from 'yaml';
import { readdirSync, readFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node modelina.mjs IN_DIR OUT_DIR');
  process.exit(2);
}
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
  const doc = parse(readFileSync(join(input, context, 'asyncapi.yaml'), 'utf8'));
  const out = join(output, context);
  mkdirSync(out, { recursive: true });
  const generated = await generator.generateToFiles(doc, out, defaultRustOptions);
  models += generated.length;
}
console.log(`modelina: ${contexts.length} documents, ${models} models`);
