// Evaluates the JSONata envelope builders of storm's pipes (the `Output` of the
// Step Functions Pass state) the way Step Functions does: `$states.input` is the
// batch of DynamoDB stream records the pipe hands to its enrichment.
// stdin: [{"expression": "{% ... %}", "input": [...]}]; stdout: [result, ...].
// Needs the `jsonata` package: STORM_JSONATA (.ci/install.d/20-python-tools.sh),
// 2.0.x like Step Functions (no 2.1 operators). Step Functions adds `$parse` and
// does not offer `$eval`; both are emulated here.
"use strict";
const jsonata = require(process.env.STORM_JSONATA || "jsonata");

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const jobs = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const results = [];
  for (const job of jobs) {
    const text = job.expression.trim();
    if (!text.startsWith("{%") || !text.endsWith("%}")) {
      throw new Error(`not a JSONata expression: ${text.slice(0, 40)}`);
    }
    const expression = jsonata(text.slice(2, -2));
    expression.registerFunction("parse", (s) => JSON.parse(s), "<s:x>");
    expression.registerFunction("eval", () => {
      throw new Error("$eval is not available in Step Functions; use $parse");
    });
    results.push(await expression.evaluate({}, { states: { input: job.input } }));
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((e) => {
  process.stderr.write(`jsonata: ${e.message} (position ${e.position}, token ${e.token})\n`);
  process.exit(1);
});
