"""The lanes sweep (benchmarks/tune_lanes.py) runs, marks the library's default and checks that
the lanes do not change a seed's parameters."""

import json

from benchmarks import tune_lanes


def test_quick_lanes_sweep_writes_rows_with_the_default_and_equal_parameters(tmp_path, capsys):
    out = tmp_path / "lanes.json"
    rows = tune_lanes.main(["--quick", "--out", str(out)])
    assert [r["lanes"] for r in rows] == [1, 2] and sum(r["default"] for r in rows) == 1
    assert all(r["same_params_as_fewest_lanes"] and r["us_per_seed_step_cpu"] > 0 for r in rows)
    doc = json.loads(out.read_text())
    assert doc["quick"] is True and doc["results"] == json.loads(json.dumps(rows))
    assert "cannot judge speed" in capsys.readouterr().out
