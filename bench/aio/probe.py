#!/usr/bin/env python3
"""The latency probe of bench/aio/run.sh: requests one small (cached) file at a fixed
rate on one keepalive connection and reports the latency of every request (one
thread; the script runs it while other clients pull large files cold).

    probe.py --port P --path /4KiB --size 4096 --rate 100 --seconds 10

Open loop: request k is due at start + k / rate whatever happened before. Its
latency is counted from the time it was due, not from the time it could be sent,
so a worker that stalls for 200 ms shows as every request that fell due during the
stall waiting for it (coordinated omission corrected), not as one slow request.
Every response is checked (status 200, Content-Length, body size, connection kept
open, by bench/http/fixed_requests.py's reader); the first bad one ends the run
with exit status 1. Prints one line:
`probe_requests=N probe_rps=R p50_us=.. p99_us=.. p999_us=.. max_us=.. late=L`,
where `late` counts the requests sent more than one interval after they were due.
"""

import argparse
import math
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "http"))
from fixed_requests import BadResponse, connect, read_response, request_bytes  # noqa: E402

READ_TIMEOUT = 60.0  # seconds: a stalled worker is what is measured, up to a point


def percentile(sorted_values, fraction):
    """The nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def run(port, path, size, rate, seconds):
    request = request_bytes(path, close=False)
    interval = 1.0 / rate
    count = max(1, int(seconds * rate))
    latencies = []
    late = 0
    with connect(port) as sock:
        sock.settimeout(READ_TIMEOUT)
        start = time.monotonic()
        for k in range(count):
            due = start + k * interval
            now = time.monotonic()
            if now < due:
                time.sleep(due - now)
            elif now - due > interval:
                late += 1
            sock.sendall(request)
            pending, closing = read_response(sock, b"", size)
            latencies.append(time.monotonic() - due)
            if closing:
                raise BadResponse(f"server closed the keepalive connection after {k + 1}")
            if pending:
                raise BadResponse(f"{len(pending)} unexpected bytes after response {k + 1}")
        elapsed = time.monotonic() - start
    latencies.sort()
    us = [v * 1e6 for v in latencies]
    return (f"probe_requests={count} probe_rps={count / elapsed:.1f} "
            f"p50_us={percentile(us, 0.50):.0f} p99_us={percentile(us, 0.99):.0f} "
            f"p999_us={percentile(us, 0.999):.0f} max_us={us[-1]:.0f} late={late}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--size", type=int, required=True, help="expected body size")
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    if args.rate <= 0 or args.seconds <= 0:
        parser.error("--rate and --seconds must be positive")
    try:
        print(run(args.port, args.path, args.size, args.rate, args.seconds))
    except (BadResponse, OSError, socket.timeout) as error:
        print(f"probe.py: port {args.port} {args.path}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
