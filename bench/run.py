"""The benchmark harness: ``python -m bench.run --size 10k,100k --db both``.

For each database and size it copies the cached data set (``bench.dataset``), then runs the
five workloads, each against a reference measured in the same run on the same machine:

1. dashboard: /dashboard under gunicorn against /healthz of the same server (throughput,
   median and p95 latency), and the SQL statements one page makes;
2. claims: a burst of POST /api/v1/cohorts/{id}/claims from many clients at once for one
   cohort, against /healthz at the same concurrency; afterwards no cap may be exceeded;
3. CSV enrolment: a file validated and imported, against a plain executemany INSERT of the
   same rows into the same database;
4. reminder sweep: queue_due_reminders at each size, against the smallest size run;
5. memory: peak RSS of the gunicorn workers after the dashboard load (against the same
   workers after the /healthz load) and of the sweep process (against it before sweeping).

The load comes from a pure-Python client (threads and http.client) on 127.0.0.1, bounded
in requests and seconds. Results go to BENCHMARKS.md (or ``--output``) and, as JSON,
to ``--json``.
"""

import argparse
import csv
import http.client
import io
import json
import os
import platform
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from bench import dataset

ROOT = dataset.ROOT
DEMO_PASSWORD = "demo-password-2023"  # noqa: S105  (the demo's published password)


# Knobs per size: the small run exists so CI exercises every line quickly.
PROFILES = {
    "small": {
        "seconds": 1.5,
        "concurrency": 4,
        "claims": 40,
        "claim_places": 10,
        "claim_clients": 8,
        "csv_rows": 200,
    },
    "full": {
        "seconds": 15.0,
        "concurrency": 4,
        "claims": 600,
        "claim_places": 150,
        "claim_clients": 32,
        "csv_rows": 10_000,
    },
}
WORKERS = 4

TARGETS = {
    "dashboard_rate": 0.25,  # dashboard rps / healthz rps at 100k, at least
    "dashboard_p99_ms": 100.0,  # dashboard p99 at 100k, under a sign-in every half second
    "csv_ratio": 10.0,  # import time / plain insert time, at most
    "sweep_growth": 12.0,  # sweep at 100k / sweep at 10k, at most
    "claims_rate": 0.10,  # claims per second / healthz rps, at least (PostgreSQL)
}


# -- HTTP load ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _one(port: int, method: str, path: str, headers: dict, body: bytes | None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        started = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        return response.status, time.perf_counter() - started, payload
    finally:
        conn.close()


def load(port, path, *, seconds, concurrency, headers=None, method="GET", bodies=None):
    """Send requests from ``concurrency`` threads for ``seconds`` (or until ``bodies`` run out).

    Returns the statuses, the latencies, the answers' bodies and the wall time.
    """
    lock = threading.Lock()
    results: list[tuple[int, float, bytes]] = []
    queue = list(reversed(bodies)) if bodies is not None else None
    deadline = time.perf_counter() + seconds

    def worker():
        while True:
            body = None
            if queue is not None:
                with lock:
                    if not queue:
                        return
                    body = queue.pop()
            elif time.perf_counter() >= deadline:
                return
            answer = _one(port, method, path, headers or {}, body)
            with lock:
                results.append(answer)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies = sorted(r[1] for r in results)
    return {
        "requests": len(results),
        "statuses": [r[0] for r in results],
        "bodies": [r[2] for r in results],
        "rps": len(results) / wall,
        "median_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[max(0, round(0.95 * len(latencies)) - 1)],
        "p99_ms": 1000 * latencies[max(0, round(0.99 * len(latencies)) - 1)],
        "wall": wall,
    }


def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


