# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..utils import (
    MANAGER_GROUP,
    check_group,
    check_transitions,
    create_immutable_link_function,
    guard_create,
    guard_write,
    in_workflow,
    iso,
    workflow,
)

# Moves a user (or code) may make with write(); the eligibility re-check moves
# enrolled <-> not_eligible in bulk with the same rules (see verify_eligibility).
MEMBERSHIP_TRANSITIONS = {
    "draft": {"enrolled", "not_eligible"},
    "enrolled": {"paused", "exited", "not_eligible"},
    "paused": {"enrolled", "exited"},
    "not_eligible": {"enrolled"},
    "exited": set(),
}


class G2pBrProgramMembership(models.Model):
    _name = "g2p.br.program.membership"
    _description = "Program Membership"
    _inherit = ["mail.thread"]
    _order = "id desc"
    _workflow_fields = {
        "state": "use Enroll, Pause, Resume or Exit.",
        "enrollment_date": "use Enroll.",
        "exit_date": "use Exit.",
        "exit_reason": "use Exit.",
    }
    _initial_values = {"state": "draft"}
    _immutable_fields = ("beneficiary_id", "program_id", "company_id")

    beneficiary_id = fields.Many2one(
        "g2p.br.beneficiary", required=True, ondelete="restrict", index=True
    )
    program_id = fields.Many2one(
        "g2p.br.program", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(
        related="program_id.company_id", store=True, index=True
    )
    beneficiary_kind = fields.Selection(related="beneficiary_id.kind")
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("enrolled", "Enrolled"),
            ("paused", "Paused"),
            ("exited", "Exited"),
            ("not_eligible", "Not Eligible"),
        ],
        required=True,
        default="draft",
        readonly=True,
        index=True,
        copy=False,
        tracking=True,
    )
    enrollment_date = fields.Date(readonly=True, copy=False, tracking=True)
    exit_date = fields.Date(readonly=True, copy=False, tracking=True)
    exit_reason = fields.Char(copy=False, readonly=True, tracking=True)
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

    _sql_constraints = [
        (
            "beneficiary_program_unique",
            "unique(beneficiary_id, program_id)",
            "The beneficiary is already a member of this program.",
        ),
    ]

    @api.depends("beneficiary_id", "program_id")
    def _compute_display_name(self):
        for rec in self:
            rec.display_name = f"{rec.program_id.code} / {rec.beneficiary_id.sr_id}"

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    def init(self):
        """PostgreSQL keeps a membership in its program and with its beneficiary."""
        create_immutable_link_function(self.env.cr)
        self.env.cr.execute(
            SQL(
                """
            DROP TRIGGER IF EXISTS g2p_br_membership_immutable
                ON g2p_br_program_membership;
            CREATE TRIGGER g2p_br_membership_immutable
                BEFORE UPDATE ON g2p_br_program_membership
                FOR EACH ROW WHEN (OLD.program_id IS DISTINCT FROM NEW.program_id
                    OR OLD.beneficiary_id IS DISTINCT FROM NEW.beneficiary_id)
                EXECUTE FUNCTION g2p_br_immutable_link('program or beneficiary');

            CREATE OR REPLACE FUNCTION g2p_br_membership_before_delete()
            RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF EXISTS (SELECT 1 FROM g2p_br_entitlement e
                             JOIN g2p_br_cycle c ON c.id = e.cycle_id
                            WHERE c.program_id = OLD.program_id
                              AND e.beneficiary_id = OLD.beneficiary_id) THEN
                    RAISE EXCEPTION 'g2p_br: membership % has entitlements, it '
                        'cannot be deleted', OLD.id
                        USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                RETURN OLD;
            END $$;
            DROP TRIGGER IF EXISTS g2p_br_membership_before_delete
                ON g2p_br_program_membership;
            CREATE TRIGGER g2p_br_membership_before_delete
                BEFORE DELETE ON g2p_br_program_membership
                FOR EACH ROW EXECUTE FUNCTION g2p_br_membership_before_delete();
            """
            )
        )

    @api.ondelete(at_uninstall=False)
    def _unlink_only_drafts(self):
        # PostgreSQL refuses it too (g2p_br_membership_before_delete)
        if self.filtered(lambda m: m.state != "draft"):
            raise UserError(
                _(
                    "Only a draft membership can be deleted; a member leaves a "
                    "program through Exit."
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        if any(vals.get("exit_reason_id") for vals in vals_list) and not in_workflow(
            self
        ):
            raise UserError(_("Exit Reason (List): use Exit to set it."))
        guard_create(self, vals_list)
        for vals in vals_list:
            if vals.get("state", "draft") not in ("draft",):
                raise UserError(
                    _("A membership starts as draft; enroll it to change its state.")
                )
        return super().create(vals_list)

    def write(self, vals):
        if "exit_reason_id" in vals and not in_workflow(self):
            raise UserError(_("Exit Reason (List): use Exit to set it."))
        guard_write(self, vals)
        if "state" in vals:
            self._check_transition(vals["state"])
            if vals["state"] == "enrolled":
                self._check_eligible()
            elif vals["state"] == "exited":
                # the rules of action_exit hold for a state written directly (RPC)
                if not vals.get("exit_reason") and not all(self.mapped("exit_reason")):
                    raise UserError(_("Give a reason to exit a member from a program."))
                vals = dict(
                    vals,
                    exit_date=vals.get("exit_date") or fields.Date.context_today(self),
                )
        res = super().write(vals)
        if vals.get("state") == "enrolled":
            first = self.filtered(lambda m: not m.enrollment_date)
            if first:
                workflow(first).write(
                    {"enrollment_date": fields.Date.context_today(self)}
                )
        return res

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_enroll(self):
        check_group(self.env, MANAGER_GROUP, _("Enrolling a member"))
        workflow(self).write({"state": "enrolled"})

    def action_pause(self):
        check_group(self.env, MANAGER_GROUP, _("Pausing a member"))
        workflow(self).write({"state": "paused"})

    def action_resume(self):
        check_group(self.env, MANAGER_GROUP, _("Resuming a member"))
        workflow(self).write({"state": "enrolled"})

    def action_exit(self, reason=None):
        check_group(self.env, MANAGER_GROUP, _("Exiting a member"))
        reason = (reason or self.env.context.get("exit_reason") or "").strip()
        if not reason:
            raise UserError(_("Give a reason to exit a member from a program."))
        workflow(self).write(
            {
                "state": "exited",
                "exit_date": fields.Date.context_today(self),
                "exit_reason": reason,
            }
        )

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    def _check_transition(self, new_state):
        check_transitions(self, new_state, MEMBERSHIP_TRANSITIONS)

    def _check_eligible(self):
        """Only an eligible, active beneficiary can be enrolled; refusing to
        enroll names the failing criteria."""
        try:
            for program, memberships in self.grouped("program_id").items():
                eligible = (
                    self.env["g2p.br.beneficiary"]
                    .with_context(active_test=True)
                    .search(
                        program._get_eligibility_domain()
                        + [("id", "in", memberships.beneficiary_id.ids)]
                    )
                )
                refused = memberships.beneficiary_id - eligible
                if refused:
                    raise UserError(
                        _(
                            "%(who)s not eligible for %(program)s.",
                            who=", ".join(refused.mapped("sr_id")[:10]),
                            program=program.name,
                        )
                    )
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
    # Set-based enrollment (the program's buttons call these)
    # ------------------------------------------------------------------
    @api.model
    def _new_eligible_sql(self, program):
        """FROM/WHERE of the eligible beneficiaries of ``program`` that have no
        membership yet: what enrollment inserts (its INSERT gets the same set
        through ON CONFLICT: a NOT EXISTS on the table being filled would scan
        it again for every row it adds) and what its preview counts."""
        return SQL(
            """
            FROM g2p_br_beneficiary b
           WHERE b.id IN %(eligible)s
             AND NOT EXISTS (SELECT 1 FROM g2p_br_program_membership o
                              WHERE o.beneficiary_id = b.id
                                AND o.program_id = %(program)s)
            """,
            eligible=program._eligible_subquery(),
            program=program.id,
        )

    @api.model
    def _verify_moves_sql(self, program, beneficiary_ids=None):
        """(lost, regained): WHERE conditions on memberships ``m`` of ``program``
        that are enrolled but no longer eligible, and not eligible but eligible
        again; what verification updates and its preview counts."""
        eligible = program._eligible_condition(SQL("m.beneficiary_id"))
        scope = SQL("m.program_id = %s", program.id)
        if beneficiary_ids is not None:
            scope = SQL(
                "%s AND m.beneficiary_id IN %s",
                scope,
                tuple(beneficiary_ids) or (None,),
            )
        return (
            SQL("%s AND m.state = 'enrolled' AND NOT %s", scope, eligible),
            SQL("%s AND m.state = 'not_eligible' AND %s", scope, eligible),
        )

    @api.model
    def _enroll_eligible(self, program):
        """Enroll every eligible beneficiary of ``program`` not enrolled yet,
        set-based: new memberships are inserted as enrolled; draft memberships
        of eligible beneficiaries are enrolled and those of ineligible ones
        become not_eligible. Exited, paused and not_eligible memberships are
        left to :meth:`_verify_eligibility` and to the program manager.
        Idempotent."""
        self.flush_model()
        values = {
            "program": program.id,
            "today": fields.Date.context_today(self),
            "uid": self.env.uid,
            "now": fields.Datetime.now(),
        }
        cr = self.env.cr
        # One INSERT ... SELECT instead of one ORM create per beneficiary:
        # the ORM would take hours for a million members.
        cr.execute(
            SQL(
                """
            INSERT INTO g2p_br_program_membership
                (beneficiary_id, program_id, company_id, state, enrollment_date,
                 create_uid, create_date, write_uid, write_date)
            SELECT b.id, %(program)s, %(company)s, 'enrolled', %(today)s,
                   %(uid)s, %(now)s, %(uid)s, %(now)s
              FROM g2p_br_beneficiary b
             WHERE b.id IN %(eligible)s
            ON CONFLICT (beneficiary_id, program_id) DO NOTHING
            """,
                company=program.company_id.id,
                eligible=program._eligible_subquery(),
                **values,
            )
        )
        created = cr.rowcount
        eligible = program._eligible_condition(SQL("m.beneficiary_id"))
        cr.execute(
            SQL(
                """
            UPDATE g2p_br_program_membership m
               SET state = CASE WHEN %(eligible)s THEN 'enrolled'
                                ELSE 'not_eligible' END,
                   enrollment_date = CASE WHEN %(eligible)s
                                          THEN %(today)s ELSE m.enrollment_date END,
                   write_uid = %(uid)s, write_date = %(now)s
             WHERE m.program_id = %(program)s AND m.state = 'draft'
            RETURNING m.state
            """,
                eligible=eligible,
                **values,
            )
        )
        from_draft = [row[0] for row in cr.fetchall()]
        self.invalidate_model()
        return {
            "created": created,
            "enrolled_from_draft": from_draft.count("enrolled"),
            "draft_not_eligible": from_draft.count("not_eligible"),
        }

    @api.model
    def _verify_eligibility(self, program, beneficiary_ids=None):
        """Re-check eligibility of the members of ``program``, set-based:
        enrolled members no longer eligible become not_eligible; not_eligible
        members eligible again are enrolled (the allowed source states are in
        the WHERE, see MEMBERSHIP_TRANSITIONS). Paused, exited and draft
        memberships are not touched. Idempotent."""
        self.flush_model()
        self.env["g2p.br.beneficiary"].flush_model()
        lost_where, regained_where = self._verify_moves_sql(program, beneficiary_ids)
        values = {"uid": self.env.uid, "now": fields.Datetime.now()}
        cr = self.env.cr
        cr.execute(
            SQL(
                """
            UPDATE g2p_br_program_membership m
               SET state = 'not_eligible', write_uid = %(uid)s, write_date = %(now)s
             WHERE %(where)s
            """,
                where=lost_where,
                **values,
            )
        )
        lost = cr.rowcount
        cr.execute(
            SQL(
                """
            UPDATE g2p_br_program_membership m
               SET state = 'enrolled', write_uid = %(uid)s, write_date = %(now)s,
                   enrollment_date = COALESCE(m.enrollment_date, %(today)s)
             WHERE %(where)s
            """,
                where=regained_where,
                today=fields.Date.context_today(self),
                **values,
            )
        )
        regained = cr.rowcount
        self.invalidate_model()
        return {"not_eligible": lost, "enrolled": regained}

    def _to_dict(self):
        self.ensure_one()
        return {
            "program_code": self.program_id.code,
            "program_name": self.program_id.name,
            "state": self.state,
            "enrollment_date": iso(self.enrollment_date),
            "exit_date": iso(self.exit_date),
            "exit_reason": self.exit_reason or None,
        }

    # ------------------------------------------------------------------
    # Membership in the UI: the beneficiary is of the program's target, its
    # eligibility explained on the form
    # ------------------------------------------------------------------
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
