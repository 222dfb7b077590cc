# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The bulk confirmation checks the rules of the operation (roles, four-eyes,
payments in flight) before it promises any change, and asks a reason where
the decision needs one (reject, cancel)."""

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

REASON_REQUIRED = ("cycle_reject_entitlements", "cycle_cancel")


class G2pBrBulkConfirmWizard(models.TransientModel):
    _inherit = "g2p.br.bulk.confirm.wizard"

    operation = fields.Selection(
        selection_add=[("cycle_reject_entitlements", "Reject Entitlements")],
        ondelete={"cycle_reject_entitlements": "cascade"},
    )
    blocked_reason = fields.Text(
        compute="_compute_preview",
        help="Why the operation cannot run: nothing will change.",
    )
    reason_required = fields.Boolean(compute="_compute_reason_required")
    reason = fields.Text(help="Kept on the records and in the cycle's history.")

    @api.depends("operation")
    def _compute_reason_required(self):
        for wizard in self:
            wizard.reason_required = wizard.operation in REASON_REQUIRED

    @api.depends("operation", "program_id", "cycle_id")
    def _compute_preview(self):
        blocked = {}
        for wizard in self:
            if not wizard.operation:
                continue
            try:
                wizard._check_operation()
            except AccessError:
                # no access to the record or the step: an error, not a preview
                raise
            except UserError as err:
                blocked[wizard.id or wizard] = err.args[0]
        allowed = self.filtered(lambda w: (w.id or w) not in blocked)
        result = super(G2pBrBulkConfirmWizard, allowed)._compute_preview()
        for wizard in self:
            reason = blocked.get(wizard.id or wizard, False)
            wizard.blocked_reason = reason
            if reason:
                wizard.record_count = 0
                wizard.message = reason
                wizard.will_run_in_background = False
        return result

    def _check_operation(self):
        """Raise the error the operation itself would raise, without running
        it: the core's checks, then the reject and empty-rule rules."""
        self.ensure_one()
        self._check_allowed()
        cycle = self.cycle_id
        if self.operation in (
            "cycle_approve_entitlements",
            "cycle_reject_entitlements",
        ):
            cycle._check_state("to_approve")
            cycle._check_can_approve()
        elif self.operation == "program_enroll_eligible":
            self.program_id._check_rule_confirmed()

    def _preview_cycle_reject_entitlements(self):
        count = self._count_entitlements(["pending_approval"])
        return count, _(
            "%s entitlements waiting for approval will be rejected with your reason; "
            "the cycle goes back to draft.",
            count,
        )

    def action_confirm(self):
        self.ensure_one()
        reason = (self.reason or "").strip()
        if self.operation in REASON_REQUIRED and not reason:
            raise UserError(_("Give a reason."))
        if self.operation == "cycle_reject_entitlements":
            cycle = self.cycle_id
            count = cycle.action_reject_entitlements(reason)
            return {
                "type": "ir.actions.client",
                "tag": "display_notification",
                "params": {
                    "title": _("Reject Entitlements"),
                    "message": _(
                        "%(n)s entitlements rejected; %(cycle)s is back to draft.",
                        n=count if isinstance(count, int) else "",
                        cycle=cycle.name,
                    ),
                    "type": "warning",
                    "sticky": False,
                    "next": {"type": "ir.actions.act_window_close"},
                },
            }
        if self.operation == "cycle_cancel":
            self.cycle_id.action_cancel_with_reason(reason)
            return {"type": "ir.actions.act_window_close"}
        return super().action_confirm()