@contextmanager
def gunicorn(url: str, log: Path):
    """gunicorn with WORKERS sync workers on ``url``, on a free 127.0.0.1 port."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "TRACKER_ENV": "development",
        "SECRET_KEY": dataset.SECRET_KEY,
        "API_RATE_LIMIT": "10000000 per minute",
    }
    with log.open("w") as output:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "-b", f"127.0.0.1:{port}"]
            + ["--timeout", "120", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _one(port, "GET", "/healthz", {}, None)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"gunicorn did not start:\n{log.read_text()}")
            time.sleep(0.1)
        # Every worker answers once, so each has connected before anything is measured.
        load(port, "/healthz", seconds=0.5, concurrency=WORKERS * 2)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if match is None:
        raise RuntimeError("no CSRF token on the sign-in page")
    return match.group(1)


def _cookie(headers) -> str:
    return "; ".join(
        value.split(";", 1)[0] for key, value in headers if key.lower() == "set-cookie"
    )


def sign_in_over_http(port: int, email: str) -> dict:
    """Sign in as the demo account; return the headers that carry its session."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/sign-in")
    response = conn.getresponse()
    token, cookie = _csrf(response.read().decode()), _cookie(response.getheaders())
    conn.close()
    form = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": DEMO_PASSWORD})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(
        "POST",
        "/sign-in",
        body=form,
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
    )
    response = conn.getresponse()
    response.read()
    if response.status != 302:
        raise RuntimeError(f"sign-in answered {response.status}")
    signed_in = _cookie(response.getheaders())
    conn.close()
    return {"Cookie": signed_in}


# -- preparation in process --------------------------------------------------------------


def _room(session, programme, provider, places: int) -> None:
    """Make room for ``places`` more funded places at the programme and allocation levels."""
    from tracker.models import Allocation, ProgrammeTarget
    from tracker.places import current_target

    target = current_target(session, programme.id)
    if target is not None:
        session.add(
            ProgrammeTarget(
                programme_id=programme.id,
                places=target.places + places,
                effective_on=date.today(),  # noqa: DTZ011
                note="benchmark: room for the benchmark's claims",
            )
        )
    allocation = session.scalar(
        sa.select(Allocation).where(
            Allocation.programme_id == programme.id, Allocation.provider_id == provider.id
        )
    )
    if allocation is None:
        session.add(Allocation(provider_id=provider.id, programme_id=programme.id, places=places))
    else:
        allocation.places += places


def _new_cohort(session, programme, provider, name: str, places: int):
    from tracker.models import Cohort, CohortStatus

    cohort = Cohort(
        programme_id=programme.id,
        provider_id=provider.id,
        name=name,
        starts_on=date(date.today().year + 1, 2, 1),  # noqa: DTZ011
        ends_on=date(date.today().year + 2, 12, 31),  # noqa: DTZ011
        places=places,
        status=CohortStatus.OPEN,
    )
    session.add(cohort)
    _room(session, programme, provider, places)
    session.flush()
    return cohort


def prepare(app, profile: dict) -> dict:
    """Create the claims cohort, an API token and the CSV file's rows; count dashboard queries."""
    from tracker.extensions import db
    from tracker.models import Programme, Provider, Setting, User
    from tracker.tokens import create_token

    session = db.session
    user = session.scalar(sa.select(User).where(User.email == "provider@demo.example"))
    provider = session.get(Provider, user.provider_id)
    npq = session.scalar(sa.select(Programme).where(Programme.code == "npq-senco"))
    urns = list(
        session.scalars(
            sa.select(Setting.urn)
            .where(Setting.kind.in_(npq.eligible_setting_kinds))
            .order_by(Setting.id)
        )
    )
    claims_cohort = _new_cohort(session, npq, provider, "Benchmark claims", profile["claim_places"])
    _token, secret = create_token(session, user)
    csv_cohort = _new_cohort(session, npq, provider, "Benchmark CSV", profile["csv_rows"])
    prepared = {
        "claims_cohort": claims_cohort.id,
        "csv_cohort": csv_cohort.id,
        "token": secret,
        "urns": urns,
        "provider_user": user.id,
    }
    session.commit()
    return prepared


def count_queries(app) -> dict:
    """SQL statements for one /dashboard and one /healthz."""
    from tracker.extensions import db

    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    answer = client.post(
        "/sign-in",
        data={"csrf_token": _csrf(page), "email": "dfe@demo.example", "password": DEMO_PASSWORD},
    )
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in answered {answer.status_code}")
    counts = {}
    for name, path in (("dashboard", "/dashboard"), ("healthz", "/healthz")):
        assert client.get(path).status_code == 200, path  # warm
        statements: list[str] = []

        def count(conn, cursor, statement, *args, into=statements):
            into.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(path).status_code == 200, path
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        counts[name] = len(statements)
    return counts


