#!/usr/bin/env python3
"""Turns the raw lines of one bench/aio/run.sh run into markdown tables and a plot
(one thread; it reads the run's directory and writes nothing but stdout and the PNG).

    bench/aio/report.py bench/results/aio-<time> [--plot file.png]  > report.md

Every number is the median over repetitions of one (aio mode, server) pair. The
ratios compare evserve with nginx in the same aio mode: latency evserve / nginx
(below 1: evserve's probe waits less), MiB/s evserve / nginx (above 1: evserve
moves more).
"""

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "common"))
from results import fmt, median_of, number, read_lines  # noqa: E402

MODES = ["off", "on", "threads", "io_uring", "off-copy", "threads-copy"]
SERVERS = ["evserve", "nginx"]
MIB = 1048576


def ms(field):
    return lambda row: None if number(row, field) is None else number(row, field) / 1000


def heavy_mib_s(row):
    data, us = number(row, "heavy_bytes"), number(row, "heavy_us")
    return data / MIB / (us / 1e6) if data is not None and us else None


def passes(row):
    data, total = number(row, "heavy_bytes"), number(row, "dataset_bytes")
    return data / total if data is not None and total else None


def ratio(a, b, digits=2):
    return "n/a" if a is None or not b else f"{a / b:.{digits}f}"


def summarize(rows):
    """{(mode, server): {metric: median}} and the number of repetitions."""
    groups = defaultdict(list)
    for row in rows:
        if "failed" not in row:
            groups[(row["mode"], row["server"], row["phase"])].append(row)
    metrics = {
        "load": {"p50": ms("p50_us"), "p99": ms("p99_us"), "p999": ms("p999_us"),
                 "max": ms("max_us"), "probe_rps": lambda r: number(r, "probe_rps"),
                 "late": lambda r: number(r, "late"), "heavy": heavy_mib_s,
                 "passes": passes, "resident_after": lambda r: number(r, "resident_after"),
                 "io_submitted": lambda r: number(r, "io_submitted"),
                 "io_completed": lambda r: number(r, "io_completed"),
                 "io_fallback": lambda r: number(r, "io_fallback")},
        "idle": {"idle_p99": ms("p99_us"), "idle_max": ms("max_us")},
        "cold": {"cold": lambda r: number(r, "mib_s"), "cold_s": lambda r: number(r, "seconds")},
    }
    table = defaultdict(dict)
    for (mode, server, phase), group in groups.items():
        for name, value in metrics.get(phase, {}).items():
            table[(mode, server)][name] = median_of(group, value)
    reps = max((len(g) for g in groups.values()), default=0)
    return table, reps


def pairs_present(table):
    return [(m, s) for m in MODES for s in SERVERS if (m, s) in table]


