"""Failures in sight: per cycle, counts and amounts per step of the money's
way (entitled, awaiting approval, approved, sent, paid, failed, reversed),
from two grouped reads; never stored, never in list views."""

from markupsafe import Markup

from odoo import _, fields, models

# (key, label) in the order the form shows them
FIGURES = [
    ("entitled", "Entitled"),
    ("awaiting", "Awaiting approval"),
    ("approved", "Approved"),
    ("pending", "To send"),
    ("sent", "Sent"),
    ("paid", "Paid"),
    ("failed", "Failed"),
    ("reversed", "Reversed"),
]
ENTITLEMENT_FIGURES = {
    "draft": ("entitled",),
    "pending_approval": ("entitled", "awaiting"),
    "approved": ("entitled", "approved"),
    "expired": ("entitled", "approved"),
}


def cycle_figures(env, cycle_ids):
    """``{cycle id: {figure: [count, value]}}``; value is the amount (cash) or
    the quantity (in-kind)."""
    result = {cid: {key: [0, 0.0] for key, _label in FIGURES} for cid in cycle_ids}
    if not cycle_ids:
        return result
    for cycle, kind, state, count, amount, quantity in env[
        "g2p.br.entitlement"
    ]._read_group(
        [("cycle_id", "in", list(cycle_ids))],
        ["cycle_id", "benefit_kind", "state"],
        ["__count", "amount:sum", "quantity:sum"],
    ):
        value = (amount if kind == "cash" else quantity) or 0.0
        for key in ENTITLEMENT_FIGURES.get(state, ()):
            result[cycle.id][key][0] += count
            result[cycle.id][key][1] += value
    for cycle, kind, status, count, amount, quantity in env[
        "g2p.br.disbursement"
    ]._read_group(
        [("cycle_id", "in", list(cycle_ids))],
        ["cycle_id", "benefit_kind", "status"],
        ["__count", "amount:sum", "quantity:sum"],
    ):
        value = (amount if kind == "cash" else quantity) or 0.0
        result[cycle.id][status][0] += count
        result[cycle.id][status][1] += value
    return result


class G2pBrCycle(models.Model):
    _inherit = "g2p.br.cycle"

    total_remaining = fields.Float(
        help="Approved or expired entitlements minus paid (not reversed) "
        "disbursements. It includes what is not sent yet, what is in flight "
        "(to send or sent) and failed payments waiting to be retried.",
    )
    figures_html = fields.Html(
        string="Figures", compute="_compute_figures", sanitize=False
    )
    awaiting_count = fields.Integer(compute="_compute_figures")
    awaiting_value = fields.Float(compute="_compute_figures", digits=(16, 2))
    failed_count = fields.Integer(string="Failed Count", compute="_compute_figures")
    failed_value = fields.Float(
        string="Failed", compute="_compute_figures", digits=(16, 2)
    )
    failed_disbursement_ids = fields.Many2many(
        "g2p.br.disbursement",
        string="Failed Payments",
        compute="_compute_figures",
        help="Failed payments of the cycle (the latest 100) and their reasons.",
    )

    def _figures(self):
        return cycle_figures(self.env, self._origin.ids)

    def _compute_figures(self):
        figures = self._figures()
        failed = self.env["g2p.br.disbursement"].search(
            [("cycle_id", "in", self._origin.ids), ("status", "=", "failed")],
            order="id desc",
            limit=100 * max(len(self), 1),
        )
        failed_by_cycle = failed.grouped("cycle_id")
        for cycle in self:
            values = figures.get(cycle._origin.id) or {
                key: [0, 0.0] for key, _label in FIGURES
            }
            cycle.awaiting_count, cycle.awaiting_value = values["awaiting"]
            cycle.failed_count, cycle.failed_value = values["failed"]
            cycle.failed_disbursement_ids = failed_by_cycle.get(
                cycle._origin, failed.browse()
            )[:100]
            cycle.figures_html = cycle._figures_table(values)

    def _value_label(self):
        if self.benefit_kind == "in_kind":
            return self.program_id.unit or _("quantity")
        return self.currency_id.name or ""

    def _figures_table(self, values):
        labels = dict(FIGURES)
        cells = Markup("").join(
            Markup(
                '<tr class="%s"><td>%s</td><td class="text-end">%s</td>'
                '<td class="text-end">%s</td></tr>'
            )
            % (
                "text-danger fw-bold" if key == "failed" and values[key][0] else "",
                labels[key],
                values[key][0],
                f"{values[key][1]:,.2f}",
            )
            for key, _label in FIGURES
        )
        return Markup(
            '<table class="table table-sm o_br_cycle_figures mb-0"><thead><tr>'
            '<th></th><th class="text-end">%s</th><th class="text-end">%s</th>'
            "</tr></thead><tbody>%s</tbody></table>"
        ) % (_("Count"), self._value_label(), cells)

    def action_open_failed_disbursements(self):
        action = self.action_open_disbursements()
        action["domain"] = [("cycle_id", "=", self.id), ("status", "=", "failed")]
        action["name"] = _("Failed Payments")
        return action


class G2pBrProgram(models.Model):
    _inherit = "g2p.br.program"

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
