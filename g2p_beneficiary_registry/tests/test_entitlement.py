# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date

from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..utils import workflow
from .common import BeneficiaryRegistryCase

STATES = ("draft", "pending_approval", "approved", "rejected", "cancelled", "expired")
ALLOWED = {
    ("draft", "pending_approval"),
    ("draft", "cancelled"),
    ("pending_approval", "approved"),
    ("pending_approval", "rejected"),
    ("pending_approval", "cancelled"),
    ("approved", "cancelled"),
    ("approved", "expired"),
}


@tagged("post_install", "-at_install")
class TestEntitlement(BeneficiaryRegistryCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cycle = cls.generated_cycle(cls.program_a)
        cls.entitlement = cls.env["g2p.br.entitlement"].search(
            [("cycle_id", "=", cls.cycle.id), ("beneficiary_id", "=", cls.ind1.id)]
        )

    def test_generated_values(self):
        ent = self.entitlement
        self.assertEqual(ent.state, "draft")
        self.assertEqual(ent.program_id, self.program_a)
        self.assertEqual(ent.benefit_kind, "cash")
        self.assertEqual(ent.amount, 100.0)
        self.assertEqual(ent.currency_id, self.program_a.currency_id)
        self.assertEqual(ent.valid_from, self.cycle.start_date)
        self.assertEqual(ent.valid_until, self.cycle.end_date)
        self.assertEqual(ent.disbursed_total, 0.0)
        self.assertEqual(ent.remaining, 100.0)
        self.assertEqual(ent.disbursement_status, "not_started")

    def test_value_frozen_once_submitted(self):
        ent = self.entitlement
        ent.amount = 120
        self.assertEqual(ent.remaining, 120.0)
        ent.action_submit()
        # The approver decides on the submitted value: nobody edits it then.
        for user in (self.user_approver, self.user_manager):
            with self.assertRaises(UserError):
                ent.with_user(user).amount = 5000
        self.assertEqual(ent.amount, 120.0)

    def test_only_enrolled_members(self):
        membership = self.membership_of(self.program_a, self.ind2)
        membership.action_pause()
        cycle = self.create_cycle(
            self.program_a, start=date(2027, 1, 1), end=date(2027, 1, 31)
        )
        cycle.action_generate_entitlements()
        self.assertEqual(cycle.entitlement_ids.beneficiary_id, self.ind1)
        # Manual creation follows the same rule.
        with self.assertRaises(UserError):
            self.env["g2p.br.entitlement"].create(
                {"cycle_id": cycle.id, "beneficiary_id": self.ind2.id, "amount": 5}
            )
        with self.assertRaises(UserError):
            self.env["g2p.br.entitlement"].create(
                {"cycle_id": cycle.id, "beneficiary_id": self.ind3.id, "amount": 5}
            )

    def test_manual_creation(self):
        self.membership_of(self.program_a, self.ind1)
        cycle = self.create_cycle(
            self.program_a, start=date(2027, 1, 1), end=date(2027, 1, 31)
        )
        values = {"cycle_id": cycle.id, "beneficiary_id": self.ind1.id, "amount": 42}
        # the state is the workflow's, from the first write on
        with self.assertRaises(UserError):
            self.env["g2p.br.entitlement"].create(dict(values, state="approved"))
        ent = self.env["g2p.br.entitlement"].create(values)
        self.assertEqual(ent.state, "draft")
        self.assertEqual(ent.remaining, 42)
        self.assertEqual(ent.valid_until, date(2027, 1, 31))
        ent.amount = 40
        self.assertEqual(ent.remaining, 40)

    def test_unique_per_beneficiary_and_cycle(self):
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.env["g2p.br.entitlement"].create(
                {"cycle_id": self.cycle.id, "beneficiary_id": self.ind1.id, "amount": 1}
            )
            self.env.flush_all()

    def test_submit_approve_reject_cancel(self):
        ent1, ent2 = self.cycle.entitlement_ids
        (ent1 | ent2).action_submit()
        self.assertEqual(set((ent1 | ent2).mapped("state")), {"pending_approval"})
        ent1.with_user(self.user_approver).action_approve()
        self.assertEqual(ent1.state, "approved")
        self.assertEqual(ent1.approved_by_id, self.user_approver)
        self.assertTrue(ent1.approved_at)
        with self.assertRaises(UserError):
            ent2.with_user(self.user_approver).action_reject()
        ent2.with_user(self.user_approver).action_reject("Duplicate registration")
        self.assertEqual(ent2.state, "rejected")
        self.assertEqual(ent2.rejection_reason, "Duplicate registration")
        ent1.action_cancel()
        self.assertEqual(ent1.state, "cancelled")

    def test_cancel_from_draft_and_pending(self):
        ent1, ent2 = self.cycle.entitlement_ids
        ent1.action_cancel()
        self.assertEqual(ent1.state, "cancelled")
        ent2.action_submit()
        ent2.action_cancel()
        self.assertEqual(ent2.state, "cancelled")

    def test_approve_draft_refused(self):
        with self.assertRaises(UserError):
            self.entitlement.action_approve()
        self.assertEqual(self.entitlement.state, "draft")

    def test_cancel_refused_with_disbursement(self):
        self.entitlement.action_submit()
        self.entitlement.action_approve()
        self.env["g2p.br.disbursement"].create(
            {"entitlement_id": self.entitlement.id, "reference": "D1", "amount": 10}
        )
        with self.assertRaises(UserError):
            self.entitlement.action_cancel()

    def test_transition_matrix(self):
        self.assert_transition_matrix(
            self.entitlement,
            STATES,
            ALLOWED,
            lambda ent, new: workflow(ent).write({"state": new}),
        )

    def test_non_approver_cannot_approve(self):
        self.cycle.action_to_approve()
        for user in (self.user_manager, self.user_viewer):
            with self.subTest(user=user.login):
                with self.assertRaises(AccessError):
                    self.entitlement.with_user(user).action_approve()
                with self.assertRaises(AccessError):
                    self.entitlement.with_user(user).action_reject()
                with self.assertRaises(AccessError):
                    self.cycle.with_user(user).action_approve_entitlements()
        self.assertEqual(self.entitlement.state, "pending_approval")

    # ------------------------------------------------------------------
    # Expiry
    # ------------------------------------------------------------------
    def test_cron_expire(self):
        # what is in the database already (demo data) expires first
        self.env["g2p.br.entitlement"]._cron_expire_entitlements()
        program = self.create_program(
            eligibility_domain="[('region_code', '=', 'ZZR1')]", base_amount=10
        )
        past = self.approved_cycle(
            program, start=date(2020, 1, 1), end=date(2020, 1, 31)
        )
        current = self.approved_cycle(
            program, start=date(2020, 2, 1), end=date(2099, 1, 1)
        )
        draft = self.generated_cycle(
            program, start=date(2019, 1, 1), end=date(2019, 1, 31)
        )
        e_inflight = self.entitlement_of(past, self.ind2)
        e_open = self.entitlement_of(past, self.ind1)
        # A disbursement in flight keeps a past entitlement from expiring.
        self.env["g2p.br.disbursement"].create(
            {"entitlement_id": e_inflight.id, "reference": "INFLIGHT", "amount": 5}
        )
        Entitlement = self.env["g2p.br.entitlement"]
        self.assertEqual(Entitlement._cron_expire_entitlements(), 1)
        self.assertEqual(e_open.state, "expired")
        self.assertEqual(e_inflight.state, "approved")
        self.assertEqual(set(current.entitlement_ids.mapped("state")), {"approved"})
        self.assertEqual(set(draft.entitlement_ids.mapped("state")), {"draft"})
        # Idempotent.
        self.assertEqual(Entitlement._cron_expire_entitlements(), 0)
        # Once the in-flight disbursement is paid in full it never expires.
        e_inflight.disbursement_ids.action_mark_paid()
        self.env["g2p.br.disbursement"].create(
            {"entitlement_id": e_inflight.id, "reference": "REST", "amount": 5}
        ).action_mark_paid()
        self.assertEqual(e_inflight.disbursement_status, "fully_disbursed")
        self.assertEqual(Entitlement._cron_expire_entitlements(), 0)
        self.assertEqual(e_inflight.state, "approved")
        # The cron job record calls the method.
        cron = self.env.ref("g2p_beneficiary_registry.cron_expire_entitlements")
        self.assertEqual(cron.numbercall, -1)
        # Expired entitlements count in the totals.
        self.assertEqual(program.get_totals()["entitled"], 10 * 4)

    # ------------------------------------------------------------------
    # In-kind
    # ------------------------------------------------------------------
    def test_in_kind(self):
        program = self.create_program(
            target_type="group",
            benefit_kind="in_kind",
            item_id=self.item_rice.id,
            base_amount=5,
            amount_per_member=2.5,
            max_amount=12,
        )
        cycle = self.approved_cycle(program)
        ent = self.entitlement_of(cycle, self.hh1)
        self.assertEqual(ent.benefit_kind, "in_kind")
        self.assertEqual(ent.quantity, 12.0)  # 5 + 2.5 x 4 capped at 12
        self.assertEqual(ent.amount, 0.0)
        self.assertEqual(ent.item_id, self.item_rice)
        self.assertEqual(ent.unit, "kg")
        self.assertEqual(ent.remaining, 12.0)
        self.assertEqual(self.entitlement_of(cycle, self.hh2).quantity, 10.0)
        cycle.action_create_disbursements()
        disbursement = ent.disbursement_ids
        self.assertEqual(disbursement.quantity, 12.0)
        self.assertEqual(disbursement.amount, 0.0)
        # a cash channel makes no sense for goods: in-kind delivery instead
        self.assertEqual(program.default_channel, "bank_transfer")
        self.assertEqual(disbursement.channel, "in_kind")
        disbursement.action_mark_paid()
        self.assertEqual(ent.disbursed_total, 12.0)
        self.assertEqual(ent.remaining, 0.0)
        self.assertEqual(ent.disbursement_status, "fully_disbursed")
        ent2 = self.entitlement_of(cycle, self.hh2)
        ent2.disbursement_ids._set_status("failed", failure_reason="Not collected")
        manual = self.env["g2p.br.disbursement"].create(
            {"entitlement_id": ent2.id, "reference": "RICE-1", "quantity": 4}
        )
        self.assertEqual(manual.channel, "in_kind")
        with self.assertRaises(ValidationError):
            self.env["g2p.br.disbursement"].create(
                {"entitlement_id": ent2.id, "reference": "RICE-2", "quantity": 6.5}
            )
        manual.action_mark_paid()
        self.assertEqual((ent2.disbursed_total, ent2.remaining), (4.0, 6.0))
        self.assertEqual(ent2.disbursement_status, "partially_disbursed")
        totals = program.get_totals()
        self.assertEqual(totals["entitled"], 22.0)
        self.assertEqual(totals["disbursed"], 16.0)
