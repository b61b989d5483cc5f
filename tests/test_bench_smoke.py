"""The benchmark harness (``make bench``) at a tiny size on SQLite, so that it never rots.

The full run (10k and 100k enrolments, SQLite and PostgreSQL) is not part of the tests;
this one checks that every workload runs and that the report carries every figure.
"""

import json

from bench import dataset
from bench import run as bench_run


def test_the_benchmark_harness_produces_every_figure(tmp_path, monkeypatch):
    monkeypatch.setattr(dataset, "DATA", tmp_path / "data")
    output, raw = tmp_path / "BENCHMARKS.md", tmp_path / "results.json"

    bench_run.main(
        [
            "--size",
            "small",
            "--db",
            "sqlite",
            "--output",
            str(output),
            "--json",
            str(raw),
            "--strict",
        ]
    )

    [result] = json.loads(raw.read_text())
    assert result["enrolments"] > 0
    dashboard = result["dashboard"]
    for key in ("rate_ratio", "median_ratio", "p95_ratio", "first_view_ratio", "worker_rss_ratio"):
        assert dashboard[key] > 0, key
    assert dashboard["dashboard"]["requests"] > 0
    queries = result["queries"]
    assert queries["dashboard"] > queries["healthz"] > 0
    assert dashboard["sign_ins_during_load"] > 0
    claims = result["claims"]
    assert claims["answered_201"] == claims["sent"]
    assert claims["invariant_holds"], claims
    assert claims["rate_ratio"] > 0
    assert result["csv"]["imported"] == result["csv"]["rows"]
    assert result["csv"]["ratio"] > 0
    assert result["sweep"]["seconds"] > 0 and result["sweep"]["rss_ratio"] > 0

    report = output.read_text()
    for heading in (
        "## Machine",
        "## Targets",
        "## 1. Dashboard",
        "## 2. Claims",
        "## 3. CSV enrolment",
        "## 4. Reminder sweep",
        "## 5. Memory",
        "## How to repeat",
    ):
        assert heading in report, heading
    assert "| sqlite | small |" in report
