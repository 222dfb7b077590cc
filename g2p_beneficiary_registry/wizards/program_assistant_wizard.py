# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models

from ..models.program import BENEFIT_KINDS, CYCLE_FREQUENCIES, TARGET_TYPES

STEPS = [
    ("target", "Target"),
    ("rule", "Eligibility"),
    ("entitlement", "Entitlement"),
    ("cycles", "Cycles"),
    ("approval", "Approval and Users"),
    ("review", "Review"),
]


class G2pBrProgramAssistant(models.TransientModel):
    """Step-by-step creation of a program: target, rule with the live count,
    entitlement rule, cycles, four-eyes and users; enroll at the end."""

    _name = "g2p.br.program.assistant"
    _description = "Program Creation Assistant"

    step = fields.Selection(STEPS, required=True, default="target")
    name = fields.Char(required=True)
    code = fields.Char(required=True)
    target_type = fields.Selection(
        TARGET_TYPES,
        string="Target",
        required=True,
        default="individual",
    )
    benefit_kind = fields.Selection(BENEFIT_KINDS, required=True, default="cash")
    item_id = fields.Many2one("g2p.br.item", string="In-kind Item")
    currency_id = fields.Many2one(
        "res.currency", default=lambda self: self.env.company.currency_id
    )
    company_id = fields.Many2one(
        "res.company", default=lambda self: self.env.company, required=True
    )
    eligibility_domain = fields.Char(default="[]", required=True)
    rule_matches_all_confirmed = fields.Boolean(
        string="Everyone of the Target Is Eligible"
    )
    eligible_count = fields.Integer(
        string="Matching Beneficiaries", compute="_compute_eligible_count"
    )
    base_amount = fields.Float(string="Base Amount / Quantity", digits=(16, 2))
    amount_per_member = fields.Float(digits=(16, 2))
    max_amount = fields.Float(string="Cap", digits=(16, 2))
    cycle_frequency = fields.Selection(
        CYCLE_FREQUENCIES,
        required=True,
        default="monthly",
    )
    default_channel = fields.Selection(
        selection=lambda self: self.env["g2p.br.program"]._selection_channel(),
        default="bank_transfer",
        required=True,
    )
    create_first_cycle = fields.Boolean(default=True)
    four_eyes = fields.Boolean(string="Four-eyes Approval", default=True)
    user_ids = fields.Many2many(
        "res.users",
        "g2p_br_program_assistant_user_rel",
        "assistant_id",
        "user_id",
        string="Assigned Users",
        default=lambda self: self.env.user,
    )
    enroll = fields.Boolean(string="Enroll the Eligible Now", default=True)

    @api.depends("eligibility_domain", "target_type", "company_id")
    def _compute_eligible_count(self):
        Program = self.env["g2p.br.program"]
        for wizard in self:
            draft = Program.new(
                {
                    "eligibility_domain": wizard.eligibility_domain or "[]",
                    "target_type": wizard.target_type,
                    "company_id": wizard.company_id.id,
                }
            )
            wizard.eligible_count = draft.eligible_count

    def _program_values(self):
        self.ensure_one()
        return {
            "name": self.name,
            "code": self.code,
            "target_type": self.target_type,
            "benefit_kind": self.benefit_kind,
            "item_id": self.item_id.id,
            "currency_id": self.currency_id.id,
            "company_id": self.company_id.id,
            "eligibility_domain": self.eligibility_domain or "[]",
            "rule_matches_all_confirmed": self.rule_matches_all_confirmed,
            "base_amount": self.base_amount,
            "amount_per_member": self.amount_per_member,
            "max_amount": self.max_amount,
            "cycle_frequency": self.cycle_frequency,
            "default_channel": self.default_channel,
            "four_eyes": self.four_eyes,
            "user_ids": [fields.Command.set(self.user_ids.ids)],
        }

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": _("New Program"),
        }

    def action_next(self):
        self.ensure_one()
        keys = [key for key, _label in STEPS]
        self.step = keys[min(keys.index(self.step) + 1, len(keys) - 1)]
        return self._reopen()

    def action_back(self):
        self.ensure_one()
        keys = [key for key, _label in STEPS]
        self.step = keys[max(keys.index(self.step) - 1, 0)]
        return self._reopen()

    def action_create(self):
        self.ensure_one()
        program, _enrolled = self.env["g2p.br.program"].create_with_setup(
            self._program_values(),
            first_cycle=self.create_first_cycle,
            enroll=self.enroll,
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": "g2p.br.program",
            "res_id": program.id,
            "view_mode": "form",
            "target": "current",
        }
