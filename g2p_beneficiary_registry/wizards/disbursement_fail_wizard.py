from odoo import fields, models


class G2pBrDisbursementFailWizard(models.TransientModel):
    """Mark one or more disbursements failed, with the provider's reason."""

    _name = "g2p.br.disbursement.fail.wizard"
    _description = "Mark Disbursements Failed"

    disbursement_ids = fields.Many2many("g2p.br.disbursement")
    reason = fields.Text(
        required=True, help="E.g. the provider's error: account closed."
    )

    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        if (
            context.get("active_model") == "g2p.br.disbursement"
            and "disbursement_ids" in fields_list
            and not values.get("disbursement_ids")
        ):
            ids = context.get("active_ids") or [context.get("active_id")]
            values["disbursement_ids"] = [fields.Command.set([i for i in ids if i])]
        return values

    def action_confirm(self):
        self.ensure_one()
        self.disbursement_ids.action_mark_failed(self.reason.strip())
        return {"type": "ir.actions.act_window_close"}
