#!/usr/bin/env python3
"""Opens N keepalive connections to a server on 127.0.0.1, sends one request on
each, reads and checks its response, and then holds them all open and idle, so
that the server's memory per idle connection can be measured.

    idle_connections.py --port P --path /13B --size 13 --count 10000 --ready FILE

Raises its own open-files limit to the hard limit first. Connections are opened
one after the other (each request answered before the next connect), so no
listen backlog overflows. When all are open it writes `connections=N` to the
--ready file and waits until SIGTERM or SIGINT (or --hold seconds, a bound for a
caller that dies), then closes them. Exit status 1 if any connection or
response fails (the message names it).
"""

import argparse
import resource
import signal
import sys
import time
from pathlib import Path

from fixed_requests import BadResponse, connect, read_response, request_bytes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--size", type=int, required=True, help="expected body size")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--ready", required=True, help="file written once all are open")
    parser.add_argument("--hold", type=float, default=300.0, help="longest hold, seconds")
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < args.count + 64:
        print(f"idle_connections.py: the open-files hard limit {hard} is below "
              f"{args.count + 64}", file=sys.stderr)
        return 1
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    stop = False

    def on_signal(signum, frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    request = request_bytes(args.path, close=False)
    sockets = []
    try:
        for k in range(args.count):
            if stop:
                return 1
            sock = connect(args.port)
            sockets.append(sock)
            sock.sendall(request)
            pending, closing = read_response(sock, b"", args.size)
            if closing or pending:
                raise BadResponse(f"connection {k + 1} not left open and idle")
        Path(args.ready).write_text(f"connections={len(sockets)}\n")
        deadline = time.monotonic() + args.hold
        while not stop and time.monotonic() < deadline:
            time.sleep(0.1)
    except (BadResponse, OSError) as error:
        print(f"idle_connections.py: port {args.port}: connection {len(sockets)}: {error}",
              file=sys.stderr)
        return 1
    finally:
        for sock in sockets:
            sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
