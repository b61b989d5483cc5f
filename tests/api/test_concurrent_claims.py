"""200 claims posted at once through gunicorn's workers for a cohort of 10 places.

Exactly 10 are funded and 190 wait, each answered 201, on SQLite and on PostgreSQL: the
place ledger serialises the decisions across processes, whatever order they arrive in.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests import factories
from tests.api.conftest import make_caller
from tracker.models import Claim, ClaimStatus, Role, SettingKind

pytestmark = [
    pytest.mark.slow,  # processes, servers or a browser: `-m "not slow"` skips it
    # Processes of its own with connections of their own: under `make test`, beside the
    # concurrency tests' hundreds of connections in one process, never at the same time.
    pytest.mark.xdist_group("hundreds_of_connections"),
]

ROOT = Path(__file__).resolve().parents[2]
CLAIMS = 200
PLACES = 10
WORKERS = 4
RETRIES = 12


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(url: str, *, data: dict | None = None, headers: dict | None = None):
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(  # noqa: S310  (a localhost URL the test built)
        url, data=body, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.fixture
def server(app, tmp_path):
    """gunicorn with several workers on the test database, on a free localhost port."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "TRACKER_ENV": "test",
        "SECRET_KEY": "concurrency-test",
        "API_RATE_LIMIT": "100000 per minute",
    }
    log = tmp_path / "gunicorn.log"
    with log.open("w") as output:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "gunicorn", "-w", str(WORKERS), "-b", f"127.0.0.1:{port}"]
            + ["--timeout", "60", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if _request(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail(f"gunicorn did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_200_claims_at_once_fund_exactly_the_cohorts_places(app, session, server):
    provider = factories.create_provider(session)
    cohort = factories.create_cohort(
        session,
        prog=factories.programme(session, "npq-senco"),
        provider=provider,
        places=PLACES,
    )
    school = factories.create_setting(session, kind=SettingKind.SCHOOL)
    session.commit()
    caller = make_caller(session, Role.PROVIDER, provider)
    # Read here: the threads have no application context to load attributes in.
    url, urn, headers = f"{server}/api/v1/cohorts/{cohort.id}/claims", school.urn, caller.headers
    session.rollback()  # reading began a transaction: on SQLite it holds the write lock

    def post(n: int):
        body = {"full_name": f"Racer {n}", "email": f"racer{n}@example.com", "setting": urn}
        return _request(url, data=body, headers=headers)

    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(post, range(CLAIMS)))

    assert [status for status, _ in answers] == [201] * CLAIMS, answers[:3]
    statuses = [body["status"] for _, body in answers]
    assert statuses.count("funded") == PLACES
    assert statuses.count("waiting") == CLAIMS - PLACES
    positions = sorted(body["waiting_position"] for _, body in answers if body["waiting_position"])
    assert positions == list(range(1, CLAIMS - PLACES + 1))
    session.rollback()
    counts = dict(
        session.execute(
            sa.select(Claim.status, sa.func.count())
            .where(Claim.cohort_id == cohort.id)
            .group_by(Claim.status)
        ).all()
    )
    assert counts == {ClaimStatus.FUNDED: PLACES, ClaimStatus.WAITING: CLAIMS - PLACES}


def test_one_claim_retried_at_once_with_one_key_is_claimed_once(app, session, server):
    provider = factories.create_provider(session)
    cohort = factories.create_cohort(
        session, prog=factories.programme(session, "npq-senco"), provider=provider, places=1
    )
    school = factories.create_setting(session, kind=SettingKind.SCHOOL)
    session.commit()
    caller = make_caller(session, Role.PROVIDER, provider)
    url, urn = f"{server}/api/v1/cohorts/{cohort.id}/claims", school.urn
    headers = {**caller.headers, "Idempotency-Key": "one-claim"}
    session.rollback()
    body = {"full_name": "Ann Lee", "email": "ann@example.com", "setting": urn}

    with ThreadPoolExecutor(max_workers=RETRIES) as pool:
        answers = list(
            pool.map(lambda _: _request(url, data=body, headers=headers), range(RETRIES))
        )

    assert [status for status, _ in answers] == [201] * RETRIES, answers
    assert len({answer["id"] for _, answer in answers}) == 1
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).where(Claim.cohort_id == cohort.id)) == 1
