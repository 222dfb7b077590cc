"""Benchmark the core bulk operations at scale, side by side with the naive ORM
and the raw-SQL floor.

Creates a fresh database with the core addon installed (no demo data),
generates ``--size`` beneficiaries, then runs each operation in order (each
builds on the previous one): enroll eligible (~60% of beneficiaries), verify
eligibility after 5% changed, generate entitlements, approve them, create
disbursements, apply 100,000 disbursement status updates. Writes
``benchmarks/results/core-<size>.json`` and a Markdown table next to it.

Usage::

    python3 benchmarks/run.py --size 1000000
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from datagen import generate

OPERATIONS = ["enroll", "verify", "generate", "approve", "disburse", "status"]
LABELS = {
    "enroll": "Enroll eligible",
    "verify": "Re-verify eligibility (5% changed)",
    "generate": "Generate entitlements",
    "approve": "Approve entitlements",
    "disburse": "Create disbursements",
    "status": "Disbursement status updates (model, batches of 1,000)",
}


def run(cmd, **kwargs):
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kwargs)


def create_database(db, addons):
    run(["dropdb", "--if-exists", db])
    run(
        [
            sys.executable,
            "-m",
            "odoo",
            "-d",
            db,
            f"--addons-path={REPO}",
            "-i",
            addons,
            "--without-demo=all",
            "--stop-after-init",
            "--log-level=warn",
            "--http-port=18999",
        ]
    )


def run_part(db, op, part, sample):
    out = run(
        [
            sys.executable,
            str(HERE / "bench_core.py"),
            "--db",
            db,
            "--op",
            op,
            "--part",
            part,
            "--sample",
            str(sample),
        ],
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(db, op, sample):
    run_part(db, op, "setup", sample)
    refs = run_part(db, op, "refs", sample)
    ours = run_part(db, op, "ours", sample)
    rows = ours["rows"]
    # rows the naive way has to visit: all members for a re-verification
    scale = refs.get("naive_scale_rows", rows)
    naive_per_row = refs["naive_sample_s"] / max(refs["naive_rows"], 1)
    return {
        "operation": op,
        "rows": rows,
        "ours_s": ours["ours_s"],
        "ours_rows_per_s": round(rows / ours["ours_s"]) if ours["ours_s"] else None,
        "ours_peak_rss_mib": ours["peak_rss_mib"],
        "sql_floor_s": refs["sql_floor_s"],
        "naive_sample_rows": refs["naive_rows"],
        "naive_ms_per_row": round(naive_per_row * 1000, 3),
        "naive_extrapolated_s": round(naive_per_row * scale, 1),
        "ratio_ours_to_floor": round(ours["ours_s"] / refs["sql_floor_s"], 2)
        if refs["sql_floor_s"]
        else None,
        "ratio_naive_to_ours": round(naive_per_row * scale / ours["ours_s"], 1)
        if ours["ours_s"]
        else None,
        **{k: v for k, v in ours.items() if k == "changed_beneficiaries"},
        **{k: v for k, v in refs.items() if k == "changed_beneficiaries"},
    }


def markdown(results, size):
    lines = [
        (
            f"Core bulk operations at {size:,} beneficiaries "
            f"(2 cores; naive ORM measured on a sample and extrapolated):"
        ),
        "",
        (
            "| Operation | Rows | Ours (s) | Rows/s | Peak RSS (MiB) | SQL floor (s) "
            "| Ours / floor | Naive ORM (ms/row) | Naive, extrapolated (s) "
            "| Naive / ours |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {LABELS[r['operation']]} | {r['rows']:,} | {r['ours_s']:.1f} "
            f"| {r['ours_rows_per_s'] or 0:,} | {r['ours_peak_rss_mib']:.0f} "
            f"| {r['sql_floor_s']:.1f} | {r['ratio_ours_to_floor']} "
            f"| {r['naive_ms_per_row']} | {r['naive_extrapolated_s']:,} "
            f"| {r['ratio_naive_to_ours']} |"
        )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=10_000)
    parser.add_argument("--db", default="br_bench_core")
    parser.add_argument(
        "--skip-setup",
        action="store_true",
        help="reuse the database as it is (no install, no data)",
    )
    parser.add_argument("--ops", default=",".join(OPERATIONS))
    args = parser.parse_args()

    out_dir = HERE / "results"
    out_file = out_dir / f"core-{args.size}.json"
    report = {"size": args.size, "sample": args.sample, "operations": []}
    if args.skip_setup and out_file.exists():
        # resume an interrupted run: keep the operations measured already
        report = json.loads(out_file.read_text())
    if not args.skip_setup:
        create_database(args.db, "g2p_beneficiary_registry")
        start = time.perf_counter()
        with psycopg2.connect(dbname=args.db) as conn, conn.cursor() as cr:
            generate(cr, args.size)
        report["datagen_s"] = round(time.perf_counter() - start, 1)
        print(f"generated {args.size:,} beneficiaries in {report['datagen_s']} s")
    for op in args.ops.split(","):
        result = measure(args.db, op, args.sample)
        print(json.dumps(result), flush=True)
        report["operations"] = [
            r for r in report["operations"] if r["operation"] != op
        ] + [result]
        out_dir.mkdir(exist_ok=True)
        out_file.write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report["operations"], args.size)
    (out_dir / f"core-{args.size}.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
