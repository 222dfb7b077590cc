# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A small queue_job runner for the sync's jobs, shared by the concurrency
tests and ``benchmarks/sr_sync_bench.py``.

``workers`` threads take the pending jobs of the SR sync (``FOR UPDATE SKIP
LOCKED``), each job loaded, performed and committed in its own transaction as
queue_job's controller does it; a concurrency error is rolled back and the job
set pending again (as queue_job retries it), a ``RetryableJobError`` postpones
it, any other error fails the job. Everything is counted.
"""
# The jobs must commit, each in its own transaction, for the concurrency to be
# real; this is what queue_job's controller does.
# pylint: disable=invalid-commit

import threading
import time

from psycopg2 import OperationalError

from odoo import SUPERUSER_ID, api
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job

SYNC_JOBS = "g2p_br_sr_sync:run:%"
# queue_job's runner takes the jobs without eta by priority, then creation
BY_PRIORITY = "priority, date_created, id"
BY_CREATION = "date_created, id"


def run_jobs(registry, workers, timeout=None, by_priority=True, uid=SUPERUSER_ID):
    """Perform the sync's pending jobs (pages and progress jobs) with
    ``workers`` threads until none is pending or running, or ``timeout``
    seconds have passed.

    ``by_priority=False`` takes them in creation order only (queue_job's
    priorities ignored), e.g. to mix the pages of two connections as much as
    possible. Returns ``{"done", "concurrency_retries", "postponed", "errors",
    "retried", "timed_out"}``; ``retried`` lists ``method args: SQLSTATE first
    line`` of each concurrency error (no row data: the message of a
    serialization failure or deadlock names no value).
    """
    stats = {
        "done": 0,
        "concurrency_retries": 0,
        "postponed": 0,
        "errors": [],
        "retried": [],
        "timed_out": False,
    }
    lock = threading.Lock()
    deadline = time.monotonic() + timeout if timeout else None
    order = BY_PRIORITY if by_priority else BY_CREATION

    def take(cr):
        cr.execute(
            f"""
            SELECT uuid FROM queue_job
             WHERE state = 'pending' AND identity_key LIKE %s
               AND (eta IS NULL OR eta <= now() AT TIME ZONE 'UTC')
             ORDER BY {order} LIMIT 1 FOR UPDATE SKIP LOCKED
            """,
            (SYNC_JOBS,),
            log_exceptions=False,
        )
        row = cr.fetchone()
        if row:
            return row[0]
        cr.execute(
            "SELECT count(*) FROM queue_job WHERE identity_key LIKE %s"
            " AND state IN ('pending', 'enqueued', 'started')",
            (SYNC_JOBS,),
        )
        return None if cr.fetchone()[0] else False

    def worker():
        while deadline is None or time.monotonic() < deadline:
            with registry.cursor() as cr:
                env = api.Environment(cr, uid, {})
                try:
                    uuid = take(cr)
                except OperationalError:  # the row moved under our snapshot
                    cr.rollback()
                    continue
                if uuid is False:
                    return
                if uuid is None:
                    cr.rollback()
                    time.sleep(0.02)
                    continue
                job = Job.load(env, uuid)
                job.set_started()
                job.store()
                cr.commit()
                try:
                    job.perform()
                    job.set_done()
                    job.store()
                    env.flush_all()
                    cr.commit()
                    with lock:
                        stats["done"] += 1
                    continue
                except OperationalError as exc:
                    cr.rollback()
                    if exc.pgcode not in PG_CONCURRENCY_ERRORS_TO_RETRY:
                        raise
                    key = "concurrency_retries"
                    with lock:
                        stats["retried"].append(
                            f"{job.method_name} {job.args}: {exc.pgcode} "
                            f"{str(exc).splitlines()[0][:120]}"
                        )
                except RetryableJobError as exc:
                    cr.rollback()
                    key = "postponed"
                    # queue_job's controller postpones it by the seconds the
                    # error asks for (retried at once, a waiting progress job
                    # spun on the run's lock: 341 times in a 1,000,000 pull)
                    postpone = exc.seconds
                except Exception as exc:  # noqa: BLE001 - counted, job failed
                    cr.rollback()
                    with lock:
                        stats["errors"].append(repr(exc))
                    env.clear()
                    job = Job.load(env, uuid)
                    job.set_failed(exc_info=repr(exc))
                    job.store()
                    cr.commit()
                    continue
                with lock:
                    stats[key] += 1
                env.clear()
                job = Job.load(env, uuid)
                if key == "postponed":
                    job.postpone(seconds=postpone)
                job.set_pending(reset_retry=False)
                job.store()
                cr.commit()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats["timed_out"] = deadline is not None and time.monotonic() >= deadline
    return stats
