"""The code is lint-clean: ``ruff check .`` from the repository root (config in pyproject.toml)."""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_ruff_check_is_clean():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        pytest.fail(f"ruff check . failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}", pytrace=False)
