"""The benchmark harness: ``python -m bench.run --size 10k,100k,1m --db both``.

For each database and size it copies the cached data set (``bench.dataset``), checks its
kept counts (``flask tracker figures check``), then runs the workloads, each against a
reference measured in the same run on the same machine, and checks the kept counts again:

1. dashboard: /dashboard under gunicorn (``WORKERS`` sync workers) against /healthz of the
   same server, loaded by wrk (``bench.wrk``): idle, and under a steady write load
   (``bench.writer``: claims through the API and sign-ins, at fixed rates) with /healthz
   measured under the same load; requests/s, median and p99 latency, the CPU wrk and the
   workers used, and the SQL statements one page makes;
2. claims: a burst of POST /api/v1/cohorts/{id}/claims from many clients at once for one
   cohort, against /healthz at the same concurrency and against the same burst at the
   smallest size run; afterwards no cap may be exceeded;
3. CSV enrolment: a file validated and imported, against a plain executemany INSERT of the
   same rows into the same database;
4. reminder sweep: queue_due_reminders at each size, against the smallest size run;
5. memory: peak RSS of the gunicorn workers after the dashboard load (against the same
   workers after the /healthz load) and of the sweep process (against it before sweeping).

Results go to BENCHMARKS.md (or ``--output``) and, as JSON, to ``--json``.
"""

import argparse
import csv
import io
import json
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from bench import dataset
from bench import wrk as wrk_client
from bench.client import DEMO_PASSWORD, csrf, free_port, load, one, sign_in_over_http

ROOT = dataset.ROOT

# Knobs per size: the small run exists so CI exercises every line quickly.
PROFILES = {
    "small": {
        "seconds": 2,
        "claims": 40,
        "claim_places": 10,
        "claim_clients": 8,
        "csv_rows": 200,
        "writer_places": 40,
    },
    "full": {
        "seconds": 15,
        "claims": 600,
        "claim_places": 150,
        "claim_clients": 32,
        "csv_rows": 10_000,
        "writer_places": 400,
    },
}
WORKERS = 4  # gunicorn sync workers, at every size and on both databases
# wrk: one thread (a fraction of one core) keeping twice as many connections open as there
# are workers, so a worker never waits for the client to reconnect (sync workers close
# the connection after each answer).
WRK_THREADS = 1
WRK_CONNECTIONS = 2 * WORKERS
# The steady write load (bench/writer.py) during the "under writes" measurements.
WRITE_LOAD = {"claims_per_second": 2.0, "sign_ins_per_second": 2.0}
WRITER_LEAD_SECONDS = 1.0  # the writer runs this long before a measurement starts

TARGETS = {
    "dashboard_rate": 0.25,  # /dashboard req/s / /healthz req/s under the write load, at least
    "dashboard_p99_ms": 100.0,  # /dashboard p99 under the write load, under
    "claims_growth": 0.80,  # claims/s at 1m / claims/s at 10k, at least (within 20%)
    "csv_ratio": 10.0,  # import time / plain insert time, at most
    "sweep_growth": 12.0,  # sweep at 100k / sweep at 10k, at most
    "claims_rate": 0.10,  # claims per second / healthz rps, at least (PostgreSQL)
}
TARGET_SIZES = ("100k", "1m")  # where the dashboard targets apply


# -- processes ---------------------------------------------------------------------------


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


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU the processes have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


@contextmanager
def gunicorn(url: str, log: Path):
    """gunicorn with WORKERS sync workers on ``url``, on a free 127.0.0.1 port."""
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "-b", f"127.0.0.1:{port}"]
            + ["--timeout", "120", "wsgi:app"],
            cwd=ROOT,
            env=dataset.server_env(url),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if one(port, "GET", "/healthz", {}, None)[0] == 200:
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


def figures_check(url: str) -> dict:
    """``flask --app wsgi tracker figures check`` on ``url``: no drift, or how much."""
    return dataset.figures_check(url)


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
    """Create the cohorts for the claims burst, the writer and the CSV file, and an API token."""
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
    writer_cohort = _new_cohort(
        session, npq, provider, "Benchmark writer", profile["writer_places"]
    )
    prepared = {
        "claims_cohort": claims_cohort.id,
        "csv_cohort": csv_cohort.id,
        "writer_cohort": writer_cohort.id,
        "token": secret,
        "urns": urns,
        "provider_user": user.id,
    }
    session.commit()
    return prepared


