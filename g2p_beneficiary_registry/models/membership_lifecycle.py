"""Membership lifecycle in the UI: history (chatter and tracking), exit reasons
from a list, pause/resume/exit for a selection, eligibility explained."""

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..utils import in_workflow, workflow


class G2pBrProgramMembership(models.Model):
    _name = "g2p.br.program.membership"
    _inherit = ["g2p.br.program.membership", "mail.thread"]

    # history of the membership on its form
    state = fields.Selection(tracking=True)
    enrollment_date = fields.Date(tracking=True)
    exit_date = fields.Date(tracking=True)
    exit_reason = fields.Char(tracking=True)
    exit_reason_id = fields.Many2one(
        "g2p.br.exit.reason",
        string="Exit Reason (List)",
        readonly=True,
        copy=False,
        tracking=True,
    )
    program_target_type = fields.Selection(related="program_id.target_type")
    eligibility_html = fields.Html(
        string="Eligibility",
        compute="_compute_eligibility_html",
        sanitize=False,
        help="Each criterion of the program's rule and whether it holds now for "
        "this beneficiary; for a not eligible member, the criteria that fail.",
    )
    eligibility_failing = fields.Char(
        string="Why Not Eligible",
        compute="_compute_eligibility_html",
        help="The criteria of the program's rule this beneficiary fails now.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        if any(vals.get("exit_reason_id") for vals in vals_list) and not in_workflow(
            self
        ):
            raise UserError(_("Exit Reason (List): use Exit to set it."))
        return super().create(vals_list)

    def write(self, vals):
        if "exit_reason_id" in vals and not in_workflow(self):
            raise UserError(_("Exit Reason (List): use Exit to set it."))
        return super().write(vals)

    @api.constrains("beneficiary_id", "program_id")
    def _check_target_kind(self):
        for membership in self:
            program = membership.program_id
            if membership.beneficiary_id.kind != program.target_type:
                raise ValidationError(
                    _(
                        "%(who)s is not of the target of %(program)s (%(target)s).",
                        who=membership.beneficiary_id.display_name,
                        program=program.name,
                        target=dict(
                            program._fields["target_type"]._description_selection(
                                self.env
                            )
                        )[program.target_type],
                    )
                )

    def _compute_eligibility_html(self):
        for membership in self:
            program = membership.program_id
            beneficiary = membership.beneficiary_id
            if not program or not beneficiary:
                membership.eligibility_html = False
                membership.eligibility_failing = False
                continue
            membership.eligibility_html = program._explain_eligibility_html(
                beneficiary, title=_("Rule of %s", program.name)
            )
            membership.eligibility_failing = program._explain_failing(beneficiary)

    # ------------------------------------------------------------------
    # Refusing to enroll names the failing criteria
    # ------------------------------------------------------------------
    def _check_eligible(self):
        try:
            return super()._check_eligible()
        except UserError as err:
            lines = []
            for membership in self[:10]:
                failing = membership.program_id._explain_failing(
                    membership.beneficiary_id
                )
                if failing:
                    lines.append(f"{membership.beneficiary_id.sr_id}: {failing}")
            if not lines:
                raise
            raise UserError("\n".join([err.args[0], *lines])) from err

    # ------------------------------------------------------------------
    # Lifecycle with reasons (the workflow methods do the moves)
    # ------------------------------------------------------------------
    def _lifecycle_applicable(self, action):
        """The memberships of ``self`` that ``action`` can move."""
        sources = {
            "pause": ("enrolled",),
            "resume": ("paused",),
            "exit": ("enrolled", "paused"),
        }[action]
        return self.filtered(lambda m: m.state in sources)

    def action_exit_with_reason(self, reason, note=None):
        """Exit with a reason of the list (``g2p.br.exit.reason``) and a note."""
        if not reason:
            raise UserError(_("Choose the reason why the member leaves the program."))
        note = (note or "").strip()
        if reason.note_required and not note:
            raise UserError(_("Describe the case in a note for '%s'.", reason.name))
        text = f"{reason.name}: {note}" if note else reason.name
        self.action_exit(text)
        workflow(self).write({"exit_reason_id": reason.id})

    def apply_lifecycle(self, action, reason=None, note=None):
        """Pause, resume or exit the applicable memberships of ``self`` with a
        note in their history; returns the memberships moved."""
        moving = self._lifecycle_applicable(action)
        if not moving:
            raise UserError(
                _("None of the selected memberships can be moved this way.")
            )
        if action == "pause":
            moving.action_pause()
        elif action == "resume":
            moving.action_resume()
        else:
            moving.action_exit_with_reason(reason, note)
        note = (note or "").strip()
        if note and action != "exit":
            for membership in moving:
                membership.message_post(body=note)
        return moving


class G2pBrProgram(models.Model):
    _inherit = "g2p.br.program"

    members_draft_count = fields.Integer(
        string="Draft", compute="_compute_members_by_state"
    )
    members_paused_count = fields.Integer(
        string="Paused", compute="_compute_members_by_state"
    )
    members_exited_count = fields.Integer(
        string="Exited", compute="_compute_members_by_state"
    )
    members_not_eligible_count = fields.Integer(
        string="Not Eligible", compute="_compute_members_by_state"
    )

    def _compute_members_by_state(self):
        counts = {
            (program.id, state): count
            for program, state, count in self.env[
                "g2p.br.program.membership"
            ]._read_group(
                [("program_id", "in", self._origin.ids)],
                ["program_id", "state"],
                ["__count"],
            )
        }
        for program in self:
            pid = program._origin.id
            program.members_draft_count = counts.get((pid, "draft"), 0)
            program.members_paused_count = counts.get((pid, "paused"), 0)
            program.members_exited_count = counts.get((pid, "exited"), 0)
            program.members_not_eligible_count = counts.get((pid, "not_eligible"), 0)

    def action_open_memberships_state(self):
        self.ensure_one()
        state = self.env.context.get("membership_state")
        action = self._action_open_related("g2p.br.program.membership", _("Members"))
        if state:
            action["domain"] = [("program_id", "=", self.id), ("state", "=", state)]
        return action
