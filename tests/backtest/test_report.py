"""The report: one self-contained HTML file with embedded plots, and metrics.json with every figure."""
from __future__ import annotations

import json

from skillmatch.backtest import summarize
from skillmatch.backtest.report import write_report


def test_report_and_metrics_are_written(cheap_runs, tmp_path):
    summary = summarize([cheap_runs], n_boot=60)
    paths = write_report(tmp_path / "out", summary, [cheap_runs], {"eval_days": 1})
    page = paths["report"].read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 4
    assert "src='http" not in page and "<script" not in page  # nothing fetched from elsewhere
    for name in cheap_runs:
        assert name in page
    doc = json.loads(paths["metrics"].read_text(encoding="utf-8"))
    assert set(doc["policies"]) == set(cheap_runs)
    assert doc["policies"]["fifo"]["wait_p99_s"]["value"] > 0
    assert doc["settings"]["eval_days"] == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["metrics.json", "report.html"]