def count_queries(app) -> dict:
    """SQL statements for /dashboard (its first view in a fresh app, then kept) and /healthz."""
    from tracker.extensions import db

    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    answer = client.post(
        "/sign-in",
        data={"csrf_token": csrf(page), "email": "dfe@demo.example", "password": DEMO_PASSWORD},
    )
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in answered {answer.status_code}")

    def statements_for(path: str) -> int:
        statements: list[str] = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            status = client.get(path).status_code
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
        return len(statements)

    first = statements_for("/dashboard")  # nothing kept yet: every figure worked out
    kept = statements_for("/dashboard")
    statements_for("/healthz")
    return {"dashboard_first": first, "dashboard": kept, "healthz": statements_for("/healthz")}


# -- the workloads -----------------------------------------------------------------------


@contextmanager
def write_load(port: int, prepared: dict, tag: str):
    """The steady write load (``bench.writer``) in a process of its own, for the block's time.

    Yields a dict that is filled, when the block ends, with what the writer achieved.
    """
    urns = prepared["urns"][:200]
    command = [sys.executable, "-m", "bench.writer", "--port", str(port)]
    command += ["--cohort", str(prepared["writer_cohort"]), "--token", prepared["token"]]
    command += ["--urns", ",".join(urns), "--prefix", tag, "--email", "dfe@demo.example"]
    command += ["--claims-per-second", str(WRITE_LOAD["claims_per_second"])]
    command += ["--sign-ins-per-second", str(WRITE_LOAD["sign_ins_per_second"])]
    process = subprocess.Popen(  # noqa: S603
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    report: dict = {}
    try:
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the writer did not start: {process.stderr.read()}")
        time.sleep(WRITER_LEAD_SECONDS)
        if process.poll() is not None:
            raise RuntimeError(f"the writer stopped: {process.stderr.read()}")
        yield report
    finally:
        process.terminate()
        out, err = process.communicate(timeout=180)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"the writer reported nothing: {err}")
    report.update(json.loads(lines[-1]))


def measure(port: int, path: str, seconds: float, workers: list[int], cookie=None) -> dict:
    """wrk on ``path``, with the CPU the gunicorn workers used meanwhile."""
    before = _cpu_seconds(workers)
    result = wrk_client.run(
        port,
        path,
        seconds=seconds,
        connections=WRK_CONNECTIONS,
        threads=WRK_THREADS,
        cookie=cookie,
    )
    result["server_cpu_share"] = (_cpu_seconds(workers) - before) / result["wall"]
    if result["not_200"] or result["requests"] == 0:
        raise RuntimeError(f"{path}: {result['statuses']} (every answer must be 200)")
    return result


def dashboard_and_memory(port: int, master: int, prepared: dict, profile: dict) -> dict:
    """/healthz and /dashboard by wrk: idle, then under the steady write load.

    The first view is one request to a fresh server. Then every worker is warmed and
    /healthz and /dashboard measured idle; then, each while the writer makes claims and
    signs in at fixed rates, /healthz and /dashboard again.
    """
    seconds = profile["seconds"]
    workers = _children(master)
    healthz_idle = measure(port, "/healthz", seconds, workers)
    rss_trivial = max(_status_kb(pid, "VmHWM") for pid in workers)
    cookie = sign_in_over_http(port, "dfe@demo.example")
    status, first_s, _body = one(port, "GET", "/dashboard", {"Cookie": cookie}, None)
    if status != 200:
        raise RuntimeError(f"/dashboard answered {status} to the signed-in session")
    measure(port, "/dashboard", max(1, seconds / 5), workers, cookie)  # warm every worker
    dashboard_idle = measure(port, "/dashboard", seconds, workers, cookie)
    tag = f"{os.getpid()}-{time.time_ns()}"
    with write_load(port, prepared, f"h{tag}") as healthz_writes:
        healthz_busy = measure(port, "/healthz", seconds, workers)
    with write_load(port, prepared, f"d{tag}") as dashboard_writes:
        dashboard_busy = measure(port, "/dashboard", seconds, workers, cookie)
    rss_dashboard = max(_status_kb(pid, "VmHWM") for pid in workers)
    return {
        "healthz_idle": healthz_idle,
        "dashboard_idle": dashboard_idle,
        "healthz_writes": healthz_busy,
        "dashboard_writes": dashboard_busy,
        "writer_during_healthz": healthz_writes,
        "writer_during_dashboard": dashboard_writes,
        "first_view_ms": 1000 * first_s,
        "first_view_ratio": 1000 * first_s / healthz_idle["median_ms"],
        "idle_rate_ratio": dashboard_idle["rps"] / healthz_idle["rps"],
        "rate_ratio": dashboard_busy["rps"] / healthz_busy["rps"],
        "median_ratio": dashboard_busy["median_ms"] / healthz_busy["median_ms"],
        "p99_ratio": dashboard_busy["p99_ms"] / healthz_busy["p99_ms"],
        "worker_rss_trivial_kb": rss_trivial,
        "worker_rss_dashboard_kb": rss_dashboard,
        "worker_rss_ratio": rss_dashboard / rss_trivial,
    }


