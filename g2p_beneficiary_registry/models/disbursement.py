# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
from contextlib import contextmanager
from datetime import UTC, date, datetime, time

from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, mute_logger

from ..utils import (
    BATCH_TRIGGER_OPTIONS,
    MANAGER_GROUP,
    CopiedMany2one,
    audit_context,
    check_group,
    check_transitions,
    create_immutable_link_function,
    drop_foreign_keys,
    guard_create,
    guard_write,
    in_workflow,
    iso,
    open_state_index,
    workflow,
)
from .entitlement import TOTAL_FIELDS

_logger = logging.getLogger(__name__)

DISBURSEMENT_TRANSITIONS = {
    "pending": {"sent", "paid", "failed"},
    "sent": {"paid", "failed"},
    "paid": {"reversed"},
    "failed": set(),
    "reversed": set(),
}
STATUS_TIME_FIELDS = {
    "pending": "pending_at",
    "sent": "sent_at",
    "paid": "paid_at",
    "failed": "failed_at",
    "reversed": "reversed_at",
}
CHANNELS = [
    ("bank_transfer", "Bank Transfer"),
    ("mobile_money", "Mobile Money"),
    ("cash", "Cash"),
    ("voucher", "Voucher"),
    ("in_kind", "In-kind Delivery"),
]


# The totals of the entitlements, recomputed from their disbursements by the
# statement triggers of g2p_br_disbursement: ``$1`` is the array of the
# entitlements a statement touched. One definition for every path (ORM create
# and write, the set-based creation, batch status updates, a manual repair).
# Run through EXECUTE ... USING, so it is planned knowing how many: a batch of
# 1,000 status reports probes the indexes (a plan for unknown sizes hashed
# the whole disbursement and entitlement tables for every batch), the first
# disbursements of a million-row cycle hash them once (one index probe per
# entitlement cost several times more there). An entitlement whose totals
# change is stamped changed (``write_date``, as Odoo stamps a write: the start
# of the transaction), so that whoever follows entitlements by their last
# change (the API's change feed) sees what was paid.
REFRESH_TOTALS_SQL = """
    WITH sums AS (
        SELECT e.id,
               CASE WHEN e.benefit_kind = 'cash' THEN e.amount ELSE e.quantity END
                   AS entitled,
               COALESCE(SUM(v.value) FILTER (WHERE d.status = 'paid'), 0) AS paid,
               COALESCE(SUM(v.value) FILTER (
                   WHERE d.status IN ('pending', 'sent', 'paid')), 0) AS live,
               COUNT(d.id) FILTER (WHERE d.status IN ('pending', 'sent')) AS flying,
               COUNT(d.id) FILTER (WHERE d.status = 'failed') AS failed
          FROM g2p_br_entitlement e
          LEFT JOIN g2p_br_disbursement d ON d.entitlement_id = e.id
          LEFT JOIN LATERAL (
              SELECT CASE WHEN e.benefit_kind = 'cash' THEN d.amount
                          ELSE d.quantity END AS value) v ON true
         WHERE e.id = ANY($1)
         GROUP BY e.id
    ), agg AS (
        SELECT id, paid, live,
               CASE WHEN paid > 0 AND paid >= entitled THEN 'fully_disbursed'
                    WHEN flying > 0 THEN 'in_progress'
                    WHEN paid > 0 THEN 'partially_disbursed'
                    WHEN failed > 0 THEN 'failed'
                    ELSE 'not_started' END AS status
          FROM sums
    )
    UPDATE g2p_br_entitlement t
       SET disbursed_total = agg.paid,
           live_total = agg.live,
           disbursement_status = agg.status,
           write_date = now() at time zone 'UTC'
      FROM agg
     WHERE t.id = agg.id
       AND (t.disbursed_total IS DISTINCT FROM agg.paid
            OR t.live_total IS DISTINCT FROM agg.live
            OR t.disbursement_status IS DISTINCT FROM agg.status)
"""
# A live (pending, sent or paid) disbursement only under an approved entitlement
# (or one that expired while it was in flight).
LIVE_UNDER_APPROVED_SQL = """
    EXECUTE $q$
        SELECT EXISTS (
            SELECT 1 FROM new_rows d
              JOIN g2p_br_entitlement e ON e.id = d.entitlement_id
             WHERE d.status IN ('pending', 'sent', 'paid')
               AND e.state NOT IN ({states}))
    $q$ INTO refused;
    IF refused THEN
        RAISE EXCEPTION 'g2p_br: a live disbursement needs an approved entitlement'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
"""
# What a disbursement copies from its entitlement (stored related fields): the
# links without foreign keys of their own (CopiedMany2one) and the kind.
COPIED_FIELDS = (
    "beneficiary_id",
    "program_id",
    "cycle_id",
    "company_id",
    "currency_id",
    "benefit_kind",
)
COPIED_LINKS = COPIED_FIELDS[:-1]


