# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""End-to-end pulls from the DCI SR test server over real HTTP (loopback)."""

import logging
import re
import time
from unittest import mock

import psycopg2

from odoo.exceptions import UserError
from odoo.tests.common import tagged
from odoo.tools import mute_logger

from ..models.g2p_br_beneficiary import G2pBrBeneficiary
from ..services import dci_client
from .common import GRAPHQL_GROUP_MAPPING, SimulatedCrash, SrSyncCase, dci_sr_server


def personal_data(registry):
    """Every name, phone and street word of the SR: none may reach the BR."""
    values = set()
    for rec in registry.records.values():
        values.update({rec.given_name, rec.surname, rec.phone})
        values.add(rec.street.split()[1])  # "12 Mango Lane": Mango
    return values


def leaked(registry, text):
    """Personal values of the SR that appear as words in ``text``."""
    return personal_data(registry) & set(re.findall(r"[\w+]+", text))


@tagged("post_install", "-at_install")
class TestFullAndIncrementalPull(SrSyncCase):
    """A 10,000-registrant SR (8,000 individuals, 2,000 households)."""

    registry_size = 10_000
    server_auth = "oauth2"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        (cls.individuals | cls.groups).page_size = 1000

    def test_full_pull_then_incremental(self):
        logger = logging.getLogger("odoo.addons.g2p_br_sr_sync")
        with self.assertLogs(logger, level="DEBUG") as logs:
            logger.debug("start")  # assertLogs needs one record at least
            start = time.monotonic()
            ind_run = self.pull(self.individuals)
            grp_run = self.pull(self.groups)
            elapsed = time.monotonic() - start
        self.assertLess(elapsed, 120)  # about 5 s on an idle 2-core machine
        for run, total in ((ind_run, 8000), (grp_run, 2000)):
            self.assertRecordValues(
                run,
                [
                    {
                        "state": "done",
                        # main pages, one catch-up page, one check page
                        "pages_total": total // 1000 + 2,
                        "pages_done": total // 1000 + 2,
                        "distinct_fetched": total,
                        "sr_total": total,
                        "missing": 0,
                        "created": total,
                        "updated": 0,
                        "rejected": 0,
                    }
                ],
            )
        self.assertEqual(self.individuals.cursor, ind_run.cursor_candidate)
        self.assert_br_equals_sr("individual")
        self.assert_br_equals_sr("group")
        cr = self.env.cr
        # identifiers: one UIN per individual; group links resolved once the
        # households arrived (they were pulled after their members)
        cr.execute(
            "SELECT count(*), count(DISTINCT beneficiary_id)"
            " FROM g2p_br_beneficiary_identifier WHERE type_id = %s",
            (self.uin_type.id,),
        )
        self.assertEqual(cr.fetchone(), (8000, 8000))
        cr.execute(
            """SELECT count(*) FROM g2p_br_beneficiary m JOIN g2p_br_beneficiary g
                ON g.id = m.group_id WHERE g.sr_id = m.sr_group_ref"""
        )
        self.assertEqual(cr.fetchone()[0], 8000)
        sample = self.sr.records[2001]
        ben = self.env["g2p.br.beneficiary"].find_by_identifier("TEST-UIN", sample.uin)
        self.assertEqual(ben.sr_id, sample.sr_id)
        self.assertEqual(ben.sex, sample.sex)
        self.assertEqual(ben.group_id.sr_id, self.sr.records[sample.group_seq].sr_id)
        self.assertEqual(ben.group_id.group_size, 4)

        # no personal data anywhere in the BR tables, nor in the logs
        for table in ("g2p_br_beneficiary", "g2p_br_beneficiary_identifier",
                      "g2p_br_sr_pull_error", "g2p_br_sr_pull_page"):  # fmt: skip
            cr.execute(f"SELECT t::text FROM {table} t")
            dump = "\n".join(row[0] for row in cr.fetchall())
            found = leaked(self.sr, dump)
            self.assertFalse(found, f"personal data in {table}: {sorted(found)[:3]}")
        log_text = "\n".join(logs.output)
        self.assertFalse(leaked(self.sr, log_text))
        self.assertNotIn(self.sr_server.client_secret, log_text)

        # incremental: only the changed registrants are fetched and rewritten
        ben_untouched = self.env["g2p.br.beneficiary"].search(
            [("sr_id", "=", self.sr.records[5000].sr_id)]
        )
        write_date = ben_untouched.write_date
        time.sleep(0.01)
        updated = self.sr.update(50, kind="individual")
        archived = self.sr.deactivate(10, kind="individual")
        added = self.sr.add(5)
        self.assertNotIn(self.sr.records[5000].sr_id, updated + archived)
        run = self.pull(self.individuals, "incremental")
        self.assertEqual(run.cursor_used, ind_run.cursor_candidate)
        changed = len(set(updated) | set(archived))
        self.assertRecordValues(
            run,
            [
                {
                    "state": "done",
                    "created": 5,
                    "updated": changed,
                    "archived": len(set(archived) - set(updated)) or 10,
                }
            ],
        )
        # the changes, and the record at the cursor (asked for with ge)
        self.assertEqual(run.distinct_fetched, changed + 5 + 1)
        self.env.invalidate_all()
        self.assertEqual(ben_untouched.write_date, write_date)
        rewritten = self.beneficiaries().filtered(lambda b: b.sr_pull_run_id == run)
        self.assertEqual(len(rewritten), changed + 5)
        self.assert_br_equals_sr("individual")
        # the new individuals are linked to their (existing) households
        new = self.beneficiaries().filtered(lambda b: b.sr_id in added)
        self.assertTrue(all(new.mapped("group_id")))
        # again: the records at the cursor (and in its overlap, none here) are
        # fetched again, and not rewritten
        run2 = self.pull(self.individuals, "incremental")
        self.assertRecordValues(
            run2, [{"state": "done", "created": 0, "updated": 0, "missing": 0}]
        )
        self.assertEqual(run2.unchanged, run2.fetched)
        # a full pull of an unchanged SR rewrites nothing
        run3 = self.pull(self.individuals, "full")
        self.assertEqual(
            (run3.distinct_fetched, run3.created, run3.updated), (8005, 0, 0)
        )

    def test_crash_mid_run_then_resume(self):
        original = G2pBrBeneficiary._sr_upsert_page
        calls, crashed = [], []

        def upsert_then_crash(model, connection, run, rows, mapper):
            counters = original(model, connection, run, rows, mapper)
            calls.append(1)
            if len(calls) in (3, 6):  # pages 3 and 6, the first time
                crashed.append(len(calls))
                raise SimulatedCrash()  # after the writes: they must roll back
            return counters

        patch = mock.patch.object(
            G2pBrBeneficiary, "_sr_upsert_page", upsert_then_crash
        )
        with patch, self.jobs(crash_ok=True):
            run = self.individuals._start_run("full")
        self.assertEqual(crashed, [3, 6])
        self.assertEqual(run.state, "running")
        # the run's counters are summed when a stage ends; the pages tell now
        self.assertEqual(len(run.page_ids.filtered(lambda p: p.state == "done")), 6)
        self.assertEqual(
            run.page_ids.filtered(lambda p: p.state == "pending").mapped("page_number"),
            [3, 6],
        )
        self.assertEqual(len(self.beneficiaries()), 6000)
        self.assertFalse(self.individuals.cursor)

        # two runs of one connection never overlap
        with self.assertRaisesRegex(UserError, "running pull"):
            self.individuals._start_run("incremental")
        with (
            self.assertRaises(psycopg2.errors.UniqueViolation),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.env["g2p.br.sr.pull.run"].create(
                {"connection_id": self.individuals.id, "mode": "full"}
            )

        # the SR changed meanwhile; resuming fetches only the missing pages
        self.sr.update(seqs=[2001, 9999])
        with self.jobs():
            run.action_resume()
        self.assertRecordValues(
            run,
            [
                {
                    "state": "done",
                    "pages_done": 10,
                    "distinct_fetched": 8000,
                    "created": 8000,
                }
            ],
        )
        self.assertEqual(self.individuals.cursor, run.cursor_candidate)
        self.env.cr.execute(
            "SELECT count(*), count(DISTINCT sr_id) FROM g2p_br_beneficiary"
            " WHERE sr_id LIKE 'IND-%'"
        )
        self.assertEqual(self.env.cr.fetchone(), (8000, 8000))
        # records changed on pages fetched before the crash come with the next
        # incremental pull: the cursor is the run's start, not its end
        self.pull(self.individuals, "incremental")
        self.assert_br_equals_sr("individual")


@tagged("post_install", "-at_install")
class TestFaults(SrSyncCase):
    """1,000 registrants (800 individuals) in pages of 100."""

    registry_size = 1000
    server_auth = "oauth2"

    def test_transient_faults_are_retried(self):
        self.individuals.timeout = 0.5
        sleeps = []
        client = self.individuals._get_client()
        client.sleep = sleeps.append
        faults = self.sr_server.faults
        faults.retry_after = 1
        faults.slow_seconds = 1.0
        for fault in ("slow", "drop", "status_500", "status_429"):
            sleeps.clear()
            setattr(faults, fault, 1)
            page = client.search(1)
            self.assertEqual(len(page.records), 100, fault)
            self.assertEqual(len(sleeps), 1, fault)
            self.assertLessEqual(sleeps[0], 0.02 if fault != "status_429" else 1, fault)
        self.assertEqual(sleeps, [1])  # Retry-After respected
        # all of them during a pull: the run completes
        faults.status_500 = 2
        faults.status_429 = 1
        faults.drop = 1
        faults.slow = 1
        self.individuals.max_retries = 5  # the faults come one after the other
        self.sr_server.requests.clear()
        with mock.patch.object(dci_client.time, "sleep", lambda s: None):
            run = self.pull(self.individuals)
        self.assertRecordValues(
            run, [{"state": "done", "distinct_fetched": 800, "created": 800}]
        )
        self.assertEqual(self.sr_server.count_requests("search", "500"), 2)
        self.assertEqual(self.sr_server.count_requests("search", "429"), 1)
        self.assert_br_equals_sr()

    def test_persistent_5xx_fails_the_page_then_resume(self):
        def break_next_page(registry):
            self.sr_server.faults.status_500 = 4  # max_retries 3: 4 attempts

        self.sr_server.faults.after_page[1] = break_next_page
        run = self.pull(self.individuals)
        self.assertEqual(run.state, "partially_failed")
        failed = run.page_ids.filtered(lambda p: p.state == "failed")
        self.assertEqual(failed.mapped("page_number"), [2])
        self.assertIn("after 4 attempts: HTTP 500", failed.error_message)
        self.assertEqual((run.pages_done, run.fetched), (7, 700))
        self.assertFalse(self.individuals.cursor)  # not every page succeeded
        with self.jobs():
            run.action_resume()
        self.assertEqual(
            (run.state, run.distinct_fetched, failed.retries), ("done", 800, 2)
        )
        self.assertEqual(self.individuals.cursor, run.cursor_candidate)
        self.assert_br_equals_sr()

    def test_rejections_fail_the_page_with_the_sr_reason(self):
        self.sr_server.faults.reject = 1
        run = self.pull(self.individuals)
        self.assertEqual(run.state, "failed")
        self.assertIn("rjct.search.too_many_records_found", run.page_ids.error_message)
        self.assertEqual(self.sr_server.count_requests("search"), 1)  # no retry
        self.sr_server.faults.status_400 = 1
        with self.jobs():
            run.action_resume()
        self.assertEqual(run.state, "failed")
        self.assertIn("HTTP 400: filter not supported", run.page_ids.error_message)
        with self.jobs():
            run.action_resume()
        self.assertEqual((run.state, run.distinct_fetched), ("done", 800))

    def test_malformed_json_fails_the_page(self):
        self.sr_server.faults.after_page[2] = lambda r: setattr(
            self.sr_server.faults, "malformed_json", 1
        )
        run = self.pull(self.individuals)
        page = run.page_ids.filtered(lambda p: p.state == "failed")
        self.assertEqual(page.page_number, 3)
        self.assertIn("not valid JSON", page.error_message)
        with self.jobs():
            run.action_resume()
        self.assertEqual(run.state, "done")

    def test_bad_records_are_rejected_alone(self):
        bad = {201, 202, 203, 350, 999}  # individuals, 3 kinds of damage
        self.sr_server.faults.bad_record_seqs = bad
        run = self.pull(self.individuals)
        self.assertRecordValues(run, [{"state": "done", "created": 795, "rejected": 5}])
        errors = run.error_ids
        self.assertEqual(len(errors), 5)
        expected_ids = {self.sr.records[s].sr_id for s in bad if s % 3 != 2}
        self.assertEqual(set(errors.mapped("sr_id")) - {False}, expected_ids)
        reasons = " ".join(errors.mapped("reason"))
        for text in ("birth_date", "sex", "sr_id"):
            self.assertIn(text, reasons)
        self.assertNotIn("31/02/1990", reasons)
        self.assertFalse(leaked(self.sr, reasons))
        # fixed in the SR (their last-updated moves): the next pull takes them
        self.sr_server.faults.bad_record_seqs = set()
        self.sr.update(seqs=sorted(bad))
        run2 = self.pull(self.individuals, "incremental")
        self.assertEqual((run2.created, run2.rejected), (5, 0))
        self.assert_br_equals_sr()

    def test_records_changing_between_pages(self):
        # after page 2 is served, records of pages 1, 2 and 8 change, and new
        # registrants appear: nothing is lost (next incremental pull)
        self.pull_while_records_change()
        run2 = self.pull(self.individuals, "incremental")
        self.assertEqual(run2.state, "done")
        self.assertGreaterEqual(run2.fetched, 7)
        self.assert_br_equals_sr()

    def test_token_expiry_and_refresh_on_401(self):
        self.sr_server.token_ttl = dci_client.TOKEN_EXPIRY_MARGIN + 1
        self.pull(self.groups)
        self.assertEqual(self.sr_server.count_requests("token"), 1)
        time.sleep(1.1)  # the cached token is now too close to its expiry
        self.pull(self.groups, "incremental")
        self.assertEqual(self.sr_server.count_requests("token"), 2)
        # a token revoked by the SR: 401, one refresh, the page succeeds
        self.sr_server.token_ttl = 3600
        self.sr_server.faults.after_page[1] = lambda reg: self.sr_server.revoke_tokens()
        run = self.pull(self.individuals)
        self.assertEqual((run.state, run.distinct_fetched), ("done", 800))
        self.assertEqual(self.sr_server.count_requests("search", "401"), 1)
        self.assertEqual(self.sr_server.count_requests("token"), 4)
        # credentials refused: the page fails and says why
        self.individuals.client_secret = "wrong"
        dci_client._token_cache.clear()
        run = self.pull(self.individuals, "incremental")
        self.assertEqual(run.state, "failed")
        self.assertIn("refused the credentials (HTTP 401", run.page_ids.error_message)

    def test_graphql_dialect(self):
        connection = self._make_connection(
            "OpenG2P SR households",
            "group",
            GRAPHQL_GROUP_MAPPING,
            dialect="graphql",
            graphql_query="{ getRegistrants(limit: 5) { regIds { idTypeAsStr value } "
            "groupSize povertyScore region { code } active writeDate } }",
            last_updated_attribute="writeDate",
            page_size=30,
        )
        run = self.pull(connection)
        self.assertRecordValues(
            run,
            [
                {
                    "state": "done",
                    "pages_total": 9,
                    "distinct_fetched": 200,
                    "created": 200,
                }
            ],
        )
        self.assert_br_equals_sr("group")
        self.sr.update(7, kind="group")
        self.sr.deactivate(2, kind="group")
        run = self.pull(connection, "incremental")
        self.assertEqual((run.state, run.archived), ("done", 2))
        self.assert_br_equals_sr("group")

    def test_server_module_is_importable_alone(self):
        self.assertTrue(hasattr(dci_sr_server, "DciSrServer"))
