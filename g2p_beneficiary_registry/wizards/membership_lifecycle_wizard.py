# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models


class G2pBrMembershipLifecycleWizard(models.TransientModel):
    """Pause, resume or exit one member or a selection, with a note (and a
    reason from the list to exit)."""

    _name = "g2p.br.membership.lifecycle.wizard"
    _description = "Pause, Resume or Exit Members"
    _inherit = "g2p.br.selection.wizard.mixin"
    _selection_model = "g2p.br.program.membership"
    _selection_field = "membership_ids"

    action = fields.Selection(
        [("pause", "Pause"), ("resume", "Resume"), ("exit", "Exit")],
        required=True,
        default="pause",
    )
    membership_ids = fields.Many2many(
        "g2p.br.program.membership",
        "g2p_br_lifecycle_wizard_membership_rel",
        "wizard_id",
        "membership_id",
        string="Members",
    )
    exit_reason_id = fields.Many2one("g2p.br.exit.reason", string="Reason")
    note_required = fields.Boolean(related="exit_reason_id.note_required")
    note = fields.Text()
    applicable_count = fields.Integer(compute="_compute_preview")
    skipped_count = fields.Integer(compute="_compute_preview")
    message = fields.Char(compute="_compute_preview")

    @api.depends("action", "membership_ids")
    def _compute_preview(self):
        labels = {
            "pause": _("paused"),
            "resume": _("resumed"),
            "exit": _("exited from their program"),
        }
        for wizard in self:
            applicable = wizard.membership_ids._lifecycle_applicable(wizard.action)
            wizard.applicable_count = len(applicable)
            wizard.skipped_count = len(wizard.membership_ids) - len(applicable)
            message = _(
                "%(n)s member(s) will be %(what)s.",
                n=len(applicable),
                what=labels[wizard.action],
            )
            if wizard.skipped_count:
                message += " " + _(
                    "%s selected member(s) are in another state and stay as they are.",
                    wizard.skipped_count,
                )
            wizard.message = message

    def action_confirm(self):
        self.ensure_one()
        self.membership_ids.apply_lifecycle(
            self.action, reason=self.exit_reason_id, note=self.note
        )
        return {"type": "ir.actions.act_window_close"}
