#!/usr/bin/env bash
# Sourced by .ci/run: a Python venv at .ci/venv (gitignored) with the tools the
# routing tests drive: cfn-lint, LocalStack's rule engines (localstack-core, used
# offline, no Docker) and moto (in-process AWS). Exports STORM_PYTHON.

CFN_LINT_VERSION="1.58.0"
LOCALSTACK_CORE_VERSION="2026.3.0"
MOTO_VERSION="5.2.5"
PY_VENV="$CI_DIR/venv" # gitignored
PY_STAMP="$PY_VENV/.storm-pins"
PY_PINS="cfn-lint==$CFN_LINT_VERSION localstack-core==$LOCALSTACK_CORE_VERSION moto[cloudformation,events,sqs,sns,dynamodb,iam]==$MOTO_VERSION"

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
