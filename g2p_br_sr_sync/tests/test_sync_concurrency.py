# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Pages of one run, and two connections, pulling at the same time.

These tests commit: each job runs in its own transaction, in its own thread,
like queue_job's workers (:func:`.job_runner.run_jobs` takes the pending jobs
with ``FOR UPDATE SKIP LOCKED``, retries the concurrency errors as queue_job
does, and counts them). Everything they create is deleted at the end.
"""

import logging

from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry
from odoo.tests.common import BaseCase, get_db_name, tagged

from . import dci_sr_server
from .common import (
    GROUP_MAPPING,
    INDIVIDUAL_MAPPING,
    SrRegistry,
    SrServerLoopback,
    assert_br_equals_sr,
)
from .job_runner import SYNC_JOBS as _JOBS
from .job_runner import run_jobs


class _Collect(logging.Handler):
    def __init__(self, level):
        super().__init__(level)
        self.records = []

    def emit(self, record):
        self.records.append(f"{record.name}: {record.getMessage()[:300]}")


@tagged("post_install", "-at_install")
class TestConcurrentPulls(SrServerLoopback, BaseCase):
    """2,000 registrants (1,600 individuals, 400 households), pages of 50,
    3 job workers."""

    workers = 3

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
                        "mapping_ids": dci_sr_server.mapping_commands(
                            mapping, id_type.id
                        ),
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

    # -- jobs ------------------------------------------------------------------------
    def run_jobs(self, timeout=240):
        """Perform the sync's pending jobs with ``workers`` threads, each job in
        its own committed transaction (see :mod:`.job_runner`), in creation
        order: queue_job's priorities (households pages first) are ignored, so
        that the pages of two connections mix as much as they can. Returns the
        counters."""
        stats = run_jobs(self.registry, self.workers, timeout, by_priority=False)
        self.assertFalse(stats["timed_out"], "jobs did not finish in time")
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
