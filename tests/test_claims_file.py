"""``docs/claims.toml``: every number the README's findings table states, with the committed report field it
comes from. Each number is recomputed from its report and found in its README row, and every number of a row is
either listed there, a setting of the experiment, or named as not yet checked: a regenerated report cannot drift
from the text unseen."""

from __future__ import annotations

import csv
import json
import operator
import pathlib
import re
import statistics

import pytest
import tomllib

ROOT = pathlib.Path(__file__).parents[1]
CLAIMS = tomllib.loads((ROOT / "docs" / "claims.toml").read_text())
NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?%?")


def findings_rows(text: str) -> dict[tuple[str, str], str]:
    """(question, report folder) -> the measured answer and the seeds cell of each row of the README's findings
    table."""
    section = text.split("\n## Findings\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if line.startswith("| ["):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            question = re.match(r"\[(.*?)\]", cells[0]).group(1)
            report = re.search(r"\]\(experiments/results/([^/)]+)/", cells[-1]).group(1)
            rows[question, report] = f"{cells[1]} | {cells[2]}"
    return rows


ROWS = findings_rows((ROOT / "README.md").read_text())


def field(data, path: list):
    for key in path:
        data = data[key]
    return data


OPS = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge, "==": operator.eq}


def computed(spec: dict) -> float:
    """A statistic of a per_seed.csv column over one variant's seeds (``among``: only those passing a test):
    ``count`` / ``share`` of seeds passing ``test``, or the ``median`` / ``min`` / ``max`` of those passing it."""
    with open(ROOT / spec["csv"], newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["variant"] == spec["variant"]]
    passes = lambda r, t: OPS[t[1]](float(r[t[0]]), t[2])  # noqa: E731
    rows = [r for r in rows if "among" not in spec or passes(r, spec["among"])]
    chosen = [r for r in rows if "test" not in spec or passes(r, spec["test"])]
    if spec["stat"] in ("count", "share"):
        return len(chosen) / (len(rows) if spec["stat"] == "share" else 1)
    pick = {"median": statistics.median, "min": min, "max": max}[spec["stat"]]
    return float(pick([float(r[spec["column"]]) for r in chosen]))


def verdicts(files: list[str], verdict: str) -> list[int]:
    """[how many claims of the summaries have ``verdict``, how many claims in all]."""
    claims = [c for f in files for c in json.loads((ROOT / f).read_text())["claims"]]
    return [sum(c["verdict"] == verdict for c in claims), len(claims)]


def stated(entry: dict) -> str:
    """The entry's values (report fields, per-seed statistics or verdict counts), scaled and formatted as the
    README writes them."""
    if "verdicts" in entry:
        values = verdicts(entry["verdicts"], entry["verdict"])
    elif "computed" in entry:
        values = [computed(spec) for spec in entry["computed"]]
    else:
        data = json.loads((ROOT / entry["file"]).read_text())
        values = [field(data, path) for path in entry["fields"]]
    if entry.get("transform") == "len":
        values = [len(v) for v in values]
    elif entry.get("transform") == "ratio":
        values = [values[0] / values[1]]
    elif entry.get("transform") == "max_abs_difference":  # of two lists, the second a column of a table
        values = [max(abs(a - row[entry["column"]]) for a, row in zip(*values))]
    scale = entry.get("scale", 1)
    scales = scale if isinstance(scale, list) else [scale] * len(values)
    return entry["format"].format(*(v * s if s != 1 else v for v, s in zip(values, scales)))


@pytest.mark.parametrize("entry", CLAIMS["number"], ids=lambda e: f"{e['report']}:{e['text']}")
def test_each_number_is_in_its_report_and_in_its_readme_row(entry):
    row = ROWS.get((entry["question"], entry["report"]))
    assert row is not None, f"no README findings row {entry['question']!r} linking {entry['report']}"
    assert entry["text"] in row, f"the README row no longer says {entry['text']!r}"
    if entry.get("at_most"):  # the text states a bound: the value must stay within it
        assert float(stated(entry)) <= float(entry["at_most"]), f"now {stated(entry)}, above {entry['at_most']}"
    else:
        assert stated(entry) in entry["text"], f"the report now gives {stated(entry)!r}"


def test_every_number_of_every_row_is_listed():
    rows = {(r["question"], r["report"]): r for r in CLAIMS["row"]}
    assert set(rows) == set(ROWS), "docs/claims.toml's rows are not the README's"
    missing = {}
    for key, cell in ROWS.items():
        texts = [e["text"] for e in CLAIMS["number"] if (e["question"], e["report"]) == key]
        unchecked = rows[key].get("unchecked", [])
        assert all(t in cell for t in unchecked), f"{key}: an unchecked text is no longer in the README row"
        texts += unchecked
        settings = set(rows[key].get("settings", []))
        loose = [t for t in NUMBER.findall(cell) if t.rstrip(",") not in settings
                 and not any(re.search(rf"(?<![\d.]){re.escape(t.rstrip(','))}(?![\d])", x) for x in texts)]
        if loose:
            missing[key] = loose
    assert not missing, f"numbers neither listed in docs/claims.toml nor settings: {missing}"


def test_a_drifted_report_is_caught(tmp_path):
    entry = next(e for e in CLAIMS["number"] if e["report"] == "cure_64x16" and e["text"].startswith("71.8%"))
    data = json.loads((ROOT / entry["file"]).read_text())
    data["rows"]["direct_w50"]["beats_best_ar"]["prob_a_better"] = 0.70
    (tmp_path / "s.json").write_text(json.dumps(data))
    assert stated({**entry, "file": str(tmp_path / "s.json")}) not in entry["text"]
    assert findings_rows("x\n## Findings\n| [Q?](d) | 1.5% | 8 | [r](experiments/results/r/report.md) |\n## Next")[
        "Q?", "r"] == "1.5% | 8"
