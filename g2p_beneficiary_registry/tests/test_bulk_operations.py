# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import datetime

from odoo.exceptions import UserError
from odoo.tests import tagged

from odoo.addons.queue_job.job import Job
from odoo.addons.queue_job.tests.common import trap_jobs

from ..utils import workflow
from .common import BeneficiaryRegistryCase

THRESHOLD = "g2p_beneficiary_registry.bulk_async_threshold"
OLD = datetime(2000, 1, 1)


class BulkCase(BeneficiaryRegistryCase):
    def freeze_write_date(self, records):
        """Set an old write_date on ``records`` so that any later write shows."""
        records.flush_recordset()
        self.env.cr.execute(
            f'UPDATE "{records._table}" SET write_date = %s WHERE id IN %s',
            (OLD, tuple(records.ids)),
        )
        records.invalidate_recordset(["write_date"])

    def assertUntouched(self, records):
        records.invalidate_recordset()
        self.assertEqual(set(records.mapped("write_date")), {OLD})

    def snapshot(self, records):
        return sorted(
            (r.beneficiary_id.id, r.state if "state" in r else r.status)
            for r in records
        )

    def messages(self, record, text):
        return record.message_ids.filtered(lambda m: text in (m.body or ""))


@tagged("post_install", "-at_install")
class TestBulkOperations(BulkCase):
    def test_enroll_eligible(self):
        Membership = self.env["g2p.br.program.membership"]
        draft_ok = Membership.create(
            {"program_id": self.program_a.id, "beneficiary_id": self.ind1.id}
        )
        draft_ko = Membership.create(
            {"program_id": self.program_a.id, "beneficiary_id": self.ind3.id}
        )
        summary = self.program_a.action_enroll_eligible()
        self.assertEqual(
            summary, {"created": 1, "enrolled_from_draft": 1, "draft_not_eligible": 1}
        )
        self.assertEqual(draft_ok.state, "enrolled")
        self.assertTrue(draft_ok.enrollment_date)
        self.assertEqual(draft_ko.state, "not_eligible")
        new = self.membership_of(self.program_a, self.ind2)
        self.assertEqual(new.state, "enrolled")
        self.assertTrue(new.enrollment_date)
        self.assertEqual(new.company_id, self.program_a.company_id)
        self.assertTrue(self.messages(self.program_a, "Enroll eligible"))
        # Second run: nothing changes.
        memberships = self.program_a.membership_ids
        self.freeze_write_date(memberships)
        summary = self.program_a.action_enroll_eligible()
        self.assertEqual(
            summary, {"created": 0, "enrolled_from_draft": 0, "draft_not_eligible": 0}
        )
        self.assertEqual(self.program_a.membership_ids, memberships)
        self.assertUntouched(memberships)

    def test_enroll_eligible_leaves_exited_and_paused(self):
        self.program_a._enroll_eligible()
        m1 = self.membership_of(self.program_a, self.ind1)
        m2 = self.membership_of(self.program_a, self.ind2)
        m1.action_exit(reason="Left")
        m2.action_pause()
        self.program_a._enroll_eligible()
        self.assertEqual((m1.state, m2.state), ("exited", "paused"))

    def test_verify_eligibility(self):
        self.program_a._enroll_eligible()
        m1 = self.membership_of(self.program_a, self.ind1)
        m2 = self.membership_of(self.program_a, self.ind2)
        (self.ind1 | self.ind2).write({"region_code": "R9"})
        # Only the given beneficiaries are re-checked.
        summary = self.program_a.verify_eligibility(beneficiary_ids=self.ind1.ids)
        self.assertEqual(summary, {"not_eligible": 1, "enrolled": 0})
        self.assertEqual((m1.state, m2.state), ("not_eligible", "enrolled"))
        self.assertEqual(
            self.program_a.verify_eligibility(beneficiary_ids=[]),
            {"not_eligible": 0, "enrolled": 0},
        )
        self.assertEqual(m2.state, "enrolled")
        summary = self.program_a.action_verify_eligibility()
        self.assertEqual(summary, {"not_eligible": 1, "enrolled": 0})
        self.assertEqual(m2.state, "not_eligible")
        self.assertTrue(self.messages(self.program_a, "Eligibility verified"))
        # Eligible again.
        self.ind1.region_code = "ZZR1"
        summary = self.program_a.verify_eligibility(
            beneficiary_ids=(self.ind1 | self.ind2).ids
        )
        self.assertEqual(summary, {"not_eligible": 0, "enrolled": 1})
        self.assertEqual((m1.state, m2.state), ("enrolled", "not_eligible"))
        # Archiving makes a member not eligible.
        self.ind1.active = False
        self.program_a.verify_eligibility()
        self.assertEqual(m1.state, "not_eligible")
        self.ind1.active = True
        # Second run: nothing changes.
        self.program_a.verify_eligibility()
        self.freeze_write_date(m1 | m2)
        self.assertEqual(
            self.program_a.verify_eligibility(), {"not_eligible": 0, "enrolled": 0}
        )
        self.assertUntouched(m1 | m2)

    def test_verify_eligibility_ignores_paused_exited_draft(self):
        self.program_a._enroll_eligible()
        m1 = self.membership_of(self.program_a, self.ind1)
        m2 = self.membership_of(self.program_a, self.ind2)
        m1.action_pause()
        m2.action_exit(reason="Left")
        draft = self.env["g2p.br.program.membership"].create(
            {"program_id": self.program_a.id, "beneficiary_id": self.ind3.id}
        )
        (self.ind1 | self.ind2).write({"region_code": "R9"})
        self.program_a.verify_eligibility()
        self.assertEqual(
            (m1.state, m2.state, draft.state), ("paused", "exited", "draft")
        )

    def test_generate_entitlements(self):
        cycle = self.generated_cycle(self.program_a)
        entitlements = cycle.entitlement_ids
        self.assertEqual(len(entitlements), 2)
        self.assertTrue(self.messages(cycle, "Entitlements generated"))
        self.freeze_write_date(entitlements)
        self.assertEqual(cycle.action_generate_entitlements(), {"created": 0})
        cycle.invalidate_recordset()
        self.assertEqual(cycle.entitlement_ids, entitlements)
        self.assertUntouched(entitlements)
        # A member enrolled later gets an entitlement, the others are kept.
        late = self.create_beneficiary(region_code="ZZR1")
        self.program_a._enroll_eligible()
        self.assertEqual(cycle.action_generate_entitlements(), {"created": 1})
        self.assertUntouched(entitlements)
        self.assertEqual(self.entitlement_of(cycle, late).amount, 100.0)

    def test_to_approve_and_approve(self):
        cycle = self.generated_cycle(self.program_a)
        cycle.action_to_approve()
        entitlements = cycle.entitlement_ids
        self.assertTrue(self.messages(cycle, "sent for approval"))
        with self.assertRaises(UserError):
            cycle.action_to_approve()
        self.assertEqual(cycle.action_approve_entitlements(), {"approved": 2})
        self.assertTrue(self.messages(cycle, "entitlements approved"))
        self.freeze_write_date(entitlements)
        self.freeze_write_date(cycle)
        approved_at = cycle.approved_at
        with self.assertRaises(UserError):
            cycle.action_approve_entitlements()
        # The job run again (e.g. a retried queue job) changes nothing.
        self.assertEqual(
            cycle.with_user(self.user_approver)._approve_entitlements(), {"approved": 0}
        )
        self.assertUntouched(entitlements)
        self.assertUntouched(cycle)
        self.assertEqual(cycle.approved_by_id, self.env.user)
        self.assertEqual(cycle.approved_at, approved_at)
        self.assertEqual(set(entitlements.mapped("state")), {"approved"})

    def test_create_disbursements(self):
        cycle = self.approved_cycle(self.program_a)
        entitlements = cycle.entitlement_ids
        self.assertEqual(cycle.action_create_disbursements(), {"created": 2})
        disbursements = entitlements.disbursement_ids
        self.assertTrue(self.messages(cycle, "disbursements created"))
        self.assertEqual(len(disbursements), 2)
        self.assertEqual(set(disbursements.mapped("status")), {"pending"})
        self.assertEqual(set(disbursements.mapped("amount")), {100.0})
        self.assertEqual(set(disbursements.mapped("channel")), {"bank_transfer"})
        self.assertTrue(all(d.pending_at and d.reference for d in disbursements))
        self.assertEqual(
            set(entitlements.mapped("disbursement_status")), {"in_progress"}
        )
        self.freeze_write_date(disbursements)
        self.freeze_write_date(entitlements)
        self.assertEqual(cycle.action_create_disbursements(), {"created": 0})
        self.assertEqual(entitlements.disbursement_ids, disbursements)
        self.assertUntouched(disbursements)
        self.assertUntouched(entitlements)
        # After a failure, a new disbursement of the remainder is created.
        failed = disbursements[0]
        failed._set_status("failed", failure_reason="Wrong account")
        disbursements[1].action_mark_paid()
        self.assertEqual(cycle.action_create_disbursements(), {"created": 1})
        retry = failed.entitlement_id.disbursement_ids - failed
        self.assertEqual((retry.status, retry.amount), ("pending", 100.0))
        self.assertNotEqual(retry.reference, failed.reference)
        self.assertEqual(cycle.action_create_disbursements(), {"created": 0})
        # Distributed cycles can still create disbursements.
        cycle.action_mark_distributed()
        retry._set_status("failed", failure_reason="Again")
        self.assertEqual(cycle.action_create_disbursements(), {"created": 1})


