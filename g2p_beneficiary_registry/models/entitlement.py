# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..utils import (
    APPROVER_GROUP,
    BATCH_TRIGGER_OPTIONS,
    MANAGER_GROUP,
    audit_context,
    check_group,
    check_transitions,
    create_immutable_link_function,
    guard_create,
    guard_write,
    in_workflow,
    iso,
    open_state_index,
    workflow,
)

ENTITLEMENT_TRANSITIONS = {
    "draft": {"pending_approval", "cancelled"},
    "pending_approval": {"approved", "rejected", "cancelled"},
    "approved": {"cancelled", "expired"},
    "rejected": set(),
    "cancelled": set(),
    "expired": set(),
}

DISBURSEMENT_STATUSES = [
    ("not_started", "Not Started"),
    ("in_progress", "In Progress"),
    ("partially_disbursed", "Partially Disbursed"),
    ("fully_disbursed", "Fully Disbursed"),
    ("failed", "Failed"),
]


# See the fields: the indexes a registry made before, and the failed ones.
ENTITLEMENT_INDEXES = """
DROP INDEX IF EXISTS g2p_br_entitlement__beneficiary_id_index;
DROP INDEX IF EXISTS g2p_br_entitlement__company_id_index;
DROP INDEX IF EXISTS g2p_br_entitlement__disbursement_status_index;
CREATE INDEX IF NOT EXISTS g2p_br_entitlement_disbursement_failed
    ON g2p_br_entitlement (cycle_id) WHERE disbursement_status = 'failed';
""" + open_state_index("g2p_br_entitlement", "state", "approved")
ENTITLEMENT_TRIGGERS = f"""
DROP TRIGGER IF EXISTS g2p_br_entitlement_before_delete ON g2p_br_entitlement;
DROP FUNCTION IF EXISTS g2p_br_entitlement_before_delete();
CREATE TRIGGER g2p_br_entitlement_before_delete BEFORE DELETE ON g2p_br_entitlement
    FOR EACH ROW WHEN (OLD.state <> 'draft')
    EXECUTE FUNCTION g2p_br_refuse_delete('only a draft entitlement is deleted');

DROP TRIGGER IF EXISTS g2p_br_entitlement_immutable ON g2p_br_entitlement;
CREATE TRIGGER g2p_br_entitlement_immutable BEFORE UPDATE ON g2p_br_entitlement
    FOR EACH ROW WHEN (
        (OLD.cycle_id IS DISTINCT FROM NEW.cycle_id)
        OR (OLD.beneficiary_id IS DISTINCT FROM NEW.beneficiary_id)
        OR (OLD.program_id IS NOT NULL
            AND OLD.program_id IS DISTINCT FROM NEW.program_id)
        -- out of draft: what its disbursements copy of it (COPIED_FIELDS)
        OR (OLD.state <> 'draft'
            AND (OLD.company_id, OLD.currency_id, OLD.benefit_kind)
                IS DISTINCT FROM (NEW.company_id, NEW.currency_id, NEW.benefit_kind)))
    EXECUTE FUNCTION g2p_br_immutable_link(
        'cycle, beneficiary or program, or out of draft company, currency or kind');

CREATE OR REPLACE FUNCTION g2p_br_entitlement_after_insert() RETURNS trigger
LANGUAGE plpgsql {BATCH_TRIGGER_OPTIONS} AS $$
DECLARE
    refused boolean;
BEGIN
    -- EXECUTE: planned for the rows this statement inserted (an anti-join:
    -- one index probe for a form's row, one hash of the memberships for a
    -- generated cycle)
    EXECUTE $q$
        SELECT EXISTS (
            SELECT 1 FROM new_rows n
              JOIN g2p_br_cycle c ON c.id = n.cycle_id
             WHERE n.program_id IS NOT NULL AND n.program_id <> c.program_id
        ) OR EXISTS (
            SELECT 1 FROM new_rows n
              JOIN g2p_br_cycle c ON c.id = n.cycle_id
              LEFT JOIN g2p_br_program_membership m
                ON m.program_id = c.program_id
               AND m.beneficiary_id = n.beneficiary_id
               AND m.state = 'enrolled'
             WHERE m.id IS NULL)
    $q$ INTO refused;
    IF refused THEN
        RAISE EXCEPTION 'g2p_br: an entitlement needs an enrolled membership in its '
            'own program' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS g2p_br_entitlement_after_insert ON g2p_br_entitlement;
CREATE TRIGGER g2p_br_entitlement_after_insert AFTER INSERT ON g2p_br_entitlement
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION g2p_br_entitlement_after_insert();

CREATE OR REPLACE FUNCTION g2p_br_entitlement_leaves_approved() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM g2p_br_disbursement d
                WHERE d.entitlement_id = NEW.id
                  AND d.status IN ('pending', 'sent', 'paid')) THEN
        RAISE EXCEPTION 'g2p_br: entitlement % has live disbursements, it cannot '
            'become %', NEW.id, NEW.state
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS g2p_br_entitlement_leaves_approved ON g2p_br_entitlement;
CREATE TRIGGER g2p_br_entitlement_leaves_approved AFTER UPDATE ON g2p_br_entitlement
    FOR EACH ROW WHEN (OLD.state IN ('approved', 'expired')
                       AND NEW.state NOT IN ('approved', 'expired'))
    EXECUTE FUNCTION g2p_br_entitlement_leaves_approved();
"""

