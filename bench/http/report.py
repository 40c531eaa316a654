#!/usr/bin/env python3
"""Turns the raw lines of one bench/http/run.sh run into markdown tables and a plot.

    bench/http/report.py bench/results/http-<time> [--plot file.png]  > report.md

Load numbers are medians over repetitions. Each ratio compares evserve with the
best peer of its row: for requests/s evserve / the highest peer (above 1: evserve
serves more), for latency, system calls and memory evserve / the lowest peer
(below 1: evserve is faster or smaller).
"""

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "common"))
from results import fmt, median_of, number, read_lines  # noqa: E402

SERVERS = ["evserve", "nginx", "lighttpd", "h2o"]
SIZES = ["13B", "4KiB", "1MiB"]
SIZE_NAMES = {"13B": "13 B", "4KiB": "4 KiB", "1MiB": "1 MiB"}
MODES = ["keepalive", "close"]


def best_ratio(values, higher_is_better):
    """evserve's value / the best peer's, and that peer's name."""
    ev = values.get("evserve")
    peers = {s: v for s, v in values.items() if s != "evserve" and v}
    if ev is None or not peers:
        return "n/a"
    pick = max if higher_is_better else min
    peer = pick(peers, key=peers.get)
    return f"{ev / peers[peer]:.2f} ({peer})"


def present(rows):
    names = {r.get("server") for r in rows}
    return [s for s in SERVERS if s in names]