def _copies(alias):
    """The copied columns of ``alias``, as a list for a row comparison."""
    return ", ".join(f"{alias}.{name}" for name in COPIED_FIELDS)


# A disbursement ``d`` whose copies are not its entitlement ``e``'s.
COPIES_DIFFER = f"({_copies('d')}) IS DISTINCT FROM ({_copies('e')})"

# A new disbursement's copies are its entitlement's (and they never change:
# the g2p_br_disbursement_immutable trigger). With the entitlement's own
# foreign keys and RESTRICT chain (beneficiary, cycle and currency restrict
# it; a program cascades to its cycles; a company restricts its programs),
# no copy ever points at a deleted record.
COPIES_MATCH_SQL = """
    EXECUTE $q$
        SELECT EXISTS (
            SELECT 1 FROM new_rows d
              JOIN g2p_br_entitlement e ON e.id = d.entitlement_id
             WHERE {differ})
    $q$ INTO refused;
    IF refused THEN
        RAISE EXCEPTION 'g2p_br: a disbursement''s {names} are its entitlement''s'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
""".format(differ=COPIES_DIFFER, names=", ".join(COPIED_FIELDS))


def _scope_sql(alias, id_column, cycle, entitlement_ids):
    """The rows of ``alias`` of ``cycle`` (its ``cycle_id``), or those whose
    ``id_column`` is one of ``entitlement_ids``."""
    if cycle:
        return SQL("%s = %s", SQL.identifier(alias, "cycle_id"), cycle.id)
    return SQL("%s = ANY(%s)", SQL.identifier(alias, id_column), list(entitlement_ids))


def _disbursement_triggers():
    # EXECUTE: each statement is planned for the rows it got (a cached plan
    # made for one row would join a million rows the same way)
    def function(name, ids, check=""):
        return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql
{BATCH_TRIGGER_OPTIONS} AS $$
DECLARE
    refused boolean;
    touched integer[];
BEGIN
    {check}
    EXECUTE $q$ SELECT array_agg(DISTINCT x) FROM ({ids}) AS s(x) $q$
        INTO touched;
    IF touched IS NULL THEN
        RETURN NULL;
    END IF;
    -- tells the entitlement history trigger that this UPDATE sets totals,
    -- never a state (see history.py); local, and undone on error
    PERFORM set_config('g2p_br.totals_refresh', 'on', true);
    EXECUTE $q$ {REFRESH_TOTALS_SQL} $q$ USING touched;
    PERFORM set_config('g2p_br.totals_refresh', '', true);
    RETURN NULL;
END $$;
"""

    copies_old, copies_new = _copies("OLD"), _copies("NEW")
    return f"""
{
        function(
            "g2p_br_disbursement_after_insert",
            "SELECT entitlement_id FROM new_rows",
            LIVE_UNDER_APPROVED_SQL.format(states="'approved'") + COPIES_MATCH_SQL,
        )
    }
DROP TRIGGER IF EXISTS g2p_br_disbursement_after_insert ON g2p_br_disbursement;
CREATE TRIGGER g2p_br_disbursement_after_insert AFTER INSERT ON g2p_br_disbursement
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION g2p_br_disbursement_after_insert();
{
        function(
            "g2p_br_disbursement_after_update",
            "SELECT n.entitlement_id FROM new_rows n JOIN old_rows o ON o.id = n.id"
            " WHERE (n.status, n.amount, n.quantity)"
            " IS DISTINCT FROM (o.status, o.amount, o.quantity)",
            LIVE_UNDER_APPROVED_SQL.format(states="'approved', 'expired'"),
        )
    }
DROP TRIGGER IF EXISTS g2p_br_disbursement_after_update ON g2p_br_disbursement;
CREATE TRIGGER g2p_br_disbursement_after_update AFTER UPDATE ON g2p_br_disbursement
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION g2p_br_disbursement_after_update();
{function("g2p_br_disbursement_after_delete", "SELECT entitlement_id FROM old_rows")}
DROP TRIGGER IF EXISTS g2p_br_disbursement_after_delete ON g2p_br_disbursement;
CREATE TRIGGER g2p_br_disbursement_after_delete AFTER DELETE ON g2p_br_disbursement
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION g2p_br_disbursement_after_delete();

DROP TRIGGER IF EXISTS g2p_br_disbursement_before_delete ON g2p_br_disbursement;
DROP FUNCTION IF EXISTS g2p_br_disbursement_before_delete();
CREATE TRIGGER g2p_br_disbursement_before_delete BEFORE DELETE ON g2p_br_disbursement
    FOR EACH ROW WHEN (OLD.status <> 'pending')
    EXECUTE FUNCTION g2p_br_refuse_delete('only a pending disbursement is deleted');

