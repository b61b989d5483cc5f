"""A small pure-Python HTTP client: sign-in over HTTP, single requests, and the claims burst.

The page measurements use wrk (``bench.wrk``). This client is kept for what wrk does not
do simply: signing in (a CSRF token read from the form, then a POST), single timed requests
(a dashboard's first view), and the claims burst, where every request carries a body of its
own and the burst ends after a set number of claims rather than after a set time.
"""

import http.client
import re
import socket
import statistics
import threading
import time
import urllib.parse

DEMO_PASSWORD = "demo-password-2023"  # noqa: S105  (the demo's published password)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def one(port: int, method: str, path: str, headers: dict, body: bytes | None):
    """One request on a connection of its own: (status, seconds, body)."""
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
            answer = one(port, method, path, headers or {}, body)
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


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if match is None:
        raise RuntimeError("no CSRF token on the sign-in page")
    return match.group(1)


def cookie(headers) -> str:
    return "; ".join(
        value.split(";", 1)[0] for key, value in headers if key.lower() == "set-cookie"
    )


def sign_in_over_http(port: int, email: str, password: str = DEMO_PASSWORD) -> str:
    """Sign in as ``email`` with the sign-in form; return the Cookie header of its session."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/sign-in")
    response = conn.getresponse()
    token, form_cookie = csrf(response.read().decode()), cookie(response.getheaders())
    conn.close()
    form = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": password})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(
        "POST",
        "/sign-in",
        body=form,
        headers={"Cookie": form_cookie, "Content-Type": "application/x-www-form-urlencoded"},
    )
    response = conn.getresponse()
    response.read()
    if response.status != 302:
        raise RuntimeError(f"sign-in answered {response.status}")
    signed_in = cookie(response.getheaders())
    conn.close()
    return signed_in