@tagged("post_install", "-at_install")
class TestBulkAsync(BulkCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].set_param(THRESHOLD, "1")

    def test_enroll_eligible_as_job(self):
        program = self.program_a.with_user(self.user_manager)
        with trap_jobs() as trap:
            program.action_enroll_eligible()
            trap.assert_jobs_count(1)
            trap.assert_enqueued_job(program._run_bulk_job, args=("_enroll_eligible",))
            # the channel is the job function's (data/queue_job_data.xml)
            self.assertEqual(trap.enqueued_jobs[0].channel, "root.g2p_br")
            self.assertTrue(program.is_busy)
            self.assertFalse(program.membership_ids)
            self.assertTrue(self.messages(program, "queued as a background job"))
            with self.assertRaises(UserError):
                program.action_enroll_eligible()
            with self.assertRaises(UserError):
                program.action_verify_eligibility()
            trap.assert_jobs_count(1)
            trap.perform_enqueued_jobs()
        self.assertFalse(program.is_busy)
        # Same result as inline.
        inline = self.create_program(
            eligibility_domain=self.program_a.eligibility_domain
        )
        self.env["ir.config_parameter"].set_param(THRESHOLD, "100")
        inline.action_enroll_eligible()
        self.assertEqual(
            self.snapshot(program.membership_ids), self.snapshot(inline.membership_ids)
        )
        self.assertEqual(len(program.membership_ids), 2)

    def test_cycle_operations_as_jobs(self):
        self.program_a._enroll_eligible()
        cycle = self.create_cycle(self.program_a).with_user(self.user_manager)
        for action, user, expected_state in (
            ("action_generate_entitlements", self.user_manager, "draft"),
            ("action_approve_entitlements", self.user_approver, "approved"),
            ("action_create_disbursements", self.user_manager, "approved"),
        ):
            if action == "action_approve_entitlements":
                cycle.action_to_approve()
            cycle = cycle.with_user(user)
            with self.subTest(action=action), trap_jobs() as trap:
                getattr(cycle, action)()
                trap.assert_jobs_count(1)
                self.assertTrue(cycle.is_busy)
                with self.assertRaises(UserError):
                    getattr(cycle, action)()
                trap.perform_enqueued_jobs()
                self.assertFalse(cycle.is_busy)
                self.assertEqual(cycle.state, expected_state)
        entitlements = cycle.entitlement_ids
        self.assertEqual(len(entitlements), 2)
        self.assertEqual(set(entitlements.mapped("state")), {"approved"})
        self.assertEqual(len(entitlements.disbursement_ids), 2)

    def test_stored_job(self):
        """Without trap: the job is stored, linked, and the record is busy
        until the job is done."""
        program = self.program_a.with_user(self.user_manager)
        job = program.action_enroll_eligible()
        self.assertEqual(program.busy_job_id, job.db_record())
        self.assertEqual(program.busy_job_id.channel, "root.g2p_br")
        self.assertTrue(program.is_busy)
        with self.assertRaises(UserError):
            program.action_enroll_eligible()
        # The busy marker is the runner's, not the user's.
        with self.assertRaises(UserError):
            program.busy_job_id = False
        # An identical job queued again returns the existing queue.job record.
        workflow(program).write({"busy_job_id": False})
        self.assertFalse(program.is_busy)
        again = program.action_enroll_eligible()
        self.assertEqual(again, job.db_record())
        self.assertEqual(program.busy_job_id, job.db_record())
        loaded = Job.load(self.env, job.uuid)
        loaded.perform()
        loaded.set_done()
        loaded.store()
        program.invalidate_recordset()
        self.assertFalse(program.is_busy)
        self.assertEqual(len(program.membership_ids), 2)

    def test_no_delay_runs_inline(self):
        program = self.program_a.with_context(queue_job__no_delay=True)
        summary = program.action_enroll_eligible()
        self.assertEqual(summary["created"], 2)
        self.assertFalse(program.is_busy)