def responsiveness_table(table, reps, heavy, rate):
    out = [f"### (a) Responsiveness: a 4 KiB cached file at {rate}/s while {heavy} "
           f"connections pull the large files cold (1 worker; medians of {reps})", "",
           "| aio mode | server | probe p50 ms | probe p99 ms | probe p99.9 ms | probe max ms "
           "| probe req/s | probe alone: p99 ms | heavy MiB/s | data set passes "
           "| resident after % |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for mode, server in pairs_present(table):
        v = table[(mode, server)]
        out.append("| " + " | ".join([
            mode, server, fmt(v.get("p50"), 2), fmt(v.get("p99"), 2), fmt(v.get("p999"), 2),
            fmt(v.get("max"), 1), fmt(v.get("probe_rps"), 1), fmt(v.get("idle_p99"), 2),
            fmt(v.get("heavy"), 1), fmt(v.get("passes"), 2),
            fmt(v.get("resident_after"), 1)]) + " |")
    out.append("")
    return out


def cold_table(table, reps, heavy):
    out = [f"### (b) Cold throughput: every large file once, {heavy} connections "
           f"(1 worker; medians of {reps})", "",
           "| aio mode | server | MiB/s | seconds |", "|---|---|---|---|"]
    for mode, server in pairs_present(table):
        v = table[(mode, server)]
        out.append(f"| {mode} | {server} | {fmt(v.get('cold'), 1)} | "
                   f"{fmt(v.get('cold_s'), 2)} |")
    out.append("")
    return out


def ratio_table(table):
    both = [m for m in MODES if (m, "evserve") in table and (m, "nginx") in table]
    if not both:
        return []
    out = ["### evserve / nginx, same aio mode", "",
           "| aio mode | probe p99 | probe max | heavy MiB/s | cold MiB/s |",
           "|---|---|---|---|---|"]
    for mode in both:
        ev, ng = table[(mode, "evserve")], table[(mode, "nginx")]
        out.append("| " + " | ".join([mode] + [ratio(ev.get(k), ng.get(k))
                                              for k in ("p99", "max", "heavy", "cold")]) + " |")
    out.append("")
    return out


def file_io_table(table):
    modes = [m for m in MODES if table.get((m, "evserve"), {}).get("io_submitted") is not None]
    if not modes:
        return []
    out = ["### evserve's file reads per run (its status counters: all three phases; medians)",
           "", "| aio mode | submitted | completed | fallen back to a synchronous read |",
           "|---|---|---|---|"]
    for mode in modes:
        v = table[(mode, "evserve")]
        out.append(f"| {mode} | {fmt(v['io_submitted'])} | {fmt(v.get('io_completed'))} | "
                   f"{fmt(v.get('io_fallback'))} |")
    out.append("")
    return out


def problems(rows):
    """Sentences about runs whose numbers are missing or come with errors."""
    out = []
    failed = [r for r in rows if "failed" in r]
    if failed:
        out.append(f"**{len(failed)} measurements failed** (no number taken): " + "; ".join(
            f"{r['mode']} {r['server']} rep {r['rep']} {r['phase']} ({r['failed']})"
            for r in failed) + ".")
    bad = [r for r in rows if r.get("phase") == "load"
           and (number(r, "heavy_errors") or number(r, "heavy_non2xx"))]
    if bad:
        out.append("**Heavy clients saw errors:** " + "; ".join(
            f"{r['mode']} {r['server']} rep {r['rep']}: {r['heavy_errors']} socket errors, "
            f"{r['heavy_non2xx']} non-2xx" for r in bad) + ".")
    reread = [r for r in rows if (passes(r) or 0) > 1]
    if reread:
        out.append("Runs whose heavy clients pulled more than the whole data set, so that "
                   "some files were read twice (through the page cache a second read may "
                   "be warm; see 'resident after'): " + "; ".join(
                       f"{r['mode']} {r['server']} rep {r['rep']} ({passes(r):.2f} passes)"
                       for r in reread) + ".")
    return [p + "\n" for p in out]


def plot(table, path, modes, title):
    try:
        import matplotlib
    except ImportError:
        print("report.py: no matplotlib (python3-matplotlib), no plot", file=sys.stderr)
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.transforms import blended_transform_factory

    servers = [s for s in SERVERS if any((m, s) in table for m in MODES)]
    panels = [("p99", "probe p99 under load, ms (log)", True),
              ("heavy", "heavy clients under (a), MiB/s", False),
              ("cold", "(b) cold, every file once, MiB/s", False)]
    fig, axes = plt.subplots(1, len(panels), figsize=(13, 4.2))
    width = 0.8 / len(servers)
    for ax, (metric, label, log) in zip(axes, panels):
        # x in data coordinates, y in axes coordinates: the marks of missing bars.
        mark = blended_transform_factory(ax.transData, ax.transAxes)
        for i, s in enumerate(servers):
            xs, ys = [], []
            for k, m in enumerate(modes):
                x = k + (i - (len(servers) - 1) / 2) * width
                value = table.get((m, s), {}).get(metric)
                if value:
                    xs.append(x)
                    ys.append(value)
                else:
                    ax.text(x, 0.03, f"{s}: skipped" if (m, s) not in table else f"{s}: n/a",
                            transform=mark, rotation=90, ha="center", va="bottom",
                            fontsize=7, color="grey")
            ax.bar(xs, ys, width, label=s)
        ax.set_xticks(range(len(modes)))
        ax.set_xlim(-0.5, len(modes) - 0.5)
        ax.set_xticklabels(modes, rotation=30, ha="right", fontsize=8)
        if log:
            # Bars on a log axis start at its bottom: put it well below the smallest.
            ax.set_yscale("log")
            values = [v.get(metric) for v in table.values() if v.get(metric)]
            if values:
                ax.set_ylim(bottom=min(values) / 4)
        ax.set_title(label, fontsize=10)
        ax.grid(axis="y", which="both", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(servers))
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=100)


def knob(machine_text, name, default="?"):
    for word in machine_text.replace("(", " ").replace(")", " ").split():
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return default


def knob_line(machine_text, prefix):
    """The first line of machine.txt that starts with prefix, or ''."""
    for line in machine_text.splitlines():
        if line.startswith(prefix):
            return line
    return ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--plot", type=Path, help="write a PNG here")
    args = parser.parse_args()
    run = args.run
    machine = (run / "machine.txt").read_text() if (run / "machine.txt").exists() else ""
    heavy = knob(machine, "EVS_BENCH_AIO_HEAVY")
    rate = knob(machine, "EVS_BENCH_AIO_PROBE_RATE")
    rows = read_lines(run / "runs.txt")
    table, reps = summarize(rows)

    out = ["## Results", ""]
    if machine:
        out += ["```", machine.strip(), "```", ""]
    skipped = (run / "skipped.txt").read_text().strip() if (run / "skipped.txt").exists() else ""
    if skipped:
        out += ["Skipped (the server's `-t` rejected the mode's configuration):", ""]
        out += [f"- {line}" for line in skipped.splitlines()] + [""]
    out += responsiveness_table(table, reps, heavy, rate)
    out += cold_table(table, reps, heavy)
    out += ratio_table(table)
    out += file_io_table(table)
    out += problems(rows)
    print("\n".join(out))
    asked = knob_line(machine, "servers:").partition("modes:")[2].split()
    modes = [m for m in MODES if m in asked] or MODES
    if args.plot and table:
        plot(table, args.plot, modes, f"File AIO, 1 worker: a 4 KiB probe at {rate}/s beside {heavy} "
             "connections pulling large files cold (medians)")


if __name__ == "__main__":
    main()
