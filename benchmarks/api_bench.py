# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Benchmark the BR REST API (g2p_br_api): enrollment and entitlement lookups
by identifier against a running Odoo server, compared with ``/web/health``.

Creates a database with ``g2p_br_api`` (no demo data), fills it with
``--size`` beneficiaries (:func:`populate`: swap it for another generator),
starts ``python3 -m odoo`` with ``--workers`` (default: the ``workers`` of
``tools/odoo.conf``, else Odoo's own default), then a second process sends
concurrent requests for ``--duration`` seconds per scenario:

- ``health``: ``GET /web/health`` (the floor: Odoo's routing, no database);
- ``enrollments``: ``GET /api/br/v1/beneficiaries/NATIONAL_ID/<id>/enrollments``;
- ``entitlements``: ``GET /api/br/v1/beneficiaries/NATIONAL_ID/<id>/entitlements``;
- ``fastapi_floor``: ``GET /api/br/v1/programs`` with a
  malformed key, answered 401 before any query: the cost of Odoo's dispatch
  plus the OCA ``fastapi`` stack (ASGI bridge, app, middleware) alone

for random enrolled beneficiaries, and reports median and p99 latency and
requests/s to ``benchmarks/results/api-<size>.json`` (``api-<size>-c<n>.json``
for another ``--concurrency``). It also reports the SQL queries each scenario
makes per request (read from Odoo's own request log) and, unless
``--no-status``, the status intake: 100,000 reports of pending disbursements
as paid over ``POST /api/br/v1/disbursements/status`` in batches of 1,000,
from 2 and then from 4 concurrent clients (items/s), with the WAL, full-page
images and checkpoints PostgreSQL wrote meanwhile (in the whole cluster:
autovacuum and other databases count too). The report records
PostgreSQL's settings (:data:`PG_SETTINGS`): the figures hold for them.

The filled database is vacuumed and analysed before anything is measured
(:func:`settle`, as ``pgbench -i`` does), then checkpointed (also with
``--skip-setup``), so that the figures are those of a registry in service, not
of one that autovacuum is still processing or that is still writing its
setup to disk. Every worker serves a few requests of each route before it is
measured (FastAPI builds a router's routes and schemas on its first request,
about a second of CPU); the status route's warm-up reports unknown
references, which change nothing.

Usage::

    python3 benchmarks/api_bench.py --size 20000
    python3 benchmarks/api_bench.py --size 1000000 --skip-setup  # reuse the db

With ``--skip-setup`` the status intake reports the next pending
disbursements (each run pays 200,000; the setup makes 1,400,000 at
1,000,000), whose rows and indexes the runs before it have written to
(dead row versions, index entries), which a fresh setup's have not.
"""

import argparse
import configparser
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

import odoo_db
from odoo_db import odoo_cmd, run

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
ID_TYPE = "NATIONAL_ID"
DEFAULT_CONCURRENCY = 8
# POST /disbursements/status: this many updates, in batches of the API's maximum,
# from 2 then 4 concurrent clients (a payment provider's parallel uploads), each
# on references of its own
STATUS_UPDATES = 100_000
STATUS_BATCH = 1000
STATUS_CONCURRENCIES = (2, 4)
# tables that must never be scanned sequentially by a lookup
LARGE_TABLES = (
    "g2p_br_beneficiary",
    "g2p_br_beneficiary_identifier",
    "g2p_br_program_membership",
    "g2p_br_entitlement",
    "g2p_br_disbursement",
)


def create_database(db, addons_path):
    odoo_db.create_database(db, "g2p_br_api", addons_path, port=18398)


# ----------------------------------------------------------------------
# Dataset: the part to swap for the project's generator at scale
# ----------------------------------------------------------------------
POPULATE_SCRIPT = """
import json, random, sys
sys.path.insert(0, {here!r})
from odoo import Command
try:
    from datagen import generate   # the project's SQL generator (beneficiaries)
except ImportError:
    generate = None
size = {size}
if generate:
    generate(env.cr, size)
else:  # minimal fallback: individuals with one national id each
    env.cr.execute(
        "INSERT INTO g2p_br_identifier_type (code, name, active) "
        "VALUES (%s, '{{\\"en_US\\": \\"National ID\\"}}', true)", ({id_type!r},))
    env.cr.execute(
        "INSERT INTO g2p_br_beneficiary (sr_id, kind, active, region_code, company_id) "
        "SELECT 'I' || i, 'individual', true, 'R01', 1 "
        "FROM generate_series(1, %s) i", (size,))
    env.cr.execute(
        "INSERT INTO g2p_br_beneficiary_identifier (beneficiary_id, type_id, value) "
        "SELECT b.id, t.id, 'NID' || lpad(b.id::text, 10, '0') "
        "FROM g2p_br_beneficiary b, g2p_br_identifier_type t WHERE t.code = %s",
        ({id_type!r},))
def checkpoint(*tables):
    # commit, then refresh the planner's statistics: the set-based steps
    # below join tables the previous steps just filled
    env.cr.commit()
    for table in tables:
        env.cr.execute("ANALYZE " + table)
    env.cr.commit()
env.invalidate_all()
checkpoint("g2p_br_beneficiary", "g2p_br_beneficiary_identifier")
env = env(context=dict(env.context, queue_job__no_delay=True, tracking_disable=True))
program = env["g2p.br.program"].create({{
    "code": "BENCH", "name": "Benchmark program", "target_type": "individual",
    "benefit_kind": "cash", "base_amount": 25.0, "cycle_frequency": "monthly",
    "eligibility_domain": "[]", "rule_matches_all_confirmed": True,
    # one (system) user generates and approves the benchmark's cycles
    "four_eyes": False,
}})
program.action_activate()
program.action_enroll_eligible()
checkpoint("g2p_br_program_membership")
for month in (10, 11):
    cycle = env["g2p.br.cycle"].create({{
        "program_id": program.id, "name": f"BENCH 2026-{{month}}",
        "start_date": f"2026-{{month}}-01", "end_date": f"2026-{{month}}-28",
    }})
    cycle.action_generate_entitlements()
    checkpoint("g2p_br_entitlement")
    cycle.action_to_approve()
    cycle.action_approve_entitlements()
    checkpoint("g2p_br_entitlement")
    cycle.action_create_disbursements()
    checkpoint("g2p_br_disbursement", "g2p_br_entitlement")
user = env["res.users"].with_context(no_reset_password=True).create({{
    "name": "Benchmark API client", "login": "bench_api_client",
    "groups_id": [Command.set([
        env.ref("base.group_user").id,
        env.ref("g2p_beneficiary_registry.group_br_viewer").id,
        env.ref("g2p_br_api.group_br_api_disbursement_writer").id,
    ])],
}})
program.user_ids = [Command.link(user.id)]
client = env["g2p.br.api.client"].create({{"name": "Benchmark", "user_id": user.id}})
key = client._set_new_key()
env.cr.execute(
    "SELECT i.value FROM g2p_br_beneficiary_identifier i "
    "JOIN g2p_br_identifier_type t ON t.id = i.type_id AND t.code = %s "
    "JOIN g2p_br_program_membership m ON m.beneficiary_id = i.beneficiary_id "
    "WHERE m.program_id = %s AND m.state = 'enrolled' ORDER BY random() LIMIT 5000",
    ({id_type!r}, program.id))
ids = [r[0] for r in env.cr.fetchall()]
env.cr.execute(
    "SELECT reference FROM g2p_br_disbursement WHERE status = 'pending' "
    "ORDER BY id LIMIT %s", ({status_updates},))
refs = [r[0] for r in env.cr.fetchall()]
env.cr.execute("SELECT count(*) FROM g2p_br_program_membership")
members = env.cr.fetchone()[0]
env.cr.execute("SELECT count(*) FROM g2p_br_entitlement")
entitlements = env.cr.fetchone()[0]
env.cr.commit()
print("BENCH-DATA " + json.dumps({{"key": key, "ids": ids, "members": members,
                                  "entitlements": entitlements, "refs": refs}}))
"""


def populate(db, size, addons_path):
    """Fill ``db`` with ``size`` beneficiaries (``benchmarks/datagen.py``), one
    program enrolling them all, two cycles of entitlements and disbursements
    (the core's set-based operations, run inline), and an API client assigned
    to the program. Return ``{"key", "ids", "members", "entitlements"}``."""
    script = POPULATE_SCRIPT.format(
        here=str(HERE),
        size=size,
        id_type=ID_TYPE,
        status_updates=STATUS_UPDATES * len(STATUS_CONCURRENCIES),
    )
    cmd = odoo_cmd(db, addons_path, "--no-http", command=("shell",))
    print("+", " ".join(cmd), flush=True)
    out = subprocess.run(cmd, check=False, input=script, capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if line.startswith("BENCH-DATA "):
            data = json.loads(line[len("BENCH-DATA ") :])
            (RESULTS / f"api-bench-{db}.tmp").write_text(json.dumps(data))
            return data
    raise RuntimeError(f"populate failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")


def fetchall(db, sql, params=()):
    """The rows of one query on ``db``, on a connection of its own that is
    closed after it."""
    import psycopg2

    with closing(psycopg2.connect(dbname=db)) as conn, conn.cursor() as cr:
        cr.execute(sql, params)
        return cr.fetchall()


def pending_references(db, count):
    """The references of the first ``count`` pending disbursements of ``db``
    (by id, as :data:`POPULATE_SCRIPT` takes them): a run with
    ``--skip-setup`` reports those the runs before it left pending."""
    rows = fetchall(
        db,
        "SELECT reference FROM g2p_br_disbursement WHERE status = 'pending'"
        " ORDER BY id LIMIT %s",
        (count,),
    )
    refs = [row[0] for row in rows]
    if len(refs) < count:
        print(f"only {len(refs)} pending disbursements left of {count}", flush=True)
    return refs


def settle(db):
    """``VACUUM (ANALYZE)`` the database after it is filled, as ``pgbench -i``
    does, then a checkpoint, and return its seconds. Without the vacuum the
    measurements compete with autovacuum, which processes the tables just
    filled (1.4 million rows each at 1,000,000) for minutes after the setup:
    a registry in service has had them vacuumed long before. Without the
    checkpoint they compete with the writing of the setup's gigabyte."""
    start = time.monotonic()
    odoo_db.vacuum(db)
    odoo_db.checkpoint(db)
    return round(time.monotonic() - start, 1)


# ----------------------------------------------------------------------
# Server and load
# ----------------------------------------------------------------------
def default_workers():
    conf = REPO / "tools" / "odoo.conf"
    if conf.exists():
        parser = configparser.ConfigParser()
        parser.read(conf)
        if parser.has_option("options", "workers"):
            return parser.getint("options", "workers")
    return 0  # Odoo's default: threaded server


def server_log(db):
    return RESULTS / f"api-bench-server-{db}.log.tmp"


# the end of Odoo's request log line: "GET /path HTTP/1.1" 200 - <queries> ...
REQUEST_LINE = re.compile(r'"GET (\S+) HTTP/1\.[01]" (\d{3}) - (\d+) [\d.]+ [\d.]+')


def query_counts(db, config, scenarios, requests=20):
    """The SQL queries of one request of each scenario (median of
    ``requests`` sequential warm ones, random beneficiaries), read from the
    server's own request log."""
    import random

    rng = random.Random(7)
    headers = {"Authorization": f"Bearer {config['key']}"}
    counts = {}
    for name, template in scenarios.items():
        if name == "fastapi_floor":
            continue
        log = server_log(db)
        offset = log.stat().st_size
        conn = http.client.HTTPConnection("127.0.0.1", config["port"], timeout=60)
        paths = set()
        for _i in range(requests):
            path = template.format(id=rng.choice(config["ids"]))
            paths.add(path)
            conn.request("GET", path, headers=headers)
            conn.getresponse().read()
        conn.close()
        time.sleep(0.5)  # the server writes its log line after the response
        with open(log) as handle:
            handle.seek(offset)
            found = [
                int(match.group(3))
                for match in map(REQUEST_LINE.search, handle)
                if match and match.group(1) in paths and match.group(2) == "200"
            ]
        counts[name] = statistics.median(found) if found else None
    return counts


def start_server(db, addons_path, port, workers):
    # werkzeug at INFO, as Odoo logs by default: each request's line ends
    # with its SQL query count (query_counts reads it)
    cmd = odoo_cmd(
        db, addons_path, f"--http-port={port}", f"--workers={workers}",
        "--max-cron-threads=0", f"--db-filter=^{db}$",
        "--log-handler=werkzeug:INFO",
    )  # fmt: skip
    # the prefork server spawns its websocket (gevent) process as
    # [python, sys.argv[0], "gevent", ...]: with "python -m odoo", sys.argv[0]
    # is odoo/__main__.py, which cannot run as a script: the process died and
    # was respawned over and over, eating the CPU the benchmark measures
    script = shutil.which("odoo", path=os.path.dirname(sys.executable))
    if workers and script:
        cmd = [sys.executable, script, *cmd[3:]]
    print("+", " ".join(cmd), flush=True)
    log = open(server_log(db), "w")  # noqa: SIM115
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/web/health")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise RuntimeError("the Odoo server did not start")


def load_worker(config):
    """Runs in the load process: ``config`` = port, path template, ids, key,
    concurrency, duration, warmup. Prints one JSON line of results."""
    import random

    rng = random.Random(42)
    latencies, statuses, lock = [], {}, threading.Lock()
    stop_at = time.monotonic() + config["warmup"] + config["duration"]
    measure_from = time.monotonic() + config["warmup"]
    headers = {"Authorization": f"Bearer {config['key']}"}

    def loop():
        conn = None
        while True:
            now = time.monotonic()
            if now >= stop_at:
                break
            path = config["path"].format(id=rng.choice(config["ids"]))
            start = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(
                        "127.0.0.1", config["port"], timeout=60
                    )
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                status = "io-error"
                conn = None
            elapsed = time.perf_counter() - start
            if now >= measure_from:
                with lock:
                    latencies.append(elapsed)
                    statuses[str(status)] = statuses.get(str(status), 0) + 1

    threads = [threading.Thread(target=loop) for _ in range(config["concurrency"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    count = len(latencies)
    result = {
        "requests": count,
        "statuses": statuses,
        "req_per_s": round(count / config["duration"], 1),
        "median_ms": round(statistics.median(latencies) * 1000, 2) if count else None,
        "p99_ms": round(latencies[min(count - 1, int(count * 0.99))] * 1000, 2)
        if count
        else None,
        "max_ms": round(latencies[-1] * 1000, 2) if count else None,
    }
    print(json.dumps(result), flush=True)


def status_worker(config):
    """Runs in the load process: POST the status updates of ``config['refs']``
    in batches, from ``concurrency`` connections. Prints one JSON line."""
    batches = [
        config["refs"][i : i + STATUS_BATCH]
        for i in range(0, len(config["refs"]), STATUS_BATCH)
    ]
    headers = {
        "Authorization": f"Bearer {config['key']}",
        "Content-Type": "application/json",
    }
    latencies, outcomes, lock = [], {}, threading.Lock()

    def loop():
        conn = http.client.HTTPConnection("127.0.0.1", config["port"], timeout=120)
        while True:
            with lock:
                if not batches:
                    break
                batch = batches.pop()
            # now: a status may be neither before the disbursement was created
            # nor in the future (the API refuses both)
            status_time = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: UP017
            body = json.dumps(
                {
                    "items": [
                        {"reference": ref, "status": "paid",
                         "status_time": status_time}
                        for ref in batch
                    ]
                }
            )  # fmt: skip
            start = time.perf_counter()
            conn.request("POST", "/api/br/v1/disbursements/status", body, headers)
            response = conn.getresponse()
            payload = response.read()
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                if response.status != 200:
                    outcomes[str(response.status)] = (
                        outcomes.get(str(response.status), 0) + 1
                    )
                    continue
                for key, count in json.loads(payload)["summary"].items():
                    outcomes[key] = outcomes.get(key, 0) + count

    started = time.perf_counter()
    threads = [threading.Thread(target=loop) for _ in range(config["concurrency"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    items = len(config["refs"])
    print(json.dumps({
        "items": items,
        "batches": len(latencies),
        "concurrency": config["concurrency"],
        "wall_s": round(wall, 2),
        "items_per_s": round(items / wall),
        "batch_median_ms": round(statistics.median(latencies) * 1000, 1),
        "batch_p99_ms": round(latencies[min(len(latencies) - 1,
                                            int(len(latencies) * 0.99))] * 1000, 1),
        "outcomes": outcomes,
    }), flush=True)  # fmt: skip


def seq_scans(db):
    """Sequential scans so far on the large tables (pg_stat_user_tables)."""
    time.sleep(PG_STATS_IDLE_FLUSH_S)  # let the backends publish their statistics
    return dict(
        fetchall(
            db,
            "SELECT relname, seq_scan FROM pg_stat_user_tables WHERE relname IN %s",
            (LARGE_TABLES,),
        )
    )


# PostgreSQL's settings recorded with every report: the figures hold for them
PG_SETTINGS = (
    "server_version",
    "shared_buffers",
    "effective_cache_size",
    "work_mem",
    "max_wal_size",
    "checkpoint_timeout",
    "wal_compression",
    "full_page_writes",
    "synchronous_commit",
)
# cumulative counters of PostgreSQL's WAL (the WAL position in bytes, its
# records and full-page images) and checkpoints (timed, requested), of the
# whole cluster (PostgreSQL 15 and 16: version 17 moved the checkpoints to
# pg_stat_checkpointer)
PG_IO_SQL = """
    SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint,
           w.wal_records, w.wal_fpi, b.checkpoints_timed, b.checkpoints_req
      FROM pg_stat_wal w, pg_stat_bgwriter b
"""
# an idle backend publishes its last statistics within 10 s (PostgreSQL 15)
PG_STATS_IDLE_FLUSH_S = 11


def pg_settings(db):
    """The values of :data:`PG_SETTINGS` in ``db``, with their units."""
    return dict(
        fetchall(
            db,
            "SELECT name, current_setting(name) FROM pg_settings"
            " WHERE name IN %s ORDER BY name",
            (PG_SETTINGS,),
        )
    )


def pg_io(db):
    """PostgreSQL's WAL and checkpoint counters (:data:`PG_IO_SQL`), after
    the backends have published theirs; None when the server has no such
    counters."""
    import psycopg2

    time.sleep(PG_STATS_IDLE_FLUSH_S)
    try:
        return fetchall(db, PG_IO_SQL)[0]
    except psycopg2.Error as error:
        print(f"no WAL and checkpoint counters: {error}", flush=True)
        return None


def pg_io_delta(before, after):
    """What changed between two :func:`pg_io` readings, in the whole cluster
    (autovacuum and other databases included): WAL written (MiB, exact: the
    difference of WAL positions), its records and full-page images, and the
    checkpoints started."""
    wal, records, images, timed, requested = (
        end - start for end, start in zip(after, before, strict=True)
    )
    return {
        "wal_mib": round(wal / 2**20, 1),
        "wal_records": records,
        "wal_full_page_images": images,
        "checkpoints": timed + requested,
        "checkpoints_requested": requested,
    }


def run_load(config):
    """Run one scenario from a second process (not the one of the server);
    the configuration goes through stdin (100,000 references are too long for
    a command line)."""
    out = subprocess.run(
        [sys.executable, __file__, "--load-worker", "-"],
        check=True,
        capture_output=True,
        text=True,
        input=json.dumps(config),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--db", default=None, help="default: api_bench_<size>")
    parser.add_argument("--addons-path", default=str(REPO))
    parser.add_argument("--port", type=int, default=18390)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument(
        "--skip-setup", action="store_true", help="reuse the database of a past run"
    )
    parser.add_argument("--drop", action="store_true", help="drop the db at the end")
    parser.add_argument(
        "--scenarios",
        default="health,fastapi_floor,enrollments,entitlements",
        help="comma-separated, run in this order",
    )
    parser.add_argument(
        "--no-status",
        action="store_true",
        help="skip the POST /disbursements/status scenario (it changes the data)",
    )
    parser.add_argument("--load-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_worker:
        config = json.loads(
            sys.stdin.read() if args.load_worker == "-" else args.load_worker
        )
        if config.get("refs"):
            status_worker(config)
        else:
            load_worker(config)
        return
    db = args.db or f"api_bench_{args.size}"
    workers = default_workers() if args.workers is None else args.workers
    RESULTS.mkdir(exist_ok=True)
    setup_s = vacuum_s = None
    if args.skip_setup:
        data = json.loads((RESULTS / f"api-bench-{db}.tmp").read_text())
        # the references of the last run are paid: take the next pending ones
        data["refs"] = pending_references(db, len(data.get("refs") or ()))
        odoo_db.checkpoint(db)
    else:
        start = time.monotonic()
        create_database(db, args.addons_path)
        data = populate(db, args.size, args.addons_path)
        setup_s = round(time.monotonic() - start, 1)
        vacuum_s = settle(db)
        print(
            f"setup {setup_s} s, then VACUUM (ANALYZE) and CHECKPOINT {vacuum_s} s",
            flush=True,
        )
    server = start_server(db, args.addons_path, args.port, workers)
    try:
        base = {
            "port": args.port,
            "ids": data["ids"],
            "key": data["key"],
            "concurrency": args.concurrency,
            "duration": args.duration,
            "warmup": args.warmup,
        }
        api = f"/api/br/v1/beneficiaries/{ID_TYPE}/{{id}}"
        scenarios = {
            "health": "/web/health",
            "fastapi_floor": "/api/br/v1/programs",
            "enrollments": api + "/enrollments",
            "entitlements": api + "/entitlements",
        }
        # warm every worker up (FastAPI app, ORM and rule caches) before
        # measuring anything: otherwise the first API scenario pays for it
        run_load(dict(base, path=scenarios["entitlements"], duration=args.warmup))
        if data.get("refs") and not args.no_status:
            # and the status route (a router and request schemas of its own,
            # about a second of CPU in every fresh worker): two batches per
            # worker of unknown references, all answered not_found, nothing
            # changed but the call log
            clients = max(workers, 1)
            warmup_refs = [f"WARMUP-{i}" for i in range(STATUS_BATCH * 2 * clients)]
            run_load(dict(base, refs=warmup_refs, concurrency=clients))
        results = {}
        scans_before = seq_scans(db)
        for name in args.scenarios.split(","):
            path = scenarios[name]
            config = dict(base, path=path)
            if name == "fastapi_floor":
                config["key"] = "malformed"  # 401 before any query
            results[name] = run_load(config)
            print(name, json.dumps(results[name]), flush=True)
        # lookups must use indexes only: count the sequential scans they made
        lookup_seq_scans = {
            table: count - scans_before.get(table, 0)
            for table, count in seq_scans(db).items()
        }
        print("sequential scans during lookups", lookup_seq_scans, flush=True)
        queries = query_counts(db, base, scenarios)
        print("SQL queries per request", queries, flush=True)
        status = []
        refs = data.get("refs") or [] if not args.no_status else []
        # one reading before each run, which is the reading after the run before
        io = pg_io(db) if refs else None
        for index, concurrency in enumerate(STATUS_CONCURRENCIES):
            part = refs[index * STATUS_UPDATES : (index + 1) * STATUS_UPDATES]
            if part:
                status.append(run_load(dict(base, refs=part, concurrency=concurrency)))
                if io is not None:
                    after = pg_io(db)
                    status[-1]["postgresql"] = pg_io_delta(io, after)
                    io = after
                print("status", json.dumps(status[-1]), flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    report = {
        "benchmark": "g2p_br_api lookups by identifier",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),  # noqa: UP017
        "size": args.size,
        "members": data["members"],
        "entitlements": data["entitlements"],
        "workers": workers,
        "concurrency": args.concurrency,
        "duration_s": args.duration,
        "cpu_count": os.cpu_count(),
        "postgresql_settings": pg_settings(db),
        "setup_s": setup_s,
        "vacuum_s": vacuum_s,
        "scenarios": results,
        "lookup_seq_scans": lookup_seq_scans,
        "queries_per_request": queries,
        "status_updates": status,
    }
    failed = {
        name: result["statuses"]
        for name, result in results.items()
        if set(result["statuses"]) != ({"401"} if name == "fastapi_floor" else {"200"})
    }
    if failed:
        # do not overwrite a valid report with one of failing requests
        sys.exit(f"non-200 answers, no report written: {failed}")
    suffix = "" if args.concurrency == DEFAULT_CONCURRENCY else f"-c{args.concurrency}"
    out = RESULTS / f"api-{args.size}{suffix}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out.relative_to(REPO)}")
    if args.drop:
        run(["dropdb", "--if-exists", db])


if __name__ == "__main__":
    main()