# What the approver decides on: frozen once the entitlement is submitted.
DECIDED_FIELDS = (
    "amount",
    "quantity",
    "benefit_kind",
    "currency_id",
    "item_id",
    "valid_from",
    "valid_until",
)
# what the disbursement triggers' totals refresh writes (write_date: the
# entitlement is stamped changed); the ORM's cache of them is dropped after
TOTAL_FIELDS = [
    "disbursed_total",
    "live_total",
    "remaining",
    "disbursement_status",
    "write_date",
]


class G2pBrEntitlement(models.Model):
    _name = "g2p.br.entitlement"
    _description = "Entitlement"
    _order = "id desc"
    # fields only the workflow methods write, with the button to use instead
    _workflow_fields = {
        "state": "use Submit, Approve, Reject or Cancel.",
        "approved_by_id": "use Approve.",
        "approved_at": "use Approve.",
        "rejection_reason": "use Reject.",
        "disbursed_total": "it is the sum of the paid disbursements.",
        "live_total": "it is the sum of the live disbursements.",
        "remaining": "it is the entitled value minus the disbursed total.",
        "disbursement_status": "it follows the disbursements.",
    }
    _initial_values = {"state": "draft", "disbursement_status": "not_started"}
    _immutable_fields = ("beneficiary_id", "cycle_id", "program_id", "company_id")

    # Indexes cost every bulk step an insert per row (generate writes a
    # million rows, approve and the totals rewrite them): no index on
    # beneficiary_id (the unique (beneficiary_id, cycle_id) serves it), on
    # company_id (one value per registry, no plan would use it) or on
    # disbursement_status (a partial index finds the failed ones): init().
    beneficiary_id = fields.Many2one(
        "g2p.br.beneficiary", required=True, ondelete="restrict"
    )
    cycle_id = fields.Many2one(
        "g2p.br.cycle", required=True, ondelete="restrict", index=True
    )
    program_id = fields.Many2one(
        related="cycle_id.program_id", store=True, index=True, string="Program"
    )
    company_id = fields.Many2one(related="cycle_id.company_id", store=True)
    benefit_kind = fields.Selection(
        [("cash", "Cash"), ("in_kind", "In-kind")], required=True, default="cash"
    )
    amount = fields.Monetary(currency_field="currency_id")
    # restrict: a currency an entitlement is in is not deleted (its
    # disbursements copy it, CopiedMany2one)
    currency_id = fields.Many2one("res.currency", ondelete="restrict")
    quantity = fields.Float(digits=(16, 2))
    item_id = fields.Many2one("g2p.br.item", ondelete="restrict")
    unit = fields.Char(related="item_id.unit")
    valid_from = fields.Date(required=True)
    valid_until = fields.Date(required=True)
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("pending_approval", "Pending Approval"),
            ("approved", "Approved"),
            ("rejected", "Rejected"),
            ("cancelled", "Cancelled"),
            ("expired", "Expired"),
        ],
        required=True,
        default="draft",
        readonly=True,
        # indexed but for approved (ENTITLEMENT_INDEXES, open_state_index)
        copy=False,
    )
    approved_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    approved_at = fields.Datetime(readonly=True, copy=False)
    rejection_reason = fields.Char(copy=False, readonly=True)
    # Maintained by _refresh_disbursement_totals, in SQL, so that bulk
    # disbursement updates keep them exact without an ORM recompute per row.
    disbursed_total = fields.Float(
        digits=(16, 2),
        readonly=True,
        default=0.0,
        copy=False,
        help="Paid, not reversed: amount (cash) or quantity (in-kind).",
    )
    # A generated column (see init): always entitled minus disbursed total.
    remaining = fields.Float(
        digits=(16, 2),
        readonly=True,
        copy=False,
        help="Entitled minus disbursed total (paid, not reversed). A pending, sent "
        "or failed disbursement does not reduce it.",
    )
    live_total = fields.Float(
        string="Committed",
        digits=(16, 2),
        readonly=True,
        default=0.0,
        copy=False,
        help="Pending, sent and paid disbursements: never above the entitlement "
        "(checked by PostgreSQL).",
    )
    disbursement_status = fields.Selection(
        DISBURSEMENT_STATUSES,
        default="not_started",
        readonly=True,
        copy=False,
        required=True,
    )
    disbursement_ids = fields.One2many("g2p.br.disbursement", "entitlement_id")
    history_ids = fields.One2many(
        "g2p.br.history",
        "entitlement_id",
        string="History",
        groups="g2p_beneficiary_registry.group_br_admin,"
        "g2p_beneficiary_registry.group_br_auditor",
    )

    _sql_constraints = [
        (
            "beneficiary_cycle_unique",
            "unique(beneficiary_id, cycle_id)",
            "The beneficiary already has an entitlement in this cycle.",
        ),
        (
            "values_positive",
            "CHECK(amount >= 0 AND quantity >= 0)",
            "An entitlement cannot be negative.",
        ),
        (
            "not_over_disbursed",
            (
                "CHECK(live_total <= CASE WHEN benefit_kind = 'cash' THEN amount"
                " ELSE quantity END + 0.001)"
            ),
            "Disbursements would exceed the entitlement.",
        ),
    ]

    def init(self):
        """What PostgreSQL enforces whatever the code path (ORM, set-based SQL,
        a future module): ``remaining`` is a generated column; an entitlement
        is created only for a member enrolled in the cycle's program; the links
        that decide access never change; an entitlement leaves the approved
        states only without live disbursements; only drafts are deleted."""
        cr = self.env.cr
        cr.execute(
            SQL(
                "SELECT is_generated FROM information_schema.columns"
                " WHERE table_name = 'g2p_br_entitlement' AND column_name = 'remaining'"
            )
        )
        if cr.fetchone()[0] != "ALWAYS":
            cr.execute(
                SQL(
                    """
                ALTER TABLE g2p_br_entitlement DROP COLUMN remaining CASCADE;
                ALTER TABLE g2p_br_entitlement ADD COLUMN remaining numeric
                    GENERATED ALWAYS AS (
                        CASE WHEN benefit_kind = 'cash' THEN COALESCE(amount, 0)
                             ELSE COALESCE(quantity, 0) END
                        - COALESCE(disbursed_total, 0)) STORED;
                """
                )
            )
        create_immutable_link_function(cr)
        cr.execute(SQL(ENTITLEMENT_TRIGGERS))
        cr.execute(SQL(ENTITLEMENT_INDEXES))

    @api.depends("beneficiary_id", "cycle_id")
    def _compute_display_name(self):
        for rec in self:
            rec.display_name = f"{rec.cycle_id.name} / {rec.beneficiary_id.sr_id}"

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        guard_create(self, vals_list)
        cycles = self.env["g2p.br.cycle"].browse(
            [vals["cycle_id"] for vals in vals_list if vals.get("cycle_id")]
        )
        for vals in vals_list:
            vals["state"] = "draft"
            cycle = cycles.browse(vals["cycle_id"])
            program = cycle.program_id
            vals.setdefault("benefit_kind", program.benefit_kind)
            vals.setdefault("currency_id", program.currency_id.id)
            vals.setdefault("item_id", program.item_id.id)
            vals.setdefault("valid_from", cycle.start_date)
            vals.setdefault("valid_until", cycle.end_date)
        self._check_enrolled(vals_list)
        # the insert trigger reads the memberships and cycles
        self.env["g2p.br.program.membership"].flush_model()
        self.env["g2p.br.cycle"].flush_model()
        records = super().create(vals_list)
        records._invalidate_totals()
        return records

    def write(self, vals):
        guard_write(self, vals)
        if "state" in vals:
            self._check_transition(vals["state"])
            if vals["state"] not in ("approved", "expired"):
                self._check_no_live_disbursement()
        if set(DECIDED_FIELDS) & set(vals) and self.filtered(
            lambda e: e.state != "draft"
        ):
            # Once submitted, the value is what the approver decides on: an
            # edit by the approver would bypass four-eyes approval.
            raise UserError(
                _(
                    "Only a draft entitlement can change its value, item, currency "
                    "or validity: the approver decides on them."
                )
            )
        if not in_workflow(self):
            check_group(self.env, MANAGER_GROUP, _("Editing an entitlement"))
        # the state trigger reads the disbursements
        self.env["g2p.br.disbursement"].flush_model()
        res = super().write(vals)
        if set(DECIDED_FIELDS) & set(vals):
            self._invalidate_totals()
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_only_drafts(self):
        # PostgreSQL refuses it too (see g2p_br_entitlement_before_delete)
        if self.filtered(lambda e: e.state != "draft"):
            raise UserError(
                _("Only a draft entitlement can be deleted; cancel or reject it.")
            )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_submit(self):
        check_group(self.env, MANAGER_GROUP, _("Submitting entitlements"))
        workflow(self).write({"state": "pending_approval"})

    def action_approve(self):
        self._check_can_approve()
        workflow(self).write(
            {
                "state": "approved",
                "approved_by_id": self.env.uid,
                "approved_at": fields.Datetime.now(),
            }
        )

    def action_reject(self, reason=None):
        reason = (reason or self.env.context.get("rejection_reason") or "").strip()
        self._check_can_approve()
        if not reason:
            raise UserError(_("Give the reason why the entitlements are rejected."))
        with audit_context(self.env, reason=reason):
            workflow(self).write({"state": "rejected", "rejection_reason": reason})

    def action_cancel(self, reason=None):
        check_group(self.env, MANAGER_GROUP, _("Cancelling entitlements"))
        with audit_context(self.env, reason=reason or ""):
            workflow(self).write({"state": "cancelled"})

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    def _check_transition(self, new_state):
        check_transitions(self, new_state, ENTITLEMENT_TRANSITIONS)

    def _check_no_live_disbursement(self):
        """An entitlement with pending, sent or paid disbursements stays
        approved (PostgreSQL refuses it too, g2p_br_entitlement_leaves_approved)."""
        live = self.filtered(lambda e: e.live_total)
        if live:
            raise UserError(
                _(
                    "%s has disbursements; it cannot be cancelled or rejected. A "
                    "wrong payment is reversed first.",
                    live[0].display_name,
                )
            )

    @api.model
    def _check_enrolled(self, vals_list):
        """Entitlements only for members enrolled at generation time (PostgreSQL
        checks it too, see g2p_br_entitlement_after_insert)."""
        Membership = self.env["g2p.br.program.membership"].sudo()
        for vals in vals_list:
            program = self.env["g2p.br.cycle"].browse(vals.get("cycle_id")).program_id
            beneficiary = self.env["g2p.br.beneficiary"].browse(
                vals.get("beneficiary_id")
            )
            if not Membership.search_count(
                [
                    ("program_id", "=", program.id),
                    ("beneficiary_id", "=", beneficiary.id),
                    ("state", "=", "enrolled"),
                ],
                limit=1,
            ):
                raise UserError(
                    _(
                        "%(who)s is not enrolled in %(program)s.",
                        who=beneficiary.sr_id,
                        program=program.name,
                    )
                )

    def _check_can_approve(self):
        """Approver role, and the program's four-eyes rule per person."""
        check_group(self.env, APPROVER_GROUP, _("Approving or rejecting entitlements"))
        for program, entitlements in self.grouped("program_id").items():
            program._check_four_eyes(
                entitlements.create_uid | entitlements.cycle_id.generated_by_id,
                entitlements[0].display_name,
            )

    def _invalidate_totals(self):
        """The totals are written by PostgreSQL (generated column and the
        triggers of g2p.br.disbursement): flush, then forget the cached values."""
        self.env["g2p.br.disbursement"].flush_model()
        self.flush_model()
        self.invalidate_model(TOTAL_FIELDS)

    @api.model
    def _bulk_set_state(self, cycles, from_states, to_state, values=None):
        """Move a cycle's entitlements from ``from_states`` to ``to_state`` in one
        UPDATE; the WHERE clause holds the allowed source states."""
        self.check_access_rights("write")
        cycles.check_access_rule("write")
        if isinstance(from_states, str):
            from_states = (from_states,)
        for state in from_states:
            if to_state not in ENTITLEMENT_TRANSITIONS[state]:
                raise UserError(
                    _(
                        "Entitlements cannot go from %(old)s to %(new)s.",
                        old=state,
                        new=to_state,
                    )
                )
        self.flush_model()
        values = dict(values or {})
        if to_state == "approved":
            values.update(
                approved_by_id=self.env.uid, approved_at=fields.Datetime.now()
            )
        extra = SQL(", ").join(
            SQL("%s = %s", SQL.identifier(name), value)
            for name, value in sorted(values.items())
        )
        extra = SQL(", %s", extra) if values else SQL()
        self.env.cr.execute(
            SQL(
                """
            UPDATE g2p_br_entitlement
               SET state = %(to)s, write_uid = %(uid)s, write_date = %(now)s %(extra)s
             WHERE cycle_id IN %(cycles)s AND state IN %(from)s
            """,
                to=to_state,
                uid=self.env.uid,
                now=fields.Datetime.now(),
                extra=extra,
                cycles=tuple(cycles.ids) or (None,),
                **{"from": tuple(from_states)},
            )
        )
        count = self.env.cr.rowcount
        self.invalidate_model(
            ["state", "write_uid", "write_date", *values],
        )
        return count

    # ------------------------------------------------------------------
    # Set-based generation (the cycle's button calls it)
    # ------------------------------------------------------------------
    @api.model
    def _generatable_sql(self, cycle, new_only=True):
        """FROM/WHERE of the members ``m`` (beneficiaries ``b``) of the cycle's
        program who get an entitlement: enrolled now, active, without one in
        the cycle. Used by the generation, its size and its preview; the
        generation's INSERT leaves out the last condition (``new_only``) and
        gets it from ON CONFLICT: a NOT EXISTS on the table being filled would
        scan it again for every row it adds."""
        new = SQL(
            """
               AND NOT EXISTS (SELECT 1 FROM g2p_br_entitlement o
                                WHERE o.beneficiary_id = m.beneficiary_id
                                  AND o.cycle_id = %s)
            """,
            cycle.id,
        )
        return SQL(
            """
              FROM g2p_br_program_membership m
              JOIN g2p_br_beneficiary b ON b.id = m.beneficiary_id AND b.active
             WHERE m.program_id = %(program)s AND m.state = 'enrolled'
            %(new)s
            """,
            program=cycle.program_id.id,
            new=new if new_only else SQL(),
        )

    @api.model
    def _generate_for_cycle(self, cycle):
        """One draft entitlement per member of :meth:`_generatable_sql`, in one
        INSERT ... SELECT (per-record creates would take hours at national
        scale); the value comes from the program's entitlement rule
        (:meth:`g2p.br.program._entitlement_amount_sql`). Idempotent: a
        beneficiary never gets two entitlements in one cycle. Returns the
        number created."""
        program = cycle.program_id
        self.flush_model()
        self.env["g2p.br.program.membership"].flush_model()
        value = program._entitlement_amount_sql("b")
        is_cash = program.benefit_kind == "cash"
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """
            INSERT INTO g2p_br_entitlement
                (beneficiary_id, cycle_id, program_id, company_id, benefit_kind,
                 amount, currency_id, quantity, item_id, valid_from, valid_until,
                 state, disbursed_total, live_total, disbursement_status,
                 create_uid, create_date, write_uid, write_date)
            SELECT m.beneficiary_id, %(cycle)s, %(program)s, %(company)s, %(kind)s,
                   %(amount)s, %(currency)s, %(quantity)s, %(item)s, %(start)s, %(end)s,
                   'draft', 0, 0, 'not_started',
                   %(uid)s, %(now)s, %(uid)s, %(now)s
            %(generatable)s
            ON CONFLICT (beneficiary_id, cycle_id) DO NOTHING
            """,
                cycle=cycle.id,
                program=program.id,
                company=program.company_id.id,
                kind=program.benefit_kind,
                amount=value if is_cash else SQL("0"),
                quantity=SQL("0") if is_cash else value,
                currency=program.currency_id.id,
                item=program.item_id.id or None,
                start=cycle.start_date,
                end=cycle.end_date,
                uid=self.env.uid,
                now=now,
                generatable=self._generatable_sql(cycle, new_only=False),
            )
        )
        created = self.env.cr.rowcount
        self.invalidate_model()
        return created

    @api.model
    def _refresh_disbursement_totals(self, entitlement_ids=None, cycle_ids=None):
        """Recompute the totals from the disbursements (the triggers do it on
        every change; this repairs totals written around them by hand)."""
        if not entitlement_ids and not cycle_ids:
            return
        self._invalidate_totals()
        scope = (
            SQL("id = ANY(%s)", list(entitlement_ids))
            if entitlement_ids
            else SQL("cycle_id = ANY(%s)", list(cycle_ids))
        )
        self.env.cr.execute(
            SQL(
                "SELECT g2p_br_refresh_entitlement_totals(ARRAY(SELECT id FROM"
                " g2p_br_entitlement WHERE %s))",
                scope,
            )
        )
        self.invalidate_model(TOTAL_FIELDS)

    @api.model
    def _cron_expire_entitlements(self):
        """Approved entitlements past their validity expire, unless they are
        fully disbursed or have a disbursement in flight."""
        with audit_context(self.env, path="cron"):
            self.flush_model()
            self.env.cr.execute(
                SQL(
                    """
                UPDATE g2p_br_entitlement
                   SET state = 'expired', write_uid = %(uid)s, write_date = %(now)s
                 WHERE state = 'approved' AND valid_until < %(today)s
                   AND disbursement_status NOT IN ('fully_disbursed', 'in_progress')
                """,
                    uid=self.env.uid,
                    now=fields.Datetime.now(),
                    today=fields.Date.context_today(self),
                )
            )
            expired = self.env.cr.rowcount
        self.invalidate_model(["state", "write_uid", "write_date"])
        return expired

    def _to_dicts(self):
        """Plain data of entitlements with their disbursements (one query each)."""
        by_entitlement = (
            self.env["g2p.br.disbursement"]
            .search([("entitlement_id", "in", self.ids)], order="id")
            .grouped("entitlement_id")
        )
        empty = self.env["g2p.br.disbursement"]
        return [
            {
                "id": rec.id,
                "program_code": rec.program_id.code,
                "cycle_id": rec.cycle_id.id,
                "cycle_name": rec.cycle_id.name,
                "benefit_kind": rec.benefit_kind,
                "amount": rec.amount if rec.benefit_kind == "cash" else None,
                "currency": rec.currency_id.name
                if rec.benefit_kind == "cash"
                else None,
                "quantity": rec.quantity if rec.benefit_kind == "in_kind" else None,
                "unit": rec.unit or None,
                "item": rec.item_id.code or None,
                "state": rec.state,
                "valid_from": iso(rec.valid_from),
                "valid_until": iso(rec.valid_until),
                "disbursed_total": rec.disbursed_total,
                "remaining": rec.remaining,
                "disbursement_status": rec.disbursement_status,
                "disbursements": [d._to_dict() for d in by_entitlement.get(rec, empty)],
            }
            for rec in self
        ]
