#!/usr/bin/env python3
"""The cold-throughput client of bench/aio/run.sh: fetches each of the given files
exactly once, over --connections keepalive connections at a time (one thread per
connection, each taking the next file not yet fetched), and reports MiB/s.

    fetch_once.py --port P --size BYTES --connections 8 /large-000 /large-001 ...

Each file is read once, so when the script has dropped them from the page cache
first, every byte comes from the disk. Every response must be 200 with a
Content-Length of --size and that many body bytes (read by http.client into one
reused buffer, not kept), on a connection the server keeps open; the first that is
not ends the run with exit status 1. Prints one line:
`files=N bytes=B seconds=S mib_s=M`.
"""

import argparse
import http.client
import sys
import threading
import time

READ_TIMEOUT = 120.0  # seconds any single read may take: cold disks can be slow
CHUNK = 1 << 20


class BadResponse(Exception):
    pass


def fetch(port, size, paths, errors):
    view = memoryview(bytearray(CHUNK))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=READ_TIMEOUT)
    try:
        while True:
            try:
                path = paths.pop()
            except IndexError:
                return
            connection.request("GET", path, headers={"User-Agent": "evserve-bench"})
            response = connection.getresponse()
            if response.status != 200:
                raise BadResponse(f"{path}: status {response.status}")
            length = response.getheader("Content-Length")
            if length != str(size):
                raise BadResponse(f"{path}: Content-Length {length!r}, expected {size}")
            got = 0
            while True:
                n = response.readinto(view)
                if n == 0:
                    break
                got += n
            if got != size or response.will_close:
                raise BadResponse(f"{path}: {got} of {size} body bytes"
                                  + (", connection closed" if response.will_close else ""))
    except (BadResponse, http.client.HTTPException, OSError) as error:
        errors.append(str(error))
    finally:
        connection.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--size", type=int, required=True, help="the size of every file")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    # list.pop is atomic under the GIL: each path goes to exactly one thread.
    paths = list(reversed(args.paths))
    errors = []
    threads = [threading.Thread(target=fetch, args=(args.port, args.size, paths, errors))
               for _ in range(max(1, min(args.connections, len(args.paths))))]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    if errors:
        print(f"fetch_once.py: port {args.port}: {errors[0]}", file=sys.stderr)
        return 1
    total = len(args.paths) * args.size
    print(f"files={len(args.paths)} bytes={total} seconds={seconds:.3f} "
          f"mib_s={total / seconds / 1048576:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
