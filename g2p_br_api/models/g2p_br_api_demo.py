# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A small, self-contained BR dataset built through the core's models.

Used by the demo data (prefix ``DEMO``) and by the tests and the benchmark
(their own prefixes), so that the API always has programs, members,
entitlements and disbursements to show, whatever else is in the database.
"""

from datetime import date

from odoo import Command, api, models

DEMO_KEY = "brk_d3e0a1b2_demo-key-for-local-testing-only-0000"


class G2pBrApiDemo(models.AbstractModel):
    _name = "g2p.br.api.demo"
    _description = "BR API demo and test dataset"

    @api.model
    def _get_identifier_type(self, code, name):
        IdType = self.env["g2p.br.identifier.type"].with_context(active_test=False)
        return IdType.search([("code", "=", code)], limit=1) or IdType.create(
            {"code": code, "name": name}
        )

    @api.model
    def _create_dataset(self, prefix, members=(2, 1), cycle_start=date(2026, 11, 1)):
        """Two active cash programs ``<prefix>-A`` and ``<prefix>-B`` with
        ``members[0]`` and ``members[1]`` enrolled individuals, one approved
        cycle each with entitlements and pending disbursements.

        Beneficiaries have SR ids ``<prefix>-SR-<program>-<n>`` and a national id
        (identifier type ``NID``) ``<prefix>-NID-<program>-<n>``.
        Returns a dict of the records created.
        """
        demo = self.with_context(tracking_disable=True)
        nid = self._get_identifier_type("NID", "National ID")
        region = f"{prefix}-REGION"
        result = {"identifier_type": nid, "programs": {}, "beneficiaries": {}}
        for letter, count in zip("AB", members, strict=True):
            program = demo._create_program(prefix, letter, region)
            beneficiaries = demo._create_members(prefix, letter, count, nid, region)
            if letter == "A":
                result["household"] = demo._create_household(prefix, beneficiaries)
            memberships = demo.env["g2p.br.program.membership"].create(
                [
                    {"beneficiary_id": b.id, "program_id": program.id}
                    for b in beneficiaries
                ]
            )
            program.action_activate()
            memberships.action_enroll()
            result["programs"][letter] = program
            result["beneficiaries"][letter] = beneficiaries
            result.setdefault("cycles", {})[letter] = demo._create_paid_cycle(
                program, cycle_start
            )
        return result

    @api.model
    def _create_program(self, prefix, letter, region):
        """A monthly cash program for the beneficiaries of ``region``."""
        return self.env["g2p.br.program"].create(
            {
                "code": f"{prefix}-{letter}",
                "name": f"{prefix} program {letter}",
                "description": f"<p>Demo cash program {letter}</p>",
                "target_type": "individual",
                "benefit_kind": "cash",
                "base_amount": 50.0,
                "cycle_frequency": "monthly",
                "eligibility_domain": repr([("region_code", "=", region)]),
                "user_ids": [Command.set([])],
                # one system user generates and approves this dataset
                "four_eyes": False,
            }
        )

    @api.model
    def _create_members(self, prefix, letter, count, nid, region):
        """``count`` individuals of ``region``, each with a national id."""
        return self.env["g2p.br.beneficiary"].create(
            [
                {
                    "sr_id": f"{prefix}-SR-{letter}-{n}",
                    "kind": "individual",
                    "sex": "female" if n % 2 else "male",
                    "birth_date": date(1980 + n, 1, 1),
                    "region_code": region,
                    "identifier_ids": [
                        Command.create(
                            {"type_id": nid.id, "value": f"{prefix}-NID-{letter}-{n}"}
                        )
                    ],
                }
                for n in range(1, count + 1)
            ]
        )

    @api.model
    def _create_household(self, prefix, beneficiaries):
        """A household no program of the dataset serves, of the first of
        ``beneficiaries``."""
        household = self.env["g2p.br.beneficiary"].create(
            {
                "sr_id": f"{prefix}-SR-HH-1",
                "kind": "group",
                "group_size": 3,
                "region_code": f"{prefix}-OTHER",
            }
        )
        beneficiaries[0].group_id = household
        return household

    @api.model
    def _create_paid_cycle(self, program, cycle_start):
        """A cycle of ``program`` from ``cycle_start``, approved, with its
        entitlements and pending disbursements."""
        cycle = self.env["g2p.br.cycle"].create(
            {
                "program_id": program.id,
                "name": f"{program.code} {cycle_start:%Y-%m}",
                "start_date": cycle_start,
                "end_date": cycle_start.replace(day=28),
            }
        )
        cycle.action_generate_entitlements()
        cycle.action_to_approve()
        cycle.action_approve_entitlements()
        cycle.action_create_disbursements()
        return cycle

    @api.model
    def _create_demo_data(self):
        """Demo data: an API client limited to one program, the core's demo
        program ``SCG`` when its demo data is loaded, else ``DEMO-A`` of a
        dataset created here."""
        program = self.env.ref(
            "g2p_beneficiary_registry.program_senior_grant_demo",
            raise_if_not_found=False,
        )
        if not program:
            Program = self.env["g2p.br.program"].with_context(active_test=False)
            program = Program.search([("code", "=", "DEMO-A")], limit=1)
            if not program:
                program = self._create_dataset("DEMO", members=(3, 2))["programs"]["A"]
        user = self.env.ref("g2p_br_api.user_br_api_demo_client")
        program.write({"user_ids": [Command.link(user.id)]})
        client = self.env.ref("g2p_br_api.api_client_demo")
        if not client.key_prefix:
            _brk, prefix, secret = DEMO_KEY.split("_", 2)
            client._set_new_key(secret=secret, prefix=prefix)
        return True
