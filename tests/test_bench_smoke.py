"""The benchmark harness (``make bench``) at a tiny size, so that it never rots.

The full run (10k, 100k and 1m enrolments, SQLite and PostgreSQL) is not part of the tests;
this one runs every workload on the small data set, with the page loads made by wrk and the
steady write load by ``bench/writer.py``, and checks that the report carries every figure.
It runs on the test database's engine: PostgreSQL when TEST_DATABASE_URL names one (the
harness's admin URL is pointed at that server), else SQLite.

Without wrk the test skips, saying why; with REQUIRE_WRK=1 (set in CI) it fails instead.
"""

import json
import os

import pytest
import sqlalchemy as sa

from bench import dataset, wrk
from bench import run as bench_run

pytestmark = pytest.mark.slow  # processes, servers or a browser: `-m "not slow"` skips it


def _database(monkeypatch) -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith(("postgresql", "postgres:")):
        return "sqlite"
    admin = sa.make_url(url.replace("postgres://", "postgresql://", 1)).set(database="postgres")
    monkeypatch.setattr(dataset, "PG_ADMIN", admin.render_as_string(hide_password=False))
    return "postgresql"


def test_wrk_output_is_parsed_with_its_units():
    output = """Running 1s test @ http://127.0.0.1:8000/healthz
  1 threads and 8 connections
  Latency Distribution
     50%  812.00us
     75%    1.20ms
     90%    2.00ms
     99%    1.05s
  1466 requests in 1.00s, 744.63KB read
  Non-2xx or 3xx responses: 3
Requests/sec:   1462.70
"""
    parsed = wrk.parse(output)
    assert parsed["rps"] == 1462.70
    assert parsed["median_ms"] == pytest.approx(0.812)
    assert parsed["p99_ms"] == pytest.approx(1050.0)
    assert parsed["requests"] == 1466
    assert parsed["wall"] == pytest.approx(1.0)
    assert parsed["non_2xx_3xx"] == 3
    assert wrk.to_ms("1.50m") == pytest.approx(90_000.0)


def test_the_benchmark_harness_produces_every_figure(tmp_path, monkeypatch):
    if wrk.path() is None:
        reason = "wrk is not installed (apt-get install wrk)"
        if os.environ.get("REQUIRE_WRK") == "1":
            pytest.fail(f"REQUIRE_WRK=1 but {reason}")
        pytest.skip(f"benchmark smoke run skipped: {reason}")
    db_name = _database(monkeypatch)
    monkeypatch.setattr(dataset, "DATA", tmp_path / "data")
    if db_name == "postgresql":
        # A set of its own, so that a run in parallel or a cached set is never touched.
        monkeypatch.setitem(dataset.SIZES, f"small_{os.getpid()}", dataset.SIZES["small"])
        size = f"small_{os.getpid()}"
    else:
        size = "small"
    output, raw = tmp_path / "BENCHMARKS.md", tmp_path / "results.json"
    argv = ["--size", size, "--db", db_name, "--output", str(output), "--json", str(raw)]
    try:
        bench_run.main([*argv, "--strict"])
    finally:
        if db_name == "postgresql":
            dataset._pg_admin(f'DROP DATABASE IF EXISTS "bench_{size}" WITH (FORCE)')

    [result] = json.loads(raw.read_text())
    assert result["enrolments"] > 0
    assert result["build"]["seconds"] > 0
    dashboard = result["dashboard"]
    for key in ("healthz_idle", "dashboard_idle", "healthz_writes", "dashboard_writes"):
        measured = dashboard[key]
        assert measured["requests"] > 0 and measured["not_200"] == 0, (key, measured)
        assert measured["rps"] > 0 and 0 < measured["median_ms"] <= measured["p99_ms"], key
        assert measured["median_ms"] == pytest.approx(measured["median_ms_exact"], rel=0.01)
        assert 0 < measured["cpu_share"] < 1, key  # wrk's own CPU: one thread, not saturated
    for key in ("rate_ratio", "idle_rate_ratio", "median_ratio", "p99_ratio", "first_view_ratio"):
        assert dashboard[key] > 0, key
    assert dashboard["worker_rss_ratio"] > 0
    for key in ("writer_during_healthz", "writer_during_dashboard"):
        writer = dashboard[key]
        assert writer["claims"]["sent"] > 0 and writer["claims"]["not_ok"] == 0, writer
        assert writer["sign_ins"]["sent"] > 0 and writer["sign_ins"]["not_ok"] == 0, writer
        assert writer["claims"]["achieved_per_s"] > 0
    queries = result["queries"]
    assert queries["dashboard_first"] > queries["dashboard"] >= queries["healthz"] > 0
    claims = result["claims"]
    assert claims["answered_201"] == claims["sent"]
    assert claims["invariant_holds"], claims
    assert claims["rate_ratio"] > 0
    assert result["csv"]["imported"] == result["csv"]["rows"]
    assert result["csv"]["ratio"] > 0
    assert result["sweep"]["seconds"] > 0 and result["sweep"]["rss_ratio"] > 0
    assert result["figures_before"]["ok"], result["figures_before"]
    assert result["figures_after"]["ok"], result["figures_after"]

    report = output.read_text()
    for heading in (
        "## Machine",
        "## Targets",
        "## 1. Dashboard",
        "### The write load achieved",
        "### The client is not the bottleneck",
        "### Queries per page",
        "## 2. Claims",
        "## 3. CSV enrolment",
        "## 4. Reminder sweep",
        "## 5. Memory",
        "## 6. Kept counts",
        "## How to repeat",
    ):
        assert heading in report, heading
    assert f"| {db_name} | {size} |" in report
    assert "no drift; no drift" in report
