# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date

from dateutil.relativedelta import relativedelta
from psycopg2 import IntegrityError

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import BeneficiaryRegistryCase


@tagged("post_install", "-at_install")
class TestProgram(BeneficiaryRegistryCase):
    # ------------------------------------------------------------------
    # State machine
    # ------------------------------------------------------------------
    def test_state_machine(self):
        program = self.create_program(activate=False)
        self.assertEqual(program.state, "draft")
        with self.assertRaises(UserError):
            program.action_end()  # draft -> ended
        program.action_activate()
        self.assertEqual(program.state, "active")
        program.action_end()
        self.assertEqual(program.state, "ended")
        program.action_activate()
        self.assertEqual(program.state, "active")

    def test_forbidden_transitions(self):
        program = self.create_program(activate=False)
        for old, new in [("active", "draft"), ("ended", "draft"), ("draft", "ended")]:
            with self.subTest(old=old, new=new):
                self.set_state(program, old)
                with self.assertRaises(UserError):
                    program.write({"state": new})
                self.assertEqual(program.state, old)

    def test_bulk_actions_need_active_program(self):
        program = self.create_program(activate=False)
        for action in (
            "action_enroll_eligible",
            "action_verify_eligibility",
            "action_create_next_cycle",
        ):
            with self.subTest(action=action), self.assertRaises(UserError):
                getattr(program, action)()

    def test_code_unique(self):
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.create_program(code="PA")
            self.env.flush_all()

    def test_in_kind_needs_item(self):
        with self.assertRaises(ValidationError):
            self.create_program(benefit_kind="in_kind")

    # ------------------------------------------------------------------
    # Eligibility
    # ------------------------------------------------------------------
    def test_eligibility_domain_and_target_kind(self):
        # Program A: individuals of ZZR1; the archived one is never eligible.
        self.assertEqual(self.program_a._count_eligible(), 2)
        summary = self.program_a._enroll_eligible()
        self.assertEqual(summary["created"], 2)
        self.assertEqual(
            set(self.program_a.membership_ids.beneficiary_id.ids),
            {self.ind1.id, self.ind2.id},
        )
        # Program B: every group, no individual.
        self.program_b._enroll_eligible()
        self.assertEqual(
            set(self.program_b.membership_ids.beneficiary_id.ids),
            {self.hh1.id, self.hh2.id},
        )

    def test_archived_beneficiary_excluded(self):
        program = self.create_program(
            eligibility_domain="[('region_code', '=', 'ZZR1')]"
        )
        program._enroll_eligible()
        self.assertNotIn(self.ind_archived, program.membership_ids.beneficiary_id)
        self.ind_archived.active = True
        program._enroll_eligible()
        self.assertIn(self.ind_archived, program.membership_ids.beneficiary_id)

    def test_invalid_domain(self):
        for domain in (
            "[('no_such_field', '=', 1)]",
            "not a domain",
            "42",
            "[('region_code', 'bad_op', 'ZZR1')]",
        ):
            with self.subTest(domain=domain), self.assertRaises(ValidationError):
                self.program_a.eligibility_domain = domain

    # ------------------------------------------------------------------
    # Entitlement rule
    # ------------------------------------------------------------------
    def test_entitlement_rule(self):
        cases = [
            # base, per member, cap -> hh1 (4 members), hh2 (2 members)
            (50.0, 0.0, 0.0, 50.0, 50.0),
            (50.0, 10.0, 0.0, 90.0, 70.0),
            (50.0, 10.0, 80.0, 80.0, 70.0),
            (33.333, 1.111, 0.0, 37.77, 35.55),  # stored with 2 digits,
        ]
        for i, (base, per_member, cap, hh1, hh2) in enumerate(cases):
            with self.subTest(base=base, per_member=per_member, cap=cap):
                program = self.create_program(
                    target_type="group",
                    base_amount=base,
                    amount_per_member=per_member,
                    max_amount=cap,
                )
                self.assertEqual(program._compute_entitlement_amount(self.hh1), hh1)
                self.assertEqual(program._compute_entitlement_amount(self.hh2), hh2)
                cycle = self.generated_cycle(
                    program, start=date(2027, 1 + i, 1), end=date(2027, 1 + i, 20)
                )
                for hh in (self.hh1, self.hh2):
                    entitlement = self.entitlement_of(cycle, hh)
                    self.assertEqual(
                        entitlement.amount, program._compute_entitlement_amount(hh)
                    )
                    self.assertEqual(entitlement.remaining, entitlement.amount)

    def test_negative_amounts_refused(self):
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.create_program(base_amount=-1)
            self.env.flush_all()

    # ------------------------------------------------------------------
    # Cycles from the frequency
    # ------------------------------------------------------------------
    def test_next_cycle_monthly(self):
        today = fields.Date.context_today(self.program_a)
        self.program_a.action_create_next_cycle()
        first = self.program_a.cycle_ids
        self.assertEqual(first.start_date, today)
        self.assertEqual(
            first.end_date, today + relativedelta(months=1) - relativedelta(days=1)
        )
        self.program_a.action_create_next_cycle()
        second = self.program_a.cycle_ids - first
        self.assertEqual(second.start_date, first.end_date + relativedelta(days=1))
        self.assertEqual(
            second.end_date,
            second.start_date + relativedelta(months=1) - relativedelta(days=1),
        )
        self.assertNotEqual(first.name, second.name)

    def test_next_cycle_quarterly_yearly(self):
        for frequency, delta in (
            ("quarterly", {"months": 3}),
            ("yearly", {"years": 1}),
        ):
            with self.subTest(frequency=frequency):
                program = self.create_program(cycle_frequency=frequency)
                first = program._create_next_cycle()
                second = program._create_next_cycle()
                self.assertEqual(
                    first.end_date,
                    first.start_date + relativedelta(**delta) - relativedelta(days=1),
                )
                self.assertEqual(
                    second.start_date, first.end_date + relativedelta(days=1)
                )
                self.assertEqual(
                    second.end_date,
                    second.start_date + relativedelta(**delta) - relativedelta(days=1),
                )

    def test_next_cycle_one_off(self):
        program = self.create_program(cycle_frequency="one_off")
        cycle = program._create_next_cycle()
        with self.assertRaises(UserError):
            program._create_next_cycle()
        # A cancelled one-off cycle can be replaced.
        cycle.action_cancel()
        program._create_next_cycle()
        self.assertEqual(len(program.cycle_ids), 2)
