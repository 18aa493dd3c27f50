"""Shared benchmark machinery: arguments, machine description, timing, memory, output.

Every benchmark (``python -m benchmarks.rollout``, ``python -m benchmarks.train``, ...) uses the
same pieces:

* ``parse_args(name, description)`` -> namespace with ``quick`` and ``out``
  (default ``benchmarks/results/<name>.json``; ``--quick`` defaults to ``<name>_quick.json`` in
  the system temp dir so CI never overwrites committed results).
* ``machine()`` -> dict: CPU model, cores, memory, load average, Python/numpy/JAX (version,
  backend, devices) and PyTorch version when importable.
* ``time_jax(fn, *args)`` -> ``Timing``: AOT-compiles ``jax.jit(fn).lower(*args).compile()``
  (compile time reported separately), warms up, then times repeated calls with
  ``block_until_ready`` and keeps the median. ``time_call(fn)`` does the same for any callable
  (numpy, PyTorch) that returns when its work is done.
* ``PeakRSS``: a context manager measuring the peak resident memory of the process while its body
  runs. On Linux it resets the kernel's high-water mark (``/proc/self/clear_refs``) so the peak is
  that of the body alone (plus what was already resident, reported as ``baseline``); elsewhere it
  falls back to ``resource.getrusage`` (the process's peak since start, stated in ``method``).
* the hardware limit and roofline floor are in ``benchmarks/hardware.py``.
* ``write_json(path, name, args, results)``: one JSON file with machine, command, timestamp.
* ``print_table(rows, columns)``: a fixed-width table on stdout; ``mib(bytes)`` for its memory
  columns (memory is printed in MiB).
* ``quick_report(name, headline, skipped)``: what ``--quick`` prints after its table: that it
  cannot judge speed, the headline of the committed full run (``committed_run``) with its date
  and machine, and every skipped peer with the reason. ``--quick`` never writes over a committed
  full-run JSON (``parse_args`` refuses such an ``--out``).

Timings on a shared machine are noisy: ``machine()`` records ``os.getloadavg()`` at the start and
``write_json`` again at the end.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SCHEMA_VERSION = 1


# --------------------------------------------------------------------------- arguments

def parse_args(name: str, description: str, argv: Sequence[str] | None = None,
               extra: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    """The arguments every benchmark takes: ``--quick`` (seconds; what CI runs) and ``--out PATH``.

    Args:
      name: the benchmark's module name (``benchmarks.<name>``): default output
        ``benchmarks/results/<name>.json`` (``<name>_quick.json`` in the temp dir with --quick).
      description: the ``--help`` text.
      argv: the arguments (default ``sys.argv[1:]``).
      extra: ``extra(parser)`` adds the benchmark's own arguments.

    Returns:
      The namespace, with ``out`` resolved and ``command`` (``python -m benchmarks.<name> ...``).
    """
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{name}", description=description)
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, a few seconds; checks that the benchmark runs and writes JSON")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"JSON output path (default benchmarks/results/{name}.json; "
                             f"with --quick, {name}_quick.json in the temp dir)")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = (Path(tempfile.gettempdir()) / f"{name}_quick.json" if args.quick
                    else RESULTS_DIR / f"{name}.json")
    if args.quick:
        check_quick_out(args.out, name)
    args.command = " ".join(["python", "-m", f"benchmarks.{name}", *(sys.argv[1:] if argv is None else argv)])
    return args


def check_quick_out(out: Path, name: str) -> None:
    """Refuse a ``--quick`` output path that would write over a full run's JSON.

    Refused: the committed full run's path (``benchmarks/results/<name>.json``) and any existing
    file that holds a benchmark document with ``"quick": false``.

    Args:
      out: the ``--out`` path.
      name: the benchmark.

    Raises:
      SystemExit: naming the path and what to do instead.
    """
    out = Path(out)
    committed = (RESULTS_DIR / f"{name}.json").resolve()
    full = out.resolve() == committed
    if not full and out.is_file():
        try:
            doc = json.loads(out.read_text())
            full = isinstance(doc, dict) and doc.get("quick") is False
        except (OSError, ValueError):
            full = False
    if full:
        raise SystemExit(f"--quick would overwrite the full run in {out}; give another --out "
                         f"(the default is {name}_quick.json in the temp dir)")


def committed_run(name: str) -> tuple[dict[str, Any] | None, str]:
    """The committed full run of a benchmark (``benchmarks/results/<name>.json``).

    Args:
      name: the benchmark.

    Returns:
      (the document, its path relative to the checkout), or (None, why there is none).
    """
    path = RESULTS_DIR / f"{name}.json"
    rel = f"benchmarks/results/{name}.json"
    if not path.is_file():
        return None, f"no committed full run ({rel} does not exist)"
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        return None, f"no committed full run ({rel} is not readable JSON: {e})"
    if not isinstance(doc, dict) or doc.get("quick") is not False or "results" not in doc:
        return None, f"no committed full run ({rel} is not a full run's document)"
    return doc, rel


def quick_report(name: str, headline: Callable[[dict[str, Any]], list[str]], skipped: Iterable[dict[str, Any]],
                 file=None) -> str:
    """Print what a ``--quick`` run must say beside its table; returns the text.

    Args:
      name: the benchmark.
      headline: the committed document -> its headline lines (numbers with their units, memory in MiB).
      skipped: records of peers not run, each with ``impl`` and ``reason`` (and the configuration
        fields ``hidden``, ``batch``, ``mode`` where they apply).
      file: where to print (default stdout).

    Returns:
      The printed text.
    """
    lines = ["--quick: tiny sizes, one short run each, on whatever else this machine is running: these figures "
             "check that the benchmark runs and CANNOT JUDGE SPEED; the full run does (command below)."]
    doc, where = committed_run(name)
    if doc is None:
        lines.append(f"committed full run: none: {where}")
    else:
        machine = doc.get("machine", {})
        start, end = (machine.get(k) or ["?"] for k in ("loadavg_start", "loadavg_end"))
        load = f"load average {figure(start[0]) if start[0] != '?' else '?'} at the start, " \
               f"{figure(end[0]) if end[0] != '?' else '?'} at the end"
        lines.append(f"committed full run ({where}): {doc.get('timestamp', '?')}, {doc.get('machine_name', '?')}, {load}; "
                     f"command: {doc.get('command', '?')}")
        lines += [f"  {line}" for line in headline(doc)]
    grouped: dict[tuple[str, str], list[str]] = {}
    for r in skipped:  # one line per peer and reason, with the configurations it applies to
        config = " ".join(f"{k}={r[k]}" for k in ("hidden", "batch", "mode") if k in r)
        grouped.setdefault((r["impl"], r["reason"]), []).append(config)
    lines.append("skipped peers:" + ("" if grouped else " none"))
    for (impl, reason), configs in grouped.items():
        where_ = "; ".join(c for c in configs if c)
        lines.append(f"  {impl}{f' ({where_})' if where_ else ''}: {reason}")
    text = "\n".join(lines)
    print(text, file=file or sys.stdout, flush=True)
    return text


def figure(x: float | None) -> str:
    """A figure for a sentence: 3 significant digits below 100, whole numbers with thousands
    separators from 100 (1,894 rather than 1.89e+03), None -> '-'."""
    if x is None:
        return "-"
    if not math.isfinite(x) or x == 0:
        return str(x)
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}" if abs(x) >= 1e-3 else f"{x:.2e}"


def mib(n_bytes: float | None) -> float | None:
    """Bytes -> MiB (None stays None): the unit every benchmark prints memory in."""
    return None if n_bytes is None else n_bytes / 2 ** 20


# --------------------------------------------------------------------------- machine

def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_bytes() -> int | None:
    try:
        import psutil
        return int(psutil.virtual_memory().total)
    except ImportError:
        try:
            return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            return None


def _cache_sizes() -> dict[str, str]:
    out = {}
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    for index in sorted(base.glob("index*")) if base.exists() else []:
        try:
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        out[f"L{level}{'d' if kind == 'Data' else 'i' if kind == 'Instruction' else ''}"] = size
    return out


def package_version(package: str) -> str | None:
    """An installed package's version, or None (``lstm_ar.runtime.provenance.package_version``; imported
    here when called, so that importing this module does not load JAX)."""
    from lstm_ar.runtime.provenance import package_version as version

    return version(package)


def write_plot(draw: Callable[[], Path]) -> None:
    """Run ``draw()`` (which writes a figure and returns its path) and say where it went, or, without
    matplotlib (the plots extra), that there is no plot."""
    try:
        progress(f"wrote {draw()}")
    except ImportError as e:  # matplotlib missing
        progress(f"no plot: {e}")


def ints(text: str) -> tuple[int, ...]:
    """argparse type for comma-separated integers: "1,64,1024" -> (1, 64, 1024)."""
    return tuple(int(v) for v in text.split(",") if v)


def machine(with_torch: bool = True) -> dict[str, Any]:
    """Describe the machine and software this run used.

    Args:
      with_torch: also PyTorch's version (and threads, when torch is imported).

    Returns:
      CPU, cores, caches, memory, load average, platform, Python, numpy, JAX (version, backend,
      devices, XLA flags), GPU names on a GPU backend.
    """
    import jax
    import numpy as np

    from lstm_ar.runtime.distributed import available_cores

    info = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": available_cores(),
        "caches": _cache_sizes(),
        "memory_bytes": _memory_bytes(),
        "loadavg_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "jax": jax.__version__,
        "jax_backend": jax.default_backend(),
        "jax_devices": [str(d) for d in jax.devices()],
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }
    if jax.default_backend() == "gpu":
        info["gpu"] = [getattr(d, "device_kind", str(d)) for d in jax.devices()]
    if with_torch:
        info["torch"] = package_version("torch")
        if "torch" in sys.modules:
            info["torch_threads"] = sys.modules["torch"].get_num_threads()
    return info


def machine_name(info: dict[str, Any]) -> str:
    """One line naming the machine, e.g. 'AMD EPYC, 2 cores, 23.4 GiB, jax 0.10.2 cpu'."""
    mem = info.get("memory_bytes")
    mem_s = f", {mem / 2**30:.1f} GiB" if mem else ""
    dev = info.get("gpu", [info["jax_backend"]])[0]
    return f"{info['cpu']}, {info['cores_usable']} cores{mem_s}, jax {info['jax']} {dev}"


# --------------------------------------------------------------------------- timing

class Timing(NamedTuple):
    """Seconds per call: median (reported), min, all reps; compile seconds (None when not jitted);
    median process CPU seconds per call (all threads; on a shared machine the work done, where
    the wall time also counts waiting for a core)."""

    median_s: float
    min_s: float
    reps_s: list
    compile_s: float | None
    cpu_median_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"median_s": self.median_s, "min_s": self.min_s, "reps_s": self.reps_s,
                "compile_s": self.compile_s, "cpu_median_s": self.cpu_median_s}


def _block(out: Any) -> Any:
    import jax
    return jax.block_until_ready(out)


def time_call(fn: Callable[[], Any], *, reps: int = 5, warmup: int = 1, min_time_s: float = 0.0,
              max_reps: int = 1000, compile_s: float | None = None,
              block: Callable[[Any], Any] = _block) -> Timing:
    """Time ``fn()`` (which must finish its work before returning; ``block`` makes sure).

    At least ``reps`` timed calls after ``warmup`` untimed ones, more (up to ``max_reps``) until
    ``min_time_s`` has been spent timing; the median is the reported figure.

    Args:
      fn: the call to time.
      reps, warmup, min_time_s, max_reps: as above.
      compile_s: recorded in the result (the caller compiled ``fn``'s program).
      block: waits for ``fn``'s result (default ``jax.block_until_ready``).

    Returns:
      A ``Timing``.
    """
    if reps < 1:
        raise ValueError(f"reps must be >= 1, got {reps}")
    for _ in range(warmup):
        block(fn())
    times: list[float] = []
    cpu: list[float] = []
    spent = 0.0
    while len(times) < reps or (spent < min_time_s and len(times) < max_reps):
        cpu_start, start = time.process_time(), time.perf_counter()
        block(fn())
        elapsed = time.perf_counter() - start
        cpu.append(time.process_time() - cpu_start)
        times.append(elapsed)
        spent += elapsed
    return Timing(statistics.median(times), min(times), times, compile_s, statistics.median(cpu))


def time_wall_and_cpu(call, reps: int) -> tuple[float, float]:
    """Best wall seconds and best process CPU seconds (all threads) of ``reps`` calls after a warm-up.

    On a shared machine the wall time is inflated by other processes; the CPU time is the work
    this process did, so it ranks configurations fairly; cpu / wall shows how many cores ran.
    """
    import jax
    jax.block_until_ready(call())
    walls, cpus = [], []
    for _ in range(reps):
        w0, c0 = time.perf_counter(), time.process_time()
        jax.block_until_ready(call())
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus)


def compile_jax(fn: Callable, *args: Any, static_argnums: tuple[int, ...] = (), **jit_kwargs: Any):
    """AOT-compile ``jax.jit(fn)`` for ``args``.

    Args:
      fn: the function.
      *args: example arguments (their shapes and dtypes fix the program).
      static_argnums, **jit_kwargs: passed to ``jax.jit``.

    Returns:
      (the compiled program, seconds to lower and compile).
    """
    import jax
    start = time.perf_counter()
    compiled = jax.jit(fn, static_argnums=static_argnums, **jit_kwargs).lower(*args).compile()
    return compiled, time.perf_counter() - start


def time_jax(fn: Callable, *args: Any, reps: int = 5, warmup: int = 1, min_time_s: float = 0.0,
             max_reps: int = 1000) -> Timing:
    """AOT-compile ``fn`` for ``args`` (compile time kept apart), then time the compiled call.

    Args:
      fn: the function.
      *args: its arguments.
      reps, warmup, min_time_s, max_reps: as ``time_call``.

    Returns:
      A ``Timing`` with ``compile_s``.
    """
    compiled, compile_s = compile_jax(fn, *args)
    return time_call(lambda: compiled(*args), reps=reps, warmup=warmup, min_time_s=min_time_s,
                     max_reps=max_reps, compile_s=compile_s)


# --------------------------------------------------------------------------- memory

def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def current_rss_bytes() -> int | None:
    kib = _status_kib("VmRSS")
    if kib is not None:
        return kib * 1024
    try:
        import psutil
        return int(psutil.Process().memory_info().rss)
    except ImportError:
        return None


def process_peak_rss_bytes() -> int:
    """Peak resident memory of this process since it started (getrusage; KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _reset_high_water_mark() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_kib("VmHWM") is not None
    except OSError:
        return False


class PeakRSS:
    """``with PeakRSS() as m: ...`` then ``m.result()`` -> dict of peak bytes for the body.

    ``peak_bytes`` is the process's resident high-water mark during the body (on Linux reset at
    entry, so it counts the body plus what was resident at entry: ``baseline_bytes``);
    ``method`` says how it was measured.
    """

    def __enter__(self) -> PeakRSS:
        self.reset = _reset_high_water_mark()
        self.baseline = current_rss_bytes()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.reset:
            self.peak = _status_kib("VmHWM") * 1024
            self.method = "linux VmHWM reset at start of run (clear_refs 5)"
        else:
            self.peak = process_peak_rss_bytes()
            self.method = "getrusage ru_maxrss: process peak since start"

    def result(self) -> dict[str, Any]:
        return {"peak_rss_bytes": self.peak, "baseline_rss_bytes": self.baseline,
                "rss_method": self.method}


# --------------------------------------------------------------------------- output

def jsonable(x: Any) -> Any:
    """``x`` with what JSON cannot hold converted: paths to str, numpy scalars to Python, inf/nan to None."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, Path):
        return str(x)
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if hasattr(x, "item") and getattr(x, "ndim", 1) == 0:  # numpy / jax scalars
        return jsonable(x.item())
    return x


def write_json(path: Path, name: str, args: argparse.Namespace, results: Any,
               info: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """Write one benchmark's JSON document (to a temporary name, then renamed).

    Args:
      path: the output file.
      name: the benchmark.
      args: ``parse_args``'s namespace (``quick``, ``command``).
      results: the benchmark's results (numpy scalars and paths are converted; non-finite -> null).
      info: ``machine()`` from the start of the run (default: measured now).
      **extra: further top-level fields.

    Returns:
      The document: ``benchmark, schema, quick, command, timestamp, machine, machine_name,
      **extra, results``.
    """
    info = machine() if info is None else info
    info = dict(info, loadavg_end=list(os.getloadavg()) if hasattr(os, "getloadavg") else None)
    doc = {"benchmark": name, "schema": SCHEMA_VERSION, "quick": bool(args.quick),
           "command": args.command,
           "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "machine": info, "machine_name": machine_name(info), **extra, "results": results}
    doc = jsonable(doc)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    tmp.replace(path)
    return doc


def fmt(x: Any, digits: int = 3) -> str:
    """Numbers to short strings: 3 significant digits, engineering-free; None -> '-'."""
    if x is None:
        return "-"
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if isinstance(x, int) and abs(x) < 10 ** 6:
        return str(x)
    if x == 0 or not math.isfinite(x):
        return str(x)
    if abs(x) >= 10 ** 6 or abs(x) < 1e-3:
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def print_table(rows: Iterable[dict[str, Any]], columns: Sequence[str],
                headers: Sequence[str] | None = None, file=None) -> str:
    """Print rows (dicts) as a fixed-width table of ``columns``; returns the text."""
    rows = list(rows)
    headers = list(columns if headers is None else headers)
    cells = [[fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    text = "\n".join(lines)
    print(text, file=file or sys.stdout, flush=True)
    return text


def progress(msg: str) -> None:
    """A timestamped progress line on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)
