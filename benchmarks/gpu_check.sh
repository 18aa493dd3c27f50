#!/usr/bin/env bash
# The prepared check for a lent GPU machine (one NVIDIA GPU, e.g. an H200): at most 8 minutes, one
# JSON naming the device (benchmarks/gpu_check.py says what each part measures).
#
#   bash benchmarks/gpu_check.sh [OUT_JSON]           default benchmarks/results/gpu_check.json
#   bash benchmarks/gpu_check.sh --quick [OUT_JSON]   every part tiny, on the CPU, well under a minute
#
# Python: $PYTHON, else .venv/bin/python, else python3. lstm_ar and benchmarks are imported from
# this checkout (PYTHONPATH), installed or not. If that Python's JAX has no GPU, the project is
# installed with the cuda extra of pyproject.toml first (at most INSTALL_S seconds; a failed
# install is recorded in the JSON and the check runs on whatever JAX has). The parts get the
# rest of the 8 minutes, each with its own time box; a part that fails is recorded, not fatal.
set -u
cd "$(dirname "$0")/.."
TOTAL_S=470      # 8 minutes, less a margin for start-up and writing the JSON
INSTALL_S=150
QUICK=()
if [ "${1:-}" = "--quick" ]; then QUICK=(--quick); shift; fi
OUT=${1:-}
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
elif [ -x .venv/bin/python ]; then PY=.venv/bin/python
else PY=python3; fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=3
start=$(date +%s)
note="python: $PY ($("$PY" --version 2>&1))"
if [ ${#QUICK[@]} -eq 0 ]; then
  if "$PY" -c "import jax, sys; sys.exit(jax.default_backend() != 'gpu')" >/dev/null 2>&1; then
    note="$note; jax already has a GPU: $("$PY" -c "import jax; print(jax.__version__, jax.devices()[0].device_kind)" 2>&1 | tail -1)"
  else
    echo "gpu_check: JAX has no GPU in $PY: pip install -e '.[cuda]' (at most ${INSTALL_S} s)" >&2
    if timeout "$INSTALL_S" "$PY" -m pip install -q -e ".[cuda]" >/tmp/gpu_check_install.log 2>&1; then
      note="$note; installed .[cuda]: $("$PY" -c "import jax; print(jax.__version__, jax.default_backend())" 2>&1 | tail -1)"
    else
      note="$note; pip install -e .[cuda] failed or timed out (exit $?): $(tail -c 400 /tmp/gpu_check_install.log | tr '\n' ' ')"
    fi
  fi
fi
left=$(( TOTAL_S - ($(date +%s) - start) ))
[ "$left" -lt 60 ] && left=60
echo "gpu_check: $note; ${left} s for the parts" >&2
exec "$PY" -m benchmarks.gpu_check "${QUICK[@]}" ${OUT:+--out "$OUT"} --budget-s "$left" --install-note "$note"
