"""Pages of one run, and two connections, pulling at the same time.

These tests commit: each job runs in its own transaction, in its own thread,
like queue_job's workers (a small runner below takes the pending jobs with
``FOR UPDATE SKIP LOCKED``, retries the concurrency errors as queue_job does,
and counts them). Everything they create is deleted at the end.
"""
# The jobs must commit, each in its own transaction, for the concurrency to be
# real; the runner below does what queue_job's controller does.
# pylint: disable=invalid-commit

import logging
import threading
import time
from urllib.parse import urlsplit

from psycopg2 import OperationalError

from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY
from odoo.tests.common import BaseCase, _super_send, get_db_name, tagged

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job

from .common import (
    GROUP_MAPPING,
    INDIVIDUAL_MAPPING,
    SrRegistry,
    assert_br_equals_sr,
    dci_sr_server,
)

_JOBS = "g2p_br_sr_sync:run:%"


class _Collect(logging.Handler):
    def __init__(self, level):
        super().__init__(level)
        self.records = []

    def emit(self, record):
        self.records.append(f"{record.name}: {record.getMessage()[:300]}")


@tagged("post_install", "-at_install")
class TestConcurrentPulls(BaseCase):
    """2,000 registrants (1,600 individuals, 400 households), pages of 50,
    3 job workers."""

    workers = 3

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        url = urlsplit(r.url)
        if url.hostname == "127.0.0.1" and url.port == cls.sr_server.port:
            return _super_send(s, r, **kw)
        return super()._request_handler(s, r, **kw)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        cls.sr = SrRegistry(2000, seed=11)
        cls.sr_server = dci_sr_server.DciSrServer(cls.sr).start()
        cls.addClassCleanup(cls.sr_server.stop)
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            id_type = env["g2p.br.identifier.type"].create(
                {"code": "TEST-UIN-CONC", "name": "UIN (concurrency test)"}
            )
            cls.id_type_id = id_type.id
            cls.connection_ids = {}
            for kind, mapping in (
                ("individual", INDIVIDUAL_MAPPING),
                ("group", GROUP_MAPPING),
            ):
                connection = env["g2p.br.sr.connection"].create(
                    {
                        "name": f"SR {kind} (concurrency test)",
                        "base_url": cls.sr_server.base_url,
                        "beneficiary_kind": kind,
                        "page_size": 50,
                        "timeout": 10,
                        "max_retries": 2,
                        "retry_backoff": 0.01,
                        "cursor_overlap": 0,
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
                                    "identifier_type_id": id_type.id
                                    if target == "identifier"
                                    else False,
                                },
                            )
                            for seq, (path, target, transform, value_map) in enumerate(
                                mapping
                            )
                        ],
                    }
                )
                cls.connection_ids[kind] = connection.id
        cls.addClassCleanup(cls._cleanup)

    @classmethod
    def _cleanup(cls):
        with cls.registry.cursor() as cr:
            cls._delete_beneficiaries(cr)
            cr.execute(
                "DELETE FROM g2p_br_sr_connection WHERE id = ANY(%s)",
                (list(cls.connection_ids.values()),),
            )
            cr.execute("DELETE FROM queue_job WHERE identity_key LIKE %s", (_JOBS,))
            cr.execute(
                "DELETE FROM g2p_br_identifier_type WHERE id = %s", (cls.id_type_id,)
            )

    @staticmethod
    def _delete_beneficiaries(cr):
        cr.execute(
            "DELETE FROM g2p_br_beneficiary"
            " WHERE sr_id LIKE 'IND-%%' OR sr_id LIKE 'GRP-%%'"
        )

    def setUp(self):
        super().setUp()
        self.sr_server.requests.clear()
        self.sr_server.reset_faults()
        with self.registry.cursor() as cr:
            self._delete_beneficiaries(cr)
            cr.execute(
                "DELETE FROM g2p_br_sr_pull_run WHERE connection_id = ANY(%s)",
                (list(self.connection_ids.values()),),
            )
            cr.execute("DELETE FROM queue_job WHERE identity_key LIKE %s", (_JOBS,))

    # -- a small job runner ---------------------------------------------------------
    def run_jobs(self, timeout=240):
        """Perform the sync's pending jobs with ``workers`` threads, each job in
        its own committed transaction. Returns the counters."""
        stats = {
            "done": 0,
            "concurrency_retries": 0,
            "postponed": 0,
            "errors": [],
            "retried": [],
        }
        lock = threading.Lock()
        deadline = time.monotonic() + timeout

        def take(cr):
            cr.execute(
                """
                SELECT uuid FROM queue_job
                 WHERE state = 'pending' AND identity_key LIKE %s
                   AND (eta IS NULL OR eta <= now() AT TIME ZONE 'UTC')
                 ORDER BY date_created, id LIMIT 1 FOR UPDATE SKIP LOCKED
                """,
                (_JOBS,),
                log_exceptions=False,
            )
            row = cr.fetchone()
            if row:
                return row[0]
            cr.execute(
                "SELECT count(*) FROM queue_job WHERE identity_key LIKE %s"
                " AND state IN ('pending', 'enqueued', 'started')",
                (_JOBS,),
            )
            return None if cr.fetchone()[0] else False

        def worker():
            while time.monotonic() < deadline:
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    try:
                        uuid = take(cr)
                    except OperationalError:  # the row moved under our snapshot
                        cr.rollback()
                        continue
                    if uuid is False:
                        return
                    if uuid is None:
                        cr.rollback()
                        time.sleep(0.05)
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
                    except RetryableJobError:
                        cr.rollback()
                        key = "postponed"
                    except Exception as exc:  # noqa: BLE001 - reported below
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
                    job.set_pending(reset_retry=False)
                    job.store()
                    cr.commit()

        threads = [threading.Thread(target=worker) for _ in range(self.workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertLess(time.monotonic(), deadline, "jobs did not finish in time")
        self.assertEqual(stats["errors"], [])
        return stats

    def start(self, *kinds):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            runs = [
                env["g2p.br.sr.connection"]
                .browse(self.connection_ids[kind])
                ._start_run("full")
                .id
                for kind in kinds
            ]
        return runs

    def runs(self, cr, run_ids):
        env = api.Environment(cr, SUPERUSER_ID, {})
        return env["g2p.br.sr.pull.run"].browse(run_ids)

    # -- tests ---------------------------------------------------------------------
    def test_parallel_pages_of_one_run(self):
        """Before: every page updated the run row; under REPEATABLE READ the
        concurrent pages failed with serialization errors and queue_job redid
        them, SR request included (185 requests for 100 pages), with an ERROR
        line each."""
        errors = _Collect(logging.ERROR)
        logging.getLogger().addHandler(errors)
        try:
            run_ids = self.start("individual")
            stats = self.run_jobs()
        finally:
            logging.getLogger().removeHandler(errors)
        self.assertEqual(errors.records, [])
        self.assertEqual(stats["concurrency_retries"], 0, stats["retried"])
        with self.registry.cursor() as cr:
            run = self.runs(cr, run_ids)
            self.assertEqual(run.state, "done", run.message)
            # each page fetched once: 32 main pages, 1 catch-up, 1 check
            self.assertEqual(run.pages_total, 34)
            self.assertEqual(self.sr_server.count_requests("search"), 34)
            self.assertEqual(run.distinct_fetched, 1600)
            assert_br_equals_sr(self, run.env, self.sr, "individual")

    def test_two_connections_at_once(self):
        """Before: an individuals page and a households page in flight together
        did not see each other's rows, and nothing linked them later (1,468 of
        18,000 individuals without their household)."""
        run_ids = self.start("individual", "group")
        self.run_jobs()
        with self.registry.cursor() as cr:
            runs = self.runs(cr, run_ids)
            self.assertEqual(
                runs.mapped("state"), ["done", "done"], runs.mapped("message")
            )
            assert_br_equals_sr(self, runs.env, self.sr, "individual", links=True)
            assert_br_equals_sr(self, runs.env, self.sr, "group")
            cr.execute(
                "SELECT count(*) FROM g2p_br_beneficiary"
                " WHERE sr_id LIKE 'IND-%%' AND group_id IS NULL"
            )
            self.assertEqual(cr.fetchone()[0], 0)
