# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class G2pBrIdentifierType(models.Model):
    _name = "g2p.br.identifier.type"
    _description = "Beneficiary Identifier Type"
    _order = "code"

    code = fields.Char(
        required=True,
        help="Code used by external systems, e.g. NATIONAL_ID or UIN.",
    )
    name = fields.Char(required=True, translate=True)
    active = fields.Boolean(default=True)

    _sql_constraints = [
        (
            "code_unique",
            "unique(code)",
            "An identifier type with this code exists already.",
        ),
    ]
