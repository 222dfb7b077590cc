# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json

from psycopg2 import IntegrityError

from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import BeneficiaryRegistryCase


@tagged("post_install", "-at_install")
class TestBeneficiary(BeneficiaryRegistryCase):
    def assertIntegrityError(self, model, vals):
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.env[model].create(vals)
            self.env.flush_all()

    def test_sr_id_unique(self):
        self.assertIntegrityError("g2p.br.beneficiary", {"sr_id": self.ind1.sr_id})
        # Archived beneficiaries keep their SR id.
        self.assertIntegrityError(
            "g2p.br.beneficiary", {"sr_id": self.ind_archived.sr_id}
        )

    def test_identifier_unique_within_type(self):
        self.assertIntegrityError(
            "g2p.br.beneficiary.identifier",
            {
                "beneficiary_id": self.ind2.id,
                "type_id": self.id_type_nid.id,
                "value": "NID-1",
            },
        )
        # Values are stripped before the check.
        self.assertIntegrityError(
            "g2p.br.beneficiary.identifier",
            {
                "beneficiary_id": self.ind2.id,
                "type_id": self.id_type_nid.id,
                "value": " NID-1 ",
            },
        )
        # The same value in another type is fine.
        passport = self.env["g2p.br.identifier.type"].create(
            {"code": "PASSPORT", "name": "Passport"}
        )
        self.env["g2p.br.beneficiary.identifier"].create(
            {"beneficiary_id": self.ind2.id, "type_id": passport.id, "value": "NID-1"}
        )
        self.assertEqual(
            self.env["g2p.br.beneficiary"].find_by_identifier("PASSPORT", "NID-1"),
            self.ind2,
        )

    def test_codes_unique(self):
        self.assertIntegrityError(
            "g2p.br.identifier.type", {"code": "NATIONAL_ID", "name": "Again"}
        )
        self.assertIntegrityError(
            "g2p.br.item", {"code": "RICE", "name": "Rice again", "unit": "kg"}
        )

    def test_group_membership(self):
        self.assertEqual(self.hh1.member_ids, self.ind1 | self.ind2)
        with self.assertRaises(ValidationError):
            self.ind3.group_id = self.ind1  # not a group
        with self.assertRaises(ValidationError):
            self.hh2.group_id = self.hh1  # a group in a group

    def test_summary(self):
        summary = self.ind1.get_summary()
        json.dumps(summary)
        self.assertEqual(summary["sr_id"], self.ind1.sr_id)
        self.assertEqual(summary["kind"], "individual")
        self.assertEqual(
            summary["identifiers"], [{"type": "NATIONAL_ID", "value": "NID-1"}]
        )
        self.assertEqual(summary["group_sr_id"], self.hh1.sr_id)
        self.assertIsNone(summary["group_size"])
        self.assertEqual(self.hh1.get_summary()["group_size"], 4)