def _summary(result: dict) -> dict:
    return {k: result[k] for k in ("requests", "rps", "median_ms", "p95_ms", "p99_ms", "wall")}


def claims_burst(port: int, url: str, prepared: dict, profile: dict) -> dict:
    """The claims burst, by the pure-Python client: every claim has a body of its own."""
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
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    burst = load(
        port,
        f"/api/v1/cohorts/{prepared['claims_cohort']}/claims",
        seconds=600,
        concurrency=clients,
        headers=headers,
        method="POST",
        bodies=bodies,
    )
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    client_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (
        cpu_after.ru_stime - cpu_before.ru_stime
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
        "client_cpu_share": client_cpu / burst["wall"],
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
    result: dict = {"db": db_name, "size": size, "build": dataset.build_info(db_name, size)}
    with dataset.working_copy(db_name, size, echo) as url:
        result["build"] = dataset.build_info(db_name, size)
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            result["enrolments"] = conn.scalar(sa.text("SELECT count(*) FROM claims"))
            result["participants"] = conn.scalar(sa.text("SELECT count(*) FROM participants"))
        engine.dispose()
        echo("   figures check (as built)")
        result["figures_before"] = figures_check(url)
        app = dataset.app_for(url)
        with app.app_context():
            prepared = prepare(app, profile)
            result["queries"] = count_queries(app)
            db.session.remove()
            db.engine.dispose()
        dataset.DATA.mkdir(parents=True, exist_ok=True)
        log = dataset.DATA / f"gunicorn-{db_name}-{size}.log"
        with gunicorn(url, log) as (port, master):
            echo("   dashboard (idle, then under the write load)")
            result["dashboard"] = dashboard_and_memory(port, master, prepared, profile)
            echo("   claims")
            result["claims"] = claims_burst(port, url, prepared, profile)
        echo("   csv import")
        with app.app_context():
            result["csv"] = csv_import(app, prepared, profile)
            db.session.remove()
            db.engine.dispose()
        echo("   reminder sweep")
        result["sweep"] = sweep(url)
        echo("   figures check (after the run)")
        result["figures_after"] = figures_check(url)
    return result


# -- the report --------------------------------------------------------------------------


def _ok(flag: bool | None) -> str:
    return "n/a" if flag is None else ("**met**" if flag else "**not met**")


def _order(size: str) -> int:
    scale, copies = dataset.SIZES[size]
    return round(scale * copies * 1000)


def sweep_growth(results: list[dict]) -> dict[str, dict]:
    """Sweep time at 100k against 10k (else largest against smallest), per database."""
    growth = {}
    for db_name in {r["db"] for r in results}:
        by_size = {r["size"]: r["sweep"]["seconds"] for r in results if r["db"] == db_name}
        if "10k" in by_size and "100k" in by_size:
            pair = ("10k", "100k")
        elif len(by_size) > 1:
            sizes = sorted(by_size, key=_order)
            pair = (sizes[0], sizes[-1])
        else:
            continue
        growth[db_name] = {
            "from": pair[0],
            "to": pair[1],
            "ratio": by_size[pair[1]] / by_size[pair[0]],
        }
    return growth


def claims_growth(results: list[dict]) -> dict[str, dict]:
    """Claims per second at the largest size run against the smallest, per database."""
    growth = {}
    for db_name in {r["db"] for r in results}:
        by_size = {r["size"]: r["claims"]["claims"]["rps"] for r in results if r["db"] == db_name}
        if len(by_size) > 1:
            sizes = sorted(by_size, key=_order)
            growth[db_name] = {
                "from": sizes[0],
                "to": sizes[-1],
                "ratio": by_size[sizes[-1]] / by_size[sizes[0]],
            }
    return growth


def queries_flat(results: list[dict]) -> dict[str, dict]:
    """Queries per /dashboard (first view, kept) at each size, per database."""
    flat = {}
    for db_name in {r["db"] for r in results}:
        rows = sorted((r for r in results if r["db"] == db_name), key=lambda r: _order(r["size"]))
        first = [r["queries"]["dashboard_first"] for r in rows]
        kept = [r["queries"]["dashboard"] for r in rows]
        flat[db_name] = {
            "sizes": [r["size"] for r in rows],
            "first": first,
            "kept": kept,
            "flat": max(first) <= first[0] and max(kept) <= kept[0],
        }
    return flat


def _drift(check: dict) -> str:
    return "no drift" if check["ok"] else f"drift: {check['differences']:,} kept counts differ"


def targets(results: list[dict]) -> list[tuple[str, str, str]]:
    rows = []
    for r in results:
        label = f"{r['db']} {r['size']}"
        d = r["dashboard"]
        busy, w = d["dashboard_writes"], d["writer_during_dashboard"]
        if r["size"] in TARGET_SIZES:
            rows.append(
                (
                    "dashboard under the write load ≥ 1/4 of /healthz under it, p99 < 100 ms"
                    f" ({label})",
                    f"{d['rate_ratio']:.3f}, p99 {busy['p99_ms']:.0f} ms (write load achieved:"
                    f" {w['claims']['achieved_per_s']:.2f} claims/s,"
                    f" {w['sign_ins']['achieved_per_s']:.2f} sign-ins/s)",
                    _ok(
                        d["rate_ratio"] >= TARGETS["dashboard_rate"]
                        and busy["p99_ms"] < TARGETS["dashboard_p99_ms"]
                    ),
                )
            )
    for db_name, q in sorted(queries_flat(results).items()):
        if len(q["sizes"]) > 1:
            rows.append(
                (
                    f"queries per /dashboard do not grow with the data ({db_name},"
                    f" {', '.join(q['sizes'])})",
                    f"first view {' / '.join(map(str, q['first']))};"
                    f" kept {' / '.join(map(str, q['kept']))}",
                    _ok(q["flat"]),
                )
            )
    for db_name, g in sorted(claims_growth(results).items()):
        rows.append(
            (
                f"claims/s at {g['to']} within 20% of claims/s at {g['from']} ({db_name})",
                f"{g['ratio']:.2f}×",
                _ok(g["ratio"] >= TARGETS["claims_growth"])
                if (g["from"], g["to"]) == ("10k", "1m")
                else f"{_ok(g['ratio'] >= TARGETS['claims_growth'])} (the target is 1m vs 10k)",
            )
        )
    for r in results:
        label = f"{r['db']} {r['size']}"
        rows.append(
            (
                f"`tracker figures check` as built and after the run ({label})",
                f"{_drift(r['figures_before'])}; {_drift(r['figures_after'])}",
                _ok(r["figures_before"]["ok"] and r["figures_after"]["ok"]),
            )
        )
    for r in results:
        label = f"{r['db']} {r['size']}"
        c, v = r["claims"], r["csv"]
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
    for db_name, g in sorted(sweep_growth(results).items()):
        if (g["from"], g["to"]) == ("10k", "100k"):
            rows.append(
                (
                    f"sweep 100k within 12× of 10k ({db_name})",
                    f"{g['ratio']:.1f}×",
                    _ok(g["ratio"] <= TARGETS["sweep_growth"]),
                )
            )
    return rows


def _writer(w: dict) -> str:
    c, s = w["claims"], w["sign_ins"]
    return (
        f"{c['sent']} ({c['achieved_per_s']:.2f}/s, {c['not_ok']} not 201)"
        f" | {s['sent']} ({s['achieved_per_s']:.2f}/s, {s['not_ok']} failed)"
    )


def render(
    results: list[dict], info: dict, command: str, started: str | None, not_run: list[str]
) -> str:
    claims_per_s = WRITE_LOAD["claims_per_second"]
    sign_ins_per_s = WRITE_LOAD["sign_ins_per_second"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `bench/run.py` (`make bench`). Every figure is a ratio against a reference",
        "measured in the same run on the same machine; absolute figures are given beside it",
        "only to make the ratio readable. Do not compare absolute figures between machines.",
        "",
        f"Run: {command}" + (f", started {started}." if started else "."),
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
        "  claim decided by the place ledger's rules, and checked against them after the load.",
        "* `100k` and `1m`: **demo data replicated**: the 10k set cloned 10 and 100 times with",
        "  set-based SQL (`bench/dataset.py`, one `INSERT ... SELECT` per table); the copies",
        "  share providers and settings, so allocations, programme targets, places per setting",
        "  and programme-wide quotas are multiplied by the number of copies. Caps are checked",
        "  after the build (`over_cap`), and so are the kept counts (`tracker figures check`:",
        "  the triggers on `claims` kept them as the copies were inserted).",
        "* `small`: the demo at scale 0.02 (the CI smoke run).",
        "",
        "Build: the time to make the set from nothing, or for a replicated set from the",
        "cached 10k set (copy, clone, check the caps and the kept counts, vacuum and analyse).",
        "",
        "| database | size | enrolments (claims) | participants | build s |",
        "|---|---|---:|---:|---:|",
    ]
    for r in results:
        built = r["build"].get("seconds")
        lines.append(
            f"| {r['db']} | {r['size']} | {r['enrolments']:,} | {r['participants']:,}"
            f" | {'?' if built is None else f'{built:.0f}'} |"
        )
    lines += ["", "## Targets", "", "| target | measured | |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in targets(results)]
    lines += [
        "",
        f"## 1. Dashboard (gunicorn, {WORKERS} sync workers;"
        " reference: /healthz of the same server)",
        "",
        f"Load client: wrk, {WRK_THREADS} thread and {WRK_CONNECTIONS} connections, for"
        f" {PROFILES['full']['seconds']} s",
        f"({PROFILES['small']['seconds']} s in the small run), every answer checked to be 200"
        " (a Lua script counts them by",
        "status); /dashboard requests carry the session cookie of a DfE user signed in over",
        "HTTP. *Idle*: nothing else runs. *Under writes*: the writer (`bench/writer.py`, a",
        f"process of its own) makes **{claims_per_s:g} claims a second** through the API",
        "(`POST /api/v1/cohorts/{id}/claims` with a provider's bearer token, each a new person,",
        "a ledger operation that moves the figures) and **signs in over HTTP as the DfE user",
        f"{sign_ins_per_s:g} times a second** (the sign-in form: GET, then POST; a password",
        "check, a new session and a row of the sign-in history), starting"
        f" {WRITER_LEAD_SECONDS:g} s before the measurement and",
        "stopping after it; /healthz and /dashboard are each measured under their own run of",
        "it. Each of the writer's two streams sends its next request at its time on a fixed",
        "clock, or as soon as its previous answer has come if that is later (a slot missed by",
        "a whole interval is skipped), so when the server answers slowly the rate achieved",
        "falls below the rate stated: the table below gives what was achieved.",
        "*First view*: one request to a fresh server, working the figures out.",
        "",
        "| database | size | /healthz req/s idle | /dashboard req/s idle | ratio idle"
        " | /healthz req/s under writes | /dashboard req/s under writes | **ratio under writes**"
        " | /dashboard median ms idle / under writes | /dashboard p99 ms idle / **under writes**"
        " | /healthz p99 ms under writes | first view ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        d = r["dashboard"]
        hi, di, hb, db_ = (
            d["healthz_idle"],
            d["dashboard_idle"],
            d["healthz_writes"],
            d["dashboard_writes"],
        )
        lines.append(
            f"| {r['db']} | {r['size']} | {hi['rps']:.0f} | {di['rps']:.1f}"
            f" | {d['idle_rate_ratio']:.3f} | {hb['rps']:.0f} | {db_['rps']:.1f}"
            f" | **{d['rate_ratio']:.3f}** | {di['median_ms']:.1f} / {db_['median_ms']:.1f}"
            f" | {di['p99_ms']:.0f} / **{db_['p99_ms']:.0f}** | {hb['p99_ms']:.0f}"
            f" | {d['first_view_ms']:.0f} |"
        )
    lines += [
        "",
        "### The write load achieved, and any failures",
        "",
        "What the writer actually did during each measurement under writes: claims made",
        "(the rate achieved, answers other than 201) and sign-ins (the rate achieved, sign-ins",
        "that failed).",
        "",
        "| database | size | claims during /healthz | sign-ins during /healthz"
        " | claims during /dashboard | sign-ins during /dashboard |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        d = r["dashboard"]
        lines.append(
            f"| {r['db']} | {r['size']} | {_writer(d['writer_during_healthz'])}"
            f" | {_writer(d['writer_during_dashboard'])} |"
        )
    lines += [
        "",
        "### The client is not the bottleneck",
        "",
        "CPU used during each measurement, as a share of one core: wrk's own (from the",
        "kernel's accounting of its process) and the gunicorn workers' together. wrk runs",
        "one thread, so it would be the limit only near 1.00.",
        "",
        "| database | size | wrk /healthz idle | workers | wrk /dashboard idle | workers"
        " | wrk /healthz under writes | workers | wrk /dashboard under writes | workers |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        d = r["dashboard"]
        cells = []
        for key in ("healthz_idle", "dashboard_idle", "healthz_writes", "dashboard_writes"):
            cells += [f"{d[key]['cpu_share']:.2f}", f"{d[key]['server_cpu_share']:.2f}"]
        lines.append(f"| {r['db']} | {r['size']} | {' | '.join(cells)} |")
    keys = ("healthz_idle", "dashboard_idle", "healthz_writes", "dashboard_writes")
    shares = [r["dashboard"][k]["cpu_share"] for r in results for k in keys]
    if shares:
        lines += [
            "",
            f"The most wrk used in any measurement of this run: {max(shares):.2f} of one core"
            f" ({'not' if max(shares) < 0.5 else 'possibly'} the bottleneck).",
        ]
    lines += [
        "",
        "### Queries per page",
        "",
        "SQL statements one request makes, counted in process (the same app and data):",
        "/dashboard's first view (nothing kept, every figure worked out), /dashboard once",
        "kept, and /healthz.",
        "",
        "| database | size | /dashboard first view | /dashboard kept | /healthz |",
        "|---|---|---:|---:|---:|",
    ]
    for r in results:
        q = r["queries"]
        lines.append(
            f"| {r['db']} | {r['size']} | {q['dashboard_first']} | {q['dashboard']}"
            f" | {q['healthz']} |"
        )
    lines += [
        "",
        "## 2. Claims at the moment places open (POST /api/v1/cohorts/{id}/claims)",
        "",
        "A burst of claims, each with a body of its own, from a pure-Python client (threads,",
        "one connection per request) in the harness's process; its CPU is given as a share",
        "of one core. Reference: /healthz of the same server from the same client at the same",
        "number of clients, and the same burst at the smallest size. The invariant is checked",
        "afterwards over the whole database: no cohort, allocation, programme target or",
        "setting holds more funded places than its cap, and the cohort holds exactly its",
        "places.",
        "",
        "| database | size | clients | claims sent | 201 | funded / places | claims/s"
        " | /healthz req/s | rate ratio | client CPU | over any cap |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        c = r["claims"]
        lines.append(
            f"| {r['db']} | {r['size']} | {c['clients']} | {c['sent']} | {c['answered_201']}"
            f" | {c['funded']} / {c['places']} | {c['claims']['rps']:.1f}"
            f" | {c['healthz']['rps']:.0f} | {c['rate_ratio']:.3f}"
            f" | {c['client_cpu_share']:.2f}"
            f" | {'none' if not c['over_cap'] else c['over_cap']}"
            f"{'' if c['invariant_holds'] else ' (invariant FAILED)'} |"
        )
    growth = claims_growth(results)
    if growth:
        lines.append("")
        for db_name, g in sorted(growth.items()):
            lines.append(
                f"* {db_name}: claims/s at {g['to']} / at {g['from']} = {g['ratio']:.2f}×"
                f" (target: at least {TARGETS['claims_growth']:.2f}× from 10k to 1m)"
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
    sweeps = sweep_growth(results)
    if sweeps:
        lines.append("")
        for db_name, g in sorted(sweeps.items()):
            lines.append(f"* {db_name}: sweep at {g['to']} / at {g['from']} = {g['ratio']:.1f}×")
    lines += [
        "",
        "## 5. Memory (peak RSS, VmHWM)",
        "",
        "Web worker: the largest gunicorn worker after the /dashboard loads, against the same",
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
    lines += [
        "",
        "## 6. Kept counts (`flask --app wsgi tracker figures check`)",
        "",
        "Run on the copy of the data set before anything else (as built: after the demo",
        "load, or after the replication), and again after every workload above (the writer's",
        "claims and sign-ins, the claims burst, the CSV import, the reminder sweep).",
        "",
        "| database | size | as built | s | after the run | s |",
        "|---|---|---|---:|---|---:|",
    ]
    for r in results:
        b, a = r["figures_before"], r["figures_after"]
        lines.append(
            f"| {r['db']} | {r['size']} | {_drift(b)} | {b['seconds']:.1f}"
            f" | {_drift(a)} | {a['seconds']:.1f} |"
        )
    lines += ["", "## What was run", ""]
    lines += [f"* {r['db']} {r['size']}: every workload" for r in results]
    lines += [f"* {item}" for item in not_run]
    lines += READING
    return "\n".join(lines)


READING = [
    "",
    "## Reading these figures",
    "",
    "* One repetition of each load: expect some noise between runs. The machine's cores",
    "  are shared by wrk, the writer, gunicorn and the database (and by anything else",
    "  running), so only ratios measured in the same run mean anything.",
    "* The ratio that the target names is /dashboard against /healthz *both under the write",
    "  load*; the idle ratio is beside it to show what the writes cost.",
    "* The CSV file has the same rows at every size (10,000 on the full run); at 100k and",
    "  1m it is imported into a database ten and a hundred times as large.",
    "* The claims, the writer's claims and the CSV rows go to new cohorts of the demo",
    "  provider, with the programme target and the provider's allocation raised to make",
    "  room for them, so the cohort's own cap is the one that fills.",
    "",
    "## What bounds each figure",
    "",
    "* Dashboard: the figures are read from the claim counts the database keeps, by",
    "  trigger, in the transaction of each claim change (`tracker/figures.py`): a few",
    "  hundred rows whatever the number of claims. The rendered figures are kept under",
    "  the figures' version (`tracker/web/figure_cache.py`), which every ledger operation",
    "  moves: under the write load each claim makes the next view of every worker work",
    "  the figures out again, which is why the write load has claims in it.",
    "* Claims: decisions about one programme are made one at a time, under its row lock",
    "  (`tracker/places.py`). The people are found and added before the lock; the caps",
    "  are read, the claim written and the answer built under it, until commit. That",
    "  section, and the CPU the workers share with the client and the database, bound",
    "  the rate.",
    "* CSV: each row writes a participant, a claim and two audit rows into indexed",
    "  tables; the reference writes one row into a table without an index. PostgreSQL",
    "  takes the rows by COPY; SQLite by executemany.",
    "* SQLite: every transaction, a page's reads included, takes the database's write",
    "  lock (`BEGIN IMMEDIATE`, `tracker/database.py`), so the workers answer one at a",
    "  time. It is the embedded default for running the service anywhere; PostgreSQL is",
    "  the production database.",
]
HOW_TO_REPEAT = [
    "",
    "## How to repeat",
    "",
    "```sh",
    "make bench          # 10k, 100k and 1m: the full run (writes this file)",
    ".venv/bin/python -m bench.run --size 10k --db postgresql   # one part of it",
    ".venv/bin/python -m bench.run --size small --db sqlite --output bench/.data/small.md  # as CI",
    "```",
    "",
    "Needs wrk (`apt-get install wrk`; another binary with `WRK=/path/to/wrk`). PostgreSQL",
    "is reached at `BENCH_POSTGRES_URL` (default",
    "`postgresql://postgres@127.0.0.1:5432/postgres`); the data sets are built once and",
    "cached (`bench/.data/*.sqlite3`, PostgreSQL databases `bench_10k`, `bench_100k`,",
    "`bench_1m`); delete them to rebuild. Before a run a cached data set is brought to the",
    "current schema (and on PostgreSQL vacuumed and analysed, as autovacuum would); each run",
    "works on a copy of it and drops it. The figure cache is each worker's memory unless",
    "`CACHE_REDIS_URL` is set in the environment, which gunicorn inherits.",
    "",
]


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    memory = 0
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as info:
            memory = int(info.readline().split()[1]) // 1024
    except OSError:
        pass
    postgres = ""
    try:
        engine = sa.create_engine(dataset._pg("postgres"))
        with engine.connect() as conn:
            postgres = conn.scalar(sa.text("SHOW server_version"))
        engine.dispose()
    except sa.exc.OperationalError:
        postgres = "not reachable"
    wrk_version = ""
    if wrk_client.path():
        answer = subprocess.run(  # noqa: S603
            [wrk_client.path(), "--version"], capture_output=True, text=True, check=False
        )
        wrk_version = (answer.stdout + answer.stderr).splitlines()[0].split(" [")[0]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_mb": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres,
        "gunicorn": f"{WORKERS} sync workers",
        "load client": f"{wrk_version}, {WRK_THREADS} thread, {WRK_CONNECTIONS} connections",
        "write load": f"{WRITE_LOAD['claims_per_second']:g} claims/s and"
        f" {WRITE_LOAD['sign_ins_per_second']:g} sign-ins/s (bench/writer.py)",
        "figure cache": "Redis (CACHE_REDIS_URL)"
        if os.environ.get("CACHE_REDIS_URL")
        else "each worker's memory",
    }


# Sizes not run on a database by default, and why (``--size`` with ``--db`` still runs them).
NOT_BY_DEFAULT: dict[tuple[str, str], str] = {}


def _not_run(results: list[dict], not_run: list[str]) -> list[str]:
    """``not_run`` with every size and database of the full run that has no result noted."""
    not_run = list(not_run)
    for size in ("10k", "100k", "1m"):
        for db_name in ("sqlite", "postgresql"):
            ran = any(r["size"] == size and r["db"] == db_name for r in results)
            noted = any(item.startswith(f"{db_name} {size}:") for item in not_run)
            if not ran and not noted:
                not_run.append(f"{db_name} {size}: not run")
    return not_run


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size", default="10k,100k,1m", help="small, 10k, 100k, 1m (comma separated)"
    )
    parser.add_argument("--db", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--json", default=None, help="also write the raw results here")
    parser.add_argument("--strict", action="store_true", help="stop at the first failure")
    parser.add_argument(
        "--from-json",
        default=None,
        help="run nothing: write the report from the results of earlier runs (--json files,"
        " comma separated)",
    )
    args = parser.parse_args(argv)
    if args.from_json:
        results = []
        for name in args.from_json.split(","):
            results += json.loads(Path(name).read_text())
        runs = sorted({(r.get("started", "?"), r.get("command", "?")) for r in results})
        not_run = _not_run(results, [])
        command = "; ".join(f"`{c}`, started {s}" for s, c in runs)
        report = render(results, machine(), command, None, not_run) + "\n".join(HOW_TO_REPEAT)
        Path(args.output).write_text(report)
        print(f"wrote {args.output}")
        return results
    sizes = [s.strip() for s in args.size.split(",") if s.strip()]
    for size in sizes:
        if size not in dataset.SIZES:
            parser.error(f"unknown size {size}")
    if wrk_client.path() is None:
        parser.error("wrk is not installed (apt-get install wrk), or set WRK")
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:])
    results, not_run = [], []
    for size in sizes:
        profile = PROFILES["small" if size.startswith("small") else "full"]
        for db_name in dbs:
            if args.db == "both" and (db_name, size) in NOT_BY_DEFAULT:
                not_run.append(f"{db_name} {size}: {NOT_BY_DEFAULT[db_name, size]}")
                continue
            try:
                results.append(run_one(db_name, size, profile))
                results[-1].update(command=command.strip(), started=started)
            except Exception as error:  # noqa: BLE001  (reported, and the others still run)
                if args.strict:
                    raise
                print(f"{db_name} {size} failed: {error!r}", file=sys.stderr)
                not_run.append(f"{db_name} {size}: failed ({type(error).__name__}: {error})")
    not_run = _not_run(results, not_run)
    report = render(results, machine(), f"`{command.strip()}`", started, not_run) + "\n".join(
        HOW_TO_REPEAT
    )
    Path(args.output).write_text(report)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    print(f"wrote {args.output}")
    return results


if __name__ == "__main__":
    main()
