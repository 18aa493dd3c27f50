"""The documentation: the site builds with warnings as errors, the glossary covers every per-seed
metric, the README stays short and carries the two set-up commands, and no file names the
article's file path."""

import csv
import importlib
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "docs" / "glossary.md"
README = ROOT / "README.md"
README_MAX_LINES = 150
SETUP_COMMANDS = (
    'python3 -m venv .venv && .venv/bin/pip install -e ".[plots]" && .venv/bin/lstm-ar reproduce',
    'python3 -m venv .venv && .venv/bin/pip install -e ".[test]" && .venv/bin/python -m pytest -q',
)
KEYS = ("variant", "seed", "draw")  # per_seed.csv columns that identify a row (draw: runs over noise draws)
# Glossary entries that stand for a family of identifiers.
TEMPLATES = {"f(x)": r"f\(.+\)", "grad_k{k}": r"grad_k\d+"}
ARTICLE_PATH = "shared" + "/seed"  # split so that this file does not contain it
WORSE = {"higher": "higher", "lower": "lower", "neither": None}


def test_mkdocs_build_strict(tmp_path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                           "-d", str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=300)
    if proc.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}",
                    pytrace=False)
    for page in ("findings", "library", "performance", "scaling", "glossary", "api/training"):
        assert (tmp_path / "site" / page / "index.html").is_file(), page
    # the API reference is generated from the docstrings, submodules included
    api = (tmp_path / "site" / "api" / "training" / "index.html").read_text()
    assert re.search(r'id="lstm_ar\.training\.\w+\.make_train"', api), "make_train missing from the API reference"


def glossary_entries(text: str) -> dict[str, str]:
    """identifier -> the glossary's 'worse' cell, from every table row that starts with `identifier`."""
    entries = {}
    for line in text.splitlines():
        match = re.match(r"^\|\s*`([^`]+)`\s*\|", line)
        if match:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            entries[match.group(1)] = cells[-1]
    return entries


def missing_from_glossary(columns, entries) -> list[str]:
    """The columns with no glossary entry (keys excluded; template entries match their family)."""
    patterns = [re.compile("^" + TEMPLATES.get(e, re.escape(e)) + "$") for e in entries]
    return [c for c in columns if c not in KEYS and not any(p.match(c) for p in patterns)]


def per_seed_columns() -> dict[str, list[str]]:
    out = {}
    for path in sorted(ROOT.glob("experiments/results/*/*/per_seed.csv")):
        with open(path, newline="") as f:
            out[str(path.relative_to(ROOT))] = next(csv.reader(f))
    return out


def test_glossary_lookup_can_fail():
    entries = glossary_entries("| `rollout_rmse` | d | u | higher |\n| `f(x)` | d | u | neither |\n"
                               "| `grad_k{k}` | d | u | neither |\n")
    assert missing_from_glossary(["variant", "seed", "rollout_rmse", "f(0.6)", "grad_k19"], entries) == []
    assert missing_from_glossary(["rollout_rmse", "no_such_metric", "grad_kx"], entries) == ["no_such_metric", "grad_kx"]


def test_glossary_covers_every_per_seed_column():
    files = per_seed_columns()
    assert files, "no committed experiments/results/*/*/per_seed.csv found"
    entries = glossary_entries(GLOSSARY.read_text())
    missing = {path: m for path, cols in files.items() if (m := missing_from_glossary(cols, entries))}
    assert not missing, f"per-seed metrics without an entry in docs/glossary.md: {missing}"
    for identifier, worse in entries.items():
        assert worse.split(" ")[0] in WORSE, f"glossary {identifier!r}: 'worse' must start with higher/lower/neither"


def test_glossary_agrees_with_the_metric_registry():
    try:
        registry = importlib.import_module("lstm_ar.study.metrics")
    except ImportError:
        pytest.skip("no metric registry (lstm_ar.study.metrics)")
    entries = glossary_entries(GLOSSARY.read_text())
    defined = {**getattr(registry, "METRICS", {}), **getattr(registry, "TEMPLATES", {})}
    assert defined, "lstm_ar.study.metrics defines no METRICS"
    absent = sorted(set(defined) - set(entries))
    assert not absent, f"metrics in lstm_ar.study.metrics without an entry in docs/glossary.md: {absent}"
    disagree = {name: (entries[name], metric.worse) for name, metric in defined.items()
                if WORSE.get(entries[name].split(" ")[0], "?") != metric.worse}
    assert not disagree, f"'worse' differs between docs/glossary.md and lstm_ar.study.metrics: {disagree}"


