# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Issue #11: every run that says done leaves the BR equal to the SR.

Each test reproduces one defect of the former sync against the DCI SR test
server (real HTTP over loopback, real PostgreSQL, the real registry); the
comment of each says how it failed before.
"""

import importlib.util
import logging
from datetime import timedelta
from pathlib import Path

from odoo.exceptions import UserError, ValidationError
from odoo.tests.common import tagged

from .common import SrSyncCase


@tagged("post_install", "-at_install")
class TestSyncCorrectness(SrSyncCase):
    """1,000 registrants (800 individuals, 200 households), pages of 100."""

    registry_size = 1000

    # -- 2. incremental cursor from the SR's own data ---------------------------
    def test_lagging_sr_clock(self):
        """Before: the cursor was the BR's clock minus 5 minutes; with an SR
        whose clock lags 6 hours, the incremental pull fetched nothing and said
        done (200 of 200 changes missed)."""
        self.sr.clock_offset = -timedelta(hours=6)
        self.individuals.cursor_overlap = 300
        run = self.pull(self.individuals)
        self.assertEqual(run.state, "done")
        # the cursor is on the SR's time scale: newest SR stamp minus overlap
        newest = max(r.last_updated for r in self.sr.records.values())
        self.assertEqual(
            self.individuals.cursor,
            newest.replace(tzinfo=None) - timedelta(seconds=300),
        )
        self.assertIn("behind", run.message)  # the clock skew is reported
        changed = self.sr.update(200, kind="individual")
        run = self.pull(self.individuals, "incremental")
        self.assertEqual(run.state, "done")
        self.assertGreaterEqual(run.updated, 200)
        self.assertTrue(set(changed) <= set(self.beneficiaries().filtered(
            lambda b: b.sr_pull_run_id == run).mapped("sr_id")))  # fmt: skip
        self.assert_br_equals_sr()
        # the SR's newest stamp is in the run, the cursor follows it
        self.assertEqual(
            self.individuals.cursor,
            run.sr_newest - timedelta(seconds=300),
        )

    def test_cursor_moves_back_only(self):
        self.pull(self.individuals)
        cursor = self.individuals.cursor
        self.assertTrue(cursor)
        with self.assertRaisesRegex(ValidationError, "only be moved back"):
            self.individuals.cursor = cursor + timedelta(seconds=1)
        earlier = cursor - timedelta(days=30)
        self.individuals.cursor = earlier
        self.assertEqual(self.individuals.cursor, earlier)
        run = self.pull(self.individuals, "incremental")
        self.assertEqual(run.cursor_used, earlier)
        self.individuals.action_clear_cursor()
        self.assertFalse(self.individuals.cursor)
        run = self.pull(self.individuals, "incremental")
        self.assertFalse(run.cursor_used)
        self.assertEqual((run.state, run.distinct_fetched), ("done", 800))
        # not while a run is running
        run = self.individuals._start_run("incremental")
        with self.assertRaisesRegex(UserError, "running pull"):
            self.individuals.cursor = False
        run.action_cancel()

    def test_cursor_ahead_of_sr_clock_warns(self):
        self.pull(self.individuals)
        self.sr.clock_offset = -timedelta(days=2)
        self.individuals.with_context(sr_sync_cursor=True).cursor = (
            self.sr.now().replace(tzinfo=None) + timedelta(days=1)
        )
        with self.assertLogs("odoo.addons.g2p_br_sr_sync", "WARNING") as logs:
            run = self.pull(self.individuals, "incremental")
        self.assertIn("ahead of the SR's clock", run.message)
        self.assertIn("ahead of the SR's clock", "\n".join(logs.output))

    # -- 3. full pulls complete against a changing SR ---------------------------
    def test_changing_sr_ordered_by_last_updated(self):
        """Before: an SR that orders by last_updated (ignoring sort) and changes
        while it is read shifted unchanged records onto pages already fetched;
        the run said done with records missing (fetched == total because of the
        duplicates)."""
        self.sr.order_by_last_updated = True
        faults = self.sr_server.faults
        faults.churn = 15  # registrants changed after each page served...
        faults.churn_pages = 6  # ... during the first 6 pages
        run = self.pull(self.individuals)
        self.assertEqual(run.state, "done", run.message)
        self.assertEqual(run.missing, 0)
        self.assertEqual(run.distinct_fetched, 800)
        self.assertGreater(run.duplicates, 0)
        self.assert_br_equals_sr()

    def test_sr_changing_faster_than_read_is_incomplete(self):
        self.sr.order_by_last_updated = True
        self.sr_server.faults.churn = 30
        self.sr_server.faults.churn_pages = 10_000
        run = self.pull(self.individuals)
        self.assertEqual(run.state, "incomplete")
        self.assertGreater(run.missing, 0)
        self.assertIn("Incomplete", run.message)
        self.assertIn(str(run.sr_total), run.message)
        self.assertFalse(self.individuals.cursor)  # the cursor does not move
        with self.assertRaisesRegex(UserError, "start a new run"):
            run.action_resume()

    def test_records_changing_mid_run_caught_up(self):
        """Records changed on pages already fetched come with the run's own
        catch-up stage, not only with the next incremental pull."""
        self.pull_while_records_change()
        self.assert_br_equals_sr()

    # -- 6. rejected records retried by id ---------------------------------------
    def test_rejected_records_retried(self):
        """Before: rejected records fell behind the cursor; they came back only
        when they changed in the SR or at a full pull."""
        bad = {201, 202, 203, 350, 999}  # 3 with a readable SR id
        self.sr_server.faults.bad_record_seqs = bad
        run = self.pull(self.individuals)
        self.assertRecordValues(run, [{"state": "done", "rejected": 5}])
        self.assertEqual(run.retry_waiting, 3)
        self.assertEqual(self.individuals.retry_count, 3)
        # fixed in the SR without a new last_updated (a data-quality fix)
        self.sr_server.faults.bad_record_seqs = set()
        self.sr_server.requests.clear()
        run = self.pull(self.individuals, "incremental")
        self.assertEqual((run.state, run.created, run.retry_waiting), ("done", 3, 0))
        self.assertEqual(self.individuals.retry_count, 0)
        self.assertEqual(self.sr_server.count_requests("search", "succ") >= 3, True)
        # the two records without a readable id come with the next full pull
        run = self.pull(self.individuals)
        self.assertEqual(run.created, 2)
        self.assert_br_equals_sr()

    def test_dismissed_records_are_not_asked_for(self):
        self.sr_server.faults.bad_record_seqs = {201, 202}
        self.pull(self.individuals)
        retries = self.individuals.retry_ids
        self.assertEqual(len(retries), 2)
        retries[0].action_dismiss()
        self.assertEqual(self.individuals.retry_count, 1)
        self.sr_server.faults.bad_record_seqs = set()
        run = self.pull(self.individuals, "incremental")
        self.assertEqual(run.created, 1)
        self.assertEqual(self.individuals.retry_ids, retries[0])

    # -- 7. circuit breaker --------------------------------------------------------
    def test_outage_stops_after_n_failed_pages(self):
        """Before: during an outage every remaining page went through its own
        retry cycle (here 6 pages x 4 attempts)."""
        self.individuals.max_retries = 3
        self.sr_server.faults.outage_after = 2  # pages 1 and 2 answered
        run = self.pull(self.individuals)
        self.assertEqual(run.state, "failed")
        self.assertIn("circuit breaker", run.message)
        self.assertIn("HTTP 503", run.message)
        # 3 pages x 4 attempts, the other pages not asked for
        self.assertEqual(self.sr_server.count_requests("search", "503"), 12)
        self.assertFalse(self.individuals.cursor)
        self.sr_server.faults.outage_after = None
        with self.jobs():
            run.action_resume()
        self.assertEqual(run.state, "done")
        self.assert_br_equals_sr()

    def test_test_connection_makes_one_short_attempt(self):
        """Before: Test connection retried like a page (9-12 s in a browser)."""
        self.individuals.timeout = 30
        self.sr_server.faults.status_500 = 5
        with self.assertRaisesRegex(UserError, "after 1 attempts: HTTP 500"):
            self.individuals.action_test_connection()
        self.assertEqual(self.sr_server.count_requests("search"), 1)

    # -- 8. DCI conformance of the request -----------------------------------------
    def test_requests_conform_to_the_social_search_request(self):
        """Before: reg_event_type SEARCH and search_criteria.reg_type were
        refused by a strict social registry."""
        self.sr_server.strict = True
        self.groups.reg_type = False
        self.individuals.reg_type = False
        self.sr_server.faults.bad_record_seqs = {201}
        for connection in (self.individuals, self.groups):
            run = self.pull(connection)
            self.assertEqual(run.state, "done", run.message)
        self.assertEqual(self.sr_server.invalid_requests, [])
        self.sr_server.faults.bad_record_seqs = set()
        run = self.pull(self.individuals, "incremental")  # with the retry by id
        self.assertEqual(run.created, 1)
        self.assertEqual(self.sr_server.invalid_requests, [])
        self.assert_br_equals_sr("individual", links=True)
        self.assert_br_equals_sr("group")
        # the former request is refused by the strict registry
        client = self.individuals._get_client()
        criteria = client.build_search_criteria(1)
        self.assertNotIn("reg_event_type", criteria)
        self.assertEqual(criteria["response_entity"], "Member")

    # -- 5. no personal data in the logs, even of a failing statement ----------
    def test_failing_page_statement_logs_no_personal_data(self):
        """Before: Odoo's SQL logger printed the failing upsert with its
        parameter arrays (UINs, birth dates...) at ERROR."""
        cr = self.env.cr
        cr.execute(
            """
            CREATE FUNCTION pg_temp.br_test_refuse() RETURNS trigger
            LANGUAGE plpgsql AS $$ BEGIN
                RAISE EXCEPTION 'refused by the test';
            END $$;
            CREATE TRIGGER br_test_refuse BEFORE INSERT ON g2p_br_beneficiary
               FOR EACH ROW WHEN (NEW.sr_id LIKE 'IND-%')
               EXECUTE FUNCTION pg_temp.br_test_refuse();
            """
        )
        with self.assertLogs("odoo", "DEBUG") as logs:
            logging.getLogger("odoo.sql_db").debug("start")
            run = self.pull(self.individuals)
        cr.execute("DROP TRIGGER br_test_refuse ON g2p_br_beneficiary")
        self.assertEqual(run.state, "failed")
        self.assertIn("SQLSTATE P0001", run.page_ids[0].error_message)
        text = "\n".join(logs.output)
        self.assertIn("beneficiary upsert failed", text)
        for rec in self.sr.records.values():
            if rec.kind == "individual":
                self.assertNotIn(rec.uin, text)
                self.assertNotIn(rec.birth_date.isoformat(), text)

    def test_migration_clears_cursors_on_the_br_clock(self):
        path = (
            Path(__file__).resolve().parents[1]
            / "migrations"
            / "17.0.1.1.0"
            / "post-migrate.py"
        )
        spec = importlib.util.spec_from_file_location("br_sr_migration", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.individuals.with_context(sr_sync_cursor=True).cursor = "2026-11-30"
        self.env.flush_all()
        module.migrate(self.env.cr, "17.0.1.0.0")
        self.individuals.invalidate_recordset(["cursor"])
        self.assertFalse(self.individuals.cursor)
