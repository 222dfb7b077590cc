# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from odoo.addons.queue_job.job import Job

# operation: (model of the record, method called on confirm)
OPERATIONS = {
    "program_enroll_eligible": ("g2p.br.program", "action_enroll_eligible"),
    "program_verify_eligibility": ("g2p.br.program", "action_verify_eligibility"),
    "cycle_generate_entitlements": ("g2p.br.cycle", "action_generate_entitlements"),
    "cycle_to_approve": ("g2p.br.cycle", "action_to_approve"),
    "cycle_approve_entitlements": ("g2p.br.cycle", "action_approve_entitlements"),
    "cycle_create_disbursements": ("g2p.br.cycle", "action_create_disbursements"),
    "cycle_cancel": ("g2p.br.cycle", "action_cancel"),
}


class G2pBrBulkConfirmWizard(models.TransientModel):
    """Confirmation of a bulk operation that says how many records it changes.

    The counts mirror the WHERE clauses of the set-based operations of the
    core models, so that what the dialog announces is what the operation does.
    """

    _name = "g2p.br.bulk.confirm.wizard"
    _description = "Confirm a Bulk Operation"

    operation = fields.Selection(
        [
            ("program_enroll_eligible", "Enroll Eligible Beneficiaries"),
            ("program_verify_eligibility", "Verify Eligibility"),
            ("cycle_generate_entitlements", "Generate Entitlements"),
            ("cycle_to_approve", "Send to Approval"),
            ("cycle_approve_entitlements", "Approve Entitlements"),
            ("cycle_create_disbursements", "Create Disbursements"),
            ("cycle_cancel", "Cancel Cycle"),
        ],
        required=True,
        readonly=True,
    )
    program_id = fields.Many2one("g2p.br.program", readonly=True)
    cycle_id = fields.Many2one("g2p.br.cycle", readonly=True)
    record_count = fields.Integer(
        string="Records to Change", compute="_compute_preview", readonly=True
    )
    message = fields.Text(compute="_compute_preview", readonly=True)
    will_run_in_background = fields.Boolean(compute="_compute_preview")

    @api.depends("operation", "program_id", "cycle_id")
    def _compute_preview(self):
        threshold = self.env["g2p.br.bulk.operation.mixin"]._bulk_threshold()
        for wizard in self:
            count, message = wizard._preview()
            wizard.record_count = count
            wizard.message = message
            wizard.will_run_in_background = count > threshold

    # ------------------------------------------------------------------
    # Counts: one query each, the same conditions as the operations
    # ------------------------------------------------------------------
    def _preview(self):
        self.ensure_one()
        if not self.operation:
            return 0, ""
        self._check_allowed()
        return getattr(self, "_preview_" + self.operation)()

    def _check_allowed(self):
        """The checks the operation makes before it changes anything: the
        caller's access to the record, the role and the rule of the step."""
        record = (
            self.program_id
            if self.operation.startswith("program_")
            else (self.cycle_id)
        )
        record.check_access_rights("write")
        record.check_access_rule("write")
        if self.operation == "cycle_approve_entitlements":
            record._check_can_approve()
        elif self.operation == "cycle_cancel":
            record._check_can_cancel()

    def _preview_program_enroll_eligible(self):
        program = self.program_id
        Membership = self.env["g2p.br.program.membership"]
        new = program._count_sql(Membership._new_eligible_sql(program))
        drafts = Membership.search_count(
            [("program_id", "=", program.id), ("state", "=", "draft")]
        )
        return new + drafts, _(
            "%(new)s eligible beneficiaries will be enrolled in %(program)s, and "
            "%(drafts)s draft memberships will be enrolled or marked not eligible.",
            new=new,
            drafts=drafts,
            program=program.name,
        )

    def _preview_program_verify_eligibility(self):
        lost_where, regained_where = self.env[
            "g2p.br.program.membership"
        ]._verify_moves_sql(self.program_id)
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
            SELECT COUNT(*) FILTER (WHERE %(lost)s),
                   COUNT(*) FILTER (WHERE %(regained)s)
              FROM g2p_br_program_membership m
             WHERE m.program_id = %(program)s
            """,
                lost=lost_where,
                regained=regained_where,
                program=self.program_id.id,
            )
        )
        lost, regained = self.env.cr.fetchone()
        return lost + regained, _(
            "%(lost)s enrolled members are no longer eligible and will be marked not "
            "eligible; %(regained)s members eligible again will be enrolled.",
            lost=lost,
            regained=regained,
        )

    def _preview_cycle_generate_entitlements(self):
        cycle = self.cycle_id
        count = cycle._count_sql(self.env["g2p.br.entitlement"]._generatable_sql(cycle))
        return count, _(
            "%(count)s draft entitlements will be created in %(cycle)s, one per "
            "enrolled member without one.",
            count=count,
            cycle=cycle.name,
        )

    def _count_entitlements(self, states):
        return self.env["g2p.br.entitlement"].search_count(
            [("cycle_id", "=", self.cycle_id.id), ("state", "in", states)]
        )

    def _preview_cycle_to_approve(self):
        count = self._count_entitlements(["draft"])
        return count, _("%s draft entitlements will be sent for approval.", count)

    def _preview_cycle_approve_entitlements(self):
        count = self._count_entitlements(["pending_approval"])
        return count, _("%s entitlements waiting for approval will be approved.", count)

    def _preview_cycle_create_disbursements(self):
        cycle = self.cycle_id
        count = cycle._count_sql(
            self.env["g2p.br.disbursement"]._disbursable_sql(cycle)
        )
        return count, _(
            "%s pending disbursements will be created, one per approved entitlement "
            "with a remainder and no disbursement in flight.",
            count,
        )

    def _preview_cycle_cancel(self):
        count = self._count_entitlements(["draft", "pending_approval", "approved"])
        return count, _(
            "The cycle will be cancelled, and %s of its entitlements with it.", count
        )

    # ------------------------------------------------------------------
    # Action
    # ------------------------------------------------------------------
    def action_confirm(self):
        self.ensure_one()
        model, method = OPERATIONS[self.operation]
        record = self.program_id if model == "g2p.br.program" else self.cycle_id
        if not record:
            raise UserError(_("Nothing to run the operation on."))
        label = dict(self._fields["operation"]._description_selection(self.env))[
            self.operation
        ]
        result = getattr(record, method)()
        if isinstance(result, Job):
            message = _(
                "%(op)s runs as a background job; %(name)s shows a banner "
                "until it is done.",
                op=label,
                name=record.display_name,
            )
        elif isinstance(result, dict) and result:
            message = _(
                "%(op)s: %(summary)s.",
                op=label,
                summary=", ".join(
                    f"{key.replace('_', ' ')} {value}" for key, value in result.items()
                ),
            )
        elif isinstance(result, int):
            message = _("%(op)s: %(n)s records changed.", op=label, n=result)
        else:
            message = _("%s: done.", label)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": label,
                "message": message,
                "type": "success",
                "sticky": False,
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
