#!/usr/bin/env python3
"""Takes files out of the page cache and tells how much of them is in it, for
bench/aio/run.sh (run by the script only, in one thread, on files it created).

    page_cache.py drop FILE...       fsync, posix_fadvise(POSIX_FADV_DONTNEED), then check
    page_cache.py resident FILE...   how much of the files is in the page cache now
    page_cache.py keep-cold --interval S FILE...
                                     posix_fadvise(DONTNEED) on every file each S seconds
                                     until killed (prints nothing)

Both print one line `files=N bytes=B resident_bytes=R resident_percent=P`. The
residency check maps each file and asks mincore(2) which of its pages are in memory
(what `fincore` from util-linux does), so it reads nothing from the disk itself.

`keep-cold` runs beside the heavy clients, so that on a disk fast enough to read the
whole data set more than once in a run the second reads are cold too (DONTNEED skips
pages in use, so a read in progress is not disturbed). `drop` writes dirty pages back first (DONTNEED leaves dirty pages where they are),
tries three times, and exits with status 1 and a message when more than
--max-resident-percent (default 1) of the bytes are still in memory: a run that
cannot start cold must not be reported as cold.
"""

import argparse
import ctypes
import ctypes.util
import mmap
import os
import sys
import time

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
MAP_FAILED = ctypes.c_void_p(-1).value
PAGE = mmap.PAGESIZE


def resident_bytes(path):
    """(size, bytes of the file in the page cache), from mincore on a shared mapping."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return 0, 0
        addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if addr in (None, MAP_FAILED):
            raise OSError(ctypes.get_errno(), f"mmap {path}: {os.strerror(ctypes.get_errno())}")
        try:
            pages = (size + PAGE - 1) // PAGE
            vec = (ctypes.c_ubyte * pages)()
            if libc.mincore(addr, size, vec) != 0:
                raise OSError(ctypes.get_errno(), f"mincore {path}")
            # Bit 0 of each byte: that page is resident. The last page counts whole.
            return size, min(size, sum(b & 1 for b in vec) * PAGE)
        finally:
            libc.munmap(addr, size)
    finally:
        os.close(fd)


def drop(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def summary(paths):
    total = resident = 0
    for path in paths:
        size, res = resident_bytes(path)
        total += size
        resident += res
    percent = 100.0 * resident / total if total else 0.0
    return total, resident, percent


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["drop", "resident", "keep-cold"])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--max-resident-percent", type=float, default=1.0)
    parser.add_argument("--interval", type=float, default=0.2)
    args = parser.parse_args()
    if args.command == "keep-cold":
        fds = [os.open(path, os.O_RDONLY) for path in args.files]
        while True:
            for fd in fds:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            time.sleep(args.interval)
    try:
        if args.command == "drop":
            for attempt in range(3):
                for path in args.files:
                    drop(path)
                total, resident, percent = summary(args.files)
                if percent <= args.max_resident_percent:
                    break
                time.sleep(0.5)
        else:
            total, resident, percent = summary(args.files)
    except OSError as error:
        print(f"page_cache.py: {error}", file=sys.stderr)
        return 1
    print(f"files={len(args.files)} bytes={total} resident_bytes={resident} "
          f"resident_percent={percent:.2f}")
    if args.command == "drop" and percent > args.max_resident_percent:
        print(f"page_cache.py: {percent:.2f}% of the files is still in the page cache after "
              "posix_fadvise(DONTNEED): they cannot be read cold here", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
