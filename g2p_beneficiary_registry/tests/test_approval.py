# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import BeneficiaryRegistryCase


@tagged("post_install", "-at_install")
class TestFourEyes(BeneficiaryRegistryCase):
    def _cycle_generated_by(self, user, four_eyes):
        self.program_a.four_eyes = four_eyes
        self.program_a._enroll_eligible()
        cycle = self.create_cycle(self.program_a)
        cycle.with_user(user).action_generate_entitlements()
        self.assertEqual(cycle.generated_by_id, user)
        cycle.action_to_approve()
        return cycle

    def test_generator_cannot_approve_with_four_eyes(self):
        self.user_approver.groups_id += self.env.ref(
            "g2p_beneficiary_registry.group_br_manager"
        )
        cycle = self._cycle_generated_by(self.user_approver, four_eyes=True)
        with self.assertRaises(UserError):
            cycle.with_user(self.user_approver).action_approve_entitlements()
        ent = cycle.entitlement_ids[0]
        with self.assertRaises(UserError):
            ent.with_user(self.user_approver).action_approve()
        with self.assertRaises(UserError):
            ent.with_user(self.user_approver).action_reject()
        self.assertEqual(cycle.state, "to_approve")
        self.assertEqual(
            set(cycle.entitlement_ids.mapped("state")), {"pending_approval"}
        )
        # Another approver can.
        cycle.with_user(self.user_approver2).action_approve_entitlements()
        self.assertEqual(cycle.state, "approved")
        self.assertEqual(cycle.approved_by_id, self.user_approver2)
        self.assertEqual(set(cycle.entitlement_ids.mapped("state")), {"approved"})

    def test_four_eyes_after_another_user_regenerates(self):
        """A later generation by someone else does not let the first
        generator approve the entitlements they generated."""
        self.user_approver.groups_id += self.env.ref(
            "g2p_beneficiary_registry.group_br_manager"
        )
        self.program_a.four_eyes = True
        self.program_a._enroll_eligible()
        cycle = self.create_cycle(self.program_a)
        cycle.with_user(self.user_approver).action_generate_entitlements()
        self.create_beneficiary(region_code="ZZR1")
        self.program_a._enroll_eligible()
        cycle.with_user(self.user_manager).action_generate_entitlements()
        self.assertEqual(cycle.generated_by_id, self.user_manager)
        self.assertEqual(len(cycle.entitlement_ids), 3)
        cycle.action_to_approve()
        with self.assertRaises(UserError):
            cycle.with_user(self.user_approver).action_approve_entitlements()
        self.assertEqual(
            set(cycle.entitlement_ids.mapped("state")), {"pending_approval"}
        )
        cycle.with_user(self.user_approver2).action_approve_entitlements()
        self.assertEqual(set(cycle.entitlement_ids.mapped("state")), {"approved"})

    def test_generator_can_approve_without_four_eyes(self):
        self.user_approver.groups_id += self.env.ref(
            "g2p_beneficiary_registry.group_br_manager"
        )
        cycle = self._cycle_generated_by(self.user_approver, four_eyes=False)
        cycle.with_user(self.user_approver).action_approve_entitlements()
        self.assertEqual(cycle.state, "approved")
        self.assertEqual(set(cycle.entitlement_ids.mapped("state")), {"approved"})

    def test_admin_generator_with_four_eyes(self):
        cycle = self._cycle_generated_by(self.user_admin, four_eyes=True)
        with self.assertRaises(UserError):
            cycle.with_user(self.user_admin).action_approve_entitlements()
        cycle.with_user(self.user_approver).action_approve_entitlements()
        self.assertEqual(cycle.state, "approved")

    def test_approval_refused_for_non_approvers(self):
        cycle = self._cycle_generated_by(self.user_manager, four_eyes=False)
        for user in (self.user_manager, self.user_viewer, self.user_outsider):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                cycle.with_user(user).action_approve_entitlements()
        with self.assertRaises(AccessError):
            cycle.with_user(self.user_manager)._approve_entitlements()
        self.assertEqual(cycle.state, "to_approve")
        self.assertEqual(
            set(cycle.entitlement_ids.mapped("state")), {"pending_approval"}
        )

    def test_no_approval_through_write(self):
        """A manager cannot approve by writing the state (RPC write)."""
        cycle = self._cycle_generated_by(self.user_manager, four_eyes=False)
        ent = cycle.entitlement_ids[0].with_user(self.user_manager)
        for state in ("approved", "rejected"):
            with self.subTest(state=state), self.assertRaises(UserError):
                ent.write({"state": state})
        with self.assertRaises(UserError):
            cycle.with_user(self.user_manager).write({"state": "approved"})
        self.assertEqual(cycle.state, "to_approve")
        self.assertEqual(ent.state, "pending_approval")
        # Nor can an approver: approving is the Approve button's.
        with self.assertRaises(UserError):
            ent.with_user(self.user_approver).write({"state": "approved"})
        # Four eyes holds on the button.
        self.program_a.four_eyes = True
        self.user_manager.groups_id += self.env.ref(
            "g2p_beneficiary_registry.group_br_approver"
        )
        with self.assertRaises(UserError):
            ent.action_approve()
        with self.assertRaises(UserError):
            cycle.with_user(self.user_manager).action_approve_entitlements()
        ent.with_user(self.user_approver).action_approve()
        self.assertEqual(ent.state, "approved")

    def test_approved_amount_is_frozen(self):
        cycle = self._cycle_generated_by(self.user_manager, four_eyes=False)
        ent = cycle.entitlement_ids[0].with_user(self.user_manager)
        generated = ent.amount
        # Pending approval: the value the approver decides on is frozen already.
        with self.assertRaises(UserError):
            ent.amount = 120
        cycle.with_user(self.user_approver).action_approve_entitlements()
        for field in ("amount", "quantity"):
            with self.subTest(field=field), self.assertRaises(UserError):
                ent.write({field: 1000})
        self.assertEqual(ent.amount, generated)
        self.assertEqual(ent.remaining, generated)
