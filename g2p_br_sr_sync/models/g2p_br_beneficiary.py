from odoo import fields, models


class G2pBrBeneficiary(models.Model):
    _inherit = "g2p.br.beneficiary"

    sr_group_ref = fields.Char(
        string="SR Group ID",
        index="btree_not_null",
        copy=False,
        help="Social Registry id of the group (household) the Social Registry "
        "reports this individual in; the group link is set as soon as both are "
        "in the Beneficiary Registry.",
    )
    sr_pull_run_id = fields.Many2one(
        "g2p.br.sr.pull.run",
        string="Last Changed by Pull Run",
        index="btree_not_null",
        ondelete="set null",
        copy=False,
        readonly=True,
    )
