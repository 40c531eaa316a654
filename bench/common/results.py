"""Reading the raw result lines of the benchmark scripts, shared by their report.py
files (bench/report.py, bench/http/report.py, bench/aio/report.py), which import it
with bench/common on sys.path. Plain functions; nothing kept between calls.

A raw line is `key=value` words; a run's file is many of them.
"""

import statistics


def read_lines(path):
    """Each line of key=value pairs as a dict; a missing file is no lines."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        if fields:
            rows.append(fields)
    return rows


def number(row, field):
    """The field as a float, or None when it is missing or not a number."""
    try:
        return float(row[field])
    except (KeyError, ValueError):
        return None


def median_of(rows, field):
    """The median of a field (a name, or a function of the row) over the rows where
    it is known; None where it is known in none."""
    value = field if callable(field) else (lambda row: number(row, field))
    values = [v for v in map(value, rows) if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=0):
    return "n/a" if value is None else f"{value:,.{digits}f}"