def load_tables(rows):
    servers = present(rows)
    groups = defaultdict(list)
    for row in rows:
        groups[(row["workers"], row["size"], row["mode"], row["server"])].append(row)
    reps = max((len(v) for v in groups.values()), default=0)
    out = [f"### Requests/s and latency (wrk, medians of {reps})", ""]
    head = ["file", "connection", "workers"]
    for s in servers:
        head += [f"{s} req/s", f"{s} p50 ms", f"{s} p99 ms"]
    head += ["req/s evserve / best peer", "p99 evserve / best peer"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    medians = {}
    for workers in sorted({r["workers"] for r in rows}, key=int):
        for size in SIZES:
            for mode in MODES:
                cells = [SIZE_NAMES[size], mode, workers]
                rps, p99 = {}, {}
                for s in servers:
                    rs = groups.get((workers, size, mode, s), [])
                    rps[s] = median_of(rs, "rps")
                    p50 = median_of(rs, "p50_us")
                    p99[s] = median_of(rs, "p99_us")
                    medians[(workers, size, mode, s)] = rps[s]
                    cells += [fmt(rps[s]), fmt(p50 and p50 / 1000, 2),
                              fmt(p99[s] and p99[s] / 1000, 2)]
                if all(v is None for v in rps.values()):
                    continue
                cells += [best_ratio(rps, True), best_ratio(p99, False)]
                out.append("| " + " | ".join(cells) + " |")
    out.append("")
    bad = [r for r in rows
           if r.get("socket_errors", "0") != "0" or r.get("non2xx", "0") != "0"]
    if bad:
        out.append(f"**{len(bad)} wrk runs reported socket errors or non-2xx responses:** "
                   + "; ".join(f"{r['server']} {r['size']} {r['mode']} {r['workers']}w rep "
                               f"{r['rep']}: {r['socket_errors']} socket errors, "
                               f"{r['non2xx']} non-2xx" for r in bad) + ".")
        out.append("")
    return out, medians


def per_request_us(field):
    """A row's CPU time (server_cpu_ns or client_cpu_ns) per request, in µs."""
    def value(row):
        ns, requests = number(row, field), number(row, "requests")
        return ns / 1000 / requests if ns is not None and requests else None
    return value


def client_share(row):
    """wrk's CPU time / the run's length: 1.00 is its core saturated."""
    ns, seconds = number(row, "client_cpu_ns"), number(row, "seconds")
    return ns / 1e9 / seconds if ns is not None and seconds else None


def cpu_tables(rows):
    """The CPU each side spends per request, from the same wrk runs as the load table
    (runs recorded before these fields existed have none: no table)."""
    rows = [r for r in rows if "server_cpu_ns" in r]
    if not rows:
        return []
    servers = present(rows)
    groups = defaultdict(list)
    for row in rows:
        groups[(row["workers"], row["size"], row["mode"], row["server"])].append(row)
    out = ["### CPU time per request (same wrk runs, medians)", "",
           "Server: its master and workers (schedstat); client: wrk (user + system). "
           "`wrk cpu` is wrk's CPU time / the run's length (1.00: its core saturated, "
           "and requests/s then measure the client).", ""]
    head = ["file", "connection", "workers"]
    for s in servers:
        head += [f"{s} server µs", f"{s} client µs", f"{s} wrk cpu"]
    head += ["server µs evserve / lowest peer"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for workers in sorted({r["workers"] for r in rows}, key=int):
        for size in SIZES:
            for mode in MODES:
                cells = [SIZE_NAMES[size], mode, workers]
                server = {}
                for s in servers:
                    rs = groups.get((workers, size, mode, s), [])
                    server[s] = median_of(rs, per_request_us("server_cpu_ns"))
                    cells += [fmt(server[s], 1),
                              fmt(median_of(rs, per_request_us("client_cpu_ns")), 1),
                              fmt(median_of(rs, client_share), 2)]
                if all(v is None for v in server.values()):
                    continue
                cells.append(best_ratio(server, False))
                out.append("| " + " | ".join(cells) + " |")
    out.append("")
    return out


def strace_counts(path):
    """{syscall: calls} from a `strace -c` summary."""
    counts = {}
    if not path.exists():
        return counts
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) < 5 or parts[-1] == "total":
            continue
        try:
            float(parts[0])
            counts[parts[-1]] = int(parts[3])
        except ValueError:
            continue
    return counts


def syscall_tables(run, rows):
    servers = present(rows)
    if not servers:
        return []
    by_key = {(r["server"], r["size"], r["mode"]): r for r in rows}
    requests = rows[0].get("requests", "?")
    out = [f"### System calls per request (strace -c on the workers, {requests} requests, "
           "1 worker)", ""]
    head = ["file", "connection"] + servers + ["evserve / fewest peer"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for size in SIZES:
        for mode in MODES:
            values = {}
            for s in servers:
                row = by_key.get((s, size, mode))
                calls, n = (number(row, "calls"), number(row, "requests")) if row else (None, None)
                values[s] = calls / n if calls is not None and n else None
            if all(v is None for v in values.values()):
                continue
            out.append("| " + " | ".join([SIZE_NAMES[size], mode]
                                         + [fmt(values[s], 2) for s in servers]
                                         + [best_ratio(values, False)]) + " |")
    out.append("")

    # Which calls, for the smallest file on a keepalive connection.
    counts = {s: strace_counts(run / "strace" / f"{s}-13B-keepalive.txt") for s in servers}
    names = sorted({c for per in counts.values() for c in per},
                   key=lambda c: -sum(per.get(c, 0) for per in counts.values()))
    if names:
        out += ["#### Which system calls, 13 B file, keepalive (calls per request)", ""]
        out.append("| system call | " + " | ".join(servers) + " |")
        out.append("|---|" + "---|" * len(servers))
        n = float(requests) if requests != "?" else 1.0
        for name in names:
            out.append(f"| `{name}` | " + " | ".join(
                fmt(counts[s][name] / n, 3) if name in counts[s] else "" for s in servers)
                + " |")
        out.append("")
    return out


def memory_table(rows):
    if not rows:
        return []
    servers = present(rows)
    by_server = {r["server"]: r for r in rows}
    out = ["### Memory per idle keepalive connection (1 worker)", ""]
    out.append("| server | connections open | Pss before (KiB) | Pss with (KiB) | "
               "bytes / connection, Pss difference | bytes / connection, RSS difference | "
               "bytes / connection, all of Pss with | evserve / server, difference | "
               "evserve / server, all |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    values = {}
    for s in servers:
        r = by_server[s]
        n = number(r, "connections")
        values[s] = {
            "delta": (number(r, "pss_with_kb") - number(r, "pss_before_kb")) * 1024 / n,
            "rss": (number(r, "rss_with_kb") - number(r, "rss_before_kb")) * 1024 / n,
            "all": number(r, "pss_with_kb") * 1024 / n,
        }

    def ratio(s, field):
        # A difference below zero (pages given back) counts as nothing added.
        ev = values.get("evserve")
        if ev is None or s == "evserve" or values[s][field] <= 0:
            return ""
        return f"{max(ev[field], 0.0) / values[s][field]:.2f}"

    for s in servers:
        r, v = by_server[s], values[s]
        out.append("| " + " | ".join([
            s, r.get("established", "?"), fmt(number(r, "pss_before_kb")),
            fmt(number(r, "pss_with_kb")), fmt(v["delta"]), fmt(v["rss"]), fmt(v["all"]),
            ratio(s, "delta"), ratio(s, "all")]) + " |")
    out.append("")
    short = [s for s in servers
             if by_server[s].get("established") != by_server[s].get("connections")]
    if short:
        out += ["**Fewer connections open than opened for: " + ", ".join(short) + "** "
                "(the count is `ss` at the time of the measurement).", ""]
    return out


def plot(medians, path, connections):
    try:
        import matplotlib
    except ImportError:
        print("report.py: no matplotlib (python3-matplotlib), no plot", file=sys.stderr)
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workers = sorted({k[0] for k in medians}, key=int)
    servers = [s for s in SERVERS if any(k[3] == s and v for k, v in medians.items())]
    if not workers or not servers:
        return
    cases = [(size, mode) for size in SIZES for mode in MODES]
    fig, axes = plt.subplots(len(workers), 1, figsize=(10, 3.6 * len(workers)), squeeze=False)
    width = 0.8 / len(servers)
    for ax, w in zip(axes[:, 0], workers):
        for i, s in enumerate(servers):
            xs = [k + (i - (len(servers) - 1) / 2) * width for k in range(len(cases))]
            ys = [medians.get((w, size, mode, s)) or 0 for size, mode in cases]
            ax.bar(xs, ys, width, label=s)
        ax.set_xticks(range(len(cases)))
        ax.set_xticklabels([f"{SIZE_NAMES[size]}\n{mode}" for size, mode in cases])
        ax.set_yscale("log")
        ax.set_ylabel("requests/s (log)")
        ax.set_title(f"{w} worker{'s' if w != '1' else ''}")
        ax.grid(axis="y", which="both", alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(servers))
    fig.suptitle(f"Static files over HTTP/1.1 on 127.0.0.1, wrk -t1 -c{connections} "
                 "(median requests/s)")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--plot", type=Path, help="write a PNG of requests/s here")
    args = parser.parse_args()
    run = args.run

    out = ["## Results", ""]
    machine = run / "machine.txt"
    if machine.exists():
        out += ["```", machine.read_text().strip(), "```", ""]
    load, medians = load_tables(read_lines(run / "load.txt"))
    out += load
    out += cpu_tables(read_lines(run / "load.txt"))
    out += syscall_tables(run, read_lines(run / "syscalls.txt"))
    out += memory_table(read_lines(run / "memory.txt"))
    print("\n".join(out))
    if args.plot and medians:
        found = re.search(r"EVS_BENCH_HTTP_CONNECTIONS=(\d+)", machine.read_text()) \
            if machine.exists() else None
        plot(medians, args.plot, found.group(1) if found else "?")


if __name__ == "__main__":
    main()