# -- the workloads -----------------------------------------------------------------------


def dashboard_and_memory(port: int, master: int, profile: dict) -> dict:
    """/healthz, then /dashboard: the first view, then the load while someone signs in.

    The first view is one request to a fresh server. Then the load is measured while a
    sign-in (which writes an audit row and a session) is made every half second, as in
    service: the figures are read from the counts the database keeps, so writes that move
    no place must not slow the page.
    """
    seconds, concurrency = profile["seconds"], profile["concurrency"]
    trivial = load(port, "/healthz", seconds=seconds, concurrency=concurrency)
    workers = _children(master)
    rss_trivial = max(_status_kb(pid, "VmHWM") for pid in workers)
    headers = sign_in_over_http(port, "dfe@demo.example")
    status, first_s, _body = _one(port, "GET", "/dashboard", headers, None)
    load(port, "/dashboard", seconds=seconds / 5, concurrency=concurrency, headers=headers)
    stop, sign_ins = threading.Event(), []

    def sign_in_now_and_then():
        while not stop.wait(0.5):
            sign_in_over_http(port, "dfe@demo.example")
            sign_ins.append(1)

    writer = threading.Thread(target=sign_in_now_and_then, daemon=True)
    writer.start()
    try:
        dash = load(port, "/dashboard", seconds=seconds, concurrency=concurrency, headers=headers)
    finally:
        stop.set()
        writer.join()
    rss_dashboard = max(_status_kb(pid, "VmHWM") for pid in workers)
    bad = [s for s in [status, *dash["statuses"], *trivial["statuses"]] if s != 200]
    if bad:
        raise RuntimeError(f"dashboard load: {len(bad)} answers not 200, e.g. {bad[0]}")
    return {
        "healthz": _summary(trivial),
        "dashboard": _summary(dash),
        "sign_ins_during_load": len(sign_ins),
        "first_view_ms": 1000 * first_s,
        "first_view_ratio": 1000 * first_s / trivial["median_ms"],
        "rate_ratio": dash["rps"] / trivial["rps"],
        "median_ratio": dash["median_ms"] / trivial["median_ms"],
        "p95_ratio": dash["p95_ms"] / trivial["p95_ms"],
        "worker_rss_trivial_kb": rss_trivial,
        "worker_rss_dashboard_kb": rss_dashboard,
        "worker_rss_ratio": rss_dashboard / rss_trivial,
    }


def _summary(result: dict) -> dict:
    return {k: result[k] for k in ("requests", "rps", "median_ms", "p95_ms", "p99_ms", "wall")}


def claims_burst(port: int, url: str, prepared: dict, profile: dict) -> dict:
    clients = profile["claim_clients"]
    trivial = load(port, "/healthz", seconds=profile["seconds"], concurrency=clients)
    urns = prepared["urns"]
    bodies = [
        json.dumps(
            {
                "full_name": f"Bench Claimant {n}",
                "email": f"bench.claim.{n}@example.com",
                "setting": urns[n % len(urns)],
            }
        ).encode()
        for n in range(profile["claims"])
    ]
    headers = {"Authorization": f"Bearer {prepared['token']}", "Content-Type": "application/json"}
    burst = load(
        port,
        f"/api/v1/cohorts/{prepared['claims_cohort']}/claims",
        seconds=600,
        concurrency=clients,
        headers=headers,
        method="POST",
        bodies=bodies,
    )
    statuses = [json.loads(b).get("status") for b in burst["bodies"] if b.startswith(b"{")]
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        holding = conn.scalar(
            sa.text("SELECT count(*) FROM claims WHERE cohort_id = :c AND holds_place"),
            {"c": prepared["claims_cohort"]},
        )
    engine.dispose()
    over = dataset.over_cap(url)
    return {
        "healthz": _summary(trivial),
        "claims": _summary(burst),
        "clients": clients,
        "answered_201": sum(s == 201 for s in burst["statuses"]),
        "sent": len(bodies),
        "funded": statuses.count("funded"),
        "waiting": statuses.count("waiting"),
        "places": profile["claim_places"],
        "holding_in_db": holding,
        "over_cap": over,
        "invariant_holds": not over
        and holding == min(profile["claim_places"], len(bodies))
        and statuses.count("funded") == holding,
        "rate_ratio": burst["rps"] / trivial["rps"],
    }


