# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Benchmark the Social Registry sync (g2p_br_sr_sync) against the DCI SR test server.

1. Starts the DCI SR test server (``g2p_br_sr_sync/tests/dci_sr_server.py``,
   the sync addon's test fixture) in its own process with ``--size``
   registrants (``--members`` individuals per household group, 4 by default;
   9 gives the 900,000 individuals in 100,000 households of issue #11 at
   1,000,000).
2. Creates (or reuses) a database with g2p_br_sr_sync installed.
3. Full pull of the individuals and of the groups, at the same time (the two
   runs started together), their jobs (pages and progress jobs) performed by
   ``--workers`` threads (default 2, like the default ``root:2`` channel) with
   the sync's test job runner (``g2p_br_sr_sync/tests/job_runner.py``): each
   job loaded, performed and committed in its own transaction as the queue_job
   runner does it, in its order (priority, then creation); concurrency errors
   are retried like queue_job does, and counted.
4. Changes ``--changes`` of the registrants in the SR (updates, deactivations,
   new ones) and runs an incremental pull of both connections.

Reports records/s end to end, the SR test server's CPU share, the peak RSS of
this process (the Odoo side: both job workers are threads of it), the SR test
server's peak RSS, the load averages around each pull (the machine may be
shared) and the concurrency retries.

Prints the figures and writes them as JSON to
``benchmarks/results/sr-sync-<size>.json``.

Usage::

    python3 benchmarks/sr_sync_bench.py --db sync_bench --size 100000 [--drop]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import odoo_db
import requests

REPO = Path(__file__).resolve().parent.parent
# run as a script in its own process (standard library only)
SERVER = REPO / "g2p_br_sr_sync" / "tests" / "dci_sr_server.py"
RESULTS = REPO / "benchmarks" / "results"
ADMIN_UID = 2


def start_server(size, members):
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), str(size), "none", str(members)],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()  # "DCI SR test server on http://127.0.0.1:PORT/..."
    if "http://" not in line:
        proc.kill()
        raise RuntimeError("the DCI SR test server did not start")
    url = line.split(" on ", 1)[1].strip()
    return proc, url.split("/registry", 1)[0]


def ensure_database(db, port):
    if not odoo_db.database_exists(db):
        print(f"creating {db} with g2p_br_sr_sync installed ...", flush=True)
        odoo_db.create_database(db, "g2p_br_sr_sync", REPO, port)


def make_connection(env, name, kind, mapping, base_url, page_size=None, **values):
    from odoo.addons.g2p_br_sr_sync.tests.dci_sr_server import mapping_commands

    uin = env["g2p.br.identifier.type"].search([("code", "=", "BENCH-UIN")])
    if not uin:
        uin = env["g2p.br.identifier.type"].create({"code": "BENCH-UIN", "name": "UIN"})
    return env["g2p.br.sr.connection"].create(
        {
            "name": name,
            "base_url": base_url,
            "beneficiary_kind": kind,
            **({"page_size": page_size} if page_size else {}),
            "mapping_ids": mapping_commands(mapping, uin.id),
            **values,
        }
    )


def run_jobs(registry, api, run_ids, workers):
    """Perform the runs' jobs (pages and progress jobs) like the queue_job
    runner, with ``workers`` threads, until none is pending or running."""
    from odoo.addons.g2p_br_sr_sync.tests.job_runner import run_jobs as perform

    done = perform(registry, workers, uid=ADMIN_UID)
    if done["errors"]:
        raise RuntimeError(f"jobs failed: {done['errors']}")
    retried = {}
    for line in done["retried"]:  # "method args: SQLSTATE message"
        method, _sep, rest = line.partition(" ")
        what = f"{method}: {rest.rsplit(': ', 1)[-1].split(' ', 1)[0]}"
        retried[what] = retried.get(what, 0) + 1
    stats = {
        "jobs": done["done"],
        "concurrency_retries": done["concurrency_retries"],
        "postponed": done["postponed"],
        "retried": retried,
    }
    results = []
    with registry.cursor() as cr:
        env = api.Environment(cr, ADMIN_UID, {})
        for run in env["g2p.br.sr.pull.run"].browse(run_ids):
            results.append(
                {
                    "state": run.state,
                    "pages": run.pages_done,
                    "fetched": run.fetched,
                    "distinct": run.distinct_fetched,
                    "created": run.created,
                    "updated": run.updated,
                    "unchanged": run.unchanged,
                    "archived": run.archived,
                    "rejected": run.rejected,
                    "links_set": run.links_set,
                    "message": run.message or "",
                }
            )
    return results, stats


