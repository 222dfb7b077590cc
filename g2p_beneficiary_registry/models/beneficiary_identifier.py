# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class G2pBrBeneficiaryIdentifier(models.Model):
    _name = "g2p.br.beneficiary.identifier"
    _description = "Beneficiary Identifier"
    _order = "type_id, value"
    _rec_name = "value"

    beneficiary_id = fields.Many2one(
        "g2p.br.beneficiary", required=True, ondelete="cascade", index=True
    )
    type_id = fields.Many2one(
        "g2p.br.identifier.type", string="Type", required=True, ondelete="restrict"
    )
    value = fields.Char(required=True)
    company_id = fields.Many2one(related="beneficiary_id.company_id", store=True)

    _sql_constraints = [
        (
            "type_value_unique",
            "unique(type_id, value)",
            "This identifier value is already used by another beneficiary.",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("value"):
                vals["value"] = vals["value"].strip()
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("value"):
            vals["value"] = vals["value"].strip()
        return super().write(vals)
