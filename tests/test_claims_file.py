"""``docs/claims.toml``: every number the README's findings table (and its paragraphs named in ``[[paragraph]]``)
states, with the committed report field it comes from. Each number is recomputed from its report and found in its
README row or paragraph, and every number of a row is either listed there, a setting of the experiment, or named as
not yet checked: a regenerated report cannot drift from the text unseen."""

from __future__ import annotations

import csv
import glob
import json
import math
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


def paragraph(text: str, lead: str) -> str:
    """The README paragraph that opens with ``**lead**`` (up to the next blank line); "" if there is none."""
    for block in text.split("\n\n"):
        if block.startswith(f"**{lead}**"):
            return block.replace("\n", " ")
    return ""


README = (ROOT / "README.md").read_text()
ROWS = findings_rows(README)
PARAGRAPHS = {p["lead"]: paragraph(README, p["lead"]) for p in CLAIMS.get("paragraph", [])}


def place(entry: dict) -> str | None:
    """The README text an entry's number must be in: its findings row, or its paragraph (None: not found)."""
    if "paragraph" in entry:
        return PARAGRAPHS.get(entry["paragraph"]) or None
    return ROWS.get((entry["question"], entry["report"]))


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


def claim_verdicts(data) -> dict[str, str]:
    """claim id -> verdict of every judged claim (a dict with ``id`` and ``verdict``) anywhere in a summary: a
    scenario's ``claims``, or a realisations run's pooled verdicts."""
    found = {}
    if isinstance(data, dict):
        if "id" in data and isinstance(data.get("verdict"), str):
            found[data["id"]] = data["verdict"]
        data = list(data.values())
    for item in data if isinstance(data, list) else []:
        found |= claim_verdicts(item)
    return found


def agreement(spec: dict) -> list[int]:
    """[how many claims judged in both ``files`` and ``with`` get the same verdict, how many are judged in both]."""
    mine, theirs = ({k: v for f in spec[side] for k, v in claim_verdicts(json.loads((ROOT / f).read_text())).items()}
                    for side in ("files", "with"))
    shared = sorted(set(mine) & set(theirs))
    return [sum(mine[c] == theirs[c] for c in shared), len(shared)]


def _rmse(value) -> float:
    """A panel RMSE as JSON holds it ("inf" / None for a diverged median seed) as a float."""
    return math.inf if value is None or isinstance(value, str) else float(value)


def panel_runs(pattern: str) -> dict[str, dict]:
    """recipe -> the panel summary (of those matching the glob ``pattern``) that holds it."""
    runs = {}
    for path in sorted(glob.glob(str(ROOT / pattern))):
        data = json.loads(pathlib.Path(path).read_text())
        runs |= {recipe: data for recipe in data["recipes"]}
    return runs


def panel_ratios(pattern: str) -> dict[str, list[float]]:
    """recipe -> per series, the median seed's backtest RMSE / the best classical reference's, over every panel
    summary matching the glob ``pattern`` (each recipe from the run that holds it)."""
    return {recipe: [_rmse(s["rows"][recipe]["median_rmse"]) / _rmse(s["references"][s["best_reference"]][
        "backtest_rmse"]) for s in data["series"].values()] for recipe, data in panel_runs(pattern).items()}


def best_recipe(ratios: dict[str, list[float]]) -> str:
    """The recipe whose median seed beats the best reference on most series (then: is within 5% on most)."""
    return max(ratios, key=lambda r: (sum(q < 1 for q in ratios[r]), sum(q <= 1.05 for q in ratios[r])))


def panel(spec: dict) -> list[int]:
    """[on how many series ``recipe``'s median seed beats the best classical reference (``within``: is at most
    ``within`` x its RMSE), how many series]; ``stat = "seeds"``: [the seeds of the run that holds ``recipe``]."""
    if spec.get("stat") == "seeds":
        return [panel_runs(spec["files"])[spec["recipe"]]["seeds"]]
    if spec.get("stat") in ("chosen", "chosen_lstm"):  # the forecaster chosen without peeking (one run's choice)
        runs = [json.loads(pathlib.Path(p).read_text()) for p in sorted(glob.glob(str(ROOT / spec["files"])))]
        ratios = [s["choice"][f"{spec['stat']}_ratio"] for run in runs for s in run["series"].values()]
        return [sum(q <= spec["within"] if "within" in spec else q < 1 for q in ratios), len(ratios)]
    ratios = panel_ratios(spec["files"])[spec["recipe"]]
    return [sum(q <= spec["within"] if "within" in spec else q < 1 for q in ratios), len(ratios)]


