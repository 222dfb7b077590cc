# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Benchmark the core bulk operations at scale, side by side with fair SQL
floors, the queue-job click path and the naive ORM.

Creates a fresh database with the core addon installed (no demo data),
generates ``--size`` beneficiaries (the time it takes is printed and kept as
the machine's yardstick), then runs each operation in order (each builds on
the previous one): enroll eligible (~60% of beneficiaries), verify
eligibility after 5% changed, generate entitlements, send for approval,
approve, create disbursements, apply 100,000 disbursement status updates.

For each operation (see ``bench_core.py``):

* **ours**: the button, inline, committed;
* **sql floor**: hand-written SQL leaving exactly the same rows (same rule and
  amount from the program, same references, same triggers and constraints),
  rolled back; the benchmark FAILS (exit status 1) when the digest of the
  rows the floor leaves differs from ours;
* **job** (not with ``--no-job``): on a twin database (a copy made right after
  the data generation), the same button above the async threshold (the
  shipped default): the click that enqueues, then the job run as queue_job's
  runner runs it, until done and committed;
* **naive ORM**: this project's own models record by record, on a sample;
* PostgreSQL's side: temp files, WAL written, the backend's peak RSS.

Writes ``benchmarks/results/core-<size>[-<label>].json`` and a Markdown table
next to it.

With ``--all`` it then runs the API benchmark (``api_bench.py``) and the SR
sync benchmark (``sr_sync_bench.py``) and writes
``benchmarks/results/summary-<size>.md`` with every figure next to its target.

``--upstream PATH[,PATH]`` then runs ``upstream.py``: upstream OpenG2P's own
enroll, cycle, entitlement, approval and payment steps on the same generated
data, and prints the ratios ours / upstream (``results/upstream-<size>``).

``--repo PATH --ours-only`` times the buttons of another checkout of the core
(e.g. an older commit, for a before/after) with this very benchmark.

Usage::

    python3 benchmarks/run.py --size 100000 --drop
    python3 benchmarks/run.py --size 1000000 --all --drop
