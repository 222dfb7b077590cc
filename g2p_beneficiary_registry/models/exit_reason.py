# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class G2pBrExitReason(models.Model):
    """Why a member leaves a program: a list the administrators maintain."""

    _name = "g2p.br.exit.reason"
    _description = "Program Exit Reason"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    note_required = fields.Boolean(
        help="The manager must describe the case in a note (e.g. for 'Other')."
    )

    _sql_constraints = [
        ("code_unique", "unique(code)", "An exit reason with this code exists."),
    ]
