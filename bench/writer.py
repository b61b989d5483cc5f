"""A steady write load, in a process of its own, while a page is measured.

``python -m bench.writer --port P --cohort C --token T --urns U1,U2 --prefix run1`` makes,
until it is sent SIGTERM (or ``--seconds`` pass):

* claims through the API, ``POST /api/v1/cohorts/{C}/claims`` with the provider's bearer
  token, at ``--claims-per-second`` (default 2), each for a new person
  (``bench.write.<prefix>.<n>@example.com``) at the next setting of ``--urns``: every claim
  is a ledger operation (funded or waiting), so it moves the figures;
* sign-ins over HTTP (the sign-in form: GET for its CSRF token, then POST) as
  ``--email`` at ``--sign-ins-per-second`` (default 2, one every half second): each
  checks a password and writes a session and an audit row, and moves no place.

Each stream keeps a fixed clock: the n-th request is due at start + n / rate, and is sent
then on one of a few threads of its own (``IN_FLIGHT``), so one slow answer does not hold
back the requests after it. A slot that finds every thread busy for more than a whole
interval is skipped and counted. It prints ``ready`` once both streams have
started, and on stopping one JSON line: for each
stream, what was sent, the answers by status, the rate actually achieved, the slots
missed and the latencies.
"""

import argparse
import json
import signal
import statistics
import sys
import threading
import time

from bench.client import DEMO_PASSWORD, one, sign_in_over_http

# Requests of one stream that may be waiting for their answers at once.
IN_FLIGHT = 4


class Stream:
    """Call ``action`` ``rate`` times a second until ``stop`` is set; count the outcomes."""

    def __init__(self, name: str, rate: float, action, stop: threading.Event):
        self.name, self.rate, self.action, self.stop = name, rate, action, stop
        self.statuses: dict[str, int] = {}
        self.latencies: list[float] = []
        self.missed = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.free = threading.Semaphore(IN_FLIGHT)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _send(self, n: int) -> None:
        began = time.perf_counter()
        try:
            status = self.action(n)
        except Exception as error:  # noqa: BLE001  (counted and reported)
            status = type(error).__name__
            with self.lock:
                if len(self.errors) < 5:
                    self.errors.append(repr(error))
        with self.lock:
            self.latencies.append(time.perf_counter() - began)
            self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
        self.free.release()

    def _run(self) -> None:
        if self.rate <= 0:
            return
        interval = 1 / self.rate
        self.started = time.perf_counter()
        n = 0
        while True:
            due = self.started + n * interval
            now = time.perf_counter()
            if now < due and self.stop.wait(due - now):
                break
            if self.stop.is_set():
                break
            self.free.acquire()
            late = time.perf_counter() - due
            if late > interval:
                skipped = int(late // interval)
                self.missed += skipped
                n += skipped
            threading.Thread(target=self._send, args=(n,), daemon=True).start()
            n += 1
        for _ in range(IN_FLIGHT):  # the answers still awaited
            self.free.acquire(timeout=120)
        self.ended = time.perf_counter()

    def report(self, ok: set[int]) -> dict:
        sent = sum(self.statuses.values())
        elapsed = (getattr(self, "ended", time.perf_counter()) - self.started) if sent else 0
        lat = sorted(self.latencies)
        return {
            "target_per_s": self.rate,
            "sent": sent,
            "statuses": self.statuses,
            "not_ok": sum(
                n for s, n in self.statuses.items() if not (s.isdigit() and int(s) in ok)
            ),
            "achieved_per_s": sent / elapsed if elapsed else 0.0,
            "seconds": elapsed,
            "missed_slots": self.missed,
            "median_ms": 1000 * statistics.median(lat) if lat else 0.0,
            "max_ms": 1000 * lat[-1] if lat else 0.0,
            "errors": self.errors,
        }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cohort", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--urns", required=True, help="settings to claim for, comma separated")
    parser.add_argument("--prefix", required=True, help="makes this run's emails its own")
    parser.add_argument("--email", default="dfe@demo.example")
    parser.add_argument("--claims-per-second", type=float, default=2.0)
    parser.add_argument("--sign-ins-per-second", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=3600.0, help="stop after this long")
    args = parser.parse_args(argv)
    urns = args.urns.split(",")
    claim_path = f"/api/v1/cohorts/{args.cohort}/claims"
    claim_headers = {"Authorization": f"Bearer {args.token}", "Content-Type": "application/json"}

    def claim(n: int) -> int:
        body = json.dumps(
            {
                "full_name": f"Bench Writer {args.prefix} {n}",
                "email": f"bench.write.{args.prefix}.{n}@example.com",
                "setting": urns[n % len(urns)],
            }
        ).encode()
        return one(args.port, "POST", claim_path, claim_headers, body)[0]

    def sign_in(n: int) -> int:
        sign_in_over_http(args.port, args.email, DEMO_PASSWORD)  # raises unless 302
        return 302

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    streams = [
        Stream("claims", args.claims_per_second, claim, stop),
        Stream("sign_ins", args.sign_ins_per_second, sign_in, stop),
    ]
    for stream in streams:
        stream.thread.start()
    print("ready", flush=True)
    deadline = time.monotonic() + args.seconds
    while not stop.wait(0.2) and time.monotonic() < deadline:
        pass
    stop.set()
    for stream in streams:
        stream.thread.join(timeout=130)
    report = {
        "claims": streams[0].report(ok={201}),
        "sign_ins": streams[1].report(ok={302}),
    }
    print(json.dumps(report), flush=True)
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
