"""Approvers' work queue: sending a cycle to approval schedules an activity
for the program's approvers and notifies them; approving or rejecting closes
it. The form knows whether the current user may approve, and why not."""

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..utils import audit_context

ACTIVITY_TYPE = "g2p_beneficiary_registry.mail_activity_type_cycle_approval"
APPROVER_GROUP = "g2p_beneficiary_registry.group_br_approver"


class G2pBrCycle(models.Model):
    _name = "g2p.br.cycle"
    _inherit = ["g2p.br.cycle", "mail.activity.mixin"]

    can_approve = fields.Boolean(
        compute="_compute_can_approve",
        help="The current user may approve or reject the entitlements of this cycle.",
    )
    approve_blocked_reason = fields.Char(compute="_compute_can_approve")

    @api.depends_context("uid")
    @api.depends("state", "generated_by_id", "program_id.four_eyes")
    def _compute_can_approve(self):
        for cycle in self:
            reason = False
            if cycle.state == "to_approve":
                try:
                    cycle._origin._check_can_approve()
                except (UserError, AccessError) as err:
                    reason = err.args[0]
            cycle.can_approve = cycle.state == "to_approve" and not reason
            cycle.approve_blocked_reason = reason

    def _approvers(self):
        """Users assigned to the program who may approve this cycle: approvers,
        minus (under four-eyes) whoever generated or sends the entitlements."""
        self.ensure_one()
        users = self.program_id.user_ids.filtered(
            lambda u: u.active and u.has_group(APPROVER_GROUP)
        )
        if self.program_id.four_eyes:
            users -= self.generated_by_id | self.env.user
        return users

    def _schedule_approval_activities(self):
        for cycle in self:
            approvers = cycle._approvers()
            for user in approvers:
                cycle.activity_schedule(
                    ACTIVITY_TYPE,
                    user_id=user.id,
                    summary=_("Approve or reject %s", cycle.name),
                    note=_(
                        "%(sender)s sent the entitlements of %(cycle)s (%(program)s) "
                        "for approval.",
                        sender=self.env.user.name,
                        cycle=cycle.name,
                        program=cycle.program_id.name,
                    ),
                )
            if approvers:
                cycle.message_post(
                    body=Markup("%s")
                    % _(
                        "Sent for approval to %s.",
                        ", ".join(approvers.mapped("name")),
                    ),
                    partner_ids=approvers.partner_id.ids,
                    subtype_xmlid="mail.mt_comment",
                )
            else:
                cycle.message_post(
                    body=_(
                        "No approver is assigned to %s: assign one so that the "
                        "cycle can be approved.",
                        cycle.program_id.name,
                    )
                )

    def _close_approval_activities(self, feedback):
        self.activity_feedback([ACTIVITY_TYPE], feedback=feedback)

    def action_to_approve(self):
        result = super().action_to_approve()
        self._schedule_approval_activities()
        return result

    def _approve_entitlements(self):
        result = super()._approve_entitlements()
        self._close_approval_activities(_("Approved by %s.", self.env.user.name))
        return result

    def action_reject_entitlements(self, reason=None):
        result = super().action_reject_entitlements(reason)
        self._close_approval_activities(
            _(
                "Rejected by %(user)s: %(reason)s",
                user=self.env.user.name,
                reason=reason,
            )
        )
        return result

    def action_cancel(self):
        result = super().action_cancel()
        self._close_approval_activities(_("Cycle cancelled."))
        return result

    def action_cancel_with_reason(self, reason):
        """Cancel with the reason in the history and the chatter."""
        reason = (reason or "").strip()
        if not reason:
            raise UserError(_("Give the reason why the cycle is cancelled."))
        with audit_context(self.env, reason=reason):
            result = self.action_cancel()
        for cycle in self:
            cycle.message_post(body=_("Cycle cancelled: %s", reason))
        return result