def csv_import(app, prepared: dict, profile: dict) -> dict:
    from tracker.extensions import db
    from tracker.imports import import_enrolments
    from tracker.models import Cohort, User

    urns, rows = prepared["urns"], profile["csv_rows"]
    records = [
        {
            "full_name": f"Bench Enrolee {n}",
            "email": f"bench.csv.{n}@example.com",
            "trn": "",
            "setting_urn": urns[n % len(urns)],
        }
        for n in range(rows)
    ]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["full_name", "email", "trn", "setting_urn"])
    writer.writeheader()
    writer.writerows(records)
    data = out.getvalue().encode()

    session = db.session
    session.rollback()
    # Reference: the same rows, a plain executemany INSERT into a table of their own.
    with db.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_plain_rows"))
        conn.execute(
            sa.text(
                "CREATE TABLE bench_plain_rows (full_name VARCHAR(200), email VARCHAR(254),"
                " trn VARCHAR(7), setting_urn VARCHAR(8))"
            )
        )
    started = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO bench_plain_rows (full_name, email, trn, setting_urn)"
                " VALUES (:full_name, :email, :trn, :setting_urn)"
            ),
            records,
        )
    plain = time.perf_counter() - started

    cohort = session.get(Cohort, prepared["csv_cohort"])
    user = session.get(User, prepared["provider_user"])
    started = time.perf_counter()
    outcomes = import_enrolments(session, cohort, data, by=user)
    session.commit()
    imported = time.perf_counter() - started
    return {
        "rows": rows,
        "bytes": len(data),
        "import_s": imported,
        "plain_insert_s": plain,
        "ratio": imported / plain,
        "imported": len(outcomes),
    }


def sweep(url: str) -> dict:
    answer = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.sweep", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    result = json.loads(answer.stdout.strip().splitlines()[-1])
    result["rss_ratio"] = result["rss_peak_kb"] / result["rss_before_kb"]
    return result


def run_one(db_name: str, size: str, profile: dict, echo=print) -> dict:
    from tracker.extensions import db

    echo(f"== {db_name} {size}")
    result: dict = {"db": db_name, "size": size}
    with dataset.working_copy(db_name, size, echo) as url:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            result["enrolments"] = conn.scalar(sa.text("SELECT count(*) FROM claims"))
            result["participants"] = conn.scalar(sa.text("SELECT count(*) FROM participants"))
        engine.dispose()
        app = dataset.app_for(url)
        with app.app_context():
            prepared = prepare(app, profile)
            result["queries"] = count_queries(app)
            db.session.remove()
            db.engine.dispose()
        log = dataset.DATA / f"gunicorn-{db_name}-{size}.log"
        with gunicorn(url, log) as (port, master):
            echo("   dashboard")
            result["dashboard"] = dashboard_and_memory(port, master, profile)
            echo("   claims")
            result["claims"] = claims_burst(port, url, prepared, profile)
        echo("   csv import")
        with app.app_context():
            result["csv"] = csv_import(app, prepared, profile)
            db.session.remove()
            db.engine.dispose()
        echo("   reminder sweep")
        result["sweep"] = sweep(url)
    return result


# -- the report --------------------------------------------------------------------------


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as info:
            memory = int(info.readline().split()[1]) // 1024
    except OSError:
        memory = 0
    postgres = ""
    try:
        engine = sa.create_engine(dataset._pg("postgres"))
        with engine.connect() as conn:
            postgres = conn.scalar(sa.text("SHOW server_version"))
        engine.dispose()
    except sa.exc.OperationalError:
        postgres = "not reachable"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_mb": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres,
        "gunicorn_workers": WORKERS,
    }


def _ok(flag: bool | None) -> str:
    return "n/a" if flag is None else ("**met**" if flag else "**not met**")


