# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models, tools
from odoo.tools import SQL

from ..models.program import BENEFIT_KINDS


class G2pBrCycleReport(models.Model):
    """One row per program cycle with its key figures, for the reporting
    dashboard's pivot and graph views (a read-only SQL view: every field is
    stored, so grouping and filtering stay in the database)."""

    _name = "g2p.br.cycle.report"
    _description = "Program Cycle Report"
    _auto = False
    _order = "start_date desc, cycle_id desc"
    _rec_name = "cycle_id"

    cycle_id = fields.Many2one("g2p.br.cycle", string="Cycle", readonly=True)
    program_id = fields.Many2one("g2p.br.program", string="Program", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    benefit_kind = fields.Selection(BENEFIT_KINDS, readonly=True)
    cycle_state = fields.Selection(
        selection=lambda self: self.env["g2p.br.cycle"]._fields["state"].selection,
        readonly=True,
    )
    start_date = fields.Date(readonly=True)
    end_date = fields.Date(readonly=True)
    entitlement_count = fields.Integer(string="Entitlements", readonly=True)
    approved_count = fields.Integer(string="Approved Entitlements", readonly=True)
    fully_disbursed_count = fields.Integer(string="Fully Disbursed", readonly=True)
    entitled = fields.Float(
        string="Entitled",
        readonly=True,
        digits=(16, 2),
        help="Approved or expired entitlements: amount (cash) or quantity (in-kind).",
    )
    disbursed = fields.Float(string="Disbursed", readonly=True, digits=(16, 2))
    remaining = fields.Float(string="Remaining", readonly=True, digits=(16, 2))
    disbursement_count = fields.Integer(string="Disbursements", readonly=True)
    paid_count = fields.Integer(string="Paid Disbursements", readonly=True)
    failed_count = fields.Integer(string="Failed Disbursements", readonly=True)
    failed_value = fields.Float(
        string="Failed Amount",
        readonly=True,
        digits=(16, 2),
        help="Amount (cash) or quantity (in-kind) of the failed disbursements.",
    )

    currency_id = fields.Many2one("res.currency", readonly=True)
    awaiting = fields.Float(
        string="Awaiting Approval",
        readonly=True,
        digits=(16, 2),
        help="Draft or pending entitlements: amount (cash) or quantity (in-kind).",
    )

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(
            SQL(
                """
            CREATE OR REPLACE VIEW %(view)s AS (
                SELECT c.id AS id,
                       c.id AS cycle_id,
                       c.program_id,
                       c.company_id,
                       p.benefit_kind,
                       c.state AS cycle_state,
                       c.start_date,
                       c.end_date,
                       COALESCE(e.entitlement_count, 0) AS entitlement_count,
                       COALESCE(e.approved_count, 0) AS approved_count,
                       COALESCE(e.fully_disbursed_count, 0) AS fully_disbursed_count,
                       COALESCE(e.entitled, 0) AS entitled,
                       COALESCE(e.disbursed, 0) AS disbursed,
                       COALESCE(e.entitled, 0) - COALESCE(e.disbursed, 0) AS remaining,
                       COALESCE(d.disbursement_count, 0) AS disbursement_count,
                       COALESCE(d.paid_count, 0) AS paid_count,
                       COALESCE(d.failed_count, 0) AS failed_count,
                       COALESCE(d.failed_value, 0) AS failed_value,
                       p.currency_id,
                       COALESCE(e.awaiting, 0) AS awaiting
                  FROM g2p_br_cycle c
                  JOIN g2p_br_program p ON p.id = c.program_id
                  LEFT JOIN (
                      SELECT cycle_id,
                             COUNT(*) AS entitlement_count,
                             COUNT(*) FILTER (WHERE state = 'approved')
                                 AS approved_count,
                             COUNT(*) FILTER (
                                 WHERE disbursement_status = 'fully_disbursed'
                             ) AS fully_disbursed_count,
                             SUM(CASE WHEN benefit_kind = 'cash'
                                      THEN amount ELSE quantity END)
                                 FILTER (WHERE state IN ('approved', 'expired'))
                                 AS entitled,
                             SUM(disbursed_total)
                                 FILTER (WHERE state IN ('approved', 'expired'))
                                 AS disbursed,
                             SUM(CASE WHEN benefit_kind = 'cash'
                                      THEN amount ELSE quantity END)
                                 FILTER (WHERE state IN ('draft', 'pending_approval'))
                                 AS awaiting
                        FROM g2p_br_entitlement
                       GROUP BY cycle_id
                  ) e ON e.cycle_id = c.id
                  LEFT JOIN (
                      SELECT cycle_id,
                             COUNT(*) AS disbursement_count,
                             COUNT(*) FILTER (WHERE status = 'paid') AS paid_count,
                             COUNT(*) FILTER (WHERE status = 'failed') AS failed_count,
                             SUM(CASE WHEN benefit_kind = 'cash'
                                      THEN amount ELSE quantity END)
                                 FILTER (WHERE status = 'failed') AS failed_value
                        FROM g2p_br_disbursement
                       GROUP BY cycle_id
                  ) d ON d.cycle_id = c.id
            )
            """,
                view=SQL.identifier(self._table),
            )
        )