"""

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg2

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import odoo_db
from datagen import generate
from odoo_db import run

OPERATIONS = [
    "enroll",
    "verify",
    "generate",
    "to_approve",
    "approve",
    "disburse",
    "status",
]
LABELS = {
    "enroll": "Enroll eligible",
    "verify": "Re-verify eligibility (5% changed)",
    "generate": "Generate entitlements",
    "to_approve": "Send for approval",
    "approve": "Approve entitlements",
    "disburse": "Create disbursements",
    "status": "Disbursement status updates (model, batches of 1,000)",
}
# what each floor writes: the same rows and values as ours (checked by digest)
FLOOR_INCLUDES = {
    "enroll": "one INSERT of the memberships, rule from the program "
    "(`_get_eligibility_domain()` through `_search()`); no NOT EXISTS / ON "
    "CONFLICT guard (no member yet), no chatter message",
    "verify": "two UPDATEs of the memberships with the program's rule as an "
    "EXISTS (through `_search()`), write_uid/write_date, enrollment_date",
    "generate": "one INSERT of the entitlements, value from "
    "`_entitlement_amount_sql()`, totals 0 / not started (`remaining` generated), "
    "the cycle's generated_by; the table's triggers (enrolled-member check, "
    "history rows); no NOT EXISTS / ON CONFLICT guard, no chatter message",
    "to_approve": "one UPDATE of the entitlements and of the cycle; the table's "
    "triggers (history rows, per-row live-disbursement check); no chatter",
    "approve": "one UPDATE of the entitlements (approver, time) and of the "
    "cycle; the table's triggers (history rows); no chatter",
    "disburse": "one INSERT of the disbursements (`remaining`, reference "
    "BR-<id>-1 without the count sub-query, no in-flight NOT EXISTS / ON "
    "CONFLICT); the table's triggers: entitlement totals and status refreshed "
    "(all marked in progress), over-disbursement CHECK, history rows",
    "status": "one UPDATE per batch of 1,000 references (status, its times, "
    "write_uid/write_date), the table's triggers (totals refreshed, history "
    "rows); one transaction (ours commits each batch), no per-item validation",
}


def create_database(db, addons, repo=REPO):
    odoo_db.create_database(db, addons, repo, port=18999)


def run_part(db, op, part, args, **extra):
    cmd = [
        sys.executable,
        str(HERE / "bench_core.py"),
        "--db",
        db,
        "--op",
        op,
        "--part",
        part,
        "--sample",
        str(args.sample),
        "--repo",
        str(args.repo),
    ]
    for key, value in extra.items():
        cmd += [f"--{key}", str(value)]
    out = run(cmd, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def utc_now():
    return datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")


PG_KEYS = ("pg_temp_files", "pg_temp_mib", "pg_wal_mib", "pg_backend_peak_rss_mib")


def measure(db, job_db, op, args):
    run_part(db, op, "setup", args)
    if job_db:
        run_part(job_db, op, "setup", args)
    since = utc_now()
    refs = {} if args.ours_only else run_part(db, op, "refs", args, since=since)
    extra = {"repeat": args.repeat}
    if not args.ours_only:
        extra["since"] = since
    ours = run_part(db, op, "ours", args, **extra)
    rows = ours["rows"]
    result = {
        "operation": op,
        "rows": rows,
        "ours_s": ours["ours_s"],
        "ours_rows_per_s": round(rows / ours["ours_s"]) if ours["ours_s"] else None,
        "ours_peak_rss_mib": ours["peak_rss_mib"],
        "ours_runs_s": ours["ours_runs_s"],
        "ours_min_s": ours["ours_min_s"],
        # CPU seconds (PostgreSQL backend + Odoo): steadier than wall time on
        # a shared machine
        "ours_cpu_s": ours.get("cpu_s"),
        "ours_pg_cpu_s": ours.get("pg_cpu_s"),
        "ours_odoo_cpu_s": ours.get("odoo_cpu_s"),
        "ours_cpu_runs_s": ours.get("ours_cpu_runs_s"),
        "ours_min_cpu_s": ours.get("ours_min_cpu_s"),
        **{f"ours_{k}": ours.get(k) for k in PG_KEYS},
    }
    if refs:
        naive_rows = refs.get("naive_rows") or 0
        naive_per_row = refs.get("naive_sample_s", 0) / max(naive_rows, 1)
        # rows the naive way has to visit (all members for a re-verification)
        scale = refs.get("naive_scale_rows", rows)
        result.update(
            sql_floor_s=refs["sql_floor_s"],
            floor_includes=FLOOR_INCLUDES[op],
            floor_digest=refs["floor_digest"],
            ours_digest=ours["digest"],
            digest_equal=refs["floor_digest"] == ours["digest"],
            ratio_ours_to_floor=round(ours["ours_s"] / refs["sql_floor_s"], 2)
            if refs["sql_floor_s"]
            else None,
            **{f"floor_{k}": refs.get(k) for k in PG_KEYS},
        )
        if naive_rows:
            result.update(
                naive_sample_rows=naive_rows,
                naive_ms_per_row=round(naive_per_row * 1000, 3),
                naive_extrapolated_s=round(naive_per_row * scale, 1),
                ratio_naive_to_ours=round(naive_per_row * scale / ours["ours_s"], 1)
                if ours["ours_s"]
                else None,
            )
    if job_db:
        extra = {"threshold": args.async_threshold} if args.async_threshold else {}
        click = run_part(job_db, op, "click", args, **extra)
        result["job_click_s"] = click["click_s"]
        result.update({f"click_{k}": click.get(k) for k in PG_KEYS})
        if click["job_uuids"]:
            jobrun = run_part(
                job_db, op, "jobrun", args, uuids=",".join(click["job_uuids"])
            )
            result["job_run_s"] = jobrun["job_s"]
            result["job_exec_time_s"] = jobrun["job_exec_time_s"]
            result["job_total_s"] = round(click["click_s"] + jobrun["job_s"], 3)
            result["job_peak_rss_mib"] = jobrun["peak_rss_mib"]
            result.update({f"job_{k}": jobrun.get(k) for k in PG_KEYS})
            result["ratio_job_to_inline"] = round(
                result["job_total_s"] / ours["ours_s"], 2
            )
        else:
            result["job_total_s"] = click["click_s"]
            result["job_note"] = "inline: not a queued operation"
    return result


def fmt(value, spec=".1f"):
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    return format(value, spec)


def markdown(report):  # noqa: C901 (one table, two layouts)
    size, results = report["size"], report["operations"]
    floors = any("sql_floor_s" in r for r in results)
    jobs = any("job_total_s" in r for r in results)
    lines = [
        (
            f"Core bulk operations at {size:,} beneficiaries, "
            f"{report.get('machine', '')}; yardstick: generating the data took "
            f"{report.get('datagen_s', '?')} s; whole run "
            f"{report.get('run_s', '?')} s."
        ),
        "",
        "Ratios (measured back to back in one run):",
        "",
    ]
    head = "| Operation | Rows |"
    rule = "|---|---:|"
    if floors:
        head += " Ours / fair floor | Digest ours = floor |"
        rule += "---:|---|"
    if jobs:
        head += " Job path / inline |"
        rule += "---:|"
    if floors:
        head += " Naive ORM / ours |"
        rule += "---:|"
    repeats = any(len(r.get("ours_runs_s") or []) > 1 for r in results)
    if repeats:
        head += " Ours: each run (s) | Least (s) |"
        rule += "---|---:|"
    lines += [head, rule]
    for r in results:
        line = f"| {LABELS[r['operation']]} | {r['rows'] or 0:,} |"
        if floors:
            equal = r.get("digest_equal")
            line += (
                f" {fmt(r.get('ratio_ours_to_floor'), '.2f')} |"
                f" {'equal' if equal else '**DIFFERENT**'} |"
            )
        if jobs:
            line += (
                f" {fmt(r.get('ratio_job_to_inline') or r.get('job_note'), '.2f')} |"
            )
        if floors:
            line += f" {fmt(r.get('ratio_naive_to_ours'))} |"
        if repeats:
            runs = ", ".join(f"{t:.2f}" for t in r.get("ours_runs_s") or [])
            line += f" {runs} | {fmt(r.get('ours_min_s'), '.2f')} |"
        lines.append(line)
    lines += ["", "Absolute times (s) and memory (MiB) on this machine:", ""]
    head = "| Operation | Ours inline | Rows/s |"
    rule = "|---|---:|---:|"
    if floors:
        head += " Fair floor |"
        rule += "---:|"
    if jobs:
        head += " Job: click + run = total |"
        rule += "---:|"
    if floors:
        head += " Naive (ms/row) | Naive, extrapolated |"
        rule += "---:|---:|"
    head += (
        " CPU (s: PG + Odoo) | Odoo peak RSS | PG backend peak RSS"
        " | PG temp files (MiB) | WAL (MiB) |"
    )
    rule += "---:|---:|---:|---:|---:|"
    lines += [head, rule]
    for r in results:
        line = (
            f"| {LABELS[r['operation']]} | {fmt(r['ours_s'])} "
            f"| {r['ours_rows_per_s'] or 0:,} |"
        )
        if floors:
            line += f" {fmt(r.get('sql_floor_s'))} |"
        if jobs:
            if "job_run_s" in r:
                line += (
                    f" {fmt(r['job_click_s'])} + {fmt(r['job_run_s'])} = "
                    f"{fmt(r['job_total_s'])} |"
                )
            else:
                line += f" {fmt(r.get('job_total_s'))} (inline) |"
        if floors:
            line += (
                f" {fmt(r.get('naive_ms_per_row'), '')} "
                f"| {fmt(r.get('naive_extrapolated_s'), ',')} |"
            )
        line += (
            f" {fmt(r.get('ours_cpu_s'), '.2f')}"
            f" ({fmt(r.get('ours_pg_cpu_s'), '.2f')} + "
            f"{fmt(r.get('ours_odoo_cpu_s'), '.2f')}) |"
            f" {fmt(r['ours_peak_rss_mib'], '.0f')} "
            f"| {fmt(r.get('ours_pg_backend_peak_rss_mib'), '.0f')} "
            f"| {r.get('ours_pg_temp_files') or 0} files, "
            f"{fmt(r.get('ours_pg_temp_mib'))} "
            f"| {fmt(r.get('ours_pg_wal_mib'))} |"
        )
        lines.append(line)
    if floors:
        lines += ["", "What each fair floor writes:", ""]
        for r in results:
            if "floor_includes" in r:
                lines.append(f"- {LABELS[r['operation']]}: {r['floor_includes']}.")
    return "\n".join(lines) + "\n"


def run_others(size):
    """The API and SR sync benchmarks, each in its own fresh database, at the
    same size (the SR with nine individuals per household: 900,000 + 100,000
    at 1,000,000, the shape of issue #11)."""
    api = [sys.executable, str(HERE / "api_bench.py"), "--size", str(size)]
    run(api)  # 8 clients, then the status intake
    run([*api, "--skip-setup", "--concurrency", "1", "--no-status", "--drop"])
    run(
        [
            sys.executable,
            str(HERE / "sr_sync_bench.py"),
            "--size",
            str(size),
            "--members",
            "9",
            "--drop",
        ]
    )


def check(value, target, lower_is_better=True):
    if value is None:
        return "n/a"
    ok = value <= target if lower_is_better else value >= target
    return "met" if ok else "**missed**"


def api_latency_lines(scenarios, clients):
    """Each API scenario's latency against ``/web/health`` measured in the same
    run; the OCA fastapi stack alone (a 401 before any query) has no budget of
    its own: it is the share of the lookups' budget the stack takes."""
    health = scenarios["health"]
    lines = []
    for name in ("fastapi_floor", "enrollments", "entitlements"):
        if name not in scenarios:
            continue
        sc = scenarios[name]
        for stat, budget in (("median_ms", 1.5), ("p99_ms", 2)):
            if stat == "p99_ms" and clients == "1 client":
                continue
            ratio = sc[stat] / health[stat]
            verdict = check(ratio, budget) if name != "fastapi_floor" else "(stack)"
            lines.append(
                f"| API {name}, {clients}: {stat[:-3]} vs /web/health "
                f"| {sc[stat]} ms vs {health[stat]} ms = {ratio:.1f}× "
                f"| ≤ {budget}× | {verdict} |"
            )
        lines.append(f"| API {name}, {clients}: requests/s | {sc['req_per_s']} | | |")
    return lines


def summary(size):
    """One Markdown page: every figure next to the target of the scale issue."""
    out = HERE / "results"
    core = json.loads((out / f"core-{size}.json").read_text())
    lines = [markdown(core), "", "Targets:", ""]
    lines += ["| Figure | Measured | Target | |", "|---|---:|---:|---|"]
    for r in core["operations"]:
        if r["operation"] in ("enroll", "generate", "approve", "disburse"):
            lines.append(
                f"| {LABELS[r['operation']]}: wall | {r['ours_s']:.1f} s | ≤ 60 s "
                f"| {check(r['ours_s'], 60)} |"
            )
            lines.append(
                f"| {LABELS[r['operation']]}: peak RSS "
                f"| {r['ours_peak_rss_mib']:.0f} MiB | ≤ 1024 MiB "
                f"| {check(r['ours_peak_rss_mib'], 1024)} |"
            )
        if r["operation"] in ("disburse", "status"):
            limit = 1.3 if r["operation"] == "disburse" else 2
            lines.append(
                f"| {LABELS[r['operation']]}: ours / fair floor "
                f"| {r.get('ratio_ours_to_floor')} | ≤ {limit} | "
                f"{check(r.get('ratio_ours_to_floor'), limit)} |"
            )
        if r["operation"] == "verify":
            lines.append(
                f"| {LABELS['verify']} | {r['ours_s']:.1f} s | ≤ 15 s "
                f"| {check(r['ours_s'], 15)} |"
            )
    for suffix, clients in (("-c1", "1 client"), ("", "8 clients")):
        api_file = out / f"api-{size}{suffix}.json"
        if api_file.exists():
            api = json.loads(api_file.read_text())
            lines += api_latency_lines(api["scenarios"], clients)
    api_file = out / f"api-{size}.json"
    if api_file.exists():
        api = json.loads(api_file.read_text())
        queries = api.get("queries_per_request") or {}
        for name, budget in (("enrollments", 6), ("entitlements", 8)):
            lines.append(
                f"| API {name}: SQL queries per request | {queries.get(name)} "
                f"| ≤ {budget} | {check(queries.get(name), budget)} |"
            )
        scans = api.get("lookup_seq_scans") or {}
        lines.append(
            f"| Sequential scans of large tables during lookups "
            f"| {sum(scans.values())} | 0 | {check(sum(scans.values()), 0)} |"
        )
        status = api.get("status_updates") or []
        for run_ in status if isinstance(status, list) else [status]:
            pg = run_.get("postgresql")
            io = (
                f" (WAL {pg['wal_mib']} MiB, checkpoints: {pg['checkpoints']})"
                if pg
                else ""
            )
            lines.append(
                f"| `POST /disbursements/status` ({run_['concurrency']} clients) "
                f"| {run_['items_per_s']:,} items/s{io} "
                f"| ≥ 10,000 | {check(run_['items_per_s'], 10000, False)} |"
            )
    sync_file = out / f"sr-sync-{size}.json"
    if sync_file.exists():
        sync = json.loads(sync_file.read_text())
        full = sync["full"]["records_per_s"]
        lines.append(
            f"| SR sync, full pull of {size:,} | {full:,} records/s | ≥ 5,000 "
            f"| {check(full, 5000, False)} |"
        )
        incr = sync["incremental"].get("seconds")
        lines.append(
            f"| SR sync, incremental pull of 1% | {incr} s | ≤ 10 s "
            f"| {check(incr, 10)} |"
        )
    if api_file.exists() and api.get("postgresql_settings"):
        settings = ", ".join(
            f"`{name}` {value}" for name, value in api["postgresql_settings"].items()
        )
        lines += ["", f"PostgreSQL settings of the API run: {settings}."]
    text = "\n".join(lines) + "\n"
    (out / f"summary-{size}.md").write_text(text)
    return text


def machine():
    cores = len(__import__("os").sched_getaffinity(0))
    with open("/proc/meminfo") as meminfo:
        mem = int(meminfo.readline().split()[1]) / 2**20
    with open("/proc/loadavg") as loadavg:
        load = loadavg.read().split()[0]
    return f"{cores} cores, {mem:.0f} GiB, load average {load} at the start"


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Exit status 1 when a floor's digest differs from ours.",
    )
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=10_000, help="naive ORM rows")
    parser.add_argument(
        "--db",
        default="bench_core",
        help="database (the job path uses a twin <db>_job)",
    )
    parser.add_argument(
        "--skip-setup",
        action="store_true",
        help="reuse the database(s) as they are (no install, no data)",
    )
    parser.add_argument("--ops", default=",".join(OPERATIONS))
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run ours N times (N-1 rolled back) and report the least too, "
        "for a before/after on a noisy machine",
    )
    parser.add_argument(
        "--no-job", action="store_true", help="skip the queue-job click path"
    )
    parser.add_argument(
        "--async-threshold",
        type=int,
        help="rows above which the job path's button enqueues (default: the "
        "addon's shipped default)",
    )
    parser.add_argument(
        "--ours-only",
        action="store_true",
        help="only our buttons, inline (no floor, naive or job path)",
    )
    parser.add_argument(
        "--repo",
        default=str(REPO),
        help="checkout whose addons are benchmarked (default: this one)",
    )
    parser.add_argument(
        "--label", default="", help="suffix of the result files: core-<size>-<label>"
    )
    parser.add_argument(
        "--drop", action="store_true", help="drop the database(s) at the end"
    )
    parser.add_argument(
        "--all", action="store_true", help="also the API and SR sync benchmarks"
    )
    parser.add_argument(
        "--upstream",
        metavar="PATH[,PATH]",
        help="upstream OpenG2P 17.0 addons (openg2p-registry,openg2p-program "
        "checkouts): also time their steps on the same data (upstream.py) and "
        "print the ratios ours / upstream",
    )
    parser.add_argument(
        "--upstream-budget",
        type=float,
        default=0,
        help="seconds after which an upstream step stops and is extrapolated",
    )
    args = parser.parse_args()
    job_db = None if (args.no_job or args.ours_only) else f"{args.db}_job"

    out_dir = HERE / "results"
    name = f"core-{args.size}" + (f"-{args.label}" if args.label else "")
    out_file = out_dir / f"{name}.json"
    started = time.perf_counter()
    report = {
        "size": args.size,
        "sample": args.sample,
        "machine": machine(),
        "repo": str(args.repo),
        "operations": [],
    }
    if args.skip_setup and out_file.exists():
        # resume an interrupted run: keep the operations measured already
        report = json.loads(out_file.read_text())
    if not args.skip_setup:
        create_database(args.db, "g2p_beneficiary_registry", args.repo)
        start = time.perf_counter()
        with psycopg2.connect(dbname=args.db) as conn, conn.cursor() as cr:
            generate(cr, args.size)
        conn.close()
        report["datagen_s"] = round(time.perf_counter() - start, 1)
        print(f"generated {args.size:,} beneficiaries in {report['datagen_s']} s")
        if job_db:
            run(["dropdb", "--if-exists", job_db])
            run(["createdb", "-T", args.db, job_db])
    failed = []
    for op in args.ops.split(","):
        result = measure(args.db, job_db, op, args)
        print(json.dumps(result), flush=True)
        if result.get("digest_equal") is False:
            failed.append(op)
        report["operations"] = [
            r for r in report["operations"] if r["operation"] != op
        ] + [result]
        report["run_s"] = round(time.perf_counter() - started, 1)
        out_dir.mkdir(exist_ok=True)
        out_file.write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    (out_dir / f"{name}.md").write_text(table)
    print(table)
    if args.drop:
        for db in (args.db, job_db):
            if db:
                run(["dropdb", "--if-exists", db])
    if args.upstream:
        run(
            [
                sys.executable,
                str(HERE / "upstream.py"),
                "--size",
                str(args.size),
                "--upstream",
                args.upstream,
                "--ours",
                str(out_file),
                "--budget",
                str(args.upstream_budget),
                "--label",
                args.label,
                "--drop",
            ]
        )
    if args.all:
        run_others(args.size)
        print(summary(args.size))
    if failed:
        print(f"FAILED: the floor's rows differ from ours for {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
