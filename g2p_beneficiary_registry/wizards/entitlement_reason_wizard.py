# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models


class G2pBrEntitlementReasonWizard(models.TransientModel):
    """Reject or cancel a selection of entitlements, with a required reason."""

    _name = "g2p.br.entitlement.reason.wizard"
    _description = "Reject or Cancel Entitlements"
    _inherit = "g2p.br.selection.wizard.mixin"
    _selection_model = "g2p.br.entitlement"
    _selection_field = "entitlement_ids"

    decision = fields.Selection(
        [("reject", "Reject"), ("cancel", "Cancel")], required=True, default="reject"
    )
    entitlement_ids = fields.Many2many(
        "g2p.br.entitlement",
        "g2p_br_reason_wizard_entitlement_rel",
        "wizard_id",
        "entitlement_id",
        string="Entitlements",
    )
    reason = fields.Text(required=True)
    applicable_count = fields.Integer(compute="_compute_preview")
    message = fields.Char(compute="_compute_preview")

    @api.depends("decision", "entitlement_ids")
    def _compute_preview(self):
        for wizard in self:
            sources = (
                ("pending_approval",)
                if wizard.decision == "reject"
                else ("draft", "pending_approval", "approved")
            )
            count = len(
                wizard.entitlement_ids.filtered(
                    lambda e, sources=sources: e.state in sources
                )
            )
            wizard.applicable_count = count
            wizard.message = _(
                "%(n)s of the %(total)s selected entitlement(s) will be %(what)s.",
                n=count,
                total=len(wizard.entitlement_ids),
                what=_("rejected") if wizard.decision == "reject" else _("cancelled"),
            )

    def action_confirm(self):
        self.ensure_one()
        reason = (self.reason or "").strip()
        if self.decision == "reject":
            entitlements = self.entitlement_ids.filtered(
                lambda e: e.state == "pending_approval"
            )
            entitlements.action_reject(reason)
        else:
            entitlements = self.entitlement_ids.filtered(
                lambda e: e.state in ("draft", "pending_approval", "approved")
            )
            entitlements.action_cancel(reason)
        return {"type": "ir.actions.act_window_close"}
