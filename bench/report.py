#!/usr/bin/env python3
"""Turns the raw lines of one bench/run.sh run into markdown tables.

    bench/report.py bench/results/<run>   > report.md

Every number is a median over repetitions; each ratio is evcore's median divided
by the peer's, so below 1 means evcore is faster or smaller.
"""

import statistics
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "common"))
from results import read_lines  # noqa: E402

IMPLS = ["epoll", "evcore", "libev", "libevent", "libuv"]
PEERS = ["epoll", "libev", "libevent", "libuv"]
TIMER_IMPLS = ["evcore", "libev", "libevent", "libuv"]
VARIANTS = [("rearm", "0"), ("rearm", "1"), ("once", "0"), ("once", "1")]
VARIANT_NAMES = {
    ("rearm", "0"): "re-armed",
    ("rearm", "1"): "re-armed + idle timeout",
    ("once", "0"): "registered once",
    ("once", "1"): "registered once + idle timeout",
}


def group(rows, keys):
    groups = defaultdict(list)
    for row in rows:
        groups[tuple(row.get(k) for k in keys)].append(row)
    return groups


def median_of(rows, field, scale=1.0, reduce=statistics.median):
    values = []
    for row in rows:
        try:
            values.append(float(row[field]) * scale)
        except (KeyError, ValueError):
            pass
    return reduce(values) if values else None


def fmt(value, digits=1):
    return "n/a" if value is None else f"{value:,.{digits}f}"


def ratio(a, b):
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}"


def paired_ratio(rows_a, rows_b, field):
    """The median over repetitions of a / b, each repetition's two runs taken close
    together in time, so that slow drift of the machine cancels out."""
    by_rep = {row.get("rep"): float(row[field]) for row in rows_b if field in row}
    ratios = [float(row[field]) / by_rep[row.get("rep")] for row in rows_a
              if field in row and by_rep.get(row.get("rep"))]
    return statistics.median(ratios) if ratios else None


def metric_table(title, groups, field, unit, scale=1.0, digits=1, note="",
                 reduce=statistics.median, paired=False, summary=None):
    """One row per (variant, N): each implementation's median (or `reduce` over the
    repetitions), then evcore / peer: the ratio of those values, or with `paired` the
    median of the per-repetition ratios. `summary`, a list, receives the geometric
    mean of each ratio column."""
    out = [f"#### {title}", ""]
    if note:
        out += [note, ""]
    head = ["variant", "N"] + [f"{i} ({unit})" for i in IMPLS] + [f"evcore / {p}" for p in PEERS]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    sizes = sorted({int(k[1]) for k in groups})
    columns = {p: [] for p in PEERS}
    for variant in VARIANTS:
        for n in sizes:
            rows = {impl: groups.get((impl, str(n), *variant), []) for impl in IMPLS}
            values = {impl: median_of(rows[impl], field, scale, reduce) for impl in IMPLS}
            if all(v is None for v in values.values()):
                continue
            cells = [VARIANT_NAMES[variant], str(n)]
            cells += [fmt(values[i], digits) for i in IMPLS]
            for p in PEERS:
                if paired:
                    r = paired_ratio(rows["evcore"], rows[p], field)
                else:
                    r = None if values["evcore"] is None or not values[p] else \
                        values["evcore"] / values[p]
                if r is not None:
                    columns[p].append(r)
                cells.append("n/a" if r is None else f"{r:.2f}")
            out.append("| " + " | ".join(cells) + " |")
    if summary is not None:
        summary.append({p: statistics.geometric_mean(v) for p, v in columns.items() if v})
    out.append("")
    return out


def spread_line(groups, field):
    """The median relative spread (max - min) / median over configurations, per impl."""
    parts = []
    for impl in IMPLS:
        spreads = []
        for key, rows in groups.items():
            if key[0] != impl or len(rows) < 2:
                continue
            values = [float(r[field]) for r in rows]
            med = statistics.median(values)
            if med > 0:
                spreads.append((max(values) - min(values)) / med)
        if spreads:
            parts.append(f"{impl} {100 * statistics.median(spreads):.0f}%")
    return ", ".join(parts)


def with_instructions(rows):
    for row in rows:
        try:
            row["instr_per_event"] = str(float(row["instructions"]) / float(row["events"]))
        except (KeyError, ValueError, ZeroDivisionError):
            pass
    return rows


