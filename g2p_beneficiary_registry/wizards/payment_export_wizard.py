# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class G2pBrPaymentExportWizard(models.TransientModel):
    """Export the payment list of a cycle for the bank or provider."""

    _name = "g2p.br.payment.export.wizard"
    _description = "Export the Payment List of a Cycle"

    cycle_id = fields.Many2one("g2p.br.cycle", required=True)
    file_format = fields.Selection(
        [("csv", "CSV"), ("xlsx", "Excel (XLSX)")], required=True, default="csv"
    )
    scope = fields.Selection(
        [
            ("pending", "To send (pending)"),
            ("live", "To send and sent"),
            ("failed", "Failed (to retry)"),
        ],
        required=True,
        default="pending",
    )
    columns = fields.Char(related="cycle_id.program_id.payment_export_columns")

    def action_export(self):
        self.ensure_one()
        statuses = {
            "pending": ("pending",),
            "live": ("pending", "sent"),
            "failed": ("failed",),
        }[self.scope]
        attachment = self.cycle_id._export_payment_list(self.file_format, statuses)
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{attachment.id}?download=true",
            "target": "self",
        }
