# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class G2pBrSrPullError(models.Model):
    """A record the sync rejected. Holds the SR id and the reason, never the
    record's data."""

    _name = "g2p.br.sr.pull.error"
    _description = "Social Registry Pull Record Error"
    _order = "run_id desc, page_number, record_index"

    run_id = fields.Many2one(
        "g2p.br.sr.pull.run", required=True, ondelete="cascade", index=True
    )
    page_id = fields.Many2one("g2p.br.sr.pull.page", ondelete="cascade", index=True)
    page_number = fields.Integer(related="page_id.page_number", store=True)
    record_index = fields.Integer(help="Position of the record in its page (from 0).")
    sr_id = fields.Char(
        string="SR ID", help="Empty when the record has no readable SR id."
    )
    reason = fields.Char(required=True)
