from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..utils import check_transitions, iso

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


class G2pBrEntitlement(models.Model):
    _name = "g2p.br.entitlement"
    _description = "Entitlement"
    _order = "id desc"

    beneficiary_id = fields.Many2one(
        "g2p.br.beneficiary", required=True, ondelete="restrict", index=True
    )
    cycle_id = fields.Many2one(
        "g2p.br.cycle", required=True, ondelete="restrict", index=True
    )
    program_id = fields.Many2one(
        related="cycle_id.program_id", store=True, index=True, string="Program"
    )
    company_id = fields.Many2one(related="cycle_id.company_id", store=True, index=True)
    benefit_kind = fields.Selection(
        [("cash", "Cash"), ("in_kind", "In-kind")], required=True, default="cash"
    )
    amount = fields.Monetary(currency_field="currency_id")
    currency_id = fields.Many2one("res.currency")
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
        index=True,
        copy=False,
    )
    approved_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    approved_at = fields.Datetime(readonly=True, copy=False)
    rejection_reason = fields.Char(copy=False)
    # Maintained by _refresh_disbursement_totals, in SQL, so that bulk
    # disbursement updates keep them exact without an ORM recompute per row.
    disbursed_total = fields.Float(
        digits=(16, 2),
        readonly=True,
        default=0.0,
        copy=False,
        help="Paid, not reversed: amount (cash) or quantity (in-kind).",
    )
    remaining = fields.Float(
        digits=(16, 2),
        readonly=True,
        copy=False,
        help="Entitled minus disbursed total.",
    )
    disbursement_status = fields.Selection(
        DISBURSEMENT_STATUSES,
        default="not_started",
        readonly=True,
        index=True,
        copy=False,
        required=True,
    )
    disbursement_ids = fields.One2many("g2p.br.disbursement", "entitlement_id")

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
    ]

    @api.depends("beneficiary_id", "cycle_id")
    def _compute_display_name(self):
        for rec in self:
            rec.display_name = f"{rec.cycle_id.name} / {rec.beneficiary_id.sr_id}"

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
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
        records = super().create(vals_list)
        records._check_enrolled()
        records._refresh_disbursement_totals(entitlement_ids=records.ids)
        return records

    def write(self, vals):
        if "state" in vals:
            self._check_transition(vals["state"])
            if vals["state"] in ("approved", "rejected") and not self.env.su:
                # deciding by writing the state (RPC) needs an approver too
                self._check_can_approve()
        if {"amount", "quantity"} & set(vals) and self.filtered(
            lambda e: e.state != "draft"
        ):
            # Once submitted, the value is what the approver decides on: an
            # edit by the approver would bypass four-eyes approval.
            raise UserError(_("Only a draft entitlement can change its value."))
        res = super().write(vals)
        if {"amount", "quantity"} & set(vals):
            self._refresh_disbursement_totals(entitlement_ids=self.ids)
        return res

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_submit(self):
        self.write({"state": "pending_approval"})

    def action_approve(self):
        self._check_can_approve()
        self.write(
            {
                "state": "approved",
                "approved_by_id": self.env.uid,
                "approved_at": fields.Datetime.now(),
            }
        )

    def action_reject(self, reason=None):  # SHIM(#9): until main's version lands
        self._check_can_approve()
        if not reason:
            raise UserError(_("Give a reason to reject entitlements."))
        self.write({"state": "rejected", "rejection_reason": reason})

    def action_cancel(self, reason=None):  # SHIM(#9): reason kept by main's version
        in_flight = self.filtered(
            lambda e: (
                e.disbursement_status != "not_started"
                and e.disbursement_status != "failed"
            )
        )
        if in_flight:
            raise UserError(
                _(
                    "%s has disbursements; it cannot be cancelled.",
                    in_flight[0].display_name,
                )
            )
        self.write({"state": "cancelled"})

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------
    def _check_transition(self, new_state):
        check_transitions(self, new_state, ENTITLEMENT_TRANSITIONS)

    def _check_enrolled(self):
        """Entitlements only for members enrolled at generation time."""
        Membership = self.env["g2p.br.program.membership"].sudo()
        for rec in self:
            if not Membership.search_count(
                [
                    ("program_id", "=", rec.program_id.id),
                    ("beneficiary_id", "=", rec.beneficiary_id.id),
                    ("state", "=", "enrolled"),
                ],
                limit=1,
            ):
                raise UserError(
                    _(
                        "%(who)s is not enrolled in %(program)s.",
                        who=rec.beneficiary_id.sr_id,
                        program=rec.program_id.name,
                    )
                )

    def _check_can_approve(self):
        user = self.env.user
        if not user.has_group("g2p_beneficiary_registry.group_br_approver"):
            raise AccessError(_("Only an approver can approve or reject entitlements."))
        for rec in self:
            if rec.program_id.four_eyes and (
                rec.create_uid == user or rec.cycle_id.generated_by_id == user
            ):
                raise UserError(
                    _(
                        "Four-eyes approval: you generated %s; another approver must "
                        "decide on it.",
                        rec.display_name,
                    )
                )

    @api.model
    def _bulk_set_state(self, cycles, from_states, to_state):
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
        extra = SQL()
        if to_state == "approved":
            extra = SQL(
                ", approved_by_id = %s, approved_at = %s",
                self.env.uid,
                fields.Datetime.now(),
            )
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
            ["state", "approved_by_id", "approved_at", "write_uid", "write_date"]
        )
        return count

    @api.model
    def _refresh_disbursement_totals(self, entitlement_ids=None, cycle_ids=None):
        """Recompute disbursed total, remainder and disbursement status from
        the disbursements, in one UPDATE for the given entitlements or cycles."""
        if not entitlement_ids and not cycle_ids:
            return
        self.env["g2p.br.disbursement"].flush_model()
        self.flush_model()
        scope = (
            SQL("e.id IN %s", tuple(entitlement_ids))
            if entitlement_ids
            else SQL("e.cycle_id IN %s", tuple(cycle_ids))
        )
        self.env.cr.execute(
            SQL(
                """
            WITH sums AS (
                SELECT e.id,
                       CASE WHEN e.benefit_kind = 'cash' THEN e.amount
                            ELSE e.quantity END
                           AS entitled,
                       COALESCE(SUM(CASE WHEN d.status = 'paid' THEN
                           (CASE WHEN e.benefit_kind = 'cash' THEN d.amount
                                 ELSE d.quantity END) END), 0) AS paid,
                       COUNT(d.id) FILTER (WHERE d.status IN ('pending', 'sent'))
                           AS flying,
                       COUNT(d.id) FILTER (WHERE d.status = 'failed') AS failed
                  FROM g2p_br_entitlement e
                  LEFT JOIN g2p_br_disbursement d ON d.entitlement_id = e.id
                 WHERE %(scope)s
                 GROUP BY e.id
            ), agg AS (
                SELECT id, paid, entitled - paid AS remaining,
                       CASE WHEN paid > 0 AND paid >= entitled THEN 'fully_disbursed'
                            WHEN flying > 0 THEN 'in_progress'
                            WHEN paid > 0 THEN 'partially_disbursed'
                            WHEN failed > 0 THEN 'failed'
                            ELSE 'not_started' END AS status
                  FROM sums
            )
            UPDATE g2p_br_entitlement t
               SET disbursed_total = agg.paid,
                   remaining = agg.remaining,
                   disbursement_status = agg.status
              FROM agg
             WHERE t.id = agg.id
               AND (t.disbursed_total IS DISTINCT FROM agg.paid
                    OR t.remaining IS DISTINCT FROM agg.remaining
                    OR t.disbursement_status IS DISTINCT FROM agg.status)
            """,
                scope=scope,
            )
        )
        self.invalidate_model(["disbursed_total", "remaining", "disbursement_status"])

    @api.model
    def _cron_expire_entitlements(self):
        """Approved entitlements past their validity expire, unless they are
        fully disbursed or have a disbursement in flight."""
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