def stated(entry: dict) -> str:
    """The entry's values (report fields, per-seed statistics or verdict counts), scaled and formatted as the
    README writes them."""
    if "verdicts" in entry:
        values = verdicts(entry["verdicts"], entry["verdict"])
    elif "agreement" in entry:
        values = agreement(entry["agreement"])
    elif "panel" in entry:
        values = panel(entry["panel"])
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
    elif entry.get("transform") == "least":  # a per-draw list and the draws' labels: the smallest, and its label
        low = min(range(len(values[0])), key=lambda i: values[0][i])
        values = [values[0][low], values[1][low]]
    scale = entry.get("scale", 1)
    scales = scale if isinstance(scale, list) else [scale] * len(values)
    values = [v * s if s != 1 else v for v, s in zip(values, scales)]
    if "zero" in entry:  # the word the text writes for a value of exactly 0 ("none")
        values = [entry["zero"] if v == 0 and not isinstance(v, bool) else v for v in values]
    return entry["format"].format(*values)


@pytest.mark.parametrize("entry", CLAIMS["number"], ids=lambda e: f"{e.get('report', 'paragraph')}:{e['text']}")
def test_each_number_is_in_its_report_and_in_its_readme_row(entry):
    row = place(entry)
    assert row is not None, (f"no README paragraph {entry['paragraph']!r}" if "paragraph" in entry else
                             f"no README findings row {entry['question']!r} linking {entry['report']}")
    assert entry["text"] in row, f"the README row no longer says {entry['text']!r}"
    if entry.get("at_most"):  # the text states a bound: the value must stay within it
        assert float(stated(entry)) <= float(entry["at_most"]), f"now {stated(entry)}, above {entry['at_most']}"
    else:
        assert stated(entry) in entry["text"], f"the report now gives {stated(entry)!r}"


def test_every_number_of_every_row_is_listed():
    rows = {(r["question"], r["report"]): r for r in CLAIMS["row"]}
    assert set(rows) == set(ROWS), "docs/claims.toml's rows are not the README's"
    assert all(PARAGRAPHS.values()), f"a [[paragraph]] is not in the README: {[k for k, v in PARAGRAPHS.items() if not v]}"
    rows |= {lead: p for p in CLAIMS.get("paragraph", []) for lead in [p["lead"]]}
    missing = {}
    for key, cell in [*ROWS.items(), *PARAGRAPHS.items()]:
        texts = [e["text"] for e in CLAIMS["number"]
                 if e.get("paragraph", (e.get("question"), e.get("report"))) == key]
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


def test_the_panel_paragraph_describes_the_best_recipe():
    """The paragraph names one recipe (in words); the panel's files must still make it the best."""
    for entry in (e for e in CLAIMS["number"] if "panel" in e and e["panel"].get("best", True)):
        ratios = panel_ratios(entry["panel"]["files"])
        assert best_recipe(ratios) == entry["panel"]["recipe"], f"the panel's best recipe is now {best_recipe(ratios)}"


def test_the_new_sources_catch_a_drift(tmp_path):
    """A per-draw minimum, an agreement of verdicts and a panel count each move with the file they read."""
    entry = next(e for e in CLAIMS["number"] if e.get("transform") == "least")
    data = json.loads((ROOT / entry["file"]).read_text())
    draws = field(data, entry["fields"][0])
    assert stated(entry) in entry["text"] and 0.0 in draws
    draws[draws.index(0.0)] = 0.5  # that draw is no longer lost on every seed: another draw is the worst
    (tmp_path / "s.json").write_text(json.dumps(data))
    assert stated({**entry, "file": str(tmp_path / "s.json")}) not in entry["text"]

    mine = {"scenarios": {"x": {"claims": [{"id": "a", "pooled": {"id": "a", "verdict": "reproduced"}},
                                           {"id": "b", "pooled": {"id": "b", "verdict": "inconclusive"}}]}}}
    theirs = {"claims": [{"id": "a", "verdict": "reproduced"}, {"id": "b", "verdict": "not reproduced"},
                         {"id": "c", "verdict": "reproduced"}]}
    for name, value in (("mine.json", mine), ("theirs.json", theirs)):
        (tmp_path / name).write_text(json.dumps(value))
    assert agreement({"files": [str(tmp_path / "mine.json")], "with": [str(tmp_path / "theirs.json")]}) == [1, 2]

    series = {"s1": {"best_reference": "AR", "references": {"AR": {"backtest_rmse": 1.0}},
                     "rows": {"r": {"median_rmse": 0.9}, "q": {"median_rmse": 1.04}}},
              "s2": {"best_reference": "AR", "references": {"AR": {"backtest_rmse": 1.0}},
                     "rows": {"r": {"median_rmse": "inf"}, "q": {"median_rmse": 0.5}}}}
    (tmp_path / "panel_x").mkdir()
    (tmp_path / "panel_x" / "summary.json").write_text(json.dumps({"recipes": ["r", "q"], "series": series,
                                                                    "seeds": 3}))
    files = str(tmp_path / "panel_*" / "summary.json")
    assert panel({"files": files, "recipe": "r"}) == [1, 2] and panel({"files": files, "recipe": "r", "within": 1.05}) == [1, 2]
    assert panel({"files": files, "recipe": "q", "within": 1.05}) == [2, 2]
    assert panel({"files": files, "recipe": "q", "stat": "seeds"}) == [3]
    assert best_recipe(panel_ratios(files)) == "q"  # one win each; q is within 5% on both series
