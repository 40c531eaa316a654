#!/usr/bin/env python3
"""Sends exactly N requests for one file to a server on 127.0.0.1 and checks every
response, so that a system-call count taken meanwhile can be divided by N.

    fixed_requests.py --port P --path /13B --size 13 --count 2000 --mode keepalive
    fixed_requests.py --port P --path /13B --size 13 --count 2000 --mode close

keepalive: all N requests, one after the other, on one connection (each response
must keep it open). close: N connections, each carrying one request with
`Connection: close`, each read until the server closes it. Every response must be
`200` with a Content-Length of --size and exactly that many body bytes; the first
that is not ends the run with exit status 1 and a message naming it. Prints one
line: `sent=N bytes=B seconds=S`.
"""

import argparse
import socket
import sys
import time

TIMEOUT = 10.0  # seconds any single read or connect may take


class BadResponse(Exception):
    pass


def request_bytes(path, close):
    head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: evserve-bench\r\n"
    if close:
        head += "Connection: close\r\n"
    return (head + "\r\n").encode()


def read_response(sock, pending, size):
    """Reads one response from `sock` (with `pending`, bytes already received) and
    checks it. Returns (leftover bytes, whether the server said it will close)."""
    while b"\r\n\r\n" not in pending:
        chunk = sock.recv(65536)
        if not chunk:
            raise BadResponse("connection closed before the response head")
        pending += chunk
    head, _, rest = pending.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ", 2)
    if len(status) < 2 or status[1] != "200":
        raise BadResponse(f"status line {lines[0]!r}")
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    if fields.get("content-length") != str(size):
        raise BadResponse(f"Content-Length {fields.get('content-length')!r}, expected {size}")
    while len(rest) < size:
        chunk = sock.recv(max(65536, size - len(rest)))
        if not chunk:
            raise BadResponse(f"connection closed after {len(rest)} of {size} body bytes")
        rest += chunk
    closing = "close" in fields.get("connection", "").lower()
    return rest[size:], closing


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def run_keepalive(port, path, size, count):
    request = request_bytes(path, close=False)
    with connect(port) as sock:
        pending = b""
        for k in range(count):
            sock.sendall(request)
            pending, closing = read_response(sock, pending, size)
            if closing and k + 1 < count:
                raise BadResponse(f"server closed the keepalive connection after {k + 1}")
            if pending:
                raise BadResponse(f"{len(pending)} unexpected bytes after response {k + 1}")


def run_close(port, path, size, count):
    request = request_bytes(path, close=True)
    for k in range(count):
        with connect(port) as sock:
            sock.sendall(request)
            pending, _ = read_response(sock, b"", size)
            # The server must close: read to the end of the stream.
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                pending += chunk
            if pending:
                raise BadResponse(f"{len(pending)} unexpected bytes after response {k + 1}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--size", type=int, required=True, help="expected body size")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--mode", choices=["keepalive", "close"], default="keepalive")
    args = parser.parse_args()
    started = time.monotonic()
    try:
        if args.mode == "keepalive":
            run_keepalive(args.port, args.path, args.size, args.count)
        else:
            run_close(args.port, args.path, args.size, args.count)
    except (BadResponse, OSError) as error:
        print(f"fixed_requests.py: port {args.port} {args.path} {args.mode}: {error}",
              file=sys.stderr)
        return 1
    print(f"sent={args.count} bytes={args.count * args.size} "
          f"seconds={time.monotonic() - started:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
