#!/usr/bin/env bash
# Sourced by .ci/run: a Python venv at .ci/venv (gitignored) with the tools the
# routing tests drive: cfn-lint, LocalStack's rule engines (localstack-core, used
# offline, no Docker) and moto (in-process AWS); and the JSONata engine (npm, into
# .ci/jsonata, gitignored) that evaluates the pipes' envelope builders the way Step
# Functions does; and checkov, the CloudFormation scanner every routing template
# must pass, in a venv of its own at .ci/checkov (gitignored): it pins boto3 to a
# version localstack-core cannot share. Exports STORM_PYTHON, STORM_JSONATA and
# STORM_CHECKOV.

CFN_LINT_VERSION="1.58.0"
LOCALSTACK_CORE_VERSION="2026.3.0"
MOTO_VERSION="5.2.5"
CHECKOV_VERSION="3.3.30"
# Step Functions runs JSONata 2.0.x (the 2.1 operators are not available there).
JSONATA_VERSION="2.0.6"
PY_VENV="$CI_DIR/venv" # gitignored
JSONATA_PREFIX="$CI_DIR/jsonata" # gitignored
JSONATA_JS="$JSONATA_PREFIX/node_modules/jsonata/jsonata.js"
PY_STAMP="$PY_VENV/.storm-pins"
CHECKOV_VENV="$CI_DIR/checkov" # gitignored
CHECKOV_STAMP="$CHECKOV_VENV/.storm-pins"
CHECKOV_PINS="checkov==$CHECKOV_VERSION"
PY_PINS="cfn-lint==$CFN_LINT_VERSION localstack-core[base-runtime]==$LOCALSTACK_CORE_VERSION moto[cloudformation,events,sqs,sns,dynamodb,iam]==$MOTO_VERSION"

# ---------------------------------------------------------------------------
section "Python tools (cfn-lint, localstack-core, moto) into .ci/venv"
t0=$SECONDS
if [ -x "$PY_VENV/bin/python" ] && [ -f "$PY_STAMP" ] && [ "$(cat "$PY_STAMP")" = "$PY_PINS" ]; then
    echo "already installed"
else
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get update -qq
        $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/tmp/storm-ci-apt.log 2>&1
    fi
    rm -rf "$PY_VENV"
    python3 -m venv "$PY_VENV"
    for attempt in 1 2 3; do
        # shellcheck disable=SC2086 # PY_PINS is a list of requirement words
        if "$PY_VENV/bin/pip" install --quiet --disable-pip-version-check $PY_PINS; then
            break
        fi
        if [ "$attempt" -eq 3 ]; then
            echo "pip install failed" >&2
            exit 1
        fi
        echo "pip install failed (attempt $attempt), retrying..." >&2
        sleep 5
    done
    printf '%s' "$PY_PINS" >"$PY_STAMP"
fi
"$PY_VENV/bin/python" - <<'PY'
import importlib.metadata as m
for p in ("cfn-lint", "localstack-core", "moto"):
    print(p, m.version(p))
from localstack.services.events.event_rule_engine import EventPatternCompiler  # noqa: F401
from localstack.services.sns.filter import FilterPolicyValidator  # noqa: F401
from moto import mock_aws  # noqa: F401
PY
export STORM_PYTHON="$PY_VENV/bin/python"
echo "STORM_PYTHON=$STORM_PYTHON"
elapsed "$t0"

# ---------------------------------------------------------------------------
section "JSONata $JSONATA_VERSION (npm, into .ci/jsonata)"
t0=$SECONDS
jsonata_version() {
    local pj="$JSONATA_PREFIX/node_modules/jsonata/package.json"
    [ -f "$pj" ] && node -p "require(process.argv[1]).version" "$pj" 2>/dev/null || true
}
if [ -f "$JSONATA_JS" ] && [ "$(jsonata_version)" = "$JSONATA_VERSION" ]; then
    echo "already installed"
else
    mkdir -p "$JSONATA_PREFIX"
    for attempt in 1 2 3; do
        if npm install --prefix "$JSONATA_PREFIX" --save-exact --no-audit --no-fund \
            --loglevel=error "jsonata@$JSONATA_VERSION"; then
            break
        fi
        if [ "$attempt" -eq 3 ]; then
            echo "npm install jsonata failed" >&2
            exit 1
        fi
        echo "npm install failed (attempt $attempt), retrying..." >&2
        sleep 5
    done
fi
node -e 'require(process.argv[1])("$x + 1").evaluate({}, { x: 1 }).then((v) => { if (v !== 2) process.exit(1); console.log("jsonata: ok"); })' "$JSONATA_JS"
export STORM_JSONATA="$JSONATA_JS"
echo "STORM_JSONATA=$STORM_JSONATA"
elapsed "$t0"

# ---------------------------------------------------------------------------
section "checkov $CHECKOV_VERSION into .ci/checkov"
t0=$SECONDS
if [ -x "$CHECKOV_VENV/bin/checkov" ] && [ -f "$CHECKOV_STAMP" ] && [ "$(cat "$CHECKOV_STAMP")" = "$CHECKOV_PINS" ]; then
    echo "already installed"
else
    rm -rf "$CHECKOV_VENV"
    python3 -m venv "$CHECKOV_VENV"
    for attempt in 1 2 3; do
        if "$CHECKOV_VENV/bin/pip" install --quiet --disable-pip-version-check "$CHECKOV_PINS"; then
            break
        fi
        if [ "$attempt" -eq 3 ]; then
            echo "pip install checkov failed" >&2
            exit 1
        fi
        echo "pip install failed (attempt $attempt), retrying..." >&2
        sleep 5
    done
    printf '%s' "$CHECKOV_PINS" >"$CHECKOV_STAMP"
fi
"$CHECKOV_VENV/bin/python" - <<'PY'
import importlib.metadata as m
print("checkov", m.version("checkov"))
from checkov.cloudformation.runner import Runner  # noqa: F401
PY
export STORM_CHECKOV="$CHECKOV_VENV/bin/checkov"
echo "STORM_CHECKOV=$STORM_CHECKOV"
elapsed "$t0"