def main():
    run = Path(sys.argv[1])
    keys = ["impl", "pipes", "variant", "timeout"]
    out = ["## Results", ""]
    machine = run / "machine.txt"
    if machine.exists():
        out += ["```", machine.read_text().strip(), "```", ""]

    pipes = read_lines(run / "pipes.txt")
    bad = [r for r in pipes + read_lines(run / "timers.txt")
           if r.get("failures", "0") != "0" or r.get("timeouts_fired", "0") != "0"]
    if bad:
        out += [f"**{len(bad)} runs reported failures or fired timeouts.**", ""]

    timed = group(pipes, keys)
    reps = max((len(v) for v in timed.values()), default=0)
    out += [f"### Pipes benchmark (A = 100 active, W = 10000 writes; medians of {reps})", ""]
    layouts = sorted({(int(r["pipes"]), r.get("layout", "?")) for r in pipes})
    if layouts:
        out += ["Socket layout per N (pairs: a socket pair per pipe, as bench.c; shared: both "
                "ends of each pair watched, where the open-files limit forbids 2N): "
                + ", ".join(f"N = {n}: {layout}" for n, layout in layouts) + ".", ""]
    paired_note = ("Ratios: the median over repetitions of evcore's time divided by the "
                   "peer's in the same repetition (run minutes apart at most).")
    cpu_summary = []
    out += metric_table("Total time per iteration (wall clock)", timed, "total_us", "ms", 1e-3,
                        2, "Re-arming (re-armed variants), priming and dispatch; the median of "
                        "the iterations of each run, then the median over runs. " + paired_note,
                        paired=True)
    out += metric_table("CPU time per iteration (user + system, getrusage)", timed, "cpu_us",
                        "ms", 1e-3, 2, "The same region as the total; unlike wall-clock time "
                        "it does not count time the process spent preempted. " + paired_note,
                        paired=True, summary=cpu_summary)
    out += metric_table("CPU time per iteration, minimum over repetitions", timed, "cpu_us",
                        "ms", 1e-3, 2, "Interference from other work on the machine only ever "
                        "adds time; the fastest repetition is the least disturbed one.",
                        reduce=min, summary=cpu_summary)
    out += metric_table("User CPU time per event (getrusage)", timed, "user_ns_per_event",
                        "ns", 1.0, 0, paired_note, paired=True)
    if len(cpu_summary) == 2:
        out += ["Geometric mean over the configurations of evcore / peer, CPU time: "
                + "; ".join(f"{p} {cpu_summary[0][p]:.3f} (medians), {cpu_summary[1][p]:.3f} "
                            "(minimums)" for p in PEERS if p in cpu_summary[0]) + ".", ""]
    out += ["Spread over repetitions, (max - min) / median, median over configurations: "
            f"wall clock: {spread_line(timed, 'total_us')}; "
            f"CPU time: {spread_line(timed, 'cpu_us')}; "
            f"user time per event: {spread_line(timed, 'user_ns_per_event')}.", ""]

    syscalls = group(read_lines(run / "syscalls.txt"), keys)
    if syscalls:
        out += metric_table("System calls per event (perf raw_syscalls:sys_enter)", syscalls,
                            "syscalls_per_event", "calls", 1.0, 3)
    instructions = group(with_instructions(read_lines(run / "callgrind.txt")), keys)
    if instructions:
        out += metric_table("User-space instructions per event (callgrind)", instructions,
                            "instr_per_event", "instr", 1.0, 0)

    timers = group(read_lines(run / "timers.txt"), ["impl"])
    if timers:
        count = next(iter(timers.values()))[0].get("timers", "?")
        n = max(len(v) for v in timers.values())
        out += [f"### {int(count):,} timers (libuv's million-timers method; medians of {n})", ""]
        out.append("| impl | CPU s (user+sys) | start CPU s | run CPU s | user s | sys s | "
                   "peak RSS MiB | evcore / impl CPU | evcore / impl RSS |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        ev = timers.get(("evcore",), [])
        ev_cpu, ev_rss = median_of(ev, "cpu_s"), median_of(ev, "maxrss_mib")
        for impl in TIMER_IMPLS:
            rows = timers.get((impl,), [])
            if not rows:
                continue
            cpu, rss = median_of(rows, "cpu_s"), median_of(rows, "maxrss_mib")
            out.append("| " + " | ".join([
                impl, fmt(cpu, 2), fmt(median_of(rows, "init_cpu_s"), 2),
                fmt(median_of(rows, "run_cpu_s"), 2), fmt(median_of(rows, "user_s"), 2),
                fmt(median_of(rows, "sys_s"), 2), fmt(rss, 0), ratio(ev_cpu, cpu),
                ratio(ev_rss, rss)]) + " |")
        out.append("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
