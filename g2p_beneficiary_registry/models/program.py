# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import ast
from contextlib import contextmanager

import psycopg2
from dateutil.relativedelta import relativedelta
from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.osv import expression
from odoo.tools import SQL, mute_logger

from ..utils import (
    ADMIN_GROUP,
    MANAGER_GROUP,
    check_group,
    check_transitions,
    count_by,
    guard_create,
    guard_write,
    open_related,
    workflow,
)
from .bulk_operation_mixin import BUSY_FIELDS
from .cycle import FIGURES, cycle_figures

PROGRAM_TRANSITIONS = {
    "draft": {"active"},
    "active": {"ended"},
    "ended": {"active"},
}

# What the eligibility rule may read: the beneficiary's own stored attributes,
# its household's (``group_id.<attribute>``) and its identifiers. A path into
# memberships, entitlements, disbursements or programs would let a rule read
# other programs' data, whoever may see them.
RULE_RELATIONS = {
    "group_id": "g2p.br.beneficiary",
    "identifier_ids": "g2p.br.beneficiary.identifier",
}
RULE_IDENTIFIER_PATHS = {"type_id.code"}
# Seconds a count of the eligibility rule may take on a form before it gives up.
RULE_COUNT_TIMEOUT_PARAM = "g2p_beneficiary_registry.rule_count_timeout"

# What a program's records were made for: fixed once the program is activated.
STRUCTURE_FIELDS = (
    "target_type",
    "benefit_kind",
    "company_id",
    "currency_id",
    "item_id",
)

TARGET_TYPES = [("individual", "Individuals"), ("group", "Groups (households)")]
BENEFIT_KINDS = [("cash", "Cash"), ("in_kind", "In-kind")]
CYCLE_FREQUENCIES = [
    ("monthly", "Monthly"),
    ("quarterly", "Quarterly"),
    ("yearly", "Yearly"),
    ("one_off", "One-off"),
]
FREQUENCY_DELTAS = {
    "monthly": relativedelta(months=1),
    "quarterly": relativedelta(months=3),
    "yearly": relativedelta(years=1),
    "one_off": relativedelta(months=1),
}

# Columns a program may choose for the payment list of its cycles,
# key: (header, description)
EXPORT_COLUMNS = {
    "reference": ("Reference", "Disbursement reference"),
    "sr_id": ("SR ID", "Social Registry id of the beneficiary"),
    "identifiers": ("Identifiers", "Every identifier, TYPE:value separated by ;"),
    "amount": ("Amount", "Amount (cash)"),
    "currency": ("Currency", "ISO currency code"),
    "quantity": ("Quantity", "Quantity (in-kind)"),
    "unit": ("Unit", "Unit of the in-kind item"),
    "channel": ("Channel", "Payment channel"),
    "status": ("Status", "Disbursement status"),
    "region": ("Region", "Region code of the beneficiary"),
    "program": ("Program", "Program code"),
    "cycle": ("Cycle", "Cycle name"),
}
DEFAULT_COLUMNS = "reference,sr_id,identifiers,amount,currency,channel"

# How the eligibility explanation writes a rule's operators
OPERATOR_LABELS = {
    "=": "=",
    "!=": "≠",
    "<": "<",
    "<=": "≤",
    ">": ">",
    ">=": "≥",
    "in": "in",
    "not in": "not in",
    "ilike": "contains",
    "not ilike": "does not contain",
    "like": "contains",
    "=like": "matches",
    "=ilike": "matches",
}