DROP TRIGGER IF EXISTS g2p_br_disbursement_immutable ON g2p_br_disbursement;
CREATE TRIGGER g2p_br_disbursement_immutable BEFORE UPDATE ON g2p_br_disbursement
    FOR EACH ROW WHEN ((OLD.entitlement_id, {copies_old})
                       IS DISTINCT FROM (NEW.entitlement_id, {copies_new})
        OR (OLD.status <> 'pending' AND OLD.reference IS DISTINCT FROM NEW.reference))
    EXECUTE FUNCTION g2p_br_immutable_link(
        'entitlement, what it copies of it, or reference');

CREATE OR REPLACE FUNCTION g2p_br_refresh_entitlement_totals(ids integer[])
RETURNS void LANGUAGE sql AS $$
    {REFRESH_TOTALS_SQL}
$$;
"""


class G2pBrDisbursement(models.Model):
    _name = "g2p.br.disbursement"
    _description = "Disbursement"
    _order = "id desc"
    _rec_name = "reference"
    _workflow_fields = {
        "status": "use Mark Sent, Mark Paid, Mark Failed or Reverse, the status "
        "import or the API.",
        "status_time": "it is the time of the status.",
        "pending_at": "it is set when the disbursement is created.",
        "sent_at": "use Mark Sent.",
        "paid_at": "use Mark Paid.",
        "failed_at": "use Mark Failed.",
        "reversed_at": "use Reverse.",
        "failure_reason": "use Mark Failed.",
    }
    _initial_values = {"status": "pending"}
    _immutable_fields = ("entitlement_id", *COPIED_FIELDS)

    entitlement_id = fields.Many2one(
        "g2p.br.entitlement", required=True, ondelete="restrict", index=True
    )
    beneficiary_id = CopiedMany2one(
        related="entitlement_id.beneficiary_id", store=True, index=True
    )
    program_id = CopiedMany2one(
        related="entitlement_id.program_id", store=True, index=True
    )
    cycle_id = CopiedMany2one(related="entitlement_id.cycle_id", store=True, index=True)
    company_id = CopiedMany2one(related="entitlement_id.company_id", store=True)
    benefit_kind = fields.Selection(related="entitlement_id.benefit_kind", store=True)
    currency_id = CopiedMany2one(related="entitlement_id.currency_id", store=True)
    unit = fields.Char(related="entitlement_id.unit")
    reference = fields.Char(
        required=True,
        copy=False,
        help="External reference, e.g. the payment provider's transaction id.",
    )
    amount = fields.Monetary(currency_field="currency_id")
    quantity = fields.Float(digits=(16, 2))
    channel = fields.Selection(CHANNELS, required=True, default="bank_transfer")
    status = fields.Selection(
        [
            ("pending", "Pending"),
            ("sent", "Sent"),
            ("paid", "Paid"),
            ("failed", "Failed"),
            ("reversed", "Reversed"),
        ],
        required=True,
        default="pending",
        readonly=True,
        # indexed but for paid (init, open_state_index)
        copy=False,
    )
    status_time = fields.Datetime(
        readonly=True, copy=False, help="Time of the current status."
    )
    pending_at = fields.Datetime(readonly=True, copy=False)
    sent_at = fields.Datetime(readonly=True, copy=False)
    paid_at = fields.Datetime(readonly=True, copy=False)
    failed_at = fields.Datetime(readonly=True, copy=False)
    reversed_at = fields.Datetime(readonly=True, copy=False)
    failure_reason = fields.Char(copy=False, readonly=True)
    history_ids = fields.One2many(
        "g2p.br.history",
        "disbursement_id",
        string="History",
        groups="g2p_beneficiary_registry.group_br_admin,"
        "g2p_beneficiary_registry.group_br_auditor",
    )
    retry_of_id = fields.Many2one(
        "g2p.br.disbursement",
        string="Retry Of",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The failed payment this disbursement retries.",
    )

    _sql_constraints = [
        (
            "reference_unique",
            "unique(reference)",
            "A disbursement with this reference exists already.",
        ),
        (
            "values_positive",
            "CHECK(amount >= 0 AND quantity >= 0)",
            "A disbursement cannot be negative.",
        ),
        # The registry numbers its own references BR-<entitlement>-<n>: a
        # reference of that form belongs to its own entitlement only, so that
        # no disbursement (of another program, say) takes the number the next
        # creation or retry of an entitlement will use (_create_pending).
        # split_part and one constant pattern: a pattern built from each row's
        # entitlement is compiled again for every row (20 us a row, 12 s for
        # 600,000 disbursements, against 0.5 s)
        (
            "reference_br_own",
            (
                "CHECK(left(reference, 3) <> 'BR-' OR ("
                "split_part(reference, '-', 2) = entitlement_id::text "
                "AND split_part(reference, '-', 3) ~ '^[0-9]{1,9}$' "
                "AND split_part(reference, '-', 4) = ''))"
            ),
            (
                "A reference starting with BR- is the registry's own numbering: "
                "BR-<entitlement>-<number>, of the disbursement's own entitlement."
            ),
        ),
    ]

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    def init(self):
        """What PostgreSQL enforces whatever the code path: the entitlement
        totals follow the disbursements, live disbursements never exceed the
        entitlement (its CHECK on ``live_total``) and exist only under an
        approved entitlement, a disbursement never moves to another
        entitlement, what it copies of its entitlement (COPIED_FIELDS) is the
        entitlement's and never changes, and only a pending one is deleted."""
        create_immutable_link_function(self.env.cr)
        # a database made when the copies had foreign keys of their own: the
        # copies become the entitlement's before they are frozen (the
        # immutable trigger is made again just below)
        if drop_foreign_keys(self.env.cr, self._table, COPIED_LINKS):
            self.env.cr.execute(
                SQL(
                    "DROP TRIGGER IF EXISTS g2p_br_disbursement_immutable"
                    " ON g2p_br_disbursement"
                )
            )
            self._align_copies()
        self.env.cr.execute(SQL(_disbursement_triggers()))
        self.env.cr.execute(
            SQL(open_state_index("g2p_br_disbursement", "status", "paid"))
        )

    def _align_copies(self):
        """Set the copies of every disbursement whose copies differ from its
        entitlement's (the code before CopiedMany2one let a manager write an
        empty one) to the entitlement's, and log how many."""
        self.env.cr.execute(
            SQL(
                """
            UPDATE g2p_br_disbursement d
               SET (%(names)s) = (%(copies_e)s)
              FROM g2p_br_entitlement e
             WHERE e.id = d.entitlement_id AND %(differ)s
                """,
                names=SQL(", ".join(COPIED_FIELDS)),
                copies_e=SQL(_copies("e")),
                differ=SQL(COPIES_DIFFER),
            )
        )
        if self.env.cr.rowcount:
            _logger.warning(
                "g2p_br: %s disbursements copied a value other than their "
                "entitlement's (beneficiary, program, cycle, company, currency "
                "or kind); they now have the entitlement's",
                self.env.cr.rowcount,
            )

    @api.model_create_multi
    def create(self, vals_list):
        guard_create(self, vals_list)
        if not in_workflow(self):
            check_group(self.env, MANAGER_GROUP, _("Creating a disbursement"))
        entitlements = self.env["g2p.br.entitlement"].browse(
            {vals.get("entitlement_id") for vals in vals_list} - {None, False}
        )
        for vals in vals_list:
            entitlement = entitlements.browse(vals.get("entitlement_id"))
            if entitlement.state != "approved":
                raise UserError(
                    _(
                        "%s is not approved: it cannot be disbursed.",
                        entitlement.display_name,
                    )
                )
            # the copies of the entitlement in the INSERT itself, where
            # PostgreSQL checks them (COPIES_MATCH_SQL); a value given is
            # replaced, as the ORM would recompute it
            for name in COPIED_FIELDS:
                vals[name] = entitlement._fields[name].convert_to_write(
                    entitlement[name], entitlement
                )
            now = fields.Datetime.now()
            vals.update(status="pending", pending_at=now, status_time=now)
            vals["channel"] = self._channel_for(
                entitlement.program_id, vals.get("channel")
            )
        # the triggers read the entitlements: write their pending changes first
        self.env["g2p.br.entitlement"].flush_model()
        with self._over_disbursement_refused():
            records = super().create(vals_list)
            records.flush_recordset()
        records._invalidate_totals()
        return records

    def write(self, vals):
        if "retry_of_id" in vals:
            raise UserError(_("Retry Of is set when a failed payment is retried."))
        guard_write(self, vals)
        if not in_workflow(self):
            check_group(self.env, MANAGER_GROUP, _("Editing a disbursement"))
        if "status" in vals:
            self._check_transition(vals["status"])
        if {"amount", "quantity", "reference", "channel"} & set(vals) and self.filtered(
            lambda d: d.status != "pending"
        ):
            raise UserError(
                _(
                    "Only a pending disbursement can change its amount, reference or "
                    "channel."
                )
            )
        self.env["g2p.br.entitlement"].flush_model()
        with self._over_disbursement_refused():
            res = super().write(vals)
            if {"amount", "quantity", "status"} & set(vals):
                self.flush_recordset()
        self._invalidate_totals()
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_only_pending(self):
        # PostgreSQL refuses it too (g2p_br_disbursement_before_delete)
        if self.filtered(lambda d: d.status != "pending"):
            raise UserError(
                _(
                    "Only a pending disbursement can be deleted; a paid one that was "
                    "wrong is reversed."
                )
            )

    def unlink(self):
        entitlements = self.entitlement_id
        res = super().unlink()
        self.flush_model()
        entitlements.invalidate_recordset(TOTAL_FIELDS)
        return res

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_mark_sent(self):
        self._set_status("sent")

    def action_mark_paid(self):
        self._set_status("paid")

    def action_mark_failed(self, reason=None):
        reason = reason or self.env.context.get("failure_reason")
        self._set_status("failed", failure_reason=reason)

    def action_reverse(self, reason=None):
        with audit_context(self.env, reason=reason or ""):
            self._set_status("reversed")

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    @contextmanager
    def _over_disbursement_refused(self):
        """Run the block that writes disbursements: their statement triggers
        refresh the entitlement totals and PostgreSQL refuses an
        over-disbursement (the CHECK on ``live_total``), reported as a
        ValidationError (and not logged as a bad query)."""
        try:
            with mute_logger("odoo.sql_db"):
                yield
        except pg_errors.CheckViolation as err:
            if err.diag.constraint_name != "g2p_br_entitlement_not_over_disbursed":
                raise
            raise ValidationError(
                _("Disbursements would exceed the entitlement.")
            ) from None

    def _invalidate_totals(self):
        self.env["g2p.br.entitlement"].invalidate_model(TOTAL_FIELDS)

    def _check_transition(self, status):
        check_transitions(
            self, status, DISBURSEMENT_TRANSITIONS, field="status", allow_same=False
        )

    def _set_status(self, status, status_time=None, failure_reason=None):
        """Move disbursements to ``status`` along the allowed transitions."""
        check_group(self.env, MANAGER_GROUP, _("Changing a disbursement's status"))
        if status == "failed" and not failure_reason:
            raise UserError(_("Give the reason why the disbursement failed."))
        when = status_time or fields.Datetime.now()
        values = {
            "status": status,
            "status_time": when,
            STATUS_TIME_FIELDS[status]: when,
        }
        if failure_reason:
            values["failure_reason"] = failure_reason
        if status == "paid":
            workflow(self.filtered(lambda d: not d.sent_at)).write({"sent_at": when})
        workflow(self).write(values)

    # ------------------------------------------------------------------
    # Set-based creation (the cycle's button calls it)
    # ------------------------------------------------------------------
    @api.model
    def _channel_for(self, program, channel=None):
        """The channel of a disbursement of ``program``: in-kind benefits go
        in kind or by voucher, whatever the program's default."""
        channel = channel or program.default_channel
        if program.benefit_kind == "in_kind" and channel not in ("in_kind", "voucher"):
            return "in_kind"
        return channel

    @api.model
    def _disbursable_sql(self, cycle=None, entitlement_ids=None):
        """FROM/WHERE of the entitlements ``e`` that get a disbursement:
        approved, with a remainder, and none in flight; those of ``cycle``, or
        those of ``entitlement_ids``. The one definition used by the cycle's
        creation, its size and its preview, and by the retry of a failed
        payment."""
        return SQL(
            """
              FROM g2p_br_entitlement e
             WHERE %(scope)s AND e.state = 'approved'
               AND e.remaining > 0
               AND NOT EXISTS (
                   SELECT 1 FROM g2p_br_disbursement p
                    WHERE p.entitlement_id = e.id AND p.status IN ('pending', 'sent'))
            """,
            scope=_scope_sql("e", "id", cycle, entitlement_ids),
        )

    @api.model
    def _create_for_cycle(self, cycle):
        """A pending disbursement of the remainder of each entitlement of
        ``cycle`` that :meth:`_disbursable_sql` selects, by
        :meth:`_create_pending`. Idempotent. Returns the number created."""
        return self._create_pending(
            cycle=cycle, channel=self._channel_for(cycle.program_id)
        )

    @api.model
    def _create_pending(
        self, cycle=None, entitlement_ids=None, channel=None, per_entitlement=None
    ):
        """A pending disbursement of the remainder of each disbursable
        entitlement (:meth:`_disbursable_sql`) of ``cycle`` or of
        ``entitlement_ids``, numbered ``BR-<entitlement>-<n>``, ``n`` one more
        than the entitlement's disbursements and than its highest BR number
        (a BR reference is only ever its own entitlement's: the
        ``reference_br_own`` CHECK), in one INSERT (after one statement that
        selects the candidates). ``channel`` is the channel of them all;
        ``per_entitlement`` maps an entitlement id to its own ``(channel,
        retry_of_id)``. The statement trigger refreshes the entitlements'
        totals and PostgreSQL checks that a live disbursement has an approved
        entitlement and that none is over-disbursed (the guards of
        :meth:`create`). Returns the number created: a reference taken by a
        concurrent transaction is skipped."""
        self.flush_model()
        self.env["g2p.br.entitlement"].flush_model()
        cr = self.env.cr
        # The candidates and their sequence numbers first, in a temporary
        # table of their own (analysed): read in the INSERT that fills the
        # table, the in-flight NOT EXISTS and the numbering would scan the
        # rows it adds again for every row (quadratic on a first run over an
        # empty table). It stays in PostgreSQL: sent to Odoo and back as
        # arrays, 604,362 candidates cost about 3 s at 1,000,000.
        cr.execute(SQL("DROP TABLE IF EXISTS pg_temp.g2p_br_pending_candidates"))
        cr.execute(
            SQL(
                """
            CREATE TEMPORARY TABLE g2p_br_pending_candidates ON COMMIT DROP AS
            SELECT d.id, COALESCE(c.n, 0) + 1 AS seq
              FROM (SELECT e.id %(disbursable)s) d
              LEFT JOIN (SELECT x.entitlement_id,
                                GREATEST(COUNT(*), MAX(substring(
                                    x.reference FROM '^BR-[0-9]+-([0-9]{1,9})$'
                                )::int)) AS n
                           FROM g2p_br_disbursement x
                          WHERE %(scope)s
                          GROUP BY x.entitlement_id) c
                     ON c.entitlement_id = d.id
            """,
                disbursable=self._disbursable_sql(cycle, entitlement_ids),
                scope=_scope_sql("x", "entitlement_id", cycle, entitlement_ids),
            )
        )
        if not cr.rowcount:
            return 0
        cr.execute(SQL("ANALYZE pg_temp.g2p_br_pending_candidates"))
        # without ``per_entitlement``, every row takes ``channel`` and no
        # retry_of_id
        ids = list(per_entitlement or ())
        now = fields.Datetime.now()
        cr.execute(
            SQL(
                """
            INSERT INTO g2p_br_disbursement
                (entitlement_id, beneficiary_id, program_id, cycle_id, company_id,
                 benefit_kind, reference, amount, quantity, currency_id, channel,
                 retry_of_id, status, pending_at, status_time,
                 create_uid, create_date, write_uid, write_date)
            SELECT e.id, e.beneficiary_id, e.program_id, e.cycle_id, e.company_id,
                   e.benefit_kind, 'BR-' || e.id || '-' || t.seq,
                   CASE WHEN e.benefit_kind = 'cash' THEN e.remaining ELSE 0 END,
                   CASE WHEN e.benefit_kind = 'cash' THEN 0 ELSE e.remaining END,
                   e.currency_id, COALESCE(v.channel, %(channel)s),
                   v.retry_of_id, 'pending', %(now)s, %(now)s,
                   %(uid)s, %(now)s, %(uid)s, %(now)s
              FROM pg_temp.g2p_br_pending_candidates t
              JOIN g2p_br_entitlement e ON e.id = t.id
              LEFT JOIN unnest(%(ids)s::int[], %(channels)s::varchar[],
                               %(retry_of_ids)s::int[])
                   AS v(id, channel, retry_of_id) ON v.id = t.id
            ON CONFLICT (reference) DO NOTHING
            """,
                channel=channel,
                now=now,
                uid=self.env.uid,
                ids=ids,
                channels=[per_entitlement[i][0] for i in ids],
                retry_of_ids=[per_entitlement[i][1] for i in ids],
            )
        )
        created = cr.rowcount
        cr.execute(SQL("DROP TABLE pg_temp.g2p_br_pending_candidates"))
        self.env["g2p.br.entitlement"].invalidate_model(TOTAL_FIELDS)
        self.invalidate_model()
        return created

    @api.model
    def apply_status_updates(self, items, validate_only=False, since_creation=False):
        """Apply a batch of status reports from a payment provider.

        :param items: list of dicts ``{reference, status, status_time,
            failure_reason}``; ``status_time`` a datetime or ISO string.
        :param validate_only: dry run: validate every item and return the
            results it would get, change nothing.
        :param since_creation: refuse a status time before the disbursement
            was created (``status_time_before_creation``), as the API does; the
            status import and the demo data may report past dates.
        :return: one dict per item ``{reference, result, code, message}`` with
            result ``applied``, ``unchanged`` or ``error``. Idempotent: the
            same report twice changes nothing the second time. One bad item
            never blocks the others. Access rights of the current user apply:
            a disbursement the user may not see is reported ``not_found``.
        """
        self.check_access_rights("write")
        by_reference = self._status_targets(
            {item.get("reference") for item in items if item.get("reference")}
        )
        results, updates, seen = [], [], set()
        for item in items:
            result = self._prepare_status_update(
                item, by_reference, seen, since_creation
            )
            results.append(result)
            if result["result"] == "applied":
                updates.append(result.pop("_update"))
        if updates and not validate_only:
            self._write_status_updates(updates)
        return results

    @api.model
    def _status_targets(self, references):
        """``{reference: (id, status, created)}`` of the disbursements of
        ``references`` the user may see (record rules applied), after checking
        the user may write them all; ``created`` is the creation time to the
        second, as status times are kept. Four columns in one query: a batch
        of 1,000 reports has no use for the rest of the record."""
        self.flush_model(["reference", "status"])
        table = self._table
        query = self._search([])
        # ANY(array): one parameter, not 1,000 values converted one by one
        query.add_where(
            SQL("%s = ANY(%s)", SQL.identifier(table, "reference"), list(references))
        )
        self.env.cr.execute(
            query.select(
                SQL.identifier(table, "reference"),
                SQL.identifier(table, "id"),
                SQL.identifier(table, "status"),
                SQL("date_trunc('second', %s)", SQL.identifier(table, "create_date")),
            )
        )
        targets = {row[0]: row[1:] for row in self.env.cr.fetchall()}
        self._check_write_rules([target[0] for target in targets.values()])
        return targets

    @api.model
    def _check_write_rules(self, readable_ids):
        """Raise unless the user may write all of ``readable_ids`` (records
        the read rules let through). When the user's write rules are the read
        rules (as this module's rules are), nothing is left to check;
        otherwise Odoo's _filter_access_rules, in one query (check_access_rule
        evaluates them in Python record by record in Odoo 17, 60% of an API
        batch of 1,000)."""
        rules = self.env["ir.rule"]
        # repr: == takes False for 0 and True for 1, which Odoo turns into
        # different SQL (IS NULL against = 0)
        if self.env.su or repr(rules._compute_domain(self._name, "write")) == repr(
            rules._compute_domain(self._name, "read")
        ):
            return
        records = self.browse(readable_ids)
        forbidden = records - records._filter_access_rules("write")
        if forbidden:
            raise rules._make_access_error("write", forbidden)

    def _prepare_status_update(self, item, by_reference, seen, since_creation):
        """The result of one report of a batch; ``seen`` the references
        reported before it: a reference reported again, whatever the status,
        is an error (the first report counts)."""
        reference = item.get("reference")
        status = item.get("status")

        def error(code, message):
            return {
                "reference": reference,
                "result": "error",
                "code": code,
                "message": message,
            }

        if not reference:
            return error("missing_reference", _("The reference is missing."))
        if reference in seen:
            return error(
                "duplicate_reference",
                _("The batch reports this reference twice or more."),
            )
        seen.add(reference)
        if status not in STATUS_TIME_FIELDS:
            return error("invalid_status", _("Unknown status %r.", status))
        target = by_reference.get(reference)
        if not target:
            return error("not_found", _("No disbursement with this reference."))
        record_id, current, created = target
        try:
            when = self._parse_status_time(item.get("status_time"))
        except (TypeError, ValueError, OverflowError):
            return error(
                "invalid_status_time",
                _("The status time is not a valid date and time."),
            )
        if since_creation and when < created:
            return error(
                "status_time_before_creation",
                _("The status time is before the disbursement was created."),
            )
        if status == current:
            return {
                "reference": reference,
                "result": "unchanged",
                "code": None,
                "message": None,
            }
        if status not in DISBURSEMENT_TRANSITIONS[current]:
            return error(
                "invalid_transition",
                _(
                    "A disbursement cannot go from %(old)s to %(new)s.",
                    old=current,
                    new=status,
                ),
            )
        reason = (item.get("failure_reason") or "").strip() or None
        if status == "failed" and not reason:
            return error(
                "missing_failure_reason", _("A failed status needs a failure reason.")
            )
        return {
            "reference": reference,
            "result": "applied",
            "code": None,
            "message": None,
            "_update": (record_id, status, when, reason),
        }

    @api.model
    def _parse_status_time(self, value):
        if not value:
            return fields.Datetime.now()
        if isinstance(value, str):
            # ISO 8601, with or without a UTC offset ("Z", "+02:00")
            value = datetime.fromisoformat(value.strip())
        elif isinstance(value, date) and not isinstance(value, datetime):
            value = datetime.combine(value, time.min)
        elif not isinstance(value, datetime):
            raise TypeError(f"not a date and time: {value!r}")
        if value.tzinfo:
            # stored naive in UTC, as every Odoo datetime
            value = value.astimezone(UTC).replace(tzinfo=None)
        # (a replace is not free: 1,000 of them in a batch of reports)
        return value.replace(microsecond=0) if value.microsecond else value

    def _write_status_updates(self, updates):
        """One UPDATE for a whole batch of status reports (validated by
        _prepare_status_update): per-record writes would not keep up with a
        payment provider's reporting. The statement triggers refresh the
        entitlement totals and write the history."""
        self.flush_model()
        ids, statuses, times, reasons = zip(*updates, strict=True)
        self.env.cr.execute(
            SQL(
                """
            UPDATE g2p_br_disbursement d
               SET status = v.status,
                   status_time = v.ts,
                   sent_at = CASE WHEN v.status IN ('sent', 'paid')
                                  THEN COALESCE(d.sent_at, v.ts) ELSE d.sent_at END,
                   paid_at = CASE WHEN v.status = 'paid' THEN v.ts ELSE d.paid_at END,
                   failed_at = CASE WHEN v.status = 'failed' THEN v.ts
                                    ELSE d.failed_at END,
                   reversed_at = CASE WHEN v.status = 'reversed' THEN v.ts
                                      ELSE d.reversed_at END,
                   failure_reason = COALESCE(v.reason, d.failure_reason),
                   write_uid = %(uid)s, write_date = now() at time zone 'UTC'
              FROM unnest(%(ids)s::int[], %(statuses)s::varchar[],
                          %(times)s::timestamp[], %(reasons)s::varchar[])
                   AS v(id, status, ts, reason)
             WHERE d.id = v.id
            """,
                uid=self.env.uid,
                ids=list(ids),
                statuses=list(statuses),
                times=list(times),
                reasons=list(reasons),
            )
        )
        self.invalidate_model()
        self.env["g2p.br.entitlement"].invalidate_model(TOTAL_FIELDS)
        _logger.info("Applied %s disbursement status updates", len(updates))

    def _to_dict(self):
        self.ensure_one()
        return {
            "reference": self.reference,
            "channel": self.channel,
            "amount": self.amount if self.benefit_kind == "cash" else None,
            "quantity": self.quantity if self.benefit_kind == "in_kind" else None,
            "status": self.status,
            "status_time": iso(self.status_time),
            "failure_reason": self.failure_reason or None,
        }

    # ------------------------------------------------------------------
    # Retry a failed payment from its form: a new pending disbursement of
    # what remains of the entitlement, same channel
    # ------------------------------------------------------------------
    def action_retry(self):
        """One new pending disbursement of what remains of the entitlement of
        each failed one of ``self``, same channel (:meth:`_create_pending`:
        the rule and the numbering of the cycle's creation)."""
        check_group(self.env, MANAGER_GROUP, _("Retrying a payment"))
        self.check_access_rights("create")
        self.check_access_rule("read")
        per_entitlement = {}
        for failed in self:
            entitlement = failed.entitlement_id
            if failed.status != "failed":
                raise UserError(
                    _("Only a failed payment can be retried (%s).", failed.reference)
                )
            if entitlement.id in per_entitlement:
                raise UserError(
                    _(
                        "Retry one failed payment of %s at a time.",
                        entitlement.display_name,
                    )
                )
            per_entitlement[entitlement.id] = (
                self._channel_for(failed.program_id, failed.channel),
                failed.id,
            )
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "SELECT e.id %s",
                self._disbursable_sql(entitlement_ids=list(per_entitlement)),
            )
        )
        disbursable = {row[0] for row in self.env.cr.fetchall()}
        for entitlement in self.entitlement_id:
            if entitlement.id not in disbursable:
                raise UserError(self._not_disbursable_message(entitlement))
        created = self._create_pending(
            entitlement_ids=list(per_entitlement), per_entitlement=per_entitlement
        )
        if created < len(per_entitlement):
            # a concurrent retry took the reference first
            raise UserError(
                _(
                    "A payment of %s is in flight already.",
                    ", ".join(self.entitlement_id.mapped("display_name")),
                )
            )
        retries = self.search(
            [("retry_of_id", "in", self.ids), ("status", "=", "pending")]
        )
        if len(retries) == 1:
            return {
                "type": "ir.actions.act_window",
                "res_model": self._name,
                "res_id": retries.id,
                "view_mode": "form",
            }
        return True

    @api.model
    def _not_disbursable_message(self, entitlement):
        """Why :meth:`_disbursable_sql` left ``entitlement`` out, for a person."""
        if entitlement.state != "approved":
            return _(
                "%s is not approved: it cannot be disbursed.", entitlement.display_name
            )
        if entitlement.remaining <= 0:
            return _("Nothing remains to pay on %s.", entitlement.display_name)
        return _("%s already has a payment in flight.", entitlement.display_name)
