# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Fixtures shared by the tests of the Beneficiary Registry core addon."""

from datetime import date

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import TransactionCase

XMLID = "g2p_beneficiary_registry.%s"

# The context every fixture is created with: no tracking, no creation log.
NO_TRACKING = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "mail_notrack": True,
    "no_reset_password": True,  # no signup email for each test user
}


TEST_REGIONS = "[('region_code', 'in', ['ZZR1', 'ZZR2'])]"


class BeneficiaryRegistryCase(TransactionCase):
    """Registry fixtures: users of each group, two households with their
    members, an archived individual, and two programs (A on individuals of
    region ZZR1, B on households) with their assigned users.

    ``cls.env`` runs as OdooBot (superuser, member of the Administrator group).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, **NO_TRACKING))
        cls._sequence = 0
        cls.company = cls.env.company
        cls.currency = cls.company.currency_id

        def user(login, *groups):
            return cls.create_user(login, *(XMLID % g for g in groups))

        cls.user_admin = user("br_admin", "group_br_admin")
        cls.user_manager = user("br_manager", "group_br_manager")
        cls.user_manager_b = user("br_manager_b", "group_br_manager")
        cls.user_approver = user("br_approver", "group_br_approver")
        cls.user_approver2 = user("br_approver2", "group_br_approver")
        cls.user_viewer = user("br_viewer", "group_br_viewer")
        cls.user_outsider = user("br_outsider")

        cls.id_type_nid = cls.env["g2p.br.identifier.type"].create(
            {"code": "NATIONAL_ID", "name": "National ID"}
        )
        cls.item_rice = cls.env["g2p.br.item"].create(
            {"code": "RICE", "name": "Rice", "unit": "kg"}
        )

        cls.hh1 = cls.create_beneficiary(
            kind="group", region_code="ZZR1", group_size=4, poverty_score=0.2
        )
        cls.hh2 = cls.create_beneficiary(
            kind="group", region_code="ZZR2", group_size=2, poverty_score=0.5
        )
        cls.ind1 = cls.create_beneficiary(
            region_code="ZZR1",
            sex="female",
            group_id=cls.hh1.id,
            identifier_ids=[
                Command.create({"type_id": cls.id_type_nid.id, "value": "NID-1"})
            ],
        )
        cls.ind2 = cls.create_beneficiary(
            region_code="ZZR1", sex="male", group_id=cls.hh1.id
        )
        cls.ind3 = cls.create_beneficiary(
            region_code="ZZR2", sex="female", group_id=cls.hh2.id
        )
        cls.ind_archived = cls.create_beneficiary(region_code="ZZR1", active=False)

        cls.program_a = cls.create_program(
            code="PA",
            name="Program A",
            eligibility_domain="[('region_code', '=', 'ZZR1')]",
            base_amount=100.0,
            user_ids=[
                Command.set(
                    (
                        cls.user_manager
                        | cls.user_approver
                        | cls.user_approver2
                        | cls.user_viewer
                    ).ids
                )
            ],
        )
        cls.program_b = cls.create_program(
            code="PB",
            name="Program B",
            target_type="group",
            base_amount=50.0,
            amount_per_member=10.0,
            user_ids=[Command.set(cls.user_manager_b.ids)],
        )

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    @classmethod
    def create_user(cls, login, *groups, **vals):
        """A user of ``groups`` (xml ids) besides Internal User. Without a
        password: hashing one costs more than the rest of the fixtures."""
        groups = [cls.env.ref(xmlid).id for xmlid in ("base.group_user", *groups)]
        return cls.env["res.users"].create(
            dict(
                {
                    "name": login,
                    "login": login,
                    "email": f"{login}@example.com",
                    "groups_id": [Command.set(groups)],
                },
                **vals,
            )
        )

    @classmethod
    def create_beneficiary(cls, **vals):
        cls._sequence += 1
        vals.setdefault("sr_id", f"SR-{cls._sequence:05d}")
        return cls.env["g2p.br.beneficiary"].create(vals)

    @classmethod
    def create_program(cls, activate=True, **vals):
        cls._sequence += 1
        vals.setdefault("code", f"P{cls._sequence}")
        vals.setdefault("name", f"Program {cls._sequence}")
        # only the beneficiaries of the fixtures, whatever else is in the
        # database (demo data)
        vals.setdefault("eligibility_domain", TEST_REGIONS)
        # four-eyes approval (on by default) is tested on its own
        vals.setdefault("four_eyes", False)
        program = cls.env["g2p.br.program"].create(vals)
        if activate:
            program.action_activate()
        return program

    @classmethod
    def create_cycle(
        cls, program, start=date(2026, 12, 1), end=date(2026, 12, 31), **vals
    ):
        return cls.env["g2p.br.cycle"].create(
            dict(
                {
                    "program_id": program.id,
                    "name": f"{program.code} {start}",
                    "start_date": start,
                    "end_date": end,
                },
                **vals,
            )
        )

    @classmethod
    def generated_cycle(cls, program, **kwargs):
        """A draft cycle of ``program`` (its eligible beneficiaries enrolled)
        with its draft entitlements."""
        program._enroll_eligible()
        cycle = cls.create_cycle(program, **kwargs)
        cycle.action_generate_entitlements()
        return cycle

    @classmethod
    def approved_cycle(cls, program, **kwargs):
        """An approved cycle of ``program`` with its approved entitlements."""
        cycle = cls.generated_cycle(program, **kwargs)
        cycle.action_to_approve()
        cycle.action_approve_entitlements()
        return cycle

    def assert_transition_matrix(
        self, record, states, allowed, move, field="state", after_refusal=None
    ):
        """Every move of ``record`` in ``allowed`` succeeds through
        ``move(record, new_state)``; every other one raises a UserError and
        leaves the record as it was (``after_refusal(record)`` checks more)."""
        for old in states:
            for new in states:
                if old == new:
                    continue
                with self.subTest(old=old, new=new):
                    self.set_state(record, old, field=field)
                    if (old, new) in allowed:
                        move(record, new)
                        self.assertEqual(record[field], new)
                    else:
                        with self.assertRaises(UserError):
                            move(record, new)
                        self.assertEqual(record[field], old)
                        if after_refusal:
                            after_refusal(record)

    def set_state(self, records, state, field="state"):
        """Put ``records`` in ``state`` bypassing the state machine, to test a
        transition from any state."""
        records.flush_recordset()
        self.env.cr.execute(
            f'UPDATE "{records._table}" SET "{field}" = %s WHERE id IN %s',
            (state, tuple(records.ids)),
        )
        records.invalidate_recordset([field])

    def entitlement_of(self, cycle, beneficiary):
        return self.env["g2p.br.entitlement"].search(
            [("cycle_id", "=", cycle.id), ("beneficiary_id", "=", beneficiary.id)]
        )

    def membership_of(self, program, beneficiary):
        return self.env["g2p.br.program.membership"].search(
            [("program_id", "=", program.id), ("beneficiary_id", "=", beneficiary.id)]
        )
