# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Before/after table of two sets of ``run.py`` results (e.g. the old core and
the new one, each run with ``--ours-only --repeat 3``, back to back).

For each operation: the least time of each side over all its runs (a run with
``--repeat`` already keeps its least), the ratio new / old, and every run's
figure so the reader sees the noise.

Usage::

    python3 benchmarks/compare.py --old results/core-100000-old-a.json \\
        results/core-100000-old-b.json --new results/core-100000-new-a.json \\
        results/core-100000-new-b.json --limit 1.3
"""

import argparse
import json
from pathlib import Path

from run import LABELS, OPERATIONS


def times(files, key="ours_min_s", fallback="ours_s"):
    """{operation: [least time of each run]}, and the reports."""
    out, reports = {}, []
    for name in files:
        report = json.loads(Path(name).read_text())
        reports.append(report)
        for r in report["operations"]:
            value = r.get(key, r.get(fallback))
            if value is not None:
                out.setdefault(r["operation"], []).append(value)
    return out, reports


def rows(old, new, limit):
    for op in OPERATIONS:
        if op not in old or op not in new:
            continue
        o, n = min(old[op]), min(new[op])
        ratio = n / o if o else None
        ok = "yes" if ratio is not None and ratio <= limit else "**no**"
        yield (
            f"| {LABELS[op]} | {o:.2f} | {n:.2f} | {ratio:.2f} | {ok} "
            f"| {', '.join(f'{t:.2f}' for t in old[op])} "
            f"| {', '.join(f'{t:.2f}' for t in new[op])} |"
        )


def table(old_files, new_files, limit):
    old, old_reports = times(old_files)
    new, new_reports = times(new_files)
    size = old_reports[0]["size"]
    yard = [r.get("datagen_s") for r in old_reports + new_reports]
    lines = [
        (
            f"Before/after at {size:,} beneficiaries: least time over "
            f"{len(old_files)} + {len(new_files)} runs (each the least of its "
            f"repeats); data generation (the yardstick) took "
            f"{', '.join(f'{y} s' for y in yard)} in these runs."
        ),
        "",
        (
            f"| Operation | Old (s) | New (s) | New / old | Within {limit}× | "
            "Old runs (s) | New runs (s) |"
        ),
        "|---|---:|---:|---:|---|---|---|",
    ]
    lines += rows(old, new, limit)
    old_cpu, _reports = times(old_files, "ours_min_cpu_s", "ours_cpu_s")
    new_cpu, _reports = times(new_files, "ours_min_cpu_s", "ours_cpu_s")
    if old_cpu and new_cpu:
        lines += [
            "",
            (
                "CPU seconds (PostgreSQL backend + Odoo process), least of each "
                "side: the machine's load changes these much less than wall time."
            ),
            "",
            (
                f"| Operation | Old CPU (s) | New CPU (s) | New / old | "
                f"Within {limit}× | Old runs (s) | New runs (s) |"
            ),
            "|---|---:|---:|---:|---|---|---|",
            *rows(old_cpu, new_cpu, limit),
        ]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", nargs="+", required=True)
    parser.add_argument("--new", nargs="+", required=True)
    parser.add_argument("--limit", type=float, default=1.3)
    parser.add_argument("--out", help="also write the table to this file")
    args = parser.parse_args()
    text = table(args.old, args.new, args.limit)
    if args.out:
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