def sweep_growth(results: list[dict]) -> dict[str, dict]:
    """Sweep time at 100k against 10k, per database, when both ran."""
    growth = {}
    for db_name in {r["db"] for r in results}:
        by_size = {r["size"]: r["sweep"]["seconds"] for r in results if r["db"] == db_name}
        if "10k" in by_size and "100k" in by_size:
            growth[db_name] = {
                "from": "10k",
                "to": "100k",
                "ratio": by_size["100k"] / by_size["10k"],
            }
        elif len(by_size) > 1:
            sizes = sorted(by_size, key=lambda s: dataset.SIZES[s][0] * dataset.SIZES[s][1])
            growth[db_name] = {
                "from": sizes[0],
                "to": sizes[-1],
                "ratio": by_size[sizes[-1]] / by_size[sizes[0]],
            }
    return growth


def targets(results: list[dict]) -> list[tuple[str, str, str]]:
    rows = []
    for r in results:
        label = f"{r['db']} {r['size']}"
        d, c, v = r["dashboard"], r["claims"], r["csv"]
        if r["size"] == "100k":
            rows.append(
                (
                    f"dashboard ≥ 1/4 of /healthz rate, p99 < 100 ms, at 100k ({label})",
                    f"{d['rate_ratio']:.3f}, p99 {d['dashboard']['p99_ms']:.0f} ms",
                    _ok(
                        d["rate_ratio"] >= TARGETS["dashboard_rate"]
                        and d["dashboard"]["p99_ms"] < TARGETS["dashboard_p99_ms"]
                    ),
                )
            )
        rows.append(
            (
                f"CSV import within 10× the plain insert ({label})",
                f"{v['ratio']:.1f}×",
                _ok(v["ratio"] <= TARGETS["csv_ratio"]),
            )
        )
        if r["db"] == "postgresql":
            rows.append(
                (
                    f"claims ≥ 1/10 of /healthz rate, no cap exceeded ({label})",
                    f"{c['rate_ratio']:.3f}, over cap: {c['over_cap'] or 'none'}",
                    _ok(c["rate_ratio"] >= TARGETS["claims_rate"] and c["invariant_holds"]),
                )
            )
    for db_name, g in sweep_growth(results).items():
        if (g["from"], g["to"]) == ("10k", "100k"):
            rows.append(
                (
                    f"sweep 100k within 12× of 10k ({db_name})",
                    f"{g['ratio']:.1f}×",
                    _ok(g["ratio"] <= TARGETS["sweep_growth"]),
                )
            )
    return rows


