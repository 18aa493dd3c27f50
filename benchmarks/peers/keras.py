"""Run the Keras peers (``benchmarks/peers/keras_script.py``) as subprocesses, one per backend.

Two peers run the same script, unchanged, on the two backends a Keras user can pick:

* ``keras``: Keras on TensorFlow. TensorFlow is not a dependency of lstm_ar (it would pin numpy
  and protobuf against JAX's), so it runs in whichever Python has it: ``--keras-python``, else
  ``$LSTM_AR_KERAS_PYTHON``, else this Python if it can import TensorFlow. To set one up::

      python3 -m venv .venv-keras && .venv-keras/bin/pip install tensorflow-cpu==2.21.0
      python -m benchmarks.train --keras-python .venv-keras/bin/python

* ``keras_jax``: Keras 3 on the JAX backend (``KERAS_BACKEND=jax``, no TensorFlow), in this
  Python (``pip install '.[keras]'``), as a subprocess: the benchmark's own JAX (its devices and
  flags) is untouched.

``find_python`` finds the Python for a peer (or says why there is none) and ``run_peer`` runs one
measurement and returns the JSON object the script prints on its last line.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

ENV = "LSTM_AR_KERAS_PYTHON"
PEER = Path(__file__).resolve().with_name("keras_script.py")
ROOT = PEER.parents[2]
# peer name -> the KERAS_BACKEND it runs on
BACKENDS = {"keras": "tensorflow", "keras_jax": "jax"}
# Runs the script by path without putting its folder first on the import path (where this
# module, keras.py, would shadow the keras package); that Python need not have lstm_ar.
_LAUNCH = "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"


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


def keras_jax_python() -> tuple[str | None, str]:
    """This Python, if it has Keras 3 and JAX (the ``keras_jax`` peer runs there with ``KERAS_BACKEND=jax``).

    Returns:
      (``sys.executable``, how it was chosen), or (None, why the peer cannot run).
    """
    if importlib.util.find_spec("keras") is None:
        return None, "keras is not installed in this python (pip install '.[keras]': keras==3.15.1)"
    version = metadata.version("keras")
    if int(version.split(".")[0]) < 3:
        return None, f"keras {version} has no JAX backend (Keras 3 needed: pip install '.[keras]')"
    if importlib.util.find_spec("jax") is None:
        return None, "jax is not installed in this python"
    return sys.executable, f"this python, keras {version}, KERAS_BACKEND=jax"


def find_python(peer: str, explicit: str | None = None) -> tuple[str | None, str]:
    """The Python a Keras peer runs in.

    Args:
      peer: ``"keras"`` (TensorFlow) or ``"keras_jax"``.
      explicit: ``--keras-python`` (the TensorFlow peer only).

    Returns:
      (path of that Python, how it was chosen), or (None, why there is none).

    Raises:
      ValueError: an unknown peer.
    """
    if peer not in BACKENDS:
        raise ValueError(f"unknown Keras peer {peer!r}; valid: {', '.join(BACKENDS)}")
    return keras_python(explicit) if peer == "keras" else keras_jax_python()


def run_peer(python: str, args: list[str], timeout_s: float = 3600.0, backend: str = "tensorflow") -> dict[str, Any]:
    """Run ``keras_script.py ARGS`` with ``python`` and ``KERAS_BACKEND=backend``; its last stdout line is the result.

    Args:
      python: the Python (from ``find_python``).
      args: the script's arguments, e.g. ``["train", "--seeds", "3"]``.
      timeout_s: seconds before the run is killed (``subprocess.TimeoutExpired``).
      backend: ``"tensorflow"`` or ``"jax"`` (``BACKENDS[peer]``).

    Returns:
      The JSON object the script printed on its last line.

    Raises:
      ValueError: an unknown backend.
      RuntimeError: the script failed (with the tail of its error output) or printed nothing.
    """
    if backend not in BACKENDS.values():
        raise ValueError(f"backend must be one of {sorted(BACKENDS.values())}, got {backend!r}")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND=backend)
    done = subprocess.run([python, "-c", _LAUNCH, str(PEER), *args], capture_output=True, text=True,
                          timeout=timeout_s, env=env, cwd=ROOT)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"Keras peer ({backend}) {' '.join(args)} failed (exit {done.returncode}):\n{tail}")
    lines = done.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"Keras peer ({backend}) {' '.join(args)} printed nothing")
    return json.loads(lines[-1])
