# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from ..utils import workflow
from .common import BeneficiaryRegistryCase

STATES = ("draft", "to_approve", "approved", "distributed", "ended", "cancelled")
ALLOWED = {
    ("draft", "to_approve"),
    ("draft", "cancelled"),
    ("to_approve", "approved"),
    ("to_approve", "draft"),
    ("to_approve", "cancelled"),
    ("approved", "distributed"),
    ("approved", "cancelled"),
    ("distributed", "ended"),
}


@tagged("post_install", "-at_install")
class TestCycle(BeneficiaryRegistryCase):
    def test_full_flow(self):
        cycle = self.generated_cycle(self.program_a)
        self.assertEqual(cycle.state, "draft")
        self.assertEqual(len(cycle.entitlement_ids), 2)
        self.assertEqual(set(cycle.entitlement_ids.mapped("state")), {"draft"})
        self.assertEqual(cycle.generated_by_id, self.env.user)

        self.assertEqual(cycle.action_to_approve(), 2)
        self.assertEqual(cycle.state, "to_approve")
        self.assertEqual(
            set(cycle.entitlement_ids.mapped("state")), {"pending_approval"}
        )

        cycle.with_user(self.user_approver).action_approve_entitlements()
        self.assertEqual(cycle.state, "approved")
        self.assertEqual(cycle.approved_by_id, self.user_approver)
        self.assertTrue(cycle.approved_at)
        self.assertEqual(set(cycle.entitlement_ids.mapped("state")), {"approved"})
        self.assertEqual(cycle.entitlement_ids.approved_by_id, self.user_approver)

        cycle.action_create_disbursements()
        self.assertEqual(len(cycle.entitlement_ids.disbursement_ids), 2)
        cycle.action_mark_distributed()
        self.assertEqual(cycle.state, "distributed")
        cycle.action_end()
        self.assertEqual(cycle.state, "ended")

    def test_to_approve_needs_entitlements(self):
        cycle = self.create_cycle(self.program_a)
        with self.assertRaises(UserError):
            cycle.action_to_approve()
        self.assertEqual(cycle.state, "draft")

    def test_actions_need_the_right_state(self):
        cycle = self.generated_cycle(self.program_a)
        with self.assertRaises(UserError):
            cycle.action_approve_entitlements()  # draft
        with self.assertRaises(UserError):
            cycle.action_create_disbursements()  # draft
        cycle.action_to_approve()
        with self.assertRaises(UserError):
            cycle.action_generate_entitlements()  # to_approve
        with self.assertRaises(UserError):
            cycle.action_to_approve()
        with self.assertRaises(UserError):
            cycle.action_create_disbursements()  # to_approve
        with self.assertRaises(UserError):
            cycle.action_mark_distributed()  # to_approve -> distributed

    def test_generate_needs_active_program(self):
        cycle = self.create_cycle(self.program_a)
        self.program_a.action_end()
        with self.assertRaises(UserError):
            cycle.action_generate_entitlements()

    def test_transition_matrix(self):
        self.assert_transition_matrix(
            self.create_cycle(self.program_a),
            STATES,
            ALLOWED,
            lambda cycle, new: workflow(cycle).write({"state": new}),
        )

    def test_cancel_cancels_entitlements(self):
        for steps in (0, 1, 2):
            with self.subTest(steps=steps):
                program = self.create_program(
                    eligibility_domain="[('region_code', '=', 'ZZR1')]", base_amount=10
                )
                cycle = self.generated_cycle(program)
                if steps >= 1:
                    cycle.action_to_approve()
                if steps >= 2:
                    cycle.action_approve_entitlements()
                cycle.action_cancel()
                self.assertEqual(cycle.state, "cancelled")
                self.assertEqual(
                    set(cycle.entitlement_ids.mapped("state")), {"cancelled"}
                )

    def test_cancel_refused_with_disbursements(self):
        cycle = self.approved_cycle(self.program_a)
        cycle.action_create_disbursements()
        with self.assertRaises(UserError):
            cycle.action_cancel()
        self.assertEqual(cycle.state, "approved")
        # Failed disbursements do not block the cancellation.
        cycle.entitlement_ids.disbursement_ids._set_status(
            "failed", failure_reason="No account"
        )
        cycle.action_cancel()
        self.assertEqual(cycle.state, "cancelled")

    def test_cancel_refused_when_distributed_or_ended(self):
        cycle = self.approved_cycle(self.program_a)
        cycle.action_mark_distributed()
        with self.assertRaises(UserError):
            cycle.action_cancel()
        cycle.action_end()
        with self.assertRaises(UserError):
            cycle.action_cancel()

    def test_dates(self):
        self.create_cycle(self.program_a, start=date(2027, 1, 1), end=date(2027, 1, 31))
        with self.assertRaises(ValidationError):
            self.create_cycle(
                self.program_a, start=date(2027, 2, 10), end=date(2027, 2, 1)
            )
        for start, end in (
            (date(2027, 1, 31), date(2027, 2, 28)),
            (date(2026, 12, 15), date(2027, 1, 1)),
            (date(2027, 1, 10), date(2027, 1, 12)),
            (date(2026, 12, 1), date(2027, 3, 1)),
        ):
            with self.subTest(start=start, end=end), self.assertRaises(ValidationError):
                self.create_cycle(self.program_a, start=start, end=end)
        # Adjacent cycles, other programs and cancelled cycles do not overlap.
        self.create_cycle(self.program_a, start=date(2027, 2, 1), end=date(2027, 2, 28))
        self.create_cycle(self.program_b, start=date(2027, 1, 1), end=date(2027, 1, 31))
        cancelled = self.create_cycle(
            self.program_a, start=date(2027, 3, 1), end=date(2027, 3, 31)
        )
        cancelled.action_cancel()
        self.create_cycle(self.program_a, start=date(2027, 3, 1), end=date(2027, 3, 31))
