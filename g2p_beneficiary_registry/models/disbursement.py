import logging
from datetime import UTC, date, datetime, time

from psycopg2.extras import execute_values

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..utils import check_transitions, iso

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


class G2pBrDisbursement(models.Model):
    _name = "g2p.br.disbursement"
    _description = "Disbursement"
    _order = "id desc"
    _rec_name = "reference"

    entitlement_id = fields.Many2one(
        "g2p.br.entitlement", required=True, ondelete="restrict", index=True
    )
    beneficiary_id = fields.Many2one(
        related="entitlement_id.beneficiary_id", store=True, index=True
    )
    program_id = fields.Many2one(
        related="entitlement_id.program_id", store=True, index=True
    )
    cycle_id = fields.Many2one(
        related="entitlement_id.cycle_id", store=True, index=True
    )
    company_id = fields.Many2one(related="entitlement_id.company_id", store=True)
    benefit_kind = fields.Selection(related="entitlement_id.benefit_kind", store=True)
    currency_id = fields.Many2one(related="entitlement_id.currency_id", store=True)
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
        index=True,
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
    failure_reason = fields.Char(copy=False)

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
    ]

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        entitlements = self.env["g2p.br.entitlement"].browse(
            {vals.get("entitlement_id") for vals in vals_list} - {None, False}
        )
        self._lock_entitlements(entitlements)
        for vals in vals_list:
            entitlement = entitlements.browse(vals.get("entitlement_id"))
            if entitlement.state != "approved":
                raise UserError(
                    _(
                        "%s is not approved: it cannot be disbursed.",
                        entitlement.display_name,
                    )
                )
            now = fields.Datetime.now()
            vals.update(status="pending", pending_at=now, status_time=now)
            if entitlement.benefit_kind == "in_kind":
                vals.setdefault("channel", "in_kind")
        records = super().create(vals_list)
        records._check_not_over_disbursed()
        records.entitlement_id._refresh_disbursement_totals(
            entitlement_ids=entitlements.ids
        )
        return records

    def write(self, vals):
        if "status" in vals:
            # the rules of _set_status hold for a status written directly (RPC)
            status = vals["status"]
            self._check_transition(status)
            if (
                status == "failed"
                and not vals.get("failure_reason")
                and not all(self.mapped("failure_reason"))
            ):
                raise UserError(_("Give the reason why the disbursement failed."))
            when = vals.get("status_time") or fields.Datetime.now()
            time_field = STATUS_TIME_FIELDS[status]
            vals = dict(
                vals, status_time=when, **{time_field: vals.get(time_field) or when}
            )
        if {"amount", "quantity", "entitlement_id"} & set(vals):
            if self.filtered(lambda d: d.status != "pending"):
                raise UserError(_("Only a pending disbursement can change its amount."))
            self._lock_entitlements(self.entitlement_id)
        res = super().write(vals)
        if {"amount", "quantity", "entitlement_id"} & set(vals):
            self._check_not_over_disbursed()
            self.entitlement_id._refresh_disbursement_totals(
                entitlement_ids=self.entitlement_id.ids
            )
        elif "status" in vals:
            self.entitlement_id._refresh_disbursement_totals(
                entitlement_ids=self.entitlement_id.ids
            )
        return res

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_mark_sent(self):
        self._set_status("sent")

    def action_mark_paid(self):
        self._set_status("paid")

    def action_mark_failed(self, reason=None):  # SHIM(#9): until main's version
        reason = reason or self.env.context.get("failure_reason")
        self._set_status("failed", failure_reason=reason)

    def action_reverse(self):
        self._set_status("reversed")

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    @api.model
    def _lock_entitlements(self, entitlements):
        """Serialise concurrent disbursements of one entitlement (the
        over-disbursement guard reads then writes)."""
        if entitlements:
            self.env.cr.execute(
                SQL(
                    "SELECT id FROM g2p_br_entitlement"
                    " WHERE id IN %s ORDER BY id FOR UPDATE",
                    tuple(entitlements.ids),
                )
            )

    def _check_not_over_disbursed(self):
        """The disbursements of an entitlement that are not failed or reversed
        can never add up to more than the entitlement."""
        self.flush_model()
        self.env.cr.execute(
            SQL(
                """
            SELECT e.id
              FROM g2p_br_entitlement e
              JOIN g2p_br_disbursement d ON d.entitlement_id = e.id
             WHERE e.id IN %s AND d.status NOT IN ('failed', 'reversed')
             GROUP BY e.id
            HAVING SUM(CASE WHEN e.benefit_kind = 'cash' THEN d.amount
                            ELSE d.quantity END)
                   > MAX(CASE WHEN e.benefit_kind = 'cash' THEN e.amount
                              ELSE e.quantity END)
                     + 0.001
            """,
                tuple(self.entitlement_id.ids) or (None,),
            )
        )
        over = [row[0] for row in self.env.cr.fetchall()]
        if over:
            raise ValidationError(
                _(
                    "Disbursements would exceed the entitlement %s.",
                    self.env["g2p.br.entitlement"].browse(over[0]).display_name,
                )
            )

    def _check_transition(self, status):
        check_transitions(
            self, status, DISBURSEMENT_TRANSITIONS, field="status", allow_same=False
        )

    def _set_status(self, status, status_time=None, failure_reason=None):
        """Move disbursements to ``status`` along the allowed transitions."""
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
            self.filtered(lambda d: not d.sent_at).write({"sent_at": when})
        self.write(values)
        self.env["g2p.br.entitlement"]._refresh_disbursement_totals(
            entitlement_ids=self.entitlement_id.ids
        )

    @api.model
    def apply_status_updates(self, items, validate_only=False):
        """Apply a batch of status reports from a payment provider.

        :param items: list of dicts ``{reference, status, status_time,
            failure_reason}``; ``status_time`` a datetime or ISO string.
        :param validate_only: dry run: validate every item and return the
            results it would get, change nothing.
        :return: one dict per item ``{reference, result, code, message}`` with
            result ``applied``, ``unchanged`` or ``error``. Idempotent: the
            same report twice changes nothing the second time. One bad item
            never blocks the others. Access rights of the current user apply:
            a disbursement the user may not see is reported ``not_found``.
        """
        self.check_access_rights("write")
        references = {item.get("reference") for item in items if item.get("reference")}
        found = self.search([("reference", "in", list(references))])
        found.check_access_rule("write")
        by_reference = {rec.reference: rec for rec in found}
        results, updates, seen = [], [], {}
        for item in items:
            result = self._prepare_status_update(item, by_reference, seen)
            results.append(result)
            if result["result"] == "applied":
                updates.append(result.pop("_update"))
        if updates and not validate_only:
            self._write_status_updates(updates)
            self.env["g2p.br.entitlement"]._refresh_disbursement_totals(
                entitlement_ids=list({u[4] for u in updates})
            )
        return results

    def _prepare_status_update(self, item, by_reference, seen):
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
        if status not in STATUS_TIME_FIELDS:
            return error("invalid_status", _("Unknown status %r.", status))
        record = by_reference.get(reference)
        if not record:
            return error("not_found", _("No disbursement with this reference."))
        try:
            when = self._parse_status_time(item.get("status_time"))
        except (TypeError, ValueError):
            return error(
                "invalid_status_time",
                _("The status time is not a valid date and time."),
            )
        current = seen.get(reference, record.status)
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
        if reference in seen:
            return error(
                "duplicate_reference", _("The batch reports this reference twice.")
            )
        seen[reference] = status
        return {
            "reference": reference,
            "result": "applied",
            "code": None,
            "message": None,
            "_update": (record.id, status, when, reason, record.entitlement_id.id),
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
        return value.replace(microsecond=0)

    def _write_status_updates(self, updates):
        """One UPDATE ... FROM (VALUES ...) for a whole batch of status reports
        (validated by _prepare_status_update): per-record writes would not keep
        up with a payment provider's reporting."""
        self.flush_model()
        query = """
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
                   write_uid = v.uid, write_date = now() at time zone 'UTC'
              FROM (VALUES %s) AS v(id, status, ts, reason, uid)
             WHERE d.id = v.id
        """
        execute_values(
            self.env.cr._obj,
            query,
            [(u[0], u[1], u[2], u[3], self.env.uid) for u in updates],
            template="(%s, %s, %s::timestamp, %s, %s)",
            page_size=1000,
        )
        self.invalidate_model()
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