def test_readme_is_short_and_has_both_setup_commands():
    text = README.read_text()
    lines = text.splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines (at most {README_MAX_LINES})"
    for command in SETUP_COMMANDS:
        assert command in text, f"README.md lacks the set-up command: {command}"


def heading_anchors(path: pathlib.Path) -> set[str]:
    """The anchors MkDocs (and GitHub) give the headings of a Markdown file."""
    from markdown.extensions.toc import slugify

    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)  # no headings inside code blocks
    return {slugify(m.group(1).strip(), "-") for m in re.finditer(r"^#{1,6}\s+(.+)$", text, flags=re.M)}


def test_readme_links_resolve():
    links = re.findall(r"\]\(([^)\s]+)\)", README.read_text())
    assert links
    broken = []
    for link in links:
        if re.match(r"^[a-z]+://", link):
            continue
        target, _, anchor = link.partition("#")
        path = ROOT / target
        if not path.exists():
            broken.append(link)
        elif anchor and path.suffix == ".md" and anchor not in heading_anchors(path):
            broken.append(link)
    assert not broken, f"README.md links to missing files or headings: {broken}"


def repository_files() -> list[pathlib.Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    proc = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                          capture_output=True, check=True, timeout=60)
    return [ROOT / name for name in proc.stdout.decode().split("\0") if name]


def test_no_file_names_the_article_file_path():
    offenders = []
    for path in repository_files():
        if not path.is_file():
            continue  # listed but deleted in the working tree
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        if ARTICLE_PATH.encode() in data:
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"files naming the article's file path ({ARTICLE_PATH!r}): {offenders}"


# ----------------------------------------------------------------------------------------------
# Every lstm_ar.<dotted.name> the prose names exists; no tracked text file uses the banned words

DOTTED = re.compile(r"\blstm_ar(?:\.[A-Za-z_][A-Za-z0-9_]*)+")
BANNED = re.compile(r"\b(?:" + "iss" + r"ues?|" + "scr" + r"atch(?:es)?)\b", re.I)  # split: this file stays clean
NOT_PROSE = ("experiments/results/", "benchmarks/results/")


def prose_files() -> list[pathlib.Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]  # docs/api is generated from the docstrings


def resolves(dotted: str) -> bool:
    """Whether ``dotted`` is a module, or an attribute chain of the longest module prefix that imports."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def test_the_dotted_name_check_can_fail():
    assert resolves("lstm_ar.study.stats.summarize") and resolves("lstm_ar.study")
    assert not resolves("lstm_ar.study.stats.no_such_function") and not resolves("lstm_ar.no_such_module")


def test_every_dotted_name_in_the_prose_resolves():
    """Names like ``lstm_ar.training.plain.MINIBATCH_UNROLL`` outlive the code they name when it moves."""
    broken = {}
    for path in prose_files():
        for name in sorted(set(DOTTED.findall(path.read_text(encoding="utf-8")))):
            if not resolves(name):
                broken.setdefault(str(path.relative_to(ROOT)), []).append(name)
    assert not broken, f"names that do not import or resolve: {broken}"


def test_no_text_file_uses_the_banned_words():
    assert BANNED.search("an " + "Iss" + "ue here") and BANNED.search("from " + "scr" + "atch")
    assert not BANNED.search("tissue, scratchpad")
    offenders = []
    for path in repository_files():
        rel = path.relative_to(ROOT).as_posix()
        if not path.is_file() or rel.startswith(NOT_PROSE):
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        hits = BANNED.findall(data.decode("utf-8", errors="replace"))
        if hits:
            offenders.append(f"{rel}: {sorted(set(hits))}")
    assert not offenders, f"files using banned words: {offenders}"
