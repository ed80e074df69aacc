#!/usr/bin/env bash
# Sourced by .ci/run: Graphviz `dot` and mermaid-cli `mmdc` (driving Debian's
# Chromium) for the diagram tests. Exports STORM_DOT, STORM_MMDC, STORM_PUPPETEER_CONFIG.

# Pinned versions. mermaid-cli 12.x needs Node >= 22 and puppeteer 25 (also
# Node >= 22); the machine has Node 20, so stay on the 11.x line.
MERMAID_CLI_VERSION="11.17.0"
MERMAID_VERSION="11.17.2"
PUPPETEER_VERSION="24.43.1"
NPM_PREFIX="$CI_DIR/mermaid-cli" # gitignored
MMDC="$NPM_PREFIX/node_modules/.bin/mmdc"
PUPPETEER_CONFIG="$CI_DIR/puppeteer-config.json"

# ---------------------------------------------------------------------------
section "System packages (graphviz, chromium, fonts)"
t0=$SECONDS
APT_PACKAGES=(graphviz chromium fonts-liberation fonts-dejavu-core)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    # Debian bookworm's nodejs (18.19+) is enough for mermaid-cli 11.x.
    APT_PACKAGES+=(nodejs npm)
fi
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    [ "$status" = "install ok installed" ] || missing+=("$pkg")
done
if [ "${#missing[@]}" -eq 0 ]; then
    echo "already installed: ${APT_PACKAGES[*]}"
else
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    for attempt in 1 2 3; do
        if $SUDO apt-get update -qq &&
            $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/storm-ci-apt.log 2>&1; then
            break
        fi
        if [ "$attempt" -eq 3 ]; then
            cat /tmp/storm-ci-apt.log >&2 || true
            echo "apt-get install failed" >&2
            exit 1
        fi
        echo "apt-get failed (attempt $attempt), retrying..." >&2
        sleep 5
    done
fi
dot -V 2>&1
chromium --version 2>/dev/null
echo "node $(node --version), npm $(npm --version)"
elapsed "$t0"

# ---------------------------------------------------------------------------
section "mermaid-cli $MERMAID_CLI_VERSION (npm, into .ci/mermaid-cli)"
t0=$SECONDS
installed_version() { # $1 = package name; prints its installed version or nothing
    local pj="$NPM_PREFIX/node_modules/$1/package.json"
    [ -f "$pj" ] && node -p "require(process.argv[1]).version" "$pj" 2>/dev/null || true
}
if [ -x "$MMDC" ] &&
    [ "$(installed_version @mermaid-js/mermaid-cli)" = "$MERMAID_CLI_VERSION" ] &&
    [ "$(installed_version mermaid)" = "$MERMAID_VERSION" ] &&
    [ "$(installed_version puppeteer)" = "$PUPPETEER_VERSION" ]; then
    echo "already installed"
else
    mkdir -p "$NPM_PREFIX"
    # Never let puppeteer fetch its own browser: there is no network for that,
    # and we use Debian's /usr/bin/chromium instead.
    for attempt in 1 2 3; do
        if PUPPETEER_SKIP_DOWNLOAD=1 PUPPETEER_SKIP_CHROMIUM_DOWNLOAD=1 \
            npm install --prefix "$NPM_PREFIX" --save-exact --no-audit --no-fund \
            --loglevel=error --prefer-offline \
            "@mermaid-js/mermaid-cli@$MERMAID_CLI_VERSION" \
            "mermaid@$MERMAID_VERSION" \
            "puppeteer@$PUPPETEER_VERSION"; then
            break
        fi
        if [ "$attempt" -eq 3 ]; then
            echo "npm install failed" >&2
            exit 1
        fi
        echo "npm install failed (attempt $attempt), retrying..." >&2
        sleep 5
    done
fi
echo "mmdc $("$MMDC" --version)"
elapsed "$t0"

# ---------------------------------------------------------------------------
section "Puppeteer config"
if [ ! -f "$PUPPETEER_CONFIG" ]; then
    # Normally committed; recreate it if someone deleted it.
    cat >"$PUPPETEER_CONFIG" <<'EOF'
{
  "executablePath": "/usr/bin/chromium",
  "headless": "shell",
  "args": [
    "--no-sandbox",
    "--disable-setuid-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-quic",
    "--metrics-recording-only",
    "--mute-audio"
  ]
}
EOF
    echo "wrote $PUPPETEER_CONFIG"
fi
cat "$PUPPETEER_CONFIG"

export STORM_MMDC="$MMDC"
export STORM_PUPPETEER_CONFIG="$PUPPETEER_CONFIG"
STORM_DOT="$(command -v dot)"
export STORM_DOT
echo "STORM_MMDC=$STORM_MMDC"
echo "STORM_PUPPETEER_CONFIG=$STORM_PUPPETEER_CONFIG"
echo "STORM_DOT=$STORM_DOT"

# ---------------------------------------------------------------------------
section "Smoke test of the diagram tools"
t0=$SECONDS
smoke="$(mktemp -d)"
printf 'digraph G { subgraph cluster_a { label="A"; x; } x -> y; }\n' >"$smoke/g.dot"
dot -Tsvg "$smoke/g.dot" -o "$smoke/g.svg"
grep -q '<svg' "$smoke/g.svg"
echo "dot: ok"
printf 'flowchart LR\n  A["a #quot;b#quot; (c)"] --> B\n' >"$smoke/m.mmd"
timeout 120 "$MMDC" -q -p "$PUPPETEER_CONFIG" -i "$smoke/m.mmd" -o "$smoke/m.svg"
grep -q '<svg' "$smoke/m.svg"
echo "mmdc: ok"
rm -rf "$smoke"
elapsed "$t0"

