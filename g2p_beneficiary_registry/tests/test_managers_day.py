# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Issue #13, the program managers' day: lifecycle with reasons, decisions
with reasons, approvers' work queue, failures in sight, forms that cannot
dead-end, eligibility explained."""

from lxml import etree

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged

from .common import BeneficiaryRegistryCase

REF = "g2p_beneficiary_registry.%s"


@tagged("post_install", "-at_install")
class TestMembershipLifecycle(BeneficiaryRegistryCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.program_a._enroll_eligible()
        cls.m1 = cls.env["g2p.br.program.membership"].search(
            [
                ("program_id", "=", cls.program_a.id),
                ("beneficiary_id", "=", cls.ind1.id),
            ]
        )
        cls.m2 = cls.env["g2p.br.program.membership"].search(
            [
                ("program_id", "=", cls.program_a.id),
                ("beneficiary_id", "=", cls.ind2.id),
            ]
        )

    def _wizard(self, memberships, **vals):
        Wizard = (
            self.env["g2p.br.membership.lifecycle.wizard"]
            .with_user(self.user_manager)
            .with_context(
                active_model="g2p.br.program.membership", active_ids=memberships.ids
            )
        )
        return Wizard.create(vals)

    def test_exit_reasons_list(self):
        codes = set(self.env["g2p.br.exit.reason"].search([]).mapped("code"))
        self.assertLessEqual(
            {"graduated", "deceased", "moved", "non_compliance", "other"}, codes
        )

    def test_pause_resume_exit_selection_with_reason_and_note(self):
        members = self.m1 | self.m2
        wizard = self._wizard(members, action="pause", note="Harvest season")
        self.assertEqual(wizard.applicable_count, 2)
        wizard.action_confirm()
        self.assertEqual(set(members.mapped("state")), {"paused"})
        self.assertIn("Harvest season", self.m1.message_ids.mapped("body")[0])
        self._wizard(self.m1, action="resume").action_confirm()
        self.assertEqual(self.m1.state, "enrolled")
        graduated = self.env.ref(REF % "exit_reason_graduated")
        wizard = self._wizard(
            members, action="exit", exit_reason_id=graduated.id, note="Found a job"
        )
        self.assertEqual(wizard.applicable_count, 2)
        wizard.action_confirm()
        self.assertEqual(set(members.mapped("state")), {"exited"})
        self.assertEqual(members.exit_reason_id, graduated)
        self.assertEqual(self.m1.exit_reason, "Graduated: Found a job")
        self.assertTrue(self.m1.exit_date)

    def test_exit_reason_only_through_exit(self):
        graduated = self.env.ref(REF % "exit_reason_graduated")
        with self.assertRaises(UserError):
            self.m1.with_user(self.user_manager).write({"exit_reason_id": graduated.id})

    def test_exit_other_needs_a_note_and_a_reason(self):
        other = self.env.ref(REF % "exit_reason_other")
        with self.assertRaises(UserError):
            self._wizard(
                self.m1, action="exit", exit_reason_id=other.id
            ).action_confirm()
        with self.assertRaises(UserError):
            self._wizard(self.m1, action="exit").action_confirm()
        self.assertEqual(self.m1.state, "enrolled")

    def test_selection_with_other_states_is_announced(self):
        self.m2.action_pause()
        wizard = self._wizard(self.m1 | self.m2, action="resume")
        self.assertEqual(wizard.applicable_count, 1)
        self.assertEqual(wizard.skipped_count, 1)
        self.assertIn("another state", wizard.message)

    def test_history_on_the_form(self):
        # tracking (the fixtures disable it: enable it here)
        membership = self.m1.with_context(tracking_disable=False, mail_notrack=False)
        membership.action_pause()
        self.env.flush_all()
        self.env.cr.precommit.run()
        tracked = membership.message_ids.tracking_value_ids
        self.assertTrue(tracked.filtered(lambda t: t.field_id.name == "state"))
        arch = self.env["g2p.br.program.membership"].get_view(
            self.env.ref(REF % "program_membership_view_form").id
        )["arch"]
        self.assertIn('name="message_ids"', arch)

    def test_counts_per_state_on_program(self):
        self.m2.action_pause()
        program = self.program_a
        program.invalidate_recordset()
        self.assertEqual(program.members_paused_count, 1)
        self.assertEqual(program.member_count, 1)
        self.assertEqual(program.members_exited_count, 0)
        self.assertEqual(program.members_not_eligible_count, 0)

    def test_form_buttons_open_the_wizard(self):
        arch = etree.fromstring(
            self.env["g2p.br.program.membership"].get_view(
                self.env.ref(REF % "program_membership_view_form").id
            )["arch"]
        )
        action_id = str(self.env.ref(REF % "membership_lifecycle_wizard_action").id)
        names = {b.get("string"): b.get("name") for b in arch.iter("button")}
        for label in ("Pause", "Resume", "Exit"):
            self.assertEqual(names[label], action_id)


@tagged("post_install", "-at_install")
class TestDecisionsWithReasons(BeneficiaryRegistryCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cycle = cls.generated_cycle(cls.program_a)
        cls.cycle.action_to_approve()

    def test_reject_selection_needs_a_reason(self):
        ent = self.cycle.entitlement_ids[0]
        Wizard = self.env["g2p.br.entitlement.reason.wizard"].with_user(
            self.user_approver
        )
        wizard = Wizard.with_context(
            active_model="g2p.br.entitlement", active_ids=ent.ids
        ).create({"decision": "reject", "reason": "Duplicate household"})
        self.assertEqual(wizard.applicable_count, 1)
        wizard.action_confirm()
        self.assertEqual(ent.state, "rejected")
        self.assertEqual(ent.rejection_reason, "Duplicate household")
        with self.assertRaises(UserError):
            self.cycle.entitlement_ids[1].with_user(self.user_approver).action_reject(
                ""
            )

    def test_reject_cycle_with_reason(self):
        wizard = (
            self.env["g2p.br.bulk.confirm.wizard"]
            .with_user(self.user_approver)
            .create(
                {"operation": "cycle_reject_entitlements", "cycle_id": self.cycle.id}
            )
        )
        self.assertEqual(wizard.record_count, 2)
        self.assertTrue(wizard.reason_required)
        with self.assertRaises(UserError):
            wizard.action_confirm()
        wizard.reason = "Amounts are wrong"
        wizard.action_confirm()
        self.assertEqual(set(self.cycle.entitlement_ids.mapped("state")), {"rejected"})
        self.assertEqual(
            set(self.cycle.entitlement_ids.mapped("rejection_reason")),
            {"Amounts are wrong"},
        )
        self.assertEqual(self.cycle.state, "draft")

    def test_cancel_cycle_needs_a_reason(self):
        wizard = (
            self.env["g2p.br.bulk.confirm.wizard"]
            .with_user(self.user_manager)
            .create({"operation": "cycle_cancel", "cycle_id": self.cycle.id})
        )
        with self.assertRaises(UserError):
            wizard.action_confirm()
        wizard.reason = "Budget withdrawn"
        wizard.action_confirm()
        self.assertEqual(self.cycle.state, "cancelled")
        self.assertIn(
            "Budget withdrawn", " ".join(self.cycle.message_ids.mapped("body"))
        )

    def test_no_one_click_reject(self):
        self.assertFalse(
            self.env.ref(
                REF % "entitlement_server_action_reject", raise_if_not_found=False
            )
        )
        wizard_action = str(self.env.ref(REF % "entitlement_reject_wizard_action").id)
        for view in ("entitlement_view_tree", "entitlement_view_form"):
            arch = etree.fromstring(
                self.env["g2p.br.entitlement"].get_view(self.env.ref(REF % view).id)[
                    "arch"
                ]
            )
            rejects = [b for b in arch.iter("button") if b.get("string") == "Reject"]
            self.assertTrue(rejects)
            self.assertEqual({b.get("name") for b in rejects}, {wizard_action})


@tagged("post_install", "-at_install")
class TestApproverWorkQueue(BeneficiaryRegistryCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.program_a.four_eyes = True
        cls.user_manager.groups_id += cls.env.ref(REF % "group_br_approver")
        cls.program_a._enroll_eligible()
        cls.cycle = cls.create_cycle(cls.program_a)
        cls.cycle.with_user(cls.user_manager).action_generate_entitlements()

    def _activities(self):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", "g2p.br.cycle"),
                ("res_id", "=", self.cycle.id),
                (
                    "activity_type_id",
                    "=",
                    self.env.ref(REF % "mail_activity_type_cycle_approval").id,
                ),
            ]
        )

    def test_send_schedules_activities_for_approvers_not_the_sender(self):
        self.cycle.with_user(self.user_manager).action_to_approve()
        activities = self._activities()
        self.assertEqual(activities.user_id, self.user_approver | self.user_approver2)
        notified = self.cycle.message_ids.partner_ids
        self.assertIn(self.user_approver.partner_id, notified)
        self.assertNotIn(self.user_manager.partner_id, activities.user_id.partner_id)

    def test_approving_closes_the_activities(self):
        self.cycle.with_user(self.user_manager).action_to_approve()
        self.cycle.with_user(self.user_approver)._approve_entitlements()
        self.assertFalse(self._activities())

    def test_rejecting_closes_the_activities(self):
        self.cycle.with_user(self.user_manager).action_to_approve()
        self.cycle.with_user(self.user_approver2).action_reject_entitlements("Wrong")
        self.assertFalse(self._activities())
        self.assertEqual(self.cycle.state, "draft")

    def test_generator_sees_no_approve_button(self):
        self.cycle.with_user(self.user_manager).action_to_approve()
        mine = self.cycle.with_user(self.user_manager)
        self.assertFalse(mine.can_approve)
        self.assertIn("Four-eyes", mine.approve_blocked_reason)
        self.assertTrue(self.cycle.with_user(self.user_approver).can_approve)
        arch = etree.fromstring(
            self.env["g2p.br.cycle"].get_view(self.env.ref(REF % "cycle_view_form").id)[
                "arch"
            ]
        )
        approve = next(b for b in arch.iter("button") if b.get("string") == "Approve")
        self.assertIn("not can_approve", approve.get("invisible"))

    def test_confirmation_refuses_before_promising(self):
        self.cycle.with_user(self.user_manager).action_to_approve()
        wizard = (
            self.env["g2p.br.bulk.confirm.wizard"]
            .with_user(self.user_manager)
            .create(
                {"operation": "cycle_approve_entitlements", "cycle_id": self.cycle.id}
            )
        )
        self.assertEqual(wizard.record_count, 0)
        self.assertIn("Four-eyes", wizard.blocked_reason)
        # another approver gets the count
        wizard = (
            self.env["g2p.br.bulk.confirm.wizard"]
            .with_user(self.user_approver)
            .create(
                {"operation": "cycle_approve_entitlements", "cycle_id": self.cycle.id}
            )
        )
        self.assertFalse(wizard.blocked_reason)
        self.assertEqual(wizard.record_count, 2)

    def test_cancel_confirmation_refuses_with_payments(self):
        self.cycle.with_user(self.user_manager).action_to_approve()
        self.cycle.with_user(self.user_approver)._approve_entitlements()
        self.cycle._create_disbursements()
        wizard = (
            self.env["g2p.br.bulk.confirm.wizard"]
            .with_user(self.user_manager)
            .create({"operation": "cycle_cancel", "cycle_id": self.cycle.id})
        )
        self.assertEqual(wizard.record_count, 0)
        self.assertIn("disbursements", wizard.blocked_reason)


@tagged("post_install", "-at_install")
class TestFailuresInSight(BeneficiaryRegistryCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cycle = cls.approved_cycle(cls.program_a)
        cls.cycle._create_disbursements()
        cls.d1, cls.d2 = cls.cycle.entitlement_ids.disbursement_ids.sorted("id")

    def test_figures_per_state(self):
        self.d1.action_mark_paid()
        wizard = (
            self.env["g2p.br.disbursement.fail.wizard"]
            .with_user(self.user_manager)
            .with_context(active_model="g2p.br.disbursement", active_ids=self.d2.ids)
            .create({"reason": "Account closed"})
        )
        wizard.action_confirm()
        self.assertEqual(self.d2.status, "failed")
        self.assertEqual(self.d2.failure_reason, "Account closed")
        cycle = self.cycle.with_user(self.user_viewer)
        cycle.invalidate_recordset()
        figures = cycle._figures()[cycle.id]
        self.assertEqual(figures["entitled"], [2, 200.0])
        self.assertEqual(figures["approved"], [2, 200.0])
        self.assertEqual(figures["awaiting"], [0, 0.0])
        self.assertEqual(figures["paid"], [1, 100.0])
        self.assertEqual(figures["failed"], [1, 100.0])
        self.assertEqual(cycle.failed_count, 1)
        self.assertEqual(cycle.failed_value, 100.0)
        self.assertEqual(cycle.failed_disbursement_ids, self.d2)
        self.assertIn("Failed", cycle.figures_html)
        self.assertIn("failed", cycle._fields["total_remaining"].help)
        program = self.program_a.with_user(self.user_viewer)
        self.assertEqual(program.current_cycle_id, self.cycle)
        self.assertEqual(program.current_failed_count, 1)
        self.assertEqual(program.current_paid_value, 100.0)

    def test_retry_a_failed_payment(self):
        self.d2.action_mark_failed("Account closed")
        action = self.d2.with_user(self.user_manager).action_retry()
        retry = self.env["g2p.br.disbursement"].browse(action["res_id"])
        self.assertEqual(retry.status, "pending")
        self.assertEqual(retry.retry_of_id, self.d2)
        self.assertEqual(retry.amount, 100.0)
        self.assertEqual(retry.entitlement_id, self.d2.entitlement_id)
        with self.assertRaises(UserError):
            self.d2.with_user(self.user_manager).action_retry()  # one in flight
        with self.assertRaises(UserError):
            self.d1.with_user(self.user_manager).action_retry()  # not failed

    def test_retry_numbers_and_refuses_like_the_cycle(self):
        # one rule (g2p.br.disbursement._create_pending) for the cycle's
        # creation and a retry: the numbering, the in-flight check, the remainder
        self.d2.action_mark_failed("Account closed")
        entitlement = self.d2.entitlement_id
        self.d2.with_user(self.user_manager).action_retry()
        retry = entitlement.disbursement_ids - self.d2
        self.assertEqual(retry.reference, f"BR-{entitlement.id}-2")
        self.assertEqual(retry.channel, self.d2.channel)
        self.assertEqual(self.cycle._create_disbursements(), {"created": 0})
        with self.assertRaisesRegex(UserError, "in flight"):
            self.d2.with_user(self.user_manager).action_retry()
        retry.action_mark_paid()
        with self.assertRaisesRegex(UserError, "Nothing remains"):
            self.d2.with_user(self.user_manager).action_retry()

    def test_awaiting_approval_on_the_card(self):
        cycle = self.generated_cycle(
            self.program_b,
        )
        cycle.action_to_approve()
        program = self.program_b
        program.invalidate_recordset()
        self.assertEqual(program.current_cycle_id, cycle)
        self.assertGreater(program.current_awaiting_value, 0)
        self.assertEqual(program.current_awaiting_count, 2)

    def test_reporting_shows_awaiting_approval_with_currency(self):
        cycle = self.generated_cycle(self.program_b)
        cycle.action_to_approve()
        self.env.flush_all()
        [row] = self.env["g2p.br.cycle.report"].search([("cycle_id", "=", cycle.id)])
        self.assertGreater(row.awaiting, 0)
        self.assertEqual(row.entitled, 0)
        self.assertEqual(row.currency_id, self.program_b.currency_id)

    def test_figures_not_in_lists(self):
        for view in ("cycle_view_tree", "program_view_tree"):
            arch = self.env.ref(REF % view).arch
            for name in ("figures_html", "failed_count", "current_failed_value"):
                self.assertNotIn(name, arch)
        kanban = self.env.ref(REF % "program_view_kanban").arch
        self.assertIn("current_failed_value", kanban)
        self.assertIn("current_awaiting_value", kanban)


@tagged("post_install", "-at_install")
class TestFormsCannotDeadEnd(BeneficiaryRegistryCase):
    def test_no_new_on_workflow_records(self):
        for view in (
            "entitlement_view_tree",
            "entitlement_view_form",
            "disbursement_view_tree",
            "disbursement_view_form",
        ):
            arch = etree.fromstring(self.env.ref(REF % view).arch)
            self.assertEqual(arch.get("create"), "0", view)

    def test_membership_only_for_the_target(self):
        with self.assertRaises(ValidationError):
            self.env["g2p.br.program.membership"].create(
                {"program_id": self.program_b.id, "beneficiary_id": self.ind1.id}
            )
        arch = etree.fromstring(
            self.env["g2p.br.program.membership"].get_view(
                self.env.ref(REF % "program_membership_view_form").id
            )["arch"]
        )
        field = arch.xpath("//field[@name='beneficiary_id']")[0]
        self.assertIn("program_target_type", field.get("domain"))

    def test_banner_and_domain_widget_same_count(self):
        program = self.program_a
        Beneficiary = self.env["g2p.br.beneficiary"].with_context(
            br_target_type=program.target_type, br_company_id=program.company_id.id
        )
        rule = [("region_code", "=", "ZZR1")]
        # hh1 (a household) is in ZZR1 too: the widget counted it before
        self.assertEqual(Beneficiary.search_count(rule), program.eligible_count)
        self.assertEqual(program.eligible_count, 2)

    def test_new_program_four_eyes_on(self):
        program = self.env["g2p.br.program"].create({"code": "NEW", "name": "New"})
        self.assertTrue(program.four_eyes)
        with Form(self.env["g2p.br.program"]) as form:
            form.code = "NEW2"
            form.name = "New 2"
            self.assertTrue(form.four_eyes)

    def test_empty_rule_must_be_confirmed(self):
        program = self.create_program(eligibility_domain="[]", user_ids=[])
        self.assertTrue(program.rule_is_empty)
        with self.assertRaises(UserError):
            program.action_enroll_eligible()
        wizard = self.env["g2p.br.bulk.confirm.wizard"].create(
            {"operation": "program_enroll_eligible", "program_id": program.id}
        )
        self.assertTrue(wizard.blocked_reason)
        self.assertEqual(wizard.record_count, 0)
        program.rule_matches_all_confirmed = True
        program._enroll_eligible()
        self.assertTrue(program.membership_ids)


@tagged("post_install", "-at_install")
class TestEligibilityExplained(BeneficiaryRegistryCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.program_poor = cls.create_program(
            target_type="group",
            eligibility_domain=(
                "[('poverty_score', '>=', 0.5), "
                "('region_code', 'in', ['ZZR1', 'ZZR2'])]"
            ),
        )

    def test_leaves_for_a_beneficiary(self):
        lines = self.program_poor._explain_eligibility(self.hh1)
        texts = {text: holds for text, holds in lines}
        failing = [t for t, ok in lines if not ok]
        self.assertEqual(len(failing), 1)
        self.assertIn("Poverty Score 0.20", failing[0])
        self.assertIn("≥ 0.5", failing[0])
        self.assertTrue(any("Region ZZR1" in t and ok for t, ok in texts.items()))
        self.assertTrue(
            all(ok for _t, ok in self.program_poor._explain_eligibility(self.hh2))
        )

    def test_refusal_names_the_failing_leaves(self):
        membership = self.env["g2p.br.program.membership"].create(
            {"program_id": self.program_poor.id, "beneficiary_id": self.hh1.id}
        )
        with self.assertRaisesRegex(UserError, "Poverty Score 0.20"):
            membership.action_enroll()

    def test_not_eligible_keeps_the_reason_on_the_form(self):
        self.program_poor._enroll_eligible()
        membership = self.env["g2p.br.program.membership"].create(
            {"program_id": self.program_poor.id, "beneficiary_id": self.hh1.id}
        )
        self.program_poor._enroll_eligible()
        self.assertEqual(membership.state, "not_eligible")
        self.assertIn("Poverty Score 0.20", membership.eligibility_failing)
        self.assertIn("✗", membership.eligibility_html)
        self.assertIn("Poverty Score", self.hh1.eligibility_html)


@tagged("post_install", "-at_install")
class TestProgramAssistant(BeneficiaryRegistryCase):
    def test_assistant_walks_and_enrolls(self):
        Assistant = self.env["g2p.br.program.assistant"].with_user(self.user_manager)
        wizard = Assistant.create(
            {
                "name": "Assisted",
                "code": "ASSIST",
                "eligibility_domain": "[('region_code', '=', 'ZZR1')]",
                "base_amount": 20,
                "user_ids": [Command.set((self.user_manager | self.user_approver).ids)],
            }
        )
        self.assertEqual(wizard.eligible_count, 2)
        self.assertTrue(wizard.four_eyes)
        wizard.action_next()
        self.assertEqual(wizard.step, "rule")
        wizard.action_back()
        self.assertEqual(wizard.step, "target")
        action = wizard.action_create()
        program = self.env["g2p.br.program"].browse(action["res_id"])
        self.assertEqual(program.state, "active")
        self.assertTrue(program.four_eyes)
        self.assertEqual(program.member_count, 2)
        self.assertEqual(len(program.cycle_ids), 1)

    def test_assistant_refuses_an_unconfirmed_empty_rule(self):
        wizard = (
            self.env["g2p.br.program.assistant"]
            .with_user(self.user_manager)
            .create({"name": "Everyone", "code": "ALL"})
        )
        with self.assertRaises(UserError):
            wizard.action_create()


@tagged("post_install", "-at_install")
class TestAccessErrorWording(BeneficiaryRegistryCase):
    def test_says_which_program(self):
        with self.assertRaisesRegex(AccessError, "not assigned to program"):
            self.program_a.with_user(self.user_manager_b).check_access_rule("read")
        cycle = self.create_cycle(self.program_a)
        with self.assertRaisesRegex(AccessError, "the program of program cycle"):
            cycle.with_user(self.user_manager_b).check_access_rule("read")
