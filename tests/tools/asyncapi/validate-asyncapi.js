#!/usr/bin/env node
// Parses AsyncAPI documents with the reference parser (@asyncapi/parser) and
// prints every diagnostic of severity error. Exits 1 when a document has one, or
// could not be parsed at all. Usage: node validate-asyncapi.js FILE...
// Parsing is CPU-bound (about half a second a document), so many files are split
// over one worker process per CPU.
// The packages come from NODE_PATH (.ci/contract-tools/node_modules).
'use strict';

const { execFile } = require('child_process');
const os = require('os');

const SEVERITY = ['error', 'warning', 'info', 'hint'];

const SUMMARY = /^(\d+)\/(\d+) AsyncAPI documents valid$/m;

async function main(args) {
  const worker = args[0] === '--worker';
  const files = worker ? args.slice(1) : args;
  if (files.length === 0) {
    console.error('usage: validate-asyncapi.js FILE...');
    return 2;
  }
  const workers = Math.min(os.cpus().length, Math.ceil(files.length / 8));
  if (worker || workers <= 1) {
    return validate(files);
  }
  const chunks = Array.from({ length: workers }, (_, i) => files.filter((_, j) => j % workers === i));
  const outputs = await Promise.all(
    chunks.map(
      (chunk) =>
        new Promise((resolve) => {
          execFile(
            process.execPath,
            [__filename, '--worker', ...chunk],
            { maxBuffer: 64 * 1024 * 1024 },
            (err, stdout, stderr) => resolve({ err, out: stdout + stderr }),
          );
        }),
    ),
  );
  let valid = 0;
  let failed = false;
  for (const { err, out } of outputs) {
    const summary = SUMMARY.exec(out);
    process.stdout.write(out.replace(SUMMARY, '').replace(/\n+$/, '\n').replace(/^\n$/, ''));
    if (err || !summary) failed = true;
    if (summary) valid += Number(summary[1]);
  }
  console.log(`${valid}/${files.length} AsyncAPI documents valid`);
  return !failed && valid === files.length ? 0 : 1;
}

async function validate(files) {
  const { Parser, fromFile } = require('@asyncapi/parser');
  const parser = new Parser();
  let failed = 0;
  for (const file of files) {
    const { document, diagnostics } = await fromFile(parser, file).parse();
    const errors = diagnostics.filter((d) => d.severity === 0);
    if (!document || errors.length > 0) {
      failed += 1;
      console.log(`${file}: ${document ? 'invalid' : 'not parsed'}`);
      for (const d of errors) {
        const where = (d.path || []).join('/');
        console.log(`  ${SEVERITY[d.severity] || d.severity} ${d.code}: ${d.message} at /${where}`);
      }
    }
  }
  console.log(`${files.length - failed}/${files.length} AsyncAPI documents valid`);
  return failed === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err && err.stack ? err.stack : String(err));
    process.exit(1);
  },
);