def render(results: list[dict], info: dict, command: str, started: str, not_run: list[str]) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Written by `bench/run.py` (`make bench`). Every figure is a ratio against a reference",
        "measured in the same run on the same machine; absolute figures are given beside it",
        "only to make the ratio readable. Do not compare absolute figures between machines.",
        "",
        f"Run: `{command}`, started {started}.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in info.items()]
    lines += [
        "",
        "## Data sets",
        "",
        "* `10k`: the demo generator (`tracker.demo.load_demo`, scale 1.0, seed 2023): every",
        "  claim went through the place ledger.",
        "* `100k`: **demo data replicated**: the 10k set cloned ten times with set-based SQL",
        "  (`bench/dataset.py`); the copies share providers and settings, so allocations,",
        "  programme targets, places per setting and programme-wide quotas are multiplied by",
        "  ten. Caps are checked after the build.",
        "* `small`: the demo at scale 0.02 (the CI smoke run).",
        "",
        "| database | size | enrolments (claims) | participants |",
        "|---|---|---:|---:|",
    ]
    lines += [
        f"| {r['db']} | {r['size']} | {r['enrolments']:,} | {r['participants']:,} |"
        for r in results
    ]
    lines += ["", "## Targets", "", "| target | measured | |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in targets(results)]
    lines += [
        "",
        "## 1. Dashboard (gunicorn, "
        f"{WORKERS} sync workers; reference: /healthz of the same server)",
        "",
        "The figures are read from the claim counts the database keeps (`tracker/figures.py`);",
        "nothing is kept between requests. *First view*: one request to a fresh server. The",
        "load is measured while a DfE user signs in every half second (each sign-in writes).",
        "",
        "| database | size | /dashboard req/s | /healthz req/s | rate ratio | median ms"
        " (ratio) | p95 ms (ratio) | p99 ms | first view ms (ratio to /healthz median) |"
        " queries per page (/healthz) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        d, q = r["dashboard"], r["queries"]
        lines.append(
            f"| {r['db']} | {r['size']} | {d['dashboard']['rps']:.1f} | {d['healthz']['rps']:.0f}"
            f" | {d['rate_ratio']:.3f} | {d['dashboard']['median_ms']:.0f}"
            f" ({d['median_ratio']:.0f}×) | {d['dashboard']['p95_ms']:.0f}"
            f" ({d['p95_ratio']:.0f}×) | {d['dashboard']['p99_ms']:.0f}"
            f" | {d['first_view_ms']:.0f} ({d['first_view_ratio']:.0f}×)"
            f" | {q['dashboard']} ({q['healthz']}) |"
        )
    lines += [
        "",
        "## 2. Claims at the moment places open (POST /api/v1/cohorts/{id}/claims)",
        "",
        "Reference: /healthz of the same server at the same number of clients. The invariant",
        "is checked afterwards over the whole database: no cohort, allocation, programme",
        "target or setting holds more funded places than its cap, and the cohort holds",
        "exactly its places.",
        "",
        "| database | size | clients | claims sent | 201 | funded / places | claims/s"
        " | /healthz req/s | rate ratio | over any cap |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        c = r["claims"]
        lines.append(
            f"| {r['db']} | {r['size']} | {c['clients']} | {c['sent']} | {c['answered_201']}"
            f" | {c['funded']} / {c['places']} | {c['claims']['rps']:.1f}"
            f" | {c['healthz']['rps']:.0f} | {c['rate_ratio']:.3f}"
            f" | {'none' if not c['over_cap'] else c['over_cap']}"
            f"{'' if c['invariant_holds'] else ' (invariant FAILED)'} |"
        )
    lines += [
        "",
        "## 3. CSV enrolment (reference: plain executemany INSERT of the same rows)",
        "",
        "| database | size | rows | import s | plain insert s | ratio |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        v = r["csv"]
        lines.append(
            f"| {r['db']} | {r['size']} | {v['rows']:,} | {v['import_s']:.2f}"
            f" | {v['plain_insert_s']:.3f} | {v['ratio']:.1f}× |"
        )
    lines += [
        "",
        "## 4. Reminder sweep (`queue_due_reminders`; reference: the smaller size)",
        "",
        "| database | size | seconds | due | queued |",
        "|---|---|---:|---:|---:|",
    ]
    for r in results:
        s = r["sweep"]
        lines.append(
            f"| {r['db']} | {r['size']} | {s['seconds']:.2f} | {s['due']:,} | {s['queued']:,} |"
        )
    growth = sweep_growth(results)
    if growth:
        lines.append("")
        for db_name, g in sorted(growth.items()):
            lines.append(f"* {db_name}: sweep at {g['to']} / at {g['from']} = {g['ratio']:.1f}×")
    lines += [
        "",
        "## 5. Memory (peak RSS, VmHWM)",
        "",
        "Web worker: the largest gunicorn worker after the /dashboard load, against the same",
        "workers after the /healthz load. Sweep: the sweep's own process at its peak, against",
        "it with the app built and connected, before sweeping.",
        "",
        "| database | size | worker MB after /healthz | after /dashboard | ratio"
        " | sweep MB before | sweep peak MB | ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        d, s = r["dashboard"], r["sweep"]
        lines.append(
            f"| {r['db']} | {r['size']} | {d['worker_rss_trivial_kb'] / 1024:.0f}"
            f" | {d['worker_rss_dashboard_kb'] / 1024:.0f} | {d['worker_rss_ratio']:.2f}"
            f" | {s['rss_before_kb'] / 1024:.0f} | {s['rss_peak_kb'] / 1024:.0f}"
            f" | {s['rss_ratio']:.2f} |"
        )
    lines += ["", "## What was run", ""]
    lines += [f"* {r['db']} {r['size']}: every workload" for r in results]
    lines += [f"* {item}" for item in not_run]
    lines += [
        "",
        "## Reading these figures",
        "",
        "* One repetition of each load, 15 s each (1.5 s in the small run): expect some",
        "  noise between runs, most in /healthz (the client, not the server, limits it).",
        "* The client runs on the same cores as gunicorn and the database; the dashboard and",
        "  /healthz loads use as many clients as there are workers, the claims burst 32.",
        "* The CSV file has the same rows at every size (10,000 on the full run); at 100k",
        "  it is imported into a database ten times as large.",
        "* The claims and the CSV rows go to new cohorts of the demo provider, with the",
        "  programme target and the provider's allocation raised to make room for them, so",
        "  the cohort's own cap is the one that fills.",
        "",
        "## What bounds each figure",
        "",
        "* Dashboard: every view reads the claim counts the database keeps, by trigger, in",
        "  the transaction of each claim change: a few hundred rows whatever the number of",
        "  claims. A view filtered by the date claims were made counts those claims instead.",
        "* Claims: decisions about one programme are made one at a time, under its row lock",
        "  (`tracker/places.py`). The people are found and added before the lock; the caps",
        "  are read, the claim written and the answer built under it, until commit. That",
        "  section, and the CPU the workers share with the client and the database, bound",
        "  the rate; at 100k the counts of places held (read under the lock) take longer.",
        "* CSV: each row writes a participant, a claim and two audit rows into indexed",
        "  tables; the reference writes one row into a table without an index. PostgreSQL",
        "  takes the rows by COPY; SQLite by executemany.",
        "* SQLite: every transaction, a page's reads included, takes the database's write",
        "  lock (`BEGIN IMMEDIATE`, `tracker/database.py`), so the workers answer one at a",
        "  time. It is the embedded default for running the service anywhere; PostgreSQL is",
        "  the production database.",
    ]
    lines += [
        "",
        "## How to repeat",
        "",
        "```sh",
        "make bench          # 10k and 100k, SQLite and PostgreSQL: the full run",
        ".venv/bin/python -m bench.run --size 10k --db postgresql   # one part of it",
        ".venv/bin/python -m bench.run --size small --db sqlite --output /tmp/B.md  # as CI",
        "```",
        "",
        "PostgreSQL is reached at `BENCH_POSTGRES_URL` (default",
        "`postgresql://postgres@127.0.0.1:5432/postgres`); the data sets are built once and",
        "cached (`bench/.data/*.sqlite3`, PostgreSQL databases `bench_10k`, `bench_100k`);",
        "delete them to rebuild. Before a run a cached data set is brought to the current",
        "schema (and on PostgreSQL vacuumed and analysed, as autovacuum would); each run",
        "works on a copy of it and drops it. The load is",
        "generated by threads in the harness's own process on the same machine, so client",
        "and server share the CPU: the ratios, not the absolute rates, are the figures.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="10k,100k", help="small, 10k, 100k (comma separated)")
    parser.add_argument("--db", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--json", default=None, help="also write the raw results here")
    parser.add_argument("--strict", action="store_true", help="stop at the first failure")
    args = parser.parse_args(argv)
    sizes = [s.strip() for s in args.size.split(",") if s.strip()]
    for size in sizes:
        if size not in dataset.SIZES:
            parser.error(f"unknown size {size}")
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:])
    results, not_run = [], []
    for size in sizes:
        profile = PROFILES["small" if size == "small" else "full"]
        for db_name in dbs:
            try:
                results.append(run_one(db_name, size, profile))
            except Exception as error:  # noqa: BLE001  (reported, and the others still run)
                if args.strict:
                    raise
                print(f"{db_name} {size} failed: {error!r}", file=sys.stderr)
                not_run.append(f"{db_name} {size}: failed ({type(error).__name__}: {error})")
    for size in ("10k", "100k"):
        for db_name in ("sqlite", "postgresql"):
            ran = any(r["size"] == size and r["db"] == db_name for r in results)
            failed = any(item.startswith(f"{db_name} {size}:") for item in not_run)
            if not ran and not failed:
                not_run.append(f"{db_name} {size}: not run in this invocation")
    report = render(results, machine(), command.strip(), started, not_run)
    Path(args.output).write_text(report)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    print(f"wrote {args.output}")
    return results


if __name__ == "__main__":
    main()
