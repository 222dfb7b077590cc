"""Retry a failed payment from its form: a new pending disbursement of what
remains of the entitlement, same channel."""

from odoo import _, fields, models
from odoo.exceptions import UserError


class G2pBrDisbursement(models.Model):
    _inherit = "g2p.br.disbursement"

    retry_of_id = fields.Many2one(
        "g2p.br.disbursement",
        string="Retry Of",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The failed payment this disbursement retries.",
    )

    def write(self, vals):
        if "retry_of_id" in vals:
            raise UserError(_("Retry Of is set when a failed payment is retried."))
        return super().write(vals)

    def action_retry(self):
        """One new pending disbursement per failed one of ``self``."""
        retries = self.browse()
        for failed in self:
            if failed.status != "failed":
                raise UserError(
                    _("Only a failed payment can be retried (%s).", failed.reference)
                )
            entitlement = failed.entitlement_id
            if self.search_count(
                [
                    ("entitlement_id", "=", entitlement.id),
                    ("status", "in", ("pending", "sent")),
                ],
                limit=1,
            ):
                raise UserError(
                    _(
                        "%s already has a payment in flight.",
                        entitlement.display_name,
                    )
                )
            if entitlement.remaining <= 0:
                raise UserError(
                    _("Nothing remains to pay on %s.", entitlement.display_name)
                )
            number = (
                self.with_context(active_test=False).search_count(
                    [("entitlement_id", "=", entitlement.id)]
                )
                + 1
            )
            is_cash = entitlement.benefit_kind == "cash"
            retries |= self.create(
                {
                    "entitlement_id": entitlement.id,
                    "reference": f"BR-{entitlement.id}-{number}",
                    "amount": entitlement.remaining if is_cash else 0.0,
                    "quantity": 0.0 if is_cash else entitlement.remaining,
                    "channel": failed.channel,
                    "retry_of_id": failed.id,
                }
            )
        if len(retries) == 1:
            return {
                "type": "ir.actions.act_window",
                "res_model": self._name,
                "res_id": retries.id,
                "view_mode": "form",
            }
        return True
