"""Benchmark the Social Registry sync (g2p_br_sr_sync) against the DCI SR test server.

1. Starts ``tests/dci_sr_server.py`` in its own process with ``--size``
   registrants (4 individuals per household group).
2. Creates (or reuses) a database with g2p_br_sr_sync installed.
3. Full pull of the individuals and of the groups, page after page, each page
   a stored queue job performed and committed in its own transaction, as the
   queue_job runner does it (one worker: pages are sequential).
4. Changes ``--changes`` of the registrants in the SR (updates, deactivations,
   new ones) and runs an incremental pull of both connections.

Prints the figures and writes them as JSON to
``benchmarks/results/sr-sync-<size>.json``.

Usage::

    python3 benchmarks/sr_sync_bench.py --db sync_bench --size 100000 [--drop]
"""

import argparse
import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
SERVER = REPO / "tests" / "dci_sr_server.py"
RESULTS = REPO / "benchmarks" / "results"
ADMIN_UID = 2

sys.path.insert(0, str(SERVER.parent))
from dci_sr_server import GROUP_MAPPING, INDIVIDUAL_MAPPING


def start_server(size):
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), str(size), "none"],
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
    exists = (
        subprocess.run(
            ["psql", "-Atqc", "SELECT 1", db], capture_output=True, check=False
        ).returncode
        == 0
    )
    if exists:
        return
    print(f"creating {db} with g2p_br_sr_sync installed ...", flush=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "odoo",
            "-d",
            db,
            f"--addons-path={REPO}",
            "-i",
            "g2p_br_sr_sync",
            "--without-demo=all",
            "--stop-after-init",
            f"--http-port={port}",
            "--log-level=warn",
        ],
        check=True,
    )


def make_connection(env, name, kind, mapping, base_url, page_size, **values):
    uin = env["g2p.br.identifier.type"].search([("code", "=", "BENCH-UIN")])
    if not uin:
        uin = env["g2p.br.identifier.type"].create({"code": "BENCH-UIN", "name": "UIN"})
    return env["g2p.br.sr.connection"].create(
        {
            "name": name,
            "base_url": base_url,
            "beneficiary_kind": kind,
            "page_size": page_size,
            "mapping_ids": [
                (
                    0,
                    0,
                    {
                        "sequence": seq,
                        "source_path": path,
                        "target_field": target,
                        "transform": transform,
                        "value_map": value_map or False,
                        "identifier_type_id": uin.id
                        if target == "identifier"
                        else False,
                    },
                )
                for seq, (path, target, transform, value_map) in enumerate(mapping)
            ],
            **values,
        }
    )


def run_jobs(registry, api, run_id):
    """Perform the run's page jobs like the queue_job runner: each job loaded,
    performed and committed in its own transaction, until none is pending."""
    from odoo.addons.queue_job.job import Job

    jobs = 0
    while True:
        with registry.cursor() as cr:
            env = api.Environment(cr, ADMIN_UID, {})
            cr.execute(
                """SELECT uuid FROM queue_job
                    WHERE model_name = 'g2p.br.sr.pull.page' AND state = 'pending'
                    ORDER BY id LIMIT 1"""
            )
            row = cr.fetchone()
            if not row:
                break
            job = Job.load(env, row[0])
            job.set_started()
            job.store()
            job.perform()
            job.set_done()
            job.store()
            cr.commit()
            jobs += 1
    with registry.cursor() as cr:
        env = api.Environment(cr, ADMIN_UID, {})
        run = env["g2p.br.sr.pull.run"].browse(run_id)
        return {
            "jobs": jobs,
            "state": run.state,
            "pages": run.pages_done,
            "fetched": run.fetched,
            "created": run.created,
            "updated": run.updated,
            "unchanged": run.unchanged,
            "archived": run.archived,
            "rejected": run.rejected,
        }


def pull(registry, api, connection_id, mode):
    start = time.perf_counter()
    with registry.cursor() as cr:
        env = api.Environment(cr, ADMIN_UID, {"tracking_disable": True})
        run_id = env["g2p.br.sr.connection"].browse(connection_id)._start_run(mode).id
        cr.commit()
    result = run_jobs(registry, api, run_id)
    result["seconds"] = round(time.perf_counter() - start, 2)
    result["records_per_s"] = round(result["fetched"] / result["seconds"])
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sync_bench")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--changes", type=float, default=0.01)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--http-port", type=int, default=18203)
    parser.add_argument("--drop", action="store_true", help="drop the database after")
    args = parser.parse_args()

    ensure_database(args.db, args.http_port)
    import odoo
    from odoo import api

    odoo.tools.config.parse_config(
        ["-d", args.db, f"--addons-path={REPO}", "--log-level=warn"]
    )
    registry = odoo.registry(args.db)
    proc, base_url = start_server(args.size)
    print(f"DCI SR test server: {base_url}, {args.size} registrants", flush=True)
    result = {"size": args.size, "page_size": args.page_size, "date": str(date.today())}
    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, ADMIN_UID, {"tracking_disable": True})
            # start from an empty registry: a benchmark must not count old rows
            cr.execute("DELETE FROM g2p_br_sr_pull_run")
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
                reg_type="ns:org:RegistryType:Group",
            )  # fmt: skip
            ids = individuals.id, groups.id
            cr.commit()

        full_ind = pull(registry, api, ids[0], "full")
        full_grp = pull(registry, api, ids[1], "full")
        total = full_ind["fetched"] + full_grp["fetched"]
        seconds = full_ind["seconds"] + full_grp["seconds"]
        result["full"] = {
            "individuals": full_ind,
            "groups": full_grp,
            "records": total,
            "seconds": round(seconds, 2),
            "records_per_s": round(total / seconds),
        }
        print(f"full pull: {total} records in {seconds:.1f}s "
              f"({total / seconds:.0f} records/s)", flush=True)  # fmt: skip

        changes = max(int(args.size * args.changes), 1)
        order = {
            "update": changes * 7 // 10,
            "deactivate": changes * 2 // 10,
            "add": changes - changes * 7 // 10 - changes * 2 // 10,
        }
        response = requests.post(f"{base_url}/_test/mutate", json=order, timeout=60)
        response.raise_for_status()
        inc_ind = pull(registry, api, ids[0], "incremental")
        inc_grp = pull(registry, api, ids[1], "incremental")
        fetched = inc_ind["fetched"] + inc_grp["fetched"]
        seconds = inc_ind["seconds"] + inc_grp["seconds"]
        result["incremental"] = {
            "changes": order,
            "individuals": inc_ind,
            "groups": inc_grp,
            "records": fetched,
            "seconds": round(seconds, 2),
        }
        print(f"incremental pull of {changes} changes ({args.changes:.0%}): "
              f"{fetched} records fetched in {seconds:.2f}s", flush=True)  # fmt: skip
        with registry.cursor() as cr:
            cr.execute("SELECT count(*) FROM g2p_br_beneficiary")
            result["beneficiaries_in_br"] = cr.fetchone()[0]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"sr-sync-{args.size}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    if args.drop:
        odoo.sql_db.close_all()
        subprocess.run(["dropdb", "--if-exists", args.db], check=False)


if __name__ == "__main__":
    main()
