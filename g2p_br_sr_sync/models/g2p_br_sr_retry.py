# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class G2pBrSrRetry(models.Model):
    """A record the SR sent that the sync rejected, asked for again by id at
    each run of its connection until it passes (then the line is deleted) or
    an administrator dismisses it. Holds the SR id and the reason only."""

    _name = "g2p.br.sr.retry"
    _description = "Social Registry Record to Retry"
    _order = "connection_id, id"

    connection_id = fields.Many2one(
        "g2p.br.sr.connection", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="connection_id.company_id", store=True)
    sr_id = fields.Char(string="SR ID", required=True)
    reason = fields.Char()
    state = fields.Selection(
        [("waiting", "Waiting"), ("dismissed", "Dismissed")],
        required=True,
        default="waiting",
        index=True,
    )
    first_run_id = fields.Many2one("g2p.br.sr.pull.run", ondelete="set null")
    last_run_id = fields.Many2one("g2p.br.sr.pull.run", ondelete="set null")
    attempts = fields.Integer(help="Runs that rejected it.")

    _sql_constraints = [
        (
            "connection_sr_id_unique",
            "unique(connection_id, sr_id)",
            "A record waits once per connection.",
        ),
    ]

    def action_dismiss(self):
        self.write({"state": "dismissed"})
        return True

    def action_restore(self):
        self.write({"state": "waiting"})
        return True
