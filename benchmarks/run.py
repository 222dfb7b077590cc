"""Benchmark the core bulk operations at scale, side by side with the naive ORM
and the raw-SQL floor.

Creates a fresh database with the core addon installed (no demo data),
generates ``--size`` beneficiaries, then runs each operation in order (each
builds on the previous one): enroll eligible (~60% of beneficiaries), verify
eligibility after 5% changed, generate entitlements, approve them, create
disbursements, apply 100,000 disbursement status updates. Writes
``benchmarks/results/core-<size>.json`` and a Markdown table next to it.

With ``--all`` it then runs the API benchmark (``api_bench.py``: lookups by
identifier and 100,000 status updates through ``POST /disbursements/status``
on a database of the same size) and the SR sync benchmark
(``sr_sync_bench.py``: full pull of 100,000 registrants, incremental pull of
1% changes), and writes ``benchmarks/results/summary-<size>.md`` with every
figure next to its target.

Usage::

    python3 benchmarks/run.py --size 1000000 --all
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


def run_others(size):
    """The API and SR sync benchmarks, each in its own fresh database."""
    run([sys.executable, str(HERE / "api_bench.py"), "--size", str(size), "--drop"])
    run([sys.executable, str(HERE / "sr_sync_bench.py"), "--size", "100000", "--drop"])


def check(value, target, lower_is_better=True):
    if value is None:
        return "n/a"
    ok = value <= target if lower_is_better else value >= target
    return "met" if ok else "**missed**"


def summary(size):
    """One Markdown page: every figure next to the target of the scale issue."""
    out = HERE / "results"
    core = json.loads((out / f"core-{size}.json").read_text())
    lines = [markdown(core["operations"], size), "", "Targets:", ""]
    lines += ["| Figure | Measured | Target | |", "|---|---:|---:|---|"]
    for r in core["operations"]:
        if r["operation"] in ("enroll", "generate", "approve", "disburse"):
            lines.append(
                f"| {LABELS[r['operation']]}: wall | {r['ours_s']:.1f} s | ≤ 60 s "
                f"| {check(r['ours_s'], 60)} |"
            )
            lines.append(
                f"| {LABELS[r['operation']]}: ours / SQL floor "
                f"| {r['ratio_ours_to_floor']} | ≤ 10 | "
                f"{check(r['ratio_ours_to_floor'], 10)} |"
            )
            lines.append(
                f"| {LABELS[r['operation']]}: peak RSS "
                f"| {r['ours_peak_rss_mib']:.0f} MiB | ≤ 1024 MiB "
                f"| {check(r['ours_peak_rss_mib'], 1024)} |"
            )
        if r["operation"] == "verify":
            lines.append(
                f"| {LABELS['verify']} | {r['ours_s']:.1f} s | ≤ 15 s "
                f"| {check(r['ours_s'], 15)} |"
            )
    api_file = out / f"api-{size}.json"
    if api_file.exists():
        api = json.loads(api_file.read_text())
        health = api["scenarios"]["health"]
        for name in ("enrollments", "entitlements"):
            sc = api["scenarios"][name]
            med = sc["median_ms"] / health["median_ms"]
            p99 = sc["p99_ms"] / health["p99_ms"]
            lines.append(
                f"| API {name}: median vs /web/health | {sc['median_ms']} ms vs "
                f"{health['median_ms']} ms = {med:.1f}× | ≤ 1.5× | {check(med, 1.5)} |"
            )
            lines.append(
                f"| API {name}: p99 vs /web/health | {sc['p99_ms']} ms vs "
                f"{health['p99_ms']} ms = {p99:.1f}× | ≤ 2× | {check(p99, 2)} |"
            )
            lines.append(f"| API {name}: requests/s | {sc['req_per_s']} | | |")
        scans = api.get("lookup_seq_scans") or {}
        lines.append(
            f"| Sequential scans of large tables during lookups "
            f"| {sum(scans.values())} | 0 | {check(sum(scans.values()), 0)} |"
        )
        status = api.get("status_updates")
        if status:
            lines.append(
                f"| `POST /disbursements/status` | {status['items_per_s']:,} items/s "
                f"| ≥ 2,000 | {check(status['items_per_s'], 2000, False)} |"
            )
    sync_file = out / "sr-sync-100000.json"
    if sync_file.exists():
        sync = json.loads(sync_file.read_text())
        full = sync["full"]["records_per_s"]
        lines.append(
            f"| SR sync, full pull of 100,000 | {full:,} records/s | ≥ 2,000 "
            f"| {check(full, 2000, False)} |"
        )
        incr = sync["incremental"].get("seconds")
        lines.append(
            f"| SR sync, incremental pull of 1% | {incr} s | ≤ 30 s "
            f"| {check(incr, 30)} |"
        )
    text = "\n".join(lines) + "\n"
    (out / f"summary-{size}.md").write_text(text)
    return text


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
    parser.add_argument(
        "--all", action="store_true", help="also the API and SR sync benchmarks"
    )
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
    if args.all:
        run_others(args.size)
        print(summary(args.size))


if __name__ == "__main__":
    main()
