# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class G2pBrDisbursementFailWizard(models.TransientModel):
    """Mark one or more disbursements failed, with the provider's reason."""

    _name = "g2p.br.disbursement.fail.wizard"
    _description = "Mark Disbursements Failed"
    _inherit = "g2p.br.selection.wizard.mixin"
    _selection_model = "g2p.br.disbursement"
    _selection_field = "disbursement_ids"

    disbursement_ids = fields.Many2many("g2p.br.disbursement")
    reason = fields.Text(
        required=True, help="E.g. the provider's error: account closed."
    )

    def action_confirm(self):
        self.ensure_one()
        self.disbursement_ids.action_mark_failed(self.reason.strip())
        return {"type": "ir.actions.act_window_close"}
