#!/usr/bin/env bash
# Whole-process benchmarks of storm against the targets of issue 6:
#   bash benches/run.sh            # all figures (a few minutes)
#   RUNS=3 bash benches/run.sh     # quicker, noisier
#   SKIP_BUILD=1 BACKEND=kafka bash benches/run.sh
# Builds the release binary, generates the synthetic models M (50 contexts x 10
# aggregates) and L (200 x 10) with benches/gen_model.py, measures with hyperfine
# (installed from Debian when missing) and /usr/bin/time, and prints each figure
# next to its target. Benchmarks measure; nothing here fails on a missed target
# (the exit code is 0 unless a command itself fails). The per-stage figures are
# `cargo bench`; the comparison with AsyncAPI Modelina is benches/modelina.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS="${RUNS:-10}"
WORK="$ROOT/target/bench-models"
STORM="$ROOT/target/release/storm"
BACKEND="${BACKEND:-eventbridge}"
# The stamps storm keeps between runs (src/stamp.rs) stay with the benchmark.
export STORM_CACHE_DIR="$WORK/stamps"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
need_apt() { # $1 = command, $2 = Debian package
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "installing $2 (Debian)..."
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$2" >/dev/null ||
            { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$2" >/dev/null; }
    fi
}
need_apt hyperfine hyperfine
[ -x /usr/bin/time ] || need_apt /usr/bin/time time
need_apt python3 python3
need_apt jq jq

if [ -z "${SKIP_BUILD:-}" ]; then # SKIP_BUILD=1: measure the binary already built
    echo "==== building storm (release)"
    cargo build --release --quiet
fi
mkdir -p "$WORK"

echo "==== generating models M and L (benches/gen_model.py)"
for size in M L; do
    python3 benches/gen_model.py --size "$size" --out "$WORK/$size.storm"
    printf '%s: %s lines, %s bytes, %s events\n' "$size" \
        "$(wc -l <"$WORK/$size.storm")" "$(wc -c <"$WORK/$size.storm")" \
        "$(grep -cE '^ +event ' "$WORK/$size.storm")"
    # A model with errors would make every figure meaningless.
    "$STORM" check "$WORK/$size.storm" --quiet >/dev/null 2>&1 ||
        { echo "model $size does not check clean:"; "$STORM" check "$WORK/$size.storm"; exit 1; }
done

# mean seconds of one command, from hyperfine's JSON export
mean() { # $1 = name, rest = hyperfine options and command
    local name="$1"
    shift
    hyperfine --style basic --runs "$RUNS" --export-json "$WORK/$name.json" "$@" >"$WORK/$name.log" 2>&1 ||
        { cat "$WORK/$name.log"; return 1; }
    jq -r '.results[0].mean' "$WORK/$name.json"
}
# user + system CPU seconds of that command (close to the wall time on an idle
# machine; on a busy one it shows what storm itself costs)
cpu() { jq -r '.results[0].user + .results[0].system' "$WORK/$1.json"; }
# peak resident memory in MiB of one run
peak_mib() {
    /usr/bin/time -v "$@" >/dev/null 2>"$WORK/time.log" || true
    awk -F: '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$WORK/time.log"
}

echo "==== measuring ($RUNS runs each; backend $BACKEND; all targets)"
check_m=$(mean check-M --warmup 1 "$STORM check $WORK/M.storm --quiet")
check_l=$(mean check-L --warmup 1 "$STORM check $WORK/L.storm --quiet")

gen() { # $1 = size, $2 = out dir
    echo "$STORM generate $WORK/$1.storm --out $2 --backend $BACKEND --quiet"
}
# A fresh output directory each run. The last run's tree is moved aside, not
# deleted: on ext4 without a journal (this machine's disk) a file created within a
# minute of many deletions waits while the kernel skips recently freed inodes
# (`recently_deleted` in the profile), which would time `rm -rf` rather than storm
# or cp. The moved trees are deleted at the end; generating and copying right
# after a deletion are rows of their own (both slow down; cp more than storm).
TRASH="$WORK/trash"
mkdir -p "$TRASH"
# Each measured run starts with nothing left to write back (sync): the kernel's
# writeback of the runs before, 150-300 MB each, otherwise takes CPU from
# whichever run comes next, and from storm (two busy threads) more than from cp.
aside() { echo "[ ! -e $1 ] || mv $1 \$(mktemp -d -p $TRASH)/; sync"; }
for tree in out-M out-L copy-L; do sh -c "$(aside "$WORK/$tree")"; done
# The kernel skips an inode freed within the last 30 s (180 s while its inode
# table waits to be written back): after sync, 35 s clear what was deleted
# before this script (a run of it just before, say).
sleep 35
gen_m=$(mean gen-M --warmup 1 --prepare "$(aside "$WORK/out-M")" "$(gen M "$WORK/out-M")")
gen_l=$(mean gen-L --warmup 1 --prepare "$(aside "$WORK/out-L")" "$(gen L "$WORK/out-L")")
# Where one fresh generate of L spends its time and memory (src/timings.rs),
# taken here, before the deletions below slow the disk down.
sh -c "$(aside "$WORK/out-L")"
stages=$(STORM_TIMINGS=1 $(gen L "$WORK/out-L") 2>&1 >/dev/null | grep '^timing:' | sed 's/^timing: /  /')
# No-op: the tree from the last run is current, so nothing is written. One run
# more first, so that the stamp is older than the files by storm's racy margin.
$(gen L "$WORK/out-L") >/dev/null 2>&1
sleep 1.1
$(gen L "$WORK/out-L") >/dev/null 2>&1
noop_l=$(mean noop-L --warmup 1 "$(gen L "$WORK/out-L")")
# The same without a stamp (a fresh clone, a CI machine): contents are compared.
noop_cold_l=$(mean noop-cold-L --warmup 1 --prepare "rm -rf $WORK/stamps-cold" \
    "env STORM_CACHE_DIR=$WORK/stamps-cold $(gen L "$WORK/out-L")")
# The same tree copied with cp -r: what pure I/O of the output costs.
cp_l=$(mean cp-L --warmup 1 --prepare "$(aside "$WORK/copy-L")" "cp -r $WORK/out-L $WORK/copy-L")
# The ratio generate / cp -r, taken in pairs: one generate of L into a fresh
# folder, then one cp -r of that tree, RUNS times. The disk's speed drifts over
# minutes (cp -r of this tree took 0.59-1.1 s in one session on a calm disk), and
# the two means above are taken minutes apart; a pair shares the disk's state.
pairs=$(for _ in $(seq "$RUNS"); do
    sh -c "$(aside "$WORK/out-pair")"
    sh -c "$(aside "$WORK/copy-pair")"
    a=$(date +%s%N)
    # (set -e does not reach into $(...): a failure ends the loop by hand)
    $(gen L "$WORK/out-pair") >/dev/null 2>"$WORK/pair.log" || { cat "$WORK/pair.log" >&2; exit 1; }
    b=$(date +%s%N)
    cp -r "$WORK/out-pair" "$WORK/copy-pair" || exit 1
    c=$(date +%s%N)
    echo "$((b - a)) $((c - b))"
done)
echo "$pairs" >"$WORK/pairs.txt" # nanoseconds: generate, cp -r; a line per pair
# The median of the pairs' ratios (the verdict), the lowest and highest ratio
# of a pair, and the medians of generate and of cp -r.
read -r pair_gen pair_cp pair_ratio pair_low pair_high <<<"$(awk '
    { g[NR] = $1 / 1e9; c[NR] = $2 / 1e9; r[NR] = $1 / $2 }
    function median(a, n,   i, j, t) {
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    END {
        mg = median(g, NR); mc = median(c, NR); mr = median(r, NR)
        printf "%.3f %.3f %.2f %.2f %.2f\n", mg, mc, mr, r[1], r[NR]
    }' <<<"$pairs")"
sh -c "$(aside "$WORK/out-pair")"
sh -c "$(aside "$WORK/copy-pair")"
files_l=$(find "$WORK/out-L" -type f | wc -l)
bytes_l=$(du -sb "$WORK/out-L" | cut -f1)
# The same as a user who deletes the output and generates again at once.
gen_rm_l=$(mean gen-rm-L --warmup 1 --prepare "rm -rf $WORK/out-rm-L" "$(gen L "$WORK/out-rm-L")")
# And cp -r in the same state, so that the two can be compared there too.
cp_rm_l=$(mean cp-rm-L --warmup 1 --prepare "rm -rf $WORK/copy-rm-L" "cp -r $WORK/out-L $WORK/copy-rm-L")
rm -rf "$WORK/out-rm-L" "$WORK/copy-rm-L" "$TRASH"

# Watch: one-line edits of L, from the save to the summary line of the
# regeneration, end to end (debounce included). Two kinds, five saves each: a
# hotspot added to the first context, and a field added to an event of the
# middle context that the next context's read model consumes.
watch_out=$(python3 - "$STORM" "$WORK" "$BACKEND" <<'PY'
import os, subprocess, sys, time
storm, work, backend = sys.argv[1:]
d = os.path.join(work, "watch-L")
subprocess.run(["rm", "-rf", d], check=True)
os.makedirs(d)
model = open(os.path.join(work, "L.storm")).read()
open(os.path.join(d, "L.storm"), "w").write(model)
open(os.path.join(d, "storm.yaml"), "w").write(
    f"version: 1\nmodel: [L.storm]\nbackend: {backend}\nout: out\nlints: {{ hotspot: allow }}\n")
log = open(os.path.join(d, "watch.log"), "w+")
p = subprocess.Popen([storm, "watch"], cwd=d, stdout=subprocess.DEVNULL, stderr=log)
def runs():
    return open(log.name).read().count("generated into")
def wait(n, limit=300):
    end = time.time() + limit
    while runs() < n:
        if time.time() > end or p.poll() is not None:
            p.kill()
            sys.exit("watch did not regenerate: " + open(log.name).read()[-2000:])
        time.sleep(0.005)
def hotspot(i):
    at = model.index("{", model.index("\ncontext ")) + 1
    return model[:at] + f'\n  hotspot "benchmark edit {i}"' + model[at:]
contexts = [i for i in range(len(model)) if model.startswith("\ncontext ", i)]
middle = contexts[len(contexts) // 2]
def field(i):
    at = model.index("Activated version 2 enters Active {", middle)
    at = model.index("}", at)
    return model[:at] + f", benchmark_{i}: Int " + model[at:]
medians = []
try:
    wait(1)
    done = 1
    for edit in (hotspot, field):
        times = []
        for i in range(5):
            time.sleep(1.2)
            edited = edit(i)
            start = time.time()
            open(os.path.join(d, "L.storm"), "w").write(edited)
            done += 1
            wait(done)
            times.append(time.time() - start)
        times.sort()
        medians.append(times[len(times) // 2])
finally:
    p.kill()
print(" ".join(f"{m:.3f}" for m in medians))
PY
)
read -r watch_l watch_field_l <<<"$watch_out"
rm -rf "$WORK/watch-L"

rm -rf "$WORK/out-mem"
mem_check=$(peak_mib "$STORM" check "$WORK/L.storm" --quiet)
mem_gen=$(peak_mib $(gen L "$WORK/out-mem"))
rm -rf "$WORK/out-mem" "$WORK/copy-L"

# ---------------------------------------------------------------- report
verdict() { # $1 = awk condition on x
    awk -v x="$2" "BEGIN { exit !($1) }" && echo "ok" || echo "MISSED"
}
row() { # figure, measured, target, ok
    printf '| %-44s | %20s | %12s | %-6s |\n' "$1" "$2" "$3" "$4"
}
ms() { awk -v s="$1" 'BEGIN { printf "%.0f ms", s * 1000 }'; }
wall_cpu() { awk -v s="$1" -v c="$(cpu "$2")" 'BEGIN { printf "%.0f ms (cpu %.0f)", s * 1000, c * 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

r_cp=$(ratio "$gen_l" "$cp_l")
r_check=$(ratio "$check_l" "$check_m")
r_gen=$(ratio "$gen_l" "$gen_m")

echo
echo "machine: $(nproc) cores, $(awk -F: '/model name/ { print $2; exit }' /proc/cpuinfo | sed 's/^ *//'), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME")"
echo "storm: $(git rev-parse --short HEAD 2>/dev/null || echo '?') (release), backend $BACKEND, all targets"
echo "model L: $(wc -l <"$WORK/L.storm") lines, $(wc -c <"$WORK/L.storm") bytes; output $files_l files, $bytes_l bytes"
echo
row "figure" "measured" "target" "verdict"
row "--------------------------------------------" "--------------------" "------------" "------"
row "storm check L" "$(wall_cpu "$check_l" check-L)" "<= 500 ms" "$(verdict 'x <= 0.5' "$check_l")"
row "storm generate L (fresh output dir)" "$(wall_cpu "$gen_l" gen-L)" "<= 3000 ms" "$(verdict 'x <= 3' "$gen_l")"
row "  the same right after rm -rf of the last output" "$(wall_cpu "$gen_rm_l" gen-rm-L)" "(info)" ""
row "  cp -r right after rm -rf of its last copy" "$(wall_cpu "$cp_rm_l" cp-rm-L)" "(info)" ""
row "storm generate L, no-op (second run)" "$(wall_cpu "$noop_l" noop-L)" "<= 1000 ms" "$(verdict 'x <= 1' "$noop_l")"
row "  the same without a stamp (fresh clone)" "$(wall_cpu "$noop_cold_l" noop-cold-L)" "(info)" ""
row "watch L: hotspot added, save to regenerated" "$(ms "$watch_l")" "<= 1000 ms" "$(verdict 'x <= 1' "$watch_l")"
row "watch L: field added to a consumed event" "$(ms "$watch_field_l")" "<= 1000 ms" "$(verdict 'x <= 1' "$watch_field_l")"
row "peak memory, check L" "${mem_check} MiB" "<= 500 MiB" "$(verdict 'x <= 500' "$mem_check")"
row "peak memory, generate L" "${mem_gen} MiB" "<= 500 MiB" "$(verdict 'x <= 500' "$mem_gen")"
row "generate L / cp -r of its output, in pairs" "${pair_ratio}x" "<= 3x" "$(verdict 'x <= 3' "$pair_ratio")"
row "  medians: generate $(ms "$pair_gen"), cp -r $(ms "$pair_cp")" "pairs ${pair_low}-${pair_high}x" "(info)" ""
row "  from the means above (cp -r $(ms "$cp_l"))" "${r_cp}x" "(info)" ""
row "  the same, both right after rm -rf" "$(ratio "$gen_rm_l" "$cp_rm_l")x" "(info)" ""
row "growth: check L / check M ($(ms "$check_m"))" "${r_check}x" "<= 5x" "$(verdict 'x <= 5' "$r_check")"
row "growth: generate L / generate M ($(ms "$gen_m"))" "${r_gen}x" "<= 5x" "$(verdict 'x <= 5' "$r_gen")"
echo
echo "(wall: hyperfine means over $RUNS runs; cpu: user + system; raw JSON in $WORK/*.json, pairs in $WORK/pairs.txt."
echo " Verdicts are on wall time. Growth ratios and cp: wall. Modelina: benches/modelina.sh)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (figures are only meaningful on an idle machine)"

# ---------------------------------------------------------------- hostile inputs
# Every input of up to 64 KiB must check in well under a second (issue 6).
echo
echo "==== pathological inputs of at most 64 KiB (benches/pathological.py), one run each, cut at 20 s"
python3 benches/pathological.py "$WORK/pathological"
worst_s=0
worst_case=""
for f in "$WORK"/pathological/*.storm; do
    start=$(date +%s.%N)
    code=0
    timeout 20 "$STORM" check "$f" --quiet >/dev/null 2>&1 || code=$?
    secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.3f", e - s }')
    [ "$code" = 124 ] && secs="20.000"
    printf '  %-45s %8s s  exit %s%s\n' "$(basename "$f" .storm)" "$secs" "$code" "$([ "$code" = 124 ] && echo ' (killed: over 20 s)')"
    if awk -v a="$secs" -v b="$worst_s" 'BEGIN { exit !(a > b) }'; then
        worst_s=$secs
        worst_case=$(basename "$f" .storm)
    fi
done
row "slowest input of <= 64 KiB ($worst_case)" "$(ms "$worst_s")" "< 1000 ms" "$(verdict 'x < 1' "$worst_s")"
# The same inputs generated (those with errors stop after the check): every
# target, docs diagrams included, must stay as far from quadratic as the check.
worst_gen_s=0
worst_gen_case=""
rm -rf "$WORK/pathological-out"
for f in "$WORK"/pathological/*.storm; do
    # A folder of its own each: deleting one just before would time the
    # deletion's aftermath (see TRASH above).
    out="$WORK/pathological-out/$(basename "$f" .storm)"
    start=$(date +%s.%N)
    code=0
    timeout 20 "$STORM" generate "$f" --out "$out" --quiet >/dev/null 2>&1 || code=$?
    secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.3f", e - s }')
    [ "$code" = 124 ] && secs="20.000"
    if awk -v a="$secs" -v b="$worst_gen_s" 'BEGIN { exit !(a > b) }'; then
        worst_gen_s=$secs
        worst_gen_case=$(basename "$f" .storm)
        if [ "$code" = 124 ]; then worst_gen_case="$worst_gen_case, killed at 20 s"; fi
    fi
done
rm -rf "$WORK/pathological-out"
row "  generate, slowest ($worst_gen_case)" "$(ms "$worst_gen_s")" "(info)" ""

# ---------------------------------------------------------------- stages
echo
echo "==== stages of one fresh generate L (STORM_TIMINGS=1; render rows overlap: the targets run together)"
echo "$stages"
