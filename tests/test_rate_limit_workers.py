"""The sign-in limit holds exactly across two gunicorn workers counting in one Redis.

Counted in each worker's memory, two workers let 20 wrong passwords through for a limit
of 10; counted in Redis, as production requires, exactly 10.
"""

import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis

from tests.reminders.smtp_server import free_port
from tracker import create_app
from tracker.accounts import create_user
from tracker.config import Config
from tracker.extensions import db
from tracker.models import Role

pytestmark = pytest.mark.slow  # processes, servers or a browser: `-m "not slow"` skips it

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
PASSWORD = "correct horse battery staple"
LIMIT = int(Config.SIGN_IN_FAILURES_PER_ACCOUNT.split()[0])


@pytest.fixture
def redis_prefix():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"REQUIRE_REDIS=1 but there is no Redis at {REDIS_URL}")
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"test-{uuid.uuid4().hex}"
    yield prefix
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def database(tmp_path):
    """A migrated SQLite file with one account in it."""
    from flask_migrate import upgrade

    url = f"sqlite:///{tmp_path / 'tracker.sqlite3'}"
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        upgrade()
        create_user(db.session, email="dfe@example.com", role=Role.DFE, password=PASSWORD)
        db.session.commit()
        db.engine.dispose()
    return url


@pytest.fixture
def two_workers(tmp_path, database, redis_prefix):
    port = free_port()
    access_log = tmp_path / "access.log"
    env = {
        **os.environ,
        "TRACKER_ENV": "development",
        "SECRET_KEY": "one secret for both workers",
        "DATABASE_URL": database,
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": redis_prefix,
    }
    server = subprocess.Popen(  # noqa: S603
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--workers=2",
            f"--bind=127.0.0.1:{port}",
            f"--access-logfile={access_log}",
            "--access-logformat=%(p)s %(m)s %(U)s %(s)s",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=5)  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start")
        yield base, access_log
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wrong_password(opener, base: str) -> int:
    form = opener.open(f"{base}/sign-in", timeout=30).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form) or re.search(
        r'name="csrf_token" value="([^"]+)"', form
    )
    data = urllib.parse.urlencode(
        {"email": "dfe@example.com", "password": "not the password", "csrf_token": token[1]}
    ).encode()
    try:
        return opener.open(f"{base}/sign-in", data=data, timeout=30).status
    except urllib.error.HTTPError as error:
        return error.code


def test_two_workers_sharing_redis_allow_exactly_the_limit_of_wrong_passwords(two_workers):
    base, access_log = two_workers
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )

    # Two at a time while well under the limit, so that both workers answer (one alone,
    # sequential requests tend to go to the worker that accepted last), then one by one.
    paired = LIMIT - 2
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = []
        for _ in range(paired // 2):
            answers += pool.map(lambda _: _wrong_password(opener, base), range(2))
    answers += [_wrong_password(opener, base) for _ in range(2 * LIMIT - paired)]

    assert answers == [200] * LIMIT + [429] * LIMIT
    # Both workers answered wrong passwords: each alone would have let its own ten through.
    workers = {
        line.split()[0]
        for line in access_log.read_text().splitlines()
        if " POST /sign-in " in f" {line} "
    }
    assert len(workers) == 2
