#!/usr/bin/env bash
# Sourced by .ci/run: the contract validators for tests/schemas.rs, from npm into
# .ci/contract-tools (gitignored): @asyncapi/parser (the reference AsyncAPI
# parser) and ajv with ajv-draft-04 and ajv-formats (JSON Schema draft-04).
# Exports STORM_NODE (node) and STORM_CONTRACT_TOOLS (the package.json of that
# npm project; the test scripts in tests/tools/asyncapi require from its
# node_modules).

# Pinned versions (all support Node 20).
ASYNCAPI_PARSER_VERSION="3.6.6"
AJV_VERSION="8.20.0"
AJV_DRAFT_04_VERSION="1.0.0"
AJV_FORMATS_VERSION="3.0.1"
CONTRACT_TOOLS="$CI_DIR/contract-tools" # gitignored

section "Contract tools: @asyncapi/parser $ASYNCAPI_PARSER_VERSION, ajv $AJV_VERSION (npm, into .ci/contract-tools)"
t0=$SECONDS
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "installing nodejs and npm"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/tmp/storm-ci-apt-node.log 2>&1 ||
        { cat /tmp/storm-ci-apt-node.log >&2; echo "apt-get install nodejs npm failed" >&2; exit 1; }
fi
contract_tool_version() { # $1 = package name; prints its installed version or nothing
    local pj="$CONTRACT_TOOLS/node_modules/$1/package.json"
    [ -f "$pj" ] && node -p "require(process.argv[1]).version" "$pj" 2>/dev/null || true
}
if [ -f "$CONTRACT_TOOLS/package.json" ] &&
    [ "$(contract_tool_version @asyncapi/parser)" = "$ASYNCAPI_PARSER_VERSION" ] &&
    [ "$(contract_tool_version ajv)" = "$AJV_VERSION" ] &&
    [ "$(contract_tool_version ajv-draft-04)" = "$AJV_DRAFT_04_VERSION" ] &&
    [ "$(contract_tool_version ajv-formats)" = "$AJV_FORMATS_VERSION" ]; then
    echo "already installed"
else
    mkdir -p "$CONTRACT_TOOLS"
    for attempt in 1 2 3; do
        if npm install --prefix "$CONTRACT_TOOLS" --save-exact --no-audit --no-fund \
            --loglevel=error --prefer-offline \
            "@asyncapi/parser@$ASYNCAPI_PARSER_VERSION" \
            "ajv@$AJV_VERSION" \
            "ajv-draft-04@$AJV_DRAFT_04_VERSION" \
            "ajv-formats@$AJV_FORMATS_VERSION"; then
            break
        fi
        if [ "$attempt" -eq 3 ]; then
            echo "npm install of the contract tools failed" >&2
            exit 1
        fi
        echo "npm install failed (attempt $attempt), retrying..." >&2
        sleep 5
    done
fi
# Smoke test: the packages load, and ajv-draft-04 resolves the same ajv.
NODE_PATH="$CONTRACT_TOOLS/node_modules" node -e '
  require("@asyncapi/parser");
  const Ajv = require("ajv-draft-04");
  require("ajv-formats")(new Ajv());
  console.log("contract tools load: ok");
'
STORM_NODE="$(command -v node)"
STORM_CONTRACT_TOOLS="$CONTRACT_TOOLS/package.json"
export STORM_NODE STORM_CONTRACT_TOOLS
echo "STORM_NODE=$STORM_NODE ($(node --version))"
echo "STORM_CONTRACT_TOOLS=$STORM_CONTRACT_TOOLS"
elapsed "$t0"
