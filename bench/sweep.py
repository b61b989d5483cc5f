"""One reminder sweep in a process of its own, so that its peak RSS is its own.

``python -m bench.sweep URL`` prints one JSON line: seconds, due, queued, and the process's
RSS (kB) before the sweep (the app built, nothing swept: the reference) and its peak after.
"""

import json
import sys
import time
from datetime import UTC, datetime


def status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main(url: str) -> None:
    from bench.dataset import app_for
    from tracker.extensions import db
    from tracker.reminders.runs import queue_due_reminders

    app = app_for(url)
    with app.app_context():
        db.session.execute(db.select(1))  # connected: the reference includes the engine
        db.session.rollback()
        before = status_kb("VmRSS")
        started = time.perf_counter()
        report = queue_due_reminders(db.session, datetime.now(UTC))
        seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "due": report.due,
                "queued": report.queued,
                "rss_before_kb": before,
                "rss_peak_kb": status_kb("VmHWM"),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
