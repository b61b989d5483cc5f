"""The HTTP load client for the page measurements: ``wrk`` (Debian package ``wrk``).

wrk is an event-driven C client: one thread keeps many connections busy at a fraction of a
core, so the server, not the client, is what a measurement finds the limit of. A small Lua
script counts the answers by status (wrk itself only counts non-2xx/3xx, and a redirect to
the sign-in page would pass as success), and the requests carry the signed-in session's
cookie as a header. ``--latency`` prints the latency distribution, parsed here with its
units. The CPU wrk used is taken from the kernel's accounting of the child process.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

WRK = os.environ.get("WRK", "wrk")

# Answers by status, and wrk's own exact figures, printed as one line when the run is done.
STATUS_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local parts = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do
      table.insert(parts, string.format('"%d": %d', code, n))
    end
  end
  io.write(string.format(
    'WRK_JSON {"statuses": {%s}, "requests": %d, "duration_us": %d, "p50_us": %d,'
    .. ' "p99_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}}\\n',
    table.concat(parts, ", "), summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout))
end
"""

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def path() -> str | None:
    """Where wrk is, or None."""
    return shutil.which(WRK)


def to_ms(text: str) -> float:
    """``"812.00us"``, ``"1.23ms"``, ``"2.01s"`` or ``"1.05m"`` in milliseconds."""
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text.strip())
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse(output: str) -> dict:
    """Requests/s, median and p99 (ms) and the request count from wrk's ``--latency`` output."""
    rps = re.search(r"^Requests/sec:\s+([0-9.]+)", output, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    count = re.search(r"^\s+(\d+) requests in ([0-9.]+\w+)", output, re.M)
    if not (rps and p50 and p99 and count):
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": float(rps.group(1)),
        "median_ms": to_ms(p50.group(1)),
        "p99_ms": to_ms(p99.group(1)),
        "requests": int(count.group(1)),
        "wall": to_ms(count.group(2)) / 1000,
        "non_2xx_3xx": int(non_2xx.group(1)) if non_2xx else 0,
    }


def run(
    port: int,
    url_path: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    cookie: str | None = None,
) -> dict:
    """Load ``url_path`` on 127.0.0.1:``port`` for ``seconds``; return what wrk measured.

    The result has requests/s, median and p99 latency (ms), the answers by status, socket
    errors, and the CPU wrk itself used (seconds, and as a share of one core over the run).
    """
    executable = path()
    if executable is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "statuses.lua"
        script.write_text(STATUS_SCRIPT)
        command = [executable, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s"]
        command += ["--latency", "--timeout", "30s", "-s", str(script)]
        if cookie:
            command += ["-H", f"Cookie: {cookie}"]
        command.append(f"http://127.0.0.1:{port}{url_path}")
        started = time.perf_counter()
        process = subprocess.Popen(  # noqa: S603
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        with process.stdout:
            output = process.stdout.read()
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"wrk exited {process.returncode}:\n{output}")
    result = parse(output)
    line = next(x for x in output.splitlines() if x.startswith("WRK_JSON "))
    exact = json.loads(line.removeprefix("WRK_JSON "))
    statuses = {int(code): n for code, n in exact["statuses"].items()}
    cpu = usage.ru_utime + usage.ru_stime
    result.update(
        {
            "statuses": statuses,
            "not_200": sum(n for code, n in statuses.items() if code != 200),
            "socket_errors": exact["errors"],
            "median_ms_exact": exact["p50_us"] / 1000,
            "p99_ms_exact": exact["p99_us"] / 1000,
            "cpu_s": cpu,
            "cpu_share": cpu / wall,
            "connections": connections,
            "threads": threads,
        }
    )
    return result
