"""Run the Keras peer (``benchmarks/peers/keras_script.py``) in a Python that has TensorFlow.

TensorFlow is not a dependency of lstm_ar (it would pin numpy and protobuf against JAX's), so
the Keras peer runs as a subprocess of whichever Python has it: ``--keras-python``, else
``$LSTM_AR_KERAS_PYTHON``, else this Python if it can import TensorFlow. To set one up::

    python3 -m venv .venv-keras && .venv-keras/bin/pip install tensorflow-cpu==2.21.0
    python -m benchmarks.train --keras-python .venv-keras/bin/python

``keras_python`` finds it (or says why there is none) and ``run_peer`` runs one measurement and
returns the JSON object the peer prints on its last line.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ENV = "LSTM_AR_KERAS_PYTHON"
PEER = Path(__file__).resolve().with_name("keras_script.py")  # run by path: that Python need not have lstm_ar


def keras_python(explicit: str | None = None) -> tuple[str | None, str]:
    """Find a Python with TensorFlow: ``explicit``, else ``$LSTM_AR_KERAS_PYTHON``, else this one.

    Args:
      explicit: a path or a command on PATH (``--keras-python``), or None.

    Returns:
      (path of that Python, how it was chosen), or (None, why there is none).
    """
    for source, path in (("--keras-python", explicit), (f"${ENV}", os.environ.get(ENV))):
        if path:
            found = path if Path(path).exists() else shutil.which(path)  # a path, or a command on PATH
            if not found:
                return None, f"{source} {path!r} does not exist"
            return found, source
    if importlib.util.find_spec("tensorflow") is not None:
        return sys.executable, "this python imports tensorflow"
    return None, (f"TensorFlow is not installed in this python; give one that has it with --keras-python "
                  f"or ${ENV} (e.g. python3 -m venv .venv-keras && .venv-keras/bin/pip install tensorflow-cpu)")


def run_peer(python: str, args: list[str], timeout_s: float = 3600.0) -> dict[str, Any]:
    """Run ``keras_script.py ARGS`` with ``python``; its last stdout line is the result (JSON).

    Args:
      python: the Python with TensorFlow (from ``keras_python``).
      args: the script's arguments, e.g. ``["train", "--seeds", "3"]``.
      timeout_s: seconds before the run is killed (``subprocess.TimeoutExpired``).

    Returns:
      The JSON object the script printed on its last line.

    Raises:
      RuntimeError: the script failed (with the tail of its error output) or printed nothing.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([python, str(PEER), *args], capture_output=True, text=True, timeout=timeout_s, env=env)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"Keras peer {' '.join(args)} failed (exit {done.returncode}):\n{tail}")
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"Keras peer {' '.join(args)} printed nothing")
    return json.loads(lines[-1])