def cpu_seconds(pid):
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid):
    """Peak resident set size of a process (Linux /proc VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return None


def backend_cpu_seconds(registry):
    """CPU seconds so far of the PostgreSQL backends connected to the
    benchmark's database, by process id."""
    with registry.cursor() as cr:
        cr.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        )
        pids = [pid for (pid,) in cr.fetchall()]
    seconds = {}
    for pid in pids:
        try:
            seconds[pid] = cpu_seconds(pid)
        except OSError:  # ended meanwhile
            pass
    return seconds


def own_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pull(registry, api, connection_ids, mode, workers, server_pid):
    load_before = os.getloadavg()
    start = time.perf_counter()
    cpu_start = cpu_seconds(server_pid)
    odoo_cpu_start = own_cpu_seconds()
    pg_cpu_start = backend_cpu_seconds(registry)
    with registry.cursor() as cr:
        env = api.Environment(cr, ADMIN_UID, {"tracking_disable": True})
        run_ids = [
            env["g2p.br.sr.connection"].browse(cid)._start_run(mode).id
            for cid in connection_ids
        ]
        cr.commit()
    runs, stats = run_jobs(registry, api, run_ids, workers)
    seconds = time.perf_counter() - start
    pg_cpu = sum(
        cpu - pg_cpu_start.get(pid, 0.0)
        for pid, cpu in backend_cpu_seconds(registry).items()
    )
    distinct = sum(r["distinct"] for r in runs)
    return {
        "runs": runs,
        **stats,
        "records": distinct,
        "seconds": round(seconds, 2),
        "records_per_s": round(distinct / seconds),
        # CPU seconds of this process (the Odoo side) and of the database's
        # PostgreSQL backends (those still connected at the end)
        "odoo_cpu_seconds": round(own_cpu_seconds() - odoo_cpu_start, 1),
        "postgres_cpu_seconds": round(pg_cpu, 1),
        "sr_server_cpu_share": round(
            (cpu_seconds(server_pid) - cpu_start) / seconds, 2
        ),
        "peak_rss_mib": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ),
        "sr_server_peak_rss_mib": peak_rss_mib(server_pid),
        # the machine is shared: 1, 5 and 15 min load averages around the pull
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sync_bench")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--changes", type=float, default=0.01)
    parser.add_argument(
        "--members", type=int, default=4, help="individuals per household"
    )
    parser.add_argument(
        "--page-size", type=int, help="default: the connection's default page size"
    )
    parser.add_argument("--http-port", type=int, default=18203)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--incrementals",
        type=int,
        default=1,
        help="incremental pulls after the full one, each of --changes (default 1)",
    )
    parser.add_argument(
        "--out", help="result file (default benchmarks/results/sr-sync-<size>.json)"
    )
    parser.add_argument("--drop", action="store_true", help="drop the database after")
    args = parser.parse_args()

    ensure_database(args.db, args.http_port)
    import odoo
    from odoo import api

    odoo.tools.config.parse_config(
        ["-d", args.db, f"--addons-path={REPO}", "--log-level=warn"]
    )
    registry = odoo.registry(args.db)
    from odoo.addons.g2p_br_sr_sync.tests.dci_sr_server import (
        GROUP_MAPPING,
        INDIVIDUAL_MAPPING,
    )

    proc, base_url = start_server(args.size, args.members)
    print(f"DCI SR test server: {base_url}, {args.size} registrants", flush=True)
    result = {
        "size": args.size,
        "members_per_household": args.members,
        "page_size": args.page_size,
        "workers": args.workers,
        "date": str(date.today()),
    }
    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, ADMIN_UID, {"tracking_disable": True})
            # start from an empty registry: a benchmark must not count old rows
            cr.execute("DELETE FROM g2p_br_sr_pull_run")
            # and the jobs of an interrupted benchmark (a "started" job of a
            # killed process would keep the job runner waiting)
            cr.execute(
                "DELETE FROM queue_job WHERE identity_key LIKE 'g2p_br_sr_sync:run:%'"
            )
            cr.execute(
                "DELETE FROM g2p_br_beneficiary"
                " WHERE sr_id LIKE 'IND-%' OR sr_id LIKE 'GRP-%'"
            )
            env["g2p.br.sr.connection"].search([("name", "like", "Bench ")]).unlink()
            individuals = make_connection(
                env, "Bench individuals", "individual", INDIVIDUAL_MAPPING,
                base_url, args.page_size,
            )  # fmt: skip
            groups = make_connection(
                env, "Bench groups", "group", GROUP_MAPPING, base_url, args.page_size,
            )  # fmt: skip
            ids = individuals.id, groups.id
            result["page_size"] = individuals.page_size
            cr.commit()

        full = pull(registry, api, ids, "full", args.workers, proc.pid)
        result["full"] = full
        print(f"full pull: {full['records']} records in {full['seconds']:.1f}s "
              f"({full['records_per_s']} records/s), CPU Odoo "
              f"{full['odoo_cpu_seconds']}s PostgreSQL "
              f"{full['postgres_cpu_seconds']}s, states "
              f"{[r['state'] for r in full['runs']]}, SR server CPU "
              f"{full['sr_server_cpu_share']:.0%}, peak RSS "
              f"{full['peak_rss_mib']} MiB", flush=True)  # fmt: skip

        changes = max(int(args.size * args.changes), 1)
        order = {
            "update": changes * 7 // 10,
            "deactivate": changes * 2 // 10,
            "add": changes - changes * 7 // 10 - changes * 2 // 10,
        }
        for number in range(args.incrementals):
            response = requests.post(f"{base_url}/_test/mutate", json=order, timeout=60)
            response.raise_for_status()
            inc = pull(registry, api, ids, "incremental", args.workers, proc.pid)
            # the first one under "incremental", the next ones (if asked) after it
            key = "incremental" if not number else f"incremental_{number + 1}"
            result[key] = {"changes": order, **inc}
            print(f"incremental pull of {changes} changes ({args.changes:.0%}): "
                  f"{sum(r['fetched'] for r in inc['runs'])} records fetched in "
                  f"{inc['seconds']:.2f}s, CPU Odoo {inc['odoo_cpu_seconds']}s "
                  f"PostgreSQL {inc['postgres_cpu_seconds']}s", flush=True)  # fmt: skip
        with registry.cursor() as cr:
            cr.execute("SELECT count(*) FROM g2p_br_beneficiary")
            result["beneficiaries_in_br"] = cr.fetchone()[0]
            cr.execute(
                "SELECT count(*) FROM g2p_br_beneficiary WHERE kind = 'individual'"
                " AND sr_id LIKE 'IND-%' AND group_id IS NULL"
            )
            result["individuals_without_household"] = cr.fetchone()[0]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = Path(args.out) if args.out else RESULTS / f"sr-sync-{args.size}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    if args.drop:
        odoo.sql_db.close_all()
        subprocess.run(["dropdb", "--if-exists", args.db], check=False)


if __name__ == "__main__":
    main()
