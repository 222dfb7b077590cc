# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class G2pBrItem(models.Model):
    _name = "g2p.br.item"
    _description = "In-kind Benefit Item"
    _order = "name"

    code = fields.Char(required=True)
    name = fields.Char(required=True, translate=True)
    unit = fields.Char(
        required=True, help="Unit of measure of a quantity, e.g. kg or bag."
    )
    active = fields.Boolean(default=True)

    _sql_constraints = [
        ("code_unique", "unique(code)", "An item with this code exists already."),
    ]
