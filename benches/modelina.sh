#!/usr/bin/env bash
# storm's whole `generate` side by side with AsyncAPI Modelina (npm
# @asyncapi/modelina, the reference generator of Rust models from AsyncAPI)
# producing Rust models for the same events: issue 6 asks storm to be >= 10x faster.
#   bash benches/modelina.sh        # SIZE=M by default (Modelina takes ~3 min on it);
#                                   # SIZE=L for the big one, MODELINA_RUNS=3 for more runs
# Modelina reads the AsyncAPI documents storm writes (schemas/<context>/asyncapi.yaml),
# so it sees exactly the events storm generates code for; storm's figure is its whole
# run (parse, check, every target, writing), Modelina's only the Rust models.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SIZE="${SIZE:-M}"
RUNS="${RUNS:-5}"
MODELINA_VERSION="5.10.1"
YAML_VERSION="2.9.1"
WORK="$ROOT/target/bench-models"
TOOLS="$ROOT/target/bench-tools/modelina"
STORM="$ROOT/target/release/storm"
export STORM_CACHE_DIR="$WORK/stamps" # storm's stamps (src/stamp.rs) stay with the benchmark

command -v hyperfine >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null; }
command -v jq >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null; }
if [ "$(node -p "require('$TOOLS/node_modules/@asyncapi/modelina/package.json').version" 2>/dev/null)" != "$MODELINA_VERSION" ]; then
    echo "installing @asyncapi/modelina@$MODELINA_VERSION into $TOOLS"
    mkdir -p "$TOOLS"
    npm install --prefix "$TOOLS" --save-exact --no-audit --no-fund --loglevel=error \
        "@asyncapi/modelina@$MODELINA_VERSION" "yaml@$YAML_VERSION"
fi
cp benches/modelina.mjs "$TOOLS/modelina.mjs" # resolves its imports from $TOOLS

cargo build --release --quiet
mkdir -p "$WORK"
python3 benches/gen_model.py --size "$SIZE" --out "$WORK/$SIZE.storm"
OUT="$WORK/modelina-storm-$SIZE"
rm -rf "$OUT"
"$STORM" generate "$WORK/$SIZE.storm" --out "$OUT" --backend eventbridge --quiet
if ! ls "$OUT"/schemas/*/asyncapi.yaml >/dev/null 2>&1; then
    echo "storm wrote no schemas/<context>/asyncapi.yaml: the schemas target is needed for this comparison" >&2
    exit 1
fi
events=$(find "$OUT/schemas" -name '*.schema.json' | wc -l)

# Modelina takes minutes on M (one run is plenty next to a 10x margin); storm is
# timed over RUNS runs after a warm-up, from an empty output directory each time.
hyperfine --style basic --runs "$RUNS" --warmup 1 --export-json "$WORK/modelina-storm-$SIZE.json" \
    --prepare "rm -rf $WORK/modelina-storm-run" \
    -n storm "$STORM generate $WORK/$SIZE.storm --out $WORK/modelina-storm-run --backend eventbridge --quiet"
hyperfine --style basic --runs "${MODELINA_RUNS:-1}" --export-json "$WORK/modelina-$SIZE.json" \
    --prepare "rm -rf $WORK/modelina-out" \
    -n modelina "node $TOOLS/modelina.mjs $OUT/schemas $WORK/modelina-out"
storm_s=$(jq -r '.results[0].mean' "$WORK/modelina-storm-$SIZE.json")
modelina_s=$(jq -r '.results[0].mean' "$WORK/modelina-$SIZE.json")
speedup=$(awk -v a="$modelina_s" -v b="$storm_s" 'BEGIN { printf "%.1f", a / b }')
verdict=$(awk -v x="$speedup" 'BEGIN { print (x >= 10 ? "ok" : "MISSED") }')
echo
echo "model $SIZE ($events event schemas):"
printf '| %-52s | %12s | %8s | %-6s |\n' "figure" "measured" "target" "verdict"
printf '| %-52s | %12s | %8s | %-6s |\n' \
    "storm generate (all targets) vs Modelina (Rust models)" "${speedup}x" ">= 10x" "$verdict"
awk -v s="$storm_s" -v m="$modelina_s" 'BEGIN { printf "storm %.0f ms, Modelina %.0f ms (hyperfine means)\n", s * 1000, m * 1000 }'