class G2pBrProgram(models.Model):
    _name = "g2p.br.program"
    _description = "Social Protection Program"
    _inherit = ["mail.thread", "g2p.br.bulk.operation.mixin"]
    _order = "name"
    _workflow_fields = {"state": "use Activate or End.", **BUSY_FIELDS}
    _initial_values = {"state": "draft"}
    _immutable_fields = ()

    code = fields.Char(required=True, tracking=True, copy=False)
    name = fields.Char(required=True, tracking=True, translate=True)
    description = fields.Html()
    active = fields.Boolean(default=True)
    target_type = fields.Selection(
        TARGET_TYPES,
        string="Target",
        required=True,
        default="individual",
        tracking=True,
    )
    benefit_kind = fields.Selection(
        BENEFIT_KINDS,
        required=True,
        default="cash",
        tracking=True,
    )
    item_id = fields.Many2one("g2p.br.item", string="In-kind Item", ondelete="restrict")
    unit = fields.Char(related="item_id.unit")
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    currency_id = fields.Many2one(
        "res.currency",
        required=True,
        default=lambda self: self.env.company.currency_id,
    )
    state = fields.Selection(
        [("draft", "Draft"), ("active", "Active"), ("ended", "Ended")],
        required=True,
        default="draft",
        readonly=True,
        tracking=True,
        copy=False,
    )
    user_ids = fields.Many2many(
        "res.users",
        "g2p_br_program_res_users_rel",
        "program_id",
        "user_id",
        string="Assigned Users",
        default=lambda self: self.env.user,
        tracking=True,
        help="Managers, approvers, viewers and API clients who work on this program. "
        "Users outside the Administrator group see only the programs they are "
        "assigned to.",
    )
    eligibility_domain = fields.Char(
        default="[]",
        required=True,
        tracking=True,
        help="Odoo domain over beneficiaries: who is eligible for this program.",
    )
    base_amount = fields.Float(
        string="Base Amount / Quantity",
        digits=(16, 2),
        tracking=True,
        help="Amount (cash) or quantity (in-kind) per beneficiary and cycle.",
    )
    amount_per_member = fields.Float(
        digits=(16, 2), tracking=True, help="Added per member of a group (household)."
    )
    max_amount = fields.Float(
        string="Cap",
        digits=(16, 2),
        tracking=True,
        help="Maximum per beneficiary and cycle; 0 means no cap.",
    )
    cycle_frequency = fields.Selection(
        CYCLE_FREQUENCIES,
        required=True,
        default="monthly",
    )
    default_channel = fields.Selection(
        selection="_selection_channel", default="bank_transfer", required=True
    )
    four_eyes = fields.Boolean(
        string="Four-eyes Approval",
        default=True,
        tracking=True,
        help="The user who generated entitlements may not approve them. Only a "
        "Beneficiary Registry administrator changes it, never while a cycle "
        "waits for approval.",
    )
    membership_ids = fields.One2many("g2p.br.program.membership", "program_id")
    cycle_ids = fields.One2many("g2p.br.cycle", "program_id")
    # set-up that cannot dead-end (see _check_rule_confirmed)
    rule_is_empty = fields.Boolean(
        string="Rule Matches Everyone", compute="_compute_rule_is_empty"
    )
    rule_matches_all_confirmed = fields.Boolean(
        string="Everyone of the Target Is Eligible",
        tracking=True,
        help="The eligibility rule has no criterion: every active beneficiary of "
        "the target is eligible. Tick to confirm this is intended; until then "
        "nobody is enrolled.",
    )

    # payment list layout of the program's cycles
    payment_export_columns = fields.Char(
        string="Payment List Columns",
        default=DEFAULT_COLUMNS,
        required=True,
        help="Comma-separated columns of the payment list handed to the bank or "
        "provider, in order. Available: "
        + ", ".join(EXPORT_COLUMNS)
        + ", and id:<identifier type code> for one identifier type "
        "(e.g. id:NATIONAL_ID). A column may be renamed with =, e.g. "
        "reference=TxnRef.",
    )
    payment_export_delimiter = fields.Selection(
        [(",", "Comma"), (";", "Semicolon"), ("\t", "Tab")],
        string="CSV Delimiter",
        default=",",
        required=True,
    )

    # members by state, current cycle figures (forms only)
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

    current_awaiting_count = fields.Integer(compute="_compute_current_figures")
    current_awaiting_value = fields.Float(
        string="Awaiting Approval", compute="_compute_current_figures", digits=(16, 2)
    )
    current_approved_value = fields.Float(
        string="Approved", compute="_compute_current_figures", digits=(16, 2)
    )
    current_paid_value = fields.Float(
        string="Paid", compute="_compute_current_figures", digits=(16, 2)
    )
    current_failed_count = fields.Integer(compute="_compute_current_figures")
    current_failed_value = fields.Float(
        string="Failed", compute="_compute_current_figures", digits=(16, 2)
    )
    current_reversed_value = fields.Float(
        string="Reversed", compute="_compute_current_figures", digits=(16, 2)
    )
    current_sent_value = fields.Float(
        string="In Flight", compute="_compute_current_figures", digits=(16, 2)
    )

    # UI figures (see _compute_ui_counts, _compute_current_cycle and
    # _compute_eligible_count)
    member_count = fields.Integer(string="Enrolled", compute="_compute_ui_counts")
    membership_count = fields.Integer(string="Members", compute="_compute_ui_counts")
    cycle_count = fields.Integer(string="Cycles", compute="_compute_ui_counts")
    entitlement_count = fields.Integer(
        string="Entitlement Count", compute="_compute_ui_counts"
    )
    disbursement_count = fields.Integer(
        string="Disbursement Count", compute="_compute_ui_counts"
    )
    current_cycle_id = fields.Many2one(
        "g2p.br.cycle",
        string="Current Cycle",
        compute="_compute_current_cycle",
        help="The latest cycle that has started (or the next one), not cancelled.",
    )
    current_entitled = fields.Float(
        string="Entitled this Cycle",
        compute="_compute_current_cycle",
        digits=(16, 2),
        help="Approved or expired entitlements of the current cycle: amount or "
        "quantity.",
    )
    current_disbursed = fields.Float(
        string="Disbursed this Cycle", compute="_compute_current_cycle", digits=(16, 2)
    )
    current_disbursed_rate = fields.Float(
        string="Disbursed %", compute="_compute_current_cycle"
    )
    eligible_count = fields.Integer(
        string="Matching Beneficiaries",
        compute="_compute_eligible_count",
        help="Active beneficiaries of the program's target the eligibility rule "
        "matches now, among those you may see.",
    )

    _sql_constraints = [
        ("code_unique", "unique(code)", "A program with this code exists already."),
        (
            "amounts_positive",
            "CHECK(base_amount >= 0 AND amount_per_member >= 0 AND max_amount >= 0)",
            "Amounts of the entitlement rule cannot be negative.",
        ),
    ]

    @api.model
    def _selection_channel(self):
        return self.env["g2p.br.disbursement"]._fields["channel"].selection

    # ------------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------------
    @api.constrains("eligibility_domain")
    def _check_eligibility_domain(self):
        for program in self:
            try:
                domain = program._get_eligibility_domain()
                self._check_rule_paths(domain)
                self.env["g2p.br.beneficiary"]._where_calc(domain)
            except Exception as err:
                raise ValidationError(
                    _(
                        "The eligibility rule of %(program)s is not a valid domain: "
                        "%(err)s",
                        program=program.name,
                        err=err,
                    )
                ) from err

    @api.constrains("benefit_kind", "item_id")
    def _check_item(self):
        for program in self:
            if program.benefit_kind == "in_kind" and not program.item_id:
                raise ValidationError(_("An in-kind program needs an item."))

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        guard_create(self, vals_list)
        if any("four_eyes" in vals and not vals["four_eyes"] for vals in vals_list):
            check_group(self.env, ADMIN_GROUP, _("Turning four-eyes approval off"))
        return super().create(vals_list)

    def write(self, vals):
        guard_write(self, vals)
        if "state" in vals:
            self._check_state_transition(vals["state"])
        if "four_eyes" in vals:
            self._check_four_eyes_change(vals["four_eyes"])
        self._check_structure_change(vals)
        return super().write(vals)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_activate(self):
        check_group(self.env, MANAGER_GROUP, _("Activating a program"))
        workflow(self).write({"state": "active"})

    def action_end(self):
        check_group(self.env, MANAGER_GROUP, _("Ending a program"))
        workflow(self).write({"state": "ended"})

    def action_enroll_eligible(self):
        self._check_rule_confirmed()
        self.ensure_one()
        check_group(self.env, MANAGER_GROUP, _("Enrolling beneficiaries"))
        self._check_active()
        self._check_bulk_access("g2p.br.program.membership", "create")
        return self._run_bulk(
            "_enroll_eligible",
            self._count_sql(
                self.env["g2p.br.program.membership"]._new_eligible_sql(self)
            ),
            _("Enroll eligible beneficiaries"),
        )

    def action_verify_eligibility(self):
        self.ensure_one()
        check_group(self.env, MANAGER_GROUP, _("Verifying eligibility"))
        self._check_active()
        self._check_bulk_access("g2p.br.program.membership", "write")
        size = self.env["g2p.br.program.membership"].search_count(
            [("program_id", "=", self.id)]
        )
        return self._run_bulk("verify_eligibility", size, _("Verify eligibility"))

    def action_create_next_cycle(self):
        self.ensure_one()
        check_group(self.env, MANAGER_GROUP, _("Creating a cycle"))
        self._check_active()
        cycle = self._create_next_cycle()
        return {
            "type": "ir.actions.act_window",
            "res_model": "g2p.br.cycle",
            "res_id": cycle.id,
            "view_mode": "form",
        }

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    def _check_state_transition(self, new_state):
        check_transitions(self, new_state, PROGRAM_TRANSITIONS)

    def _check_active(self):
        for program in self:
            if program.state != "active":
                raise UserError(_("Program %s is not active.", program.name))

    def _check_structure_change(self, vals):
        """What a program's memberships, cycles and entitlements were made for
        (its target, benefit, company, currency and item) does not change once
        the program has been activated."""
        for name in set(STRUCTURE_FIELDS) & set(vals):
            field = self._fields[name]
            new = field.convert_to_cache(vals[name], self)
            for program in self.filtered(lambda p: p.state != "draft"):
                if field.convert_to_cache(program[name], program) != new:
                    raise UserError(
                        _(
                            "%(field)s of program %(name)s cannot change once it has "
                            "been activated: create a new program.",
                            field=field.get_description(self.env)["string"],
                            name=program.name,
                        )
                    )

    def _check_four_eyes_change(self, four_eyes):
        """Four-eyes approval is changed by an administrator only, and never
        turned off while a cycle of the program waits for approval."""
        changed = self.filtered(lambda p: p.four_eyes != bool(four_eyes))
        if not changed:
            return
        check_group(self.env, ADMIN_GROUP, _("Changing four-eyes approval"))
        if not four_eyes and self.env["g2p.br.cycle"].sudo().search_count(
            [("program_id", "in", changed.ids), ("state", "=", "to_approve")], limit=1
        ):
            raise UserError(
                _(
                    "A cycle of %s waits for approval: four-eyes approval cannot be "
                    "turned off now.",
                    changed[0].name,
                )
            )

    def _check_four_eyes(self, generators, what):
        """The one four-eyes rule: under four-eyes approval, a user who
        generated entitlements (``generators``) does not decide on them."""
        self.ensure_one()
        if self.four_eyes and self.env.user in generators:
            raise UserError(
                _(
                    "Four-eyes approval: you generated the entitlements of %s; "
                    "another approver must decide on them.",
                    what,
                )
            )

    @api.model
    def _check_rule_paths(self, domain):
        """Refuse a rule that reads anything but the beneficiary's own stored
        attributes, its household's and its identifiers (RULE_RELATIONS)."""
        Beneficiary = self.env["g2p.br.beneficiary"]
        for leaf in domain:
            if not isinstance(leaf, list | tuple) or len(leaf) != 3:
                continue
            path = leaf[0]
            if not isinstance(path, str):
                raise ValidationError(_("%r is not a field of a beneficiary.", path))
            if leaf[1] in ("any", "not any"):
                raise ValidationError(
                    _("The eligibility rule cannot use the operator %r.", leaf[1])
                )
            name, _dot, rest = path.partition(".")
            field = Beneficiary._fields.get(name)
            if field is None or not field.store:
                raise ValidationError(
                    _("%r is not a stored field of a beneficiary.", name)
                )
            # a many2one compared as such (group_id, company_id) reads only
            # the beneficiary's own row
            direct_many2one = field.type == "many2one" and not rest
            if field.relational and name not in RULE_RELATIONS and not direct_many2one:
                raise ValidationError(
                    _(
                        "The eligibility rule may read the beneficiary's attributes, "
                        "its household's and its identifiers, not %r.",
                        path,
                    )
                )
            if rest:
                if name not in RULE_RELATIONS:
                    raise ValidationError(
                        _(
                            "The eligibility rule may read the beneficiary's "
                            "attributes, its household's and its identifiers, not %r.",
                            path,
                        )
                    )
                self._check_rule_subpath(name, rest)

    @api.model
    def _check_rule_subpath(self, relation, path):
        if relation == "identifier_ids" and path in RULE_IDENTIFIER_PATHS:
            return
        model = self.env[RULE_RELATIONS[relation]]
        field = model._fields.get(path)
        if field is None or not field.store or field.relational:
            raise ValidationError(
                _(
                    "The eligibility rule may read the beneficiary's attributes, its "
                    "household's and its identifiers, not %r.",
                    f"{relation}.{path}",
                )
            )

    def _get_eligibility_domain(self):
        """The full domain of eligible beneficiaries: the rule, the target kind
        and the program's company. The rule is a literal domain: no code runs
        when it is read."""
        self.ensure_one()
        try:
            rule = ast.literal_eval((self.eligibility_domain or "[]").strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise ValidationError(
                _(
                    "The eligibility rule must be a literal domain (a list of "
                    "conditions), not an expression."
                )
            ) from None
        if not isinstance(rule, list | tuple):
            raise ValidationError(_("The eligibility rule must be a list."))
        return expression.AND(
            [
                list(rule),
                [("kind", "=", self.target_type)],
                [
                    "|",
                    ("company_id", "=", False),
                    ("company_id", "=", self.company_id.id),
                ],
            ]
        )

    def _eligible_subquery(self):
        """SQL sub-select of the ids of active, eligible beneficiaries, with the
        caller's access rules (a manager sees every beneficiary of the company;
        the rule's paths are limited by _check_rule_paths)."""
        self.ensure_one()
        query = self.env["g2p.br.beneficiary"]._search(self._get_eligibility_domain())
        return query.subselect()

    def _eligible_condition(self, beneficiary_column):
        """SQL condition "the beneficiary ``beneficiary_column`` is eligible",
        as a correlated EXISTS: PostgreSQL plans it as a (anti-)join, where a
        NOT IN over a large sub-select would degrade to a nested scan."""
        self.ensure_one()
        query = self.env["g2p.br.beneficiary"]._search(self._get_eligibility_domain())
        query.add_where(
            SQL("%s = %s", SQL.identifier(query.table, "id"), beneficiary_column)
        )
        return SQL("EXISTS %s", query.subselect(SQL("1")))

    def _count_eligible(self):
        self.ensure_one()
        return self.env["g2p.br.beneficiary"].search_count(
            self._get_eligibility_domain()
        )

    @contextmanager
    def _rule_timeout(self):
        """Bound the time a count of the rule may take on a form: PostgreSQL's
        statement timeout, restored afterwards."""
        seconds = int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param(RULE_COUNT_TIMEOUT_PARAM, "5")
        )
        cr = self.env.cr
        cr.execute(SQL("SHOW statement_timeout"))
        previous = cr.fetchone()[0]
        cr.execute(
            SQL("SELECT set_config('statement_timeout', %s, true)", f"{seconds}s")
        )
        try:
            yield
        finally:
            cr.execute(
                SQL("SELECT set_config('statement_timeout', %s, true)", previous)
            )

    def _enroll_eligible(self):
        """Enroll every eligible beneficiary not enrolled yet (the rule lives in
        :meth:`g2p.br.program.membership._enroll_eligible`); post a summary."""
        self._check_rule_confirmed()
        self.ensure_one()
        self._check_bulk_access("g2p.br.program.membership", "create")
        summary = self.env["g2p.br.program.membership"]._enroll_eligible(self)
        self.message_post(
            body=_(
                "Enroll eligible: %(created)s new members enrolled, %(enrolled)s draft "
                "memberships enrolled, %(rejected)s draft memberships not eligible.",
                created=summary["created"],
                enrolled=summary["enrolled_from_draft"],
                rejected=summary["draft_not_eligible"],
            )
        )
        return summary

    def verify_eligibility(self, beneficiary_ids=None):
        """Re-check the members' eligibility (the rule lives in
        :meth:`g2p.br.program.membership._verify_eligibility`); post a summary.
        ``beneficiary_ids`` limits the check to those beneficiaries."""
        self.ensure_one()
        self._check_bulk_access("g2p.br.program.membership", "write")
        summary = self.env["g2p.br.program.membership"]._verify_eligibility(
            self, beneficiary_ids
        )
        if summary["not_eligible"] or summary["enrolled"] or beneficiary_ids is None:
            self.message_post(
                body=_(
                    "Eligibility verified: %(lost)s members no longer eligible, "
                    "%(regained)s members eligible again.",
                    lost=summary["not_eligible"],
                    regained=summary["enrolled"],
                )
            )
        return summary

    def _entitlement_amount_sql(self, beneficiary_alias="b"):
        """The entitlement rule: SQL expression of the amount (or quantity) one
        beneficiary is entitled to per cycle: base + per member x group size,
        capped. Override this to change the rule; the set-based generation and
        :meth:`_compute_entitlement_amount` both use it."""
        self.ensure_one()
        size = SQL("COALESCE(%s.group_size, 0)", SQL.identifier(beneficiary_alias))
        amount = SQL("(%s + %s * %s)", self.base_amount, self.amount_per_member, size)
        if self.max_amount:
            amount = SQL("LEAST(%s, %s)", amount, self.max_amount)
        return SQL("ROUND((%s)::numeric, 2)", amount)

    def _compute_entitlement_amount(self, beneficiary):
        """The amount :meth:`_entitlement_amount_sql` gives one beneficiary."""
        self.ensure_one()
        beneficiary.flush_recordset(["group_size"])
        self.env.cr.execute(
            SQL(
                "SELECT %s FROM g2p_br_beneficiary b WHERE b.id = %s",
                self._entitlement_amount_sql("b"),
                beneficiary.id,
            )
        )
        return float(self.env.cr.fetchone()[0])

    def _create_next_cycle(self):
        """Create the cycle that follows the last one, from the frequency."""
        self.ensure_one()
        last = self.env["g2p.br.cycle"].search(
            [("program_id", "=", self.id), ("state", "!=", "cancelled")],
            order="end_date desc",
            limit=1,
        )
        if self.cycle_frequency == "one_off" and last:
            raise UserError(
                _("The one-off program %s already has its cycle.", self.name)
            )
        start = (
            last.end_date + relativedelta(days=1)
            if last
            else fields.Date.context_today(self)
        )
        end = start + FREQUENCY_DELTAS[self.cycle_frequency] - relativedelta(days=1)
        sequence = (
            self.env["g2p.br.cycle"].search_count([("program_id", "=", self.id)]) + 1
        )
        return self.env["g2p.br.cycle"].create(
            {
                "program_id": self.id,
                "name": _("%(code)s cycle %(n)s", code=self.code, n=sequence),
                "start_date": start,
                "end_date": end,
            }
        )

    # ------------------------------------------------------------------
    # Queries
    # ------------------------------------------------------------------
    def get_totals(self):
        """Members by state and amounts entitled vs disbursed (approved or
        expired entitlements), for one program."""
        self.ensure_one()
        return self._totals(
            [("program_id", "=", self.id)], [("program_id", "=", self.id)]
        )

    def _totals(self, membership_domain, entitlement_domain):
        self.ensure_one()
        value_field = "amount" if self.benefit_kind == "cash" else "quantity"
        members = {
            state: count
            for state, count in self.env["g2p.br.program.membership"]._read_group(
                membership_domain, ["state"], ["__count"]
            )
        }
        counted = expression.AND(
            [entitlement_domain, [("state", "in", ("approved", "expired"))]]
        )
        [(entitled, disbursed)] = self.env["g2p.br.entitlement"]._read_group(
            counted, [], [f"{value_field}:sum", "disbursed_total:sum"]
        )
        return {
            "members": members,
            "entitled": entitled or 0.0,
            "disbursed": disbursed or 0.0,
        }

    # ------------------------------------------------------------------
    # UI figures: non-stored, shown on forms and the kanban only (never in
    # list views), each computed with one grouped read for all records.
    # ------------------------------------------------------------------
    def _grouped_count(self, model, extra_domain=None):
        """{program id: count} of ``model`` records, one grouped read."""
        return count_by(self.env, model, "program_id", self._origin.ids, extra_domain)

    def _compute_ui_counts(self):
        enrolled = self._grouped_count(
            "g2p.br.program.membership", [("state", "=", "enrolled")]
        )
        members = self._grouped_count("g2p.br.program.membership")
        cycles = self._grouped_count("g2p.br.cycle")
        entitlements = self._grouped_count("g2p.br.entitlement")
        disbursements = self._grouped_count("g2p.br.disbursement")
        for program in self:
            pid = program._origin.id
            program.member_count = enrolled.get(pid, 0)
            program.membership_count = members.get(pid, 0)
            program.cycle_count = cycles.get(pid, 0)
            program.entitlement_count = entitlements.get(pid, 0)
            program.disbursement_count = disbursements.get(pid, 0)

    def _compute_current_cycle(self):
        today = fields.Date.context_today(self)
        cycles = self.env["g2p.br.cycle"].search(
            [("program_id", "in", self._origin.ids), ("state", "!=", "cancelled")],
            order="start_date desc, id desc",
        )
        current = {}
        for cycle in cycles:
            # the first started cycle wins; until one has started, the earliest
            if cycle.program_id.id not in current or (
                current[cycle.program_id.id].start_date > today
            ):
                current[cycle.program_id.id] = cycle
        totals = {
            cycle.id: (amount or 0.0, quantity or 0.0, disbursed or 0.0)
            for cycle, amount, quantity, disbursed in self.env[
                "g2p.br.entitlement"
            ]._read_group(
                [
                    ("cycle_id", "in", [c.id for c in current.values()]),
                    ("state", "in", ("approved", "expired")),
                ],
                ["cycle_id"],
                ["amount:sum", "quantity:sum", "disbursed_total:sum"],
            )
        }
        for program in self:
            cycle = current.get(program._origin.id, self.env["g2p.br.cycle"])
            amount, quantity, disbursed = totals.get(cycle.id, (0.0, 0.0, 0.0))
            entitled = amount if program.benefit_kind == "cash" else quantity
            program.current_cycle_id = cycle
            program.current_entitled = entitled
            program.current_disbursed = disbursed
            program.current_disbursed_rate = (
                100.0 * disbursed / entitled if entitled else 0.0
            )

    @api.depends("eligibility_domain", "target_type", "company_id")
    def _compute_eligible_count(self):
        Beneficiary = self.env["g2p.br.beneficiary"]
        for program in self:
            try:
                # a rule being edited may still be invalid SQL (e.g. a date
                # being typed), or too slow: roll back to a savepoint, count 0,
                # log nothing
                with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                    domain = program._get_eligibility_domain()
                    self._check_rule_paths(domain)
                    with program._rule_timeout():
                        program.eligible_count = Beneficiary.search_count(domain)
            except (
                ValueError,
                TypeError,
                SyntaxError,
                NameError,
                ValidationError,
                psycopg2.Error,
            ):
                program.eligible_count = 0

    def _action_open_related(self, model, name, extra_context=None):
        return open_related(self, model, name, "program_id", extra_context)

    def action_open_memberships(self):
        return self._action_open_related(
            "g2p.br.program.membership", _("Members"), {"search_default_enrolled": 1}
        )

    def action_open_cycles(self):
        return self._action_open_related("g2p.br.cycle", _("Cycles"))

    def action_open_entitlements(self):
        return self._action_open_related("g2p.br.entitlement", _("Entitlements"))

    def action_open_disbursements(self):
        return self._action_open_related("g2p.br.disbursement", _("Disbursements"))

    # ------------------------------------------------------------------
    # Set-up that cannot dead-end: four-eyes on by default, and a rule that
    # matches everyone must be confirmed before anybody is enrolled
    # ------------------------------------------------------------------
    @api.depends("eligibility_domain")
    def _compute_rule_is_empty(self):
        for program in self:
            try:
                rule = ast.literal_eval((program.eligibility_domain or "[]").strip())
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                rule = [None]
            program.rule_is_empty = not rule

    def _check_rule_confirmed(self):
        for program in self:
            if program.rule_is_empty and not program.rule_matches_all_confirmed:
                raise UserError(
                    _(
                        "The eligibility rule of %s has no criterion: it matches "
                        "every active beneficiary of the target. Set a rule, or "
                        "confirm 'Everyone of the Target Is Eligible' on the "
                        "Eligibility tab.",
                        program.name,
                    )
                )

    @api.model
    def create_with_setup(self, vals, first_cycle=False, enroll=False):
        """Create a program as the creation assistant sets it up: activate it,
        create its first cycle, enroll the eligible (a background job above
        the bulk threshold). Returns the program and what enrolling returned."""
        program = self.create(vals)
        program.action_activate()
        enrolled = None
        if enroll:
            enrolled = program.action_enroll_eligible()
        if first_cycle:
            program._create_next_cycle()
        return program, enrolled

    # ------------------------------------------------------------------
    # Payment list layout of the program's cycles (the cycle writes the list)
    # ------------------------------------------------------------------
    @api.constrains("payment_export_columns")
    def _check_payment_export_columns(self):
        for program in self:
            program._payment_columns()

    def _payment_columns(self):
        """``[(key, header)]`` of the program's payment list layout."""
        self.ensure_one()
        columns = []
        for raw in (self.payment_export_columns or "").split(","):
            raw = raw.strip()
            if not raw:
                continue
            key, _sep, header = raw.partition("=")
            key = key.strip()
            if key.startswith("id:") and key[3:]:
                default_header = key[3:]
            elif key in EXPORT_COLUMNS:
                default_header = EXPORT_COLUMNS[key][0]
            else:
                raise ValidationError(
                    _(
                        "Unknown payment list column %(key)s; available: %(keys)s, "
                        "id:<identifier type code>.",
                        key=key,
                        keys=", ".join(EXPORT_COLUMNS),
                    )
                )
            columns.append((key, header.strip() or default_header))
        if not columns:
            raise ValidationError(_("The payment list needs at least one column."))
        return columns

    # ------------------------------------------------------------------
    # Members by state and the current cycle's figures (forms only)
    # ------------------------------------------------------------------
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

    def _compute_current_figures(self):
        cycles = self.current_cycle_id
        figures = cycle_figures(self.env, cycles.ids)
        empty = {key: [0, 0.0] for key, _label in FIGURES}
        for program in self:
            values = figures.get(program.current_cycle_id.id, empty)
            program.current_awaiting_count = values["awaiting"][0]
            program.current_awaiting_value = values["awaiting"][1]
            program.current_approved_value = values["approved"][1]
            program.current_paid_value = values["paid"][1]
            program.current_failed_count = values["failed"][0]
            program.current_failed_value = values["failed"][1]
            program.current_reversed_value = values["reversed"][1]
            program.current_sent_value = values["pending"][1] + values["sent"][1]

    # ------------------------------------------------------------------
    # Eligibility explained: per leaf of the rule, whether it holds for a
    # beneficiary ("Poverty Score 0.30 — rule: >= 0.5 ✗")
    # ------------------------------------------------------------------
    def _rule_leaves(self):
        """The leaves ``(path, operator, value)`` of the program's own rule
        (the rule as typed; the target kind is checked separately)."""
        self.ensure_one()
        try:
            rule = ast.literal_eval((self.eligibility_domain or "[]").strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return []
        return [
            tuple(item)
            for item in rule
            if isinstance(item, list | tuple) and len(item) == 3
        ]

    def _explain_eligibility(self, beneficiary):
        """``[(text, holds)]``: each criterion of the program for
        ``beneficiary``, the target kind first. Evaluated in Python on the one
        record (no query per leaf beyond reading the record)."""
        self.ensure_one()
        beneficiary.ensure_one()
        Beneficiary = self.env["g2p.br.beneficiary"]
        kinds = dict(Beneficiary._fields["kind"]._description_selection(self.env))
        lines = [
            (
                _(
                    "Kind: %(kind)s — program targets %(target)s",
                    kind=kinds.get(beneficiary.kind, beneficiary.kind),
                    target=dict(
                        self._fields["target_type"]._description_selection(self.env)
                    )[self.target_type],
                ),
                beneficiary.kind == self.target_type,
            )
        ]
        if not beneficiary.active:
            lines.append((_("Archived in the registry"), False))
        for leaf in self._rule_leaves():
            lines.append(self._explain_leaf(beneficiary, leaf))
        return lines

    def _explain_leaf(self, beneficiary, leaf):
        path, operator, value = leaf
        label, actual = self._leaf_label_value(beneficiary, path)
        try:
            holds = bool(beneficiary.filtered_domain([leaf]))
        except (ValueError, TypeError, KeyError, AttributeError):
            holds = bool(
                self.env["g2p.br.beneficiary"]
                .with_context(active_test=False)
                .search_count([("id", "=", beneficiary.id), leaf], limit=1)
            )
        return (
            _(
                "%(label)s %(actual)s — rule: %(op)s %(value)s",
                label=label,
                actual=actual,
                op=OPERATOR_LABELS.get(operator, operator),
                value=self._format_value(value),
            ),
            holds,
        )

    def _leaf_label_value(self, beneficiary, path):
        model = self.env["g2p.br.beneficiary"]
        record = beneficiary
        labels = []
        value = None
        names = str(path).split(".")
        for index, name in enumerate(names):
            field = model._fields.get(name)
            if field is None:
                return str(path), "?"
            labels.append(field.string)
            value = record[name] if record else False
            if field.type in ("many2one", "one2many", "many2many"):
                model = self.env[field.comodel_name]
                record = value
                if index == len(names) - 1:
                    value = ", ".join(value.mapped("display_name")) or _("none")
            elif field.type == "selection":
                value = dict(field._description_selection(self.env)).get(value, value)
            elif field.type == "float" and value is not False:
                value = f"{value:.2f}"
            elif field.type == "boolean":
                value = _("yes") if value else _("no")
        if value is False or value is None or value == "":
            value = _("(empty)")
        return " › ".join(labels), value

    def _format_value(self, value):
        if isinstance(value, list | tuple):
            return "[" + ", ".join(str(v) for v in value) + "]"
        if value is True:
            return _("yes")
        if value is False:
            return _("no / empty")
        return str(value)

    def _explain_failing(self, beneficiary):
        """The criteria ``beneficiary`` fails, as one line of text."""
        return "; ".join(
            f"{text} ✗"
            for text, holds in self._explain_eligibility(beneficiary)
            if not holds
        )

    def _explain_eligibility_html(self, beneficiary, title=None):
        lines = self._explain_eligibility(beneficiary)
        eligible = bool(
            self.env["g2p.br.beneficiary"]
            .with_context(active_test=True)
            .search_count(
                self._get_eligibility_domain() + [("id", "=", beneficiary.id)],
                limit=1,
            )
        )
        rows = Markup("").join(
            Markup('<li class="%s"><span class="me-1">%s</span>%s</li>')
            % (
                "text-success" if holds else "text-danger",
                "✓" if holds else "✗",
                text,
            )
            for text, holds in lines
        )
        verdict = (
            Markup('<span class="badge text-bg-success">%s</span>') % _("eligible")
            if eligible
            else Markup('<span class="badge text-bg-danger">%s</span>')
            % _("not eligible")
        )
        if not self._rule_leaves():
            rows += Markup('<li class="text-warning">%s</li>') % _(
                "The rule has no criterion: it matches every active beneficiary "
                "of the target."
            )
        return Markup(
            '<div class="o_br_eligibility"><div class="fw-bold">%s %s</div>'
            '<ul class="list-unstyled mb-2">%s</ul></div>'
        ) % (escape(title or self.display_name), verdict, rows)
