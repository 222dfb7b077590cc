# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
from datetime import date

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import BeneficiaryRegistryCase

ENTITLEMENT_KEYS = {
    "id",
    "program_code",
    "cycle_id",
    "cycle_name",
    "benefit_kind",
    "amount",
    "currency",
    "quantity",
    "unit",
    "item",
    "state",
    "valid_from",
    "valid_until",
    "disbursed_total",
    "remaining",
    "disbursement_status",
    "disbursements",
}
DISBURSEMENT_KEYS = {
    "reference",
    "channel",
    "amount",
    "quantity",
    "status",
    "status_time",
    "failure_reason",
}
ENROLLMENT_KEYS = {
    "program_code",
    "program_name",
    "state",
    "enrollment_date",
    "exit_date",
    "exit_reason",
}


@tagged("post_install", "-at_install")
class TestQueries(BeneficiaryRegistryCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.program_rice = cls.create_program(
            code="RICE",
            target_type="individual",
            benefit_kind="in_kind",
            item_id=cls.item_rice.id,
            base_amount=5,
            eligibility_domain=(
                "[('sex', '=', 'female'), ('region_code', '=like', 'ZZR%')]"
            ),
        )
        cls.dec = cls.approved_cycle(cls.program_a)
        cls.jan = cls.generated_cycle(
            cls.program_a, start=date(2027, 1, 1), end=date(2027, 1, 31)
        )
        cls.rice = cls.approved_cycle(
            cls.program_rice, start=date(2026, 11, 1), end=date(2026, 11, 30)
        )
        cls.dec.action_create_disbursements()
        cls.rice.action_create_disbursements()
        cls.paid = (
            cls.env["g2p.br.entitlement"]
            .search(
                [("cycle_id", "=", cls.dec.id), ("beneficiary_id", "=", cls.ind1.id)]
            )
            .disbursement_ids
        )
        cls.paid.action_mark_paid()

    def test_find_by_identifier(self):
        Beneficiary = self.env["g2p.br.beneficiary"]
        self.assertEqual(
            Beneficiary.find_by_identifier("sr", self.ind1.sr_id), self.ind1
        )
        self.assertEqual(
            Beneficiary.find_by_identifier("NATIONAL_ID", "NID-1"), self.ind1
        )
        for id_type, value in (
            ("NATIONAL_ID", "NID-2"),
            ("PASSPORT", "NID-1"),
            ("sr", "x"),
            (None, "NID-1"),
            ("sr", None),
        ):
            with self.subTest(id_type=id_type, value=value):
                self.assertFalse(Beneficiary.find_by_identifier(id_type, value))
        # Viewers only find the members of their programs.
        as_viewer = Beneficiary.with_user(self.user_viewer)
        self.assertEqual(
            as_viewer.find_by_identifier("NATIONAL_ID", "NID-1"), self.ind1
        )
        self.assertFalse(as_viewer.find_by_identifier("sr", self.hh2.sr_id))

    def test_summary_hides_an_invisible_household(self):
        self.assertEqual(self.ind1.get_summary()["group_sr_id"], self.hh1.sr_id)
        as_viewer = self.ind1.with_user(self.user_viewer)
        # the viewer of program A sees the member, not the household
        self.assertFalse(
            as_viewer.search([("id", "=", self.hh1.id)]), "fixture: hh1 hidden"
        )
        self.assertIsNone(as_viewer.get_summary()["group_sr_id"])

    def test_get_enrollments(self):
        self.membership_of(self.program_rice, self.ind1).action_exit(reason="Moved")
        enrollments = self.ind1.get_enrollments()
        json.dumps(enrollments)
        self.assertEqual(len(enrollments), 2)
        for item in enrollments:
            self.assertEqual(set(item), ENROLLMENT_KEYS)
        by_code = {e["program_code"]: e for e in enrollments}
        today = fields.Date.context_today(self.program_a).isoformat()
        self.assertEqual(
            by_code["PA"],
            {
                "program_code": "PA",
                "program_name": "Program A",
                "state": "enrolled",
                "enrollment_date": today,
                "exit_date": None,
                "exit_reason": None,
            },
        )
        self.assertEqual(by_code["RICE"]["state"], "exited")
        self.assertEqual(by_code["RICE"]["exit_date"], today)
        self.assertEqual(by_code["RICE"]["exit_reason"], "Moved")
        self.assertEqual(
            [e["program_code"] for e in self.ind1.get_enrollments(state="exited")],
            ["RICE"],
        )
        self.assertEqual(self.hh2.get_enrollments(), [])

    def test_get_entitlements_shape(self):
        result = self.ind1.get_entitlements()
        json.dumps(result)
        self.assertEqual(set(result), {"total", "items"})
        self.assertEqual(result["total"], 3)
        # Latest validity first.
        self.assertEqual(
            [i["cycle_id"] for i in result["items"]],
            [self.jan.id, self.dec.id, self.rice.id],
        )
        jan, dec, rice = result["items"]
        for item in result["items"]:
            self.assertEqual(set(item), ENTITLEMENT_KEYS)
        self.assertEqual(dec["program_code"], "PA")
        self.assertEqual(dec["cycle_name"], self.dec.name)
        self.assertEqual(dec["benefit_kind"], "cash")
        self.assertEqual(dec["amount"], 100.0)
        self.assertEqual(dec["currency"], self.currency.name)
        self.assertIsNone(dec["quantity"])
        self.assertEqual(dec["state"], "approved")
        self.assertEqual(dec["valid_from"], "2026-12-01")
        self.assertEqual(dec["valid_until"], "2026-12-31")
        self.assertEqual(dec["disbursed_total"], 100.0)
        self.assertEqual(dec["remaining"], 0.0)
        self.assertEqual(dec["disbursement_status"], "fully_disbursed")
        [disbursement] = dec["disbursements"]
        self.assertEqual(set(disbursement), DISBURSEMENT_KEYS)
        self.assertEqual(disbursement["reference"], self.paid.reference)
        self.assertEqual(disbursement["status"], "paid")
        self.assertEqual(disbursement["amount"], 100.0)
        self.assertIsNone(disbursement["quantity"])
        self.assertIsNone(disbursement["failure_reason"])
        self.assertTrue(disbursement["status_time"].endswith("Z"))
        self.assertEqual(jan["state"], "draft")
        self.assertEqual(jan["disbursements"], [])
        self.assertEqual(rice["benefit_kind"], "in_kind")
        self.assertIsNone(rice["amount"])
        self.assertIsNone(rice["currency"])
        self.assertEqual(
            (rice["quantity"], rice["unit"], rice["item"]), (5.0, "kg", "RICE")
        )
        self.assertEqual(rice["disbursements"][0]["quantity"], 5.0)
        self.assertIsNone(rice["disbursements"][0]["amount"])

    def test_get_entitlements_filters(self):
        def cycles(**kwargs):
            result = self.ind1.get_entitlements(**kwargs)
            return result["total"], [i["cycle_id"] for i in result["items"]]

        self.assertEqual(cycles(program="PA"), (2, [self.jan.id, self.dec.id]))
        self.assertEqual(cycles(program="RICE"), (1, [self.rice.id]))
        self.assertEqual(cycles(program="NOPE"), (0, []))
        self.assertEqual(cycles(cycle=self.dec.id), (1, [self.dec.id]))
        self.assertEqual(cycles(cycle=str(self.dec.id)), (1, [self.dec.id]))
        self.assertEqual(cycles(state="approved"), (2, [self.dec.id, self.rice.id]))
        self.assertEqual(cycles(state="draft"), (1, [self.jan.id]))
        self.assertEqual(cycles(program="PA", state="approved"), (1, [self.dec.id]))
        self.assertEqual(cycles(limit=1), (3, [self.jan.id]))
        self.assertEqual(cycles(limit=1, offset=1), (3, [self.dec.id]))
        self.assertEqual(cycles(offset=2), (3, [self.rice.id]))
        self.assertEqual(cycles(limit=5, offset=3), (3, []))
        with self.assertRaises(UserError):
            self.ind1.get_entitlements(cycle="abc")

    def test_get_entitlements_respects_access(self):
        # The viewer of program A does not see the RICE entitlement.
        result = self.ind1.with_user(self.user_viewer).get_entitlements()
        self.assertEqual(result["total"], 2)
        self.assertEqual({i["program_code"] for i in result["items"]}, {"PA"})

    def test_program_totals(self):
        totals = self.program_a.get_totals()
        json.dumps(totals)
        self.assertEqual(set(totals), {"members", "entitled", "disbursed"})
        self.assertEqual(totals["members"], {"enrolled": 2})
        self.assertEqual(totals["entitled"], 200.0)  # jan is not approved
        self.assertEqual(totals["disbursed"], 100.0)
        self.membership_of(self.program_a, self.ind2).action_pause()
        self.assertEqual(
            self.program_a.get_totals()["members"], {"enrolled": 1, "paused": 1}
        )
        rice = self.program_rice.get_totals()
        self.assertEqual(rice["entitled"], 10.0)  # two women, 5 kg each
        self.assertEqual(rice["disbursed"], 0.0)
        empty = self.create_program().get_totals()
        self.assertEqual(empty, {"members": {}, "entitled": 0.0, "disbursed": 0.0})

    def test_cycle_totals(self):
        totals = self.dec.get_totals()
        json.dumps(totals)
        self.assertTrue({"members", "entitled", "disbursed"} <= set(totals))
        self.assertEqual(totals["entitled"], 200.0)
        self.assertEqual(totals["disbursed"], 100.0)
        self.assertEqual(self.jan.get_totals()["entitled"], 0.0)
