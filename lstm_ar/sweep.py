"""Run a per-seed function over many seeds in fixed-size chunks, with progress on stderr.

``run_seeds(fn, n_seeds)`` calls ``fn(keys)`` (a jitted, vmapped function of a key batch) on
chunks of ``chunk`` seeds; seed i's key is ``fold_in(root, i)`` (``lstm_ar.train.seed_keys``), so
results never depend on the chunk size. The last chunk is padded to the same size, so each
function compiles once, and the padding is cut off. Results come back as numpy arrays with the
seed as their leading axis.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Optional

import jax
import numpy as np

from lstm_ar.train import seed_keys


class Progress:
    """A one-line progress bar on stderr (a line per update when stderr is not a terminal)."""

    def __init__(self, total: int, desc: str = "", stream=None, enabled: bool = True):
        self.total, self.desc, self.done = total, desc, 0
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.start = time.perf_counter()
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        bar = "#" * filled + "-" * (width - filled)
        line = f"{self.desc:<28} [{bar}] {self.done}/{self.total} seeds  {elapsed:6.1f}s"
        end = "\r" if self._tty and self.done < self.total else "\n"
        self.stream.write(line + end)
        self.stream.flush()


def run_seeds(fn: Callable[[jax.Array], Any], n_seeds: int, *, root_seed: int = 0,
              chunk: Optional[int] = None, desc: str = "", progress: bool = True) -> Any:
    """Apply ``fn`` to the keys of seeds 0..n_seeds-1 in chunks; returns stacked numpy results."""
    if n_seeds < 1:
        raise ValueError(f"n_seeds must be >= 1, got {n_seeds}")
    chunk = n_seeds if chunk is None else int(chunk)
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    chunk = min(chunk, n_seeds)
    bar = Progress(n_seeds, desc, enabled=progress)
    parts = []
    for start in range(0, n_seeds, chunk):
        stop = min(start + chunk, n_seeds)
        keys = seed_keys(root_seed, start, start + chunk)  # padded to a full chunk
        out = jax.device_get(fn(keys))
        parts.append(jax.tree.map(lambda a, k=stop - start: np.asarray(a)[:k], out))
        bar.update(stop - start)
    return jax.tree.map(lambda *a: np.concatenate(a, axis=0), *parts)
