# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from psycopg2 import IntegrityError

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..utils import workflow
from .common import BeneficiaryRegistryCase

STATES = ("draft", "enrolled", "paused", "exited", "not_eligible")
ALLOWED = {
    ("draft", "enrolled"),
    ("draft", "not_eligible"),
    ("enrolled", "paused"),
    ("enrolled", "exited"),
    ("enrolled", "not_eligible"),
    ("paused", "enrolled"),
    ("paused", "exited"),
    ("not_eligible", "enrolled"),
}


@tagged("post_install", "-at_install")
class TestMembership(BeneficiaryRegistryCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Membership = cls.env["g2p.br.program.membership"]
        cls.membership = cls.Membership.create(
            {"program_id": cls.program_a.id, "beneficiary_id": cls.ind1.id}
        )
        cls.today = fields.Date.context_today(cls.membership)

    def test_starts_as_draft(self):
        self.assertEqual(self.membership.state, "draft")
        with self.assertRaises(UserError):
            self.Membership.create(
                {
                    "program_id": self.program_a.id,
                    "beneficiary_id": self.ind2.id,
                    "state": "enrolled",
                }
            )

    def test_enroll_sets_enrollment_date(self):
        self.assertFalse(self.membership.enrollment_date)
        self.membership.action_enroll()
        self.assertEqual(self.membership.state, "enrolled")
        self.assertEqual(self.membership.enrollment_date, self.today)

    def test_enroll_only_if_eligible(self):
        # ind3 lives in ZZR2: not eligible for program A.
        membership = self.Membership.create(
            {"program_id": self.program_a.id, "beneficiary_id": self.ind3.id}
        )
        with self.assertRaises(UserError):
            membership.action_enroll()
        self.assertEqual(membership.state, "draft")
        # Archived beneficiaries are never eligible.
        archived = self.Membership.create(
            {"program_id": self.program_a.id, "beneficiary_id": self.ind_archived.id}
        )
        with self.assertRaises(UserError):
            archived.action_enroll()
        # A group is not a target of an individual program: not even a draft.
        with self.assertRaises(ValidationError):
            self.Membership.create(
                {"program_id": self.program_a.id, "beneficiary_id": self.hh1.id}
            )
        workflow(membership).write({"state": "not_eligible"})
        self.assertEqual(membership.state, "not_eligible")

    def test_pause_resume_exit(self):
        self.membership.action_enroll()
        self.membership.action_pause()
        self.assertEqual(self.membership.state, "paused")
        self.membership.action_resume()
        self.assertEqual(self.membership.state, "enrolled")
        self.membership.action_pause()
        self.membership.action_exit(reason="Moved abroad")
        self.assertEqual(self.membership.state, "exited")
        self.assertEqual(self.membership.exit_date, self.today)
        self.assertEqual(self.membership.exit_reason, "Moved abroad")

    def test_exit_needs_reason(self):
        self.membership.action_enroll()
        with self.assertRaises(UserError):
            self.membership.action_exit()
        self.assertEqual(self.membership.state, "enrolled")
        self.membership.with_context(exit_reason="Deceased").action_exit()
        self.assertEqual(self.membership.state, "exited")
        self.assertEqual(self.membership.exit_date, self.today)
        self.assertEqual(self.membership.exit_reason, "Deceased")

    def test_transition_matrix(self):
        """Every allowed move succeeds, every other one raises."""

        def move(membership, new):
            vals = {"state": new}
            if new == "exited":
                vals["exit_reason"] = "Moved"
            workflow(membership).write(vals)

        self.assert_transition_matrix(self.membership, STATES, ALLOWED, move)

    def test_write_keeps_the_rules(self):
        """The state is the workflow's: a direct write (RPC) is refused; the
        buttons keep the rules."""
        for vals in (
            {"state": "enrolled"},
            {"enrollment_date": "2020-01-01"},
            {"exit_reason": "Moved"},
        ):
            with self.subTest(vals=vals), self.assertRaises(UserError):
                self.membership.write(vals)
        self.assertEqual(self.membership.state, "draft")
        self.membership.action_enroll()
        self.assertEqual(self.membership.enrollment_date, self.today)
        with self.assertRaises(UserError):
            self.membership.action_exit()
        self.assertEqual(self.membership.state, "enrolled")
        self.membership.action_exit("Moved")
        self.assertEqual(self.membership.exit_date, self.today)
        # the links that decide access never change
        with self.assertRaises(UserError):
            self.membership.write({"program_id": self.program_b.id})

    def test_not_eligible_cannot_be_enrolled_while_ineligible(self):
        self.membership.action_enroll()
        workflow(self.membership).write({"state": "not_eligible"})
        self.ind1.region_code = "R9"
        with self.assertRaises(UserError):
            self.membership.action_enroll()

    def test_unique_per_beneficiary_and_program(self):
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.Membership.create(
                {"program_id": self.program_a.id, "beneficiary_id": self.ind1.id}
            )
            self.env.flush_all()
        # The same beneficiary in another program is fine.
        self.Membership.create(
            {
                "program_id": self.create_program(code="PC").id,
                "beneficiary_id": self.ind1.id,
            }
        )
