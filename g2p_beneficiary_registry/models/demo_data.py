# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Generator of the demo data (called from
demo/g2p_beneficiary_registry_demo.xml only)."""

import random
from datetime import date

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models

from ..utils import workflow

REGIONS = ["NORTH", "SOUTH", "EAST", "WEST", "CENTRAL"]
HOUSEHOLDS = 60
INDIVIDUALS = 240


class G2pBrDemoData(models.AbstractModel):
    _name = "g2p.br.demo.data"
    _description = "Beneficiary Registry Demo Data"

    @api.model
    def _generate_demo_data(self):
        """About 300 beneficiaries, then the three demo programs run through
        two cycles each, with memberships, entitlements and disbursements in
        every state. Deterministic (seeded), idempotent (skips when loaded)."""
        Beneficiary = self.env["g2p.br.beneficiary"].with_context(active_test=False)
        if Beneficiary.search_count([("sr_id", "=like", "SR-DEMO-%")], limit=1):
            return True
        rng = random.Random(20261125)
        self._demo_beneficiaries(rng)
        ref = self.env.ref
        manager_a = ref("g2p_beneficiary_registry.user_br_manager_a_demo")
        manager_b = ref("g2p_beneficiary_registry.user_br_manager_b_demo")
        approver_a = ref("g2p_beneficiary_registry.user_br_approver_a_demo")
        approver_b = ref("g2p_beneficiary_registry.user_br_approver_b_demo")
        senior = ref("g2p_beneficiary_registry.program_senior_grant_demo")
        household = ref("g2p_beneficiary_registry.program_household_grant_demo")
        food = ref("g2p_beneficiary_registry.program_food_basket_demo")
        today = fields.Date.context_today(self)
        this_month = today.replace(day=1)
        last_month = this_month - relativedelta(months=1)
        self._demo_program(
            senior, manager_a, approver_a, rng, last_month, "closed", "approved"
        )
        self._demo_program(
            household,
            manager_b,
            approver_b,
            rng,
            last_month,
            "distributed",
            "to_approve",
        )
        self._demo_program(
            food, manager_a, approver_a, rng, last_month, "expired", "draft"
        )
        return True

    def _demo_beneficiaries(self, rng):
        nid = self.env.ref("g2p_beneficiary_registry.identifier_type_national_id_demo")
        hhid = self.env.ref(
            "g2p_beneficiary_registry.identifier_type_household_id_demo"
        )
        Beneficiary = self.env["g2p.br.beneficiary"]
        households = Beneficiary.create(
            [
                {
                    "sr_id": f"SR-DEMO-H{n:04d}",
                    "kind": "group",
                    "region_code": rng.choice(REGIONS),
                    "poverty_score": round(rng.random(), 4),
                    "sr_updated_at": fields.Datetime.now()
                    - relativedelta(days=rng.randint(1, 90)),
                    "synced_at": fields.Datetime.now(),
                    "identifier_ids": [
                        (0, 0, {"type_id": hhid.id, "value": f"HH-{10000 + n}"})
                    ],
                }
                for n in range(1, HOUSEHOLDS + 1)
            ]
        )
        values = []
        for n in range(1, INDIVIDUALS + 1):
            household = households[rng.randrange(len(households))]
            born = date(1936, 1, 1) + relativedelta(days=rng.randint(0, 84 * 365))
            values.append(
                {
                    "sr_id": f"SR-DEMO-I{n:05d}",
                    "kind": "individual",
                    "sex": rng.choice(["female", "male", "female", "male", "other"]),
                    "birth_date": born,
                    "region_code": household.region_code,
                    "disability": rng.random() < 0.08,
                    "group_id": household.id,
                    "sr_updated_at": fields.Datetime.now()
                    - relativedelta(days=rng.randint(1, 90)),
                    "synced_at": fields.Datetime.now(),
                    "identifier_ids": [
                        (0, 0, {"type_id": nid.id, "value": f"{19000000 + n * 7919}"})
                    ],
                }
            )
        individuals = Beneficiary.create(values)
        for household in households:
            household.group_size = max(
                1, len(individuals.filtered(lambda i, h=household: i.group_id == h))
            )
        # a few registrants the Social Registry reports inactive
        individuals[-5:].write({"active": False})

    def _demo_program(
        self, program, manager, approver, rng, start, first_end, second_state
    ):
        """Run ``program``: enroll, vary memberships, then two cycles."""
        Membership = self.env["g2p.br.program.membership"]
        program.action_activate()
        program.with_user(manager)._enroll_eligible()
        enrolled = Membership.search(
            [("program_id", "=", program.id), ("state", "=", "enrolled")], order="id"
        )
        # memberships in every state
        enrolled[0:2].action_pause()
        enrolled[2:4].with_context(exit_reason="Moved out of the area").action_exit()
        workflow(enrolled[4:6]).write({"state": "not_eligible"})
        outsiders = self.env["g2p.br.beneficiary"].search(
            [
                ("kind", "=", program.target_type),
                (
                    "id",
                    "not in",
                    Membership.search(
                        [("program_id", "=", program.id)]
                    ).beneficiary_id.ids,
                ),
            ],
            limit=3,
            order="id",
        )
        Membership.create(
            [{"program_id": program.id, "beneficiary_id": b.id} for b in outsiders]
        )
        period = relativedelta(months=1)

        def monthly_cycle(begin):
            return self.env["g2p.br.cycle"].create(
                {
                    "program_id": program.id,
                    "name": f"{program.code} {begin:%B %Y}",
                    "start_date": begin,
                    "end_date": begin + period - relativedelta(days=1),
                }
            )

        # first cycle: last month, run to the end
        first = monthly_cycle(start)
        self._demo_first_cycle(first, manager, approver, first_end)
        second = monthly_cycle(start + period)
        self._demo_second_cycle(second, manager, approver, second_state)

    def _demo_first_cycle(self, cycle, manager, approver, ending):
        Entitlement = self.env["g2p.br.entitlement"]
        cycle.with_user(manager)._generate_entitlements()
        cycle.with_user(manager).action_to_approve()
        entitlements = Entitlement.search([("cycle_id", "=", cycle.id)], order="id")
        entitlements[0:2].with_user(approver).action_reject("Duplicate registration")
        cycle.with_user(approver)._approve_entitlements()
        approved = entitlements.filtered(lambda e: e.state == "approved")
        approved[0:2].action_cancel()
        if ending == "expired":
            workflow(approved[2:6]).write({"state": "expired"})
        # a partial payment before the cycle's bulk disbursement
        partial = approved[6]
        value = partial.amount if partial.benefit_kind == "cash" else partial.quantity
        half = round(value / 2, 2)
        self.env["g2p.br.disbursement"].create(
            {
                "entitlement_id": partial.id,
                "reference": f"DEMO-{cycle.id}-PARTIAL",
                "amount": half if partial.benefit_kind == "cash" else 0.0,
                "quantity": half if partial.benefit_kind == "in_kind" else 0.0,
                "channel": cycle.program_id.default_channel,
            }
        ).action_mark_paid()
        cycle.with_user(manager)._create_disbursements()
        disbursements = self.env["g2p.br.disbursement"].search(
            [("cycle_id", "=", cycle.id), ("status", "=", "pending")], order="id"
        )
        when = fields.Datetime.to_string(
            fields.Datetime.to_datetime(cycle.start_date)
            + relativedelta(days=10, hours=9)
        )
        reasons = [
            "Account closed",
            "Mobile wallet not registered",
            "Beneficiary absent",
        ]
        updates = []
        for index, disbursement in enumerate(disbursements):
            if disbursement.entitlement_id == partial:
                # the second half fails: the entitlement stays partially disbursed
                status, reason = "failed", "Insufficient funds at the agent"
            elif index % 9 == 0:
                status, reason = "failed", reasons[index % len(reasons)]
            elif index % 11 == 0:
                status, reason = "sent", None
            else:
                status, reason = "paid", None
            updates.append(
                {
                    "reference": disbursement.reference,
                    "status": status,
                    "status_time": when,
                    "failure_reason": reason,
                }
            )
        self.env["g2p.br.disbursement"].with_user(manager).apply_status_updates(updates)
        paid = disbursements.filtered(lambda d: d.status == "paid")
        if paid:
            paid[-1].action_reverse()
        cycle.action_mark_distributed()
        if ending == "closed":
            cycle.action_end()

    def _demo_second_cycle(self, cycle, manager, approver, state):
        cycle.with_user(manager)._generate_entitlements()
        if state == "draft":
            return
        cycle.with_user(manager).action_to_approve()
        if state == "to_approve":
            return
        cycle.with_user(approver)._approve_entitlements()
        cycle.with_user(manager)._create_disbursements()
        # the provider has paid part of the current cycle already
        pending = self.env["g2p.br.disbursement"].search(
            [("cycle_id", "=", cycle.id)], order="id"
        )
        pending[: len(pending) // 2].action_mark_paid()
        pending[len(pending) // 2 : len(pending) // 2 + 10].action_mark_sent()
