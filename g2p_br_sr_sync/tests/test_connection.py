# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from unittest import mock

from odoo import sql_db
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests.common import new_test_user, tagged

from .common import SrSyncCase


@tagged("post_install", "-at_install")
class TestConnection(SrSyncCase):
    registry_size = 200

    def test_credentials_required_by_auth_type(self):
        Connection = self.env["g2p.br.sr.connection"]
        base = {"name": "C", "base_url": "http://127.0.0.1:9"}
        cases = [
            ({"auth_type": "bearer"}, "bearer token"),
            (
                {"auth_type": "oauth2", "token_url": "/t", "client_id": "x"},
                "client secret",
            ),
            ({"auth_type": "oauth2", "client_secret": "s"}, "token URL, client ID"),
        ]
        for values, message in cases:
            with self.assertRaisesRegex(ValidationError, message):
                Connection.create({**base, **values})
        with self.assertRaisesRegex(ValidationError, "bearer token"):
            self.groups.auth_type = "bearer"
        Connection.create({**base, "auth_type": "bearer", "bearer_token": "t"})

    def test_query_and_mapping_constraints(self):
        with self.assertRaises(ValidationError):
            self.individuals.predicate_query = "[not json"
        with self.assertRaises(ValidationError):
            self.individuals.write({"dialect": "graphql", "graphql_query": "{ x }"})
        with self.assertRaisesRegex(ValidationError, "identifier type"):
            self.individuals.mapping_ids[0].copy(
                {"target_field": "identifier", "source_path": "uin"}
            )
        with self.assertRaisesRegex(ValidationError, "SR id"):
            self.individuals.mapping_ids.filtered(
                lambda m: m.target_field == "sex"
            ).target_field = "sr_id"
        with self.assertRaises(ValidationError):
            self.individuals.mapping_ids[0].source_path = "a[b"

    def test_secrets_readable_by_admins_only(self):
        self.individuals.sudo().write(
            {
                "auth_type": "oauth2",
                "token_url": "/oauth2/token",
                "client_id": "id",
                "client_secret": "s3cret",
            }
        )
        manager = new_test_user(
            self.env, "sr_mgr", groups="g2p_beneficiary_registry.group_br_manager"
        )
        admin = new_test_user(
            self.env, "sr_adm", groups="g2p_beneficiary_registry.group_br_admin"
        )
        as_manager = self.individuals.with_user(manager)
        self.assertEqual(as_manager.name, "SR individuals")  # may read the rest
        with self.assertRaises(AccessError):
            as_manager.read(["client_secret"])
        with self.assertRaises(AccessError):
            as_manager.write({"page_size": 10})
        self.assertEqual(self.individuals.with_user(admin).client_secret, "s3cret")
        copy = self.individuals.copy()
        self.assertEqual((copy.auth_type, copy.client_secret), ("none", False))
        self.assertEqual(len(copy.mapping_ids), len(self.individuals.mapping_ids))
        # managers read runs but cannot start one
        with self.assertRaises(AccessError):
            as_manager._start_run("full")

    def test_test_connection(self):
        action = self.individuals.action_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("160", action["params"]["message"])
        self.sr_server.faults.status_400 = 1
        with self.assertRaisesRegex(
            UserError, "search.*HTTP 400.*filter not supported"
        ):
            self.individuals.action_test_connection()
        self.individuals.write(
            {
                "auth_type": "oauth2",
                "token_url": "/oauth2/token",
                "client_id": "wrong",
                "client_secret": "wrong",
            }
        )
        with self.assertRaisesRegex(UserError, r"authentication.*refused.*401"):
            self.individuals.action_test_connection()
        self.individuals.write({"auth_type": "none", "base_url": "http://127.0.0.1:9"})
        with self.assertRaisesRegex(UserError, "connection failed"):
            self.individuals.action_test_connection()

    def test_start_refused_while_another_transaction_starts_one(self):
        demo = self.env.ref(
            "g2p_br_sr_sync.sr_connection_dci_demo", raise_if_not_found=False
        )
        if not demo:
            self.skipTest("needs the demo connection (committed, visible to others)")
        runs = len(demo.run_ids)
        other = sql_db.db_connect(self.env.cr.dbname).cursor()
        try:
            other.execute(
                "SELECT id FROM g2p_br_sr_connection WHERE id = %s FOR UPDATE",
                (demo.id,),
            )
            with self.assertRaisesRegex(UserError, "being started already"):
                demo._start_run("full")
        finally:
            other.rollback()
            other.close()
        demo.invalidate_recordset(["run_ids"])
        self.assertEqual(len(demo.run_ids), runs)

    def test_cron_only_enqueues_due_connections(self):
        self.individuals.write({"schedule_enabled": True, "next_run_at": False})
        Run = self.env["g2p.br.sr.pull.run"]
        with self.jobs() as trap:
            self.env["g2p.br.sr.connection"]._cron_enqueue_due_runs()
            self.assertEqual(trap.jobs_count(), 1)  # page 1, not performed yet
            trap.enqueued_jobs.clear()
        run = Run.search([("connection_id", "=", self.individuals.id)])
        self.assertEqual(
            (run.mode, run.state, run.fetched), ("incremental", "running", 0)
        )
        self.assertTrue(self.individuals.next_run_at)
        # not due any more, and a run is running anyway
        with self.jobs():
            self.env["g2p.br.sr.connection"]._cron_enqueue_due_runs()
        self.assertEqual(
            Run.search_count([("connection_id", "=", self.individuals.id)]), 1
        )

    def test_cron_resumes_stalled_runs(self):
        with self.jobs() as trap:
            run = self.individuals._start_run("full")
            trap.enqueued_jobs.clear()  # the worker died with the job
        stale = (
            "UPDATE g2p_br_sr_pull_run SET write_date = now() - interval '1 hour';"
            "UPDATE g2p_br_sr_pull_page SET write_date = now() - interval '1 hour'"
        )
        self.env.flush_all()
        self.env.cr.execute(stale)
        self.env.invalidate_all()
        Connection = self.env["g2p.br.sr.connection"]
        with self.jobs() as trap:
            Connection._cron_enqueue_due_runs()
            self.assertEqual(trap.jobs_count(), 2)  # the page, a progress job
        self.assertRecordValues(run, [{"state": "done", "distinct_fetched": 160}])
        # a page interrupted too often is given up: the run ends
        with self.jobs() as trap:
            run = self.individuals._start_run("incremental")
            trap.enqueued_jobs.clear()
        run.page_ids.retries = 3
        self.env.flush_all()
        self.env.cr.execute(stale)
        self.env.invalidate_all()
        with self.jobs() as trap:
            Connection._cron_enqueue_due_runs()
            self.assertEqual(trap.jobs_count(), 1)  # a progress job ends it
        self.assertEqual(run.state, "failed")
        self.assertIn("given up", run.page_ids.error_message)

    def test_reverify_eligibility_after_sync(self):
        program = self.env["g2p.br.program"].create(
            {"code": "SRSYNC", "name": "SR sync test", "target_type": "individual"}
        )
        self.individuals.write(
            {"program_ids": [(6, 0, program.ids)], "reverify_eligibility": True}
        )
        Program = type(self.env["g2p.br.program"])
        with mock.patch.object(Program, "verify_eligibility", autospec=True) as verify:
            run = self.pull(self.individuals)
        self.assertEqual(run.state, "done")
        verify.assert_called_once()
        self.assertEqual(len(verify.call_args.kwargs["beneficiary_ids"]), 160)
        # nothing changed: no second verification
        with mock.patch.object(Program, "verify_eligibility", autospec=True) as verify:
            self.pull(self.individuals, "incremental")
        verify.assert_not_called()
