# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import TEST_REGIONS, BeneficiaryRegistryCase

MODELS = (
    "g2p.br.identifier.type",
    "g2p.br.item",
    "g2p.br.beneficiary",
    "g2p.br.beneficiary.identifier",
    "g2p.br.program",
    "g2p.br.program.membership",
    "g2p.br.cycle",
    "g2p.br.entitlement",
    "g2p.br.disbursement",
)
OPERATIONS = ("read", "write", "create", "unlink")

# Expected access rights: model -> (read, write, create, unlink) per role.
R, RW, RWC, ALL = "r", "rw", "rwc", "rwcu"
EXPECTED = {
    "viewer": dict.fromkeys(MODELS, R),
    "approver": dict(
        dict.fromkeys(MODELS, R), **{"g2p.br.cycle": RW, "g2p.br.entitlement": RW}
    ),
    "manager": dict(
        dict.fromkeys(MODELS, R),
        **dict.fromkeys(
            (
                "g2p.br.program",
                "g2p.br.program.membership",
                "g2p.br.cycle",
                "g2p.br.entitlement",
                "g2p.br.disbursement",
            ),
            RWC,
        ),
    ),
    "admin": dict.fromkeys(MODELS, ALL),
    "outsider": dict.fromkeys(MODELS, ""),
}


@tagged("post_install", "-at_install")
class TestSecurity(BeneficiaryRegistryCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Data in both programs: memberships, an approved cycle, disbursements.
        cls.cycle_a = cls.approved_cycle(cls.program_a)
        cls.cycle_a.action_create_disbursements()
        cls.cycle_b = cls.approved_cycle(cls.program_b)
        cls.cycle_b.action_create_disbursements()
        cls.users = {
            "viewer": cls.user_viewer,
            "approver": cls.user_approver,
            "manager": cls.user_manager,
            "admin": cls.user_admin,
            "outsider": cls.user_outsider,
        }

    def test_access_matrix(self):
        for role, user in self.users.items():
            for model in MODELS:
                for operation in OPERATIONS:
                    with self.subTest(role=role, model=model, operation=operation):
                        allowed = operation[0] in EXPECTED[role][model]
                        self.assertEqual(
                            self.env[model]
                            .with_user(user)
                            .check_access_rights(operation, raise_exception=False),
                            allowed,
                        )

    def test_outsider_gets_access_error_everywhere(self):
        for model in MODELS:
            with self.subTest(model=model), self.assertRaises(AccessError):
                self.env[model].with_user(self.user_outsider).search([])
        with self.assertRaises(AccessError):
            self.program_a.with_user(self.user_outsider).read(["name"])

    def test_viewer_is_read_only(self):
        program = self.program_a.with_user(self.user_viewer)
        self.assertEqual(program.name, "Program A")
        with self.assertRaises(AccessError):
            program.name = "Renamed"
        with self.assertRaises(AccessError):
            program.action_enroll_eligible()
        with self.assertRaises(AccessError):
            program.verify_eligibility()
        with self.assertRaises(AccessError):
            self.cycle_a.with_user(self.user_viewer).action_create_disbursements()
        disbursement = self.cycle_a.entitlement_ids.disbursement_ids[0]
        with self.assertRaises(AccessError):
            disbursement.with_user(self.user_viewer).action_mark_paid()
        with self.assertRaises(AccessError):
            self.env["g2p.br.disbursement"].with_user(
                self.user_viewer
            ).apply_status_updates(
                [{"reference": disbursement.reference, "status": "paid"}]
            )
        self.assertEqual(disbursement.status, "pending")

    def test_approver_cannot_run_manager_operations(self):
        cycle = self.create_cycle(
            self.program_a, start=date(2027, 1, 1), end=date(2027, 1, 31)
        )
        with self.assertRaises(AccessError):
            cycle.with_user(self.user_approver).action_generate_entitlements()
        self.assertFalse(cycle.entitlement_ids)
        with self.assertRaises(AccessError):
            self.cycle_a.with_user(self.user_approver).action_create_disbursements()
        with self.assertRaises(AccessError):
            self.program_a.with_user(self.user_approver).action_enroll_eligible()

    def test_manager_runs_program(self):
        program = (
            self.env["g2p.br.program"]
            .with_user(self.user_manager)
            .create(
                {
                    "code": "MGR",
                    "name": "Manager's program",
                    "eligibility_domain": TEST_REGIONS,
                }
            )
        )
        self.assertIn(self.user_manager, program.user_ids)
        program.action_activate()
        program.action_enroll_eligible()
        self.assertEqual(len(program.membership_ids), 3)  # active individuals
        cycle = program._create_next_cycle()
        cycle.action_generate_entitlements()
        cycle.action_to_approve()
        with self.assertRaises(AccessError):
            program.unlink()

    # ------------------------------------------------------------------
    # Record rules
    # ------------------------------------------------------------------
    def _visible(self, user, model):
        return self.env[model].with_user(user).search([])

    def test_assigned_program_only(self):
        for role in ("viewer", "approver", "manager"):
            user = self.users[role]
            with self.subTest(role=role):
                self.assertEqual(self._visible(user, "g2p.br.program"), self.program_a)
                memberships = self._visible(user, "g2p.br.program.membership")
                self.assertEqual(memberships, self.program_a.membership_ids)
                self.assertEqual(self._visible(user, "g2p.br.cycle"), self.cycle_a)
                entitlements = self._visible(user, "g2p.br.entitlement")
                self.assertEqual(entitlements, self.cycle_a.entitlement_ids)
                disbursements = self._visible(user, "g2p.br.disbursement")
                self.assertEqual(
                    disbursements, self.cycle_a.entitlement_ids.disbursement_ids
                )
                self.assertEqual(len(disbursements), 2)
                with self.assertRaises(AccessError):
                    self.program_b.with_user(user).read(["name"])
                with self.assertRaises(AccessError):
                    self.cycle_b.with_user(user).read(["name"])
                with self.assertRaises(AccessError):
                    self.cycle_b.entitlement_ids[0].with_user(user).read(["amount"])

    def test_manager_b(self):
        user = self.user_manager_b
        self.assertEqual(self._visible(user, "g2p.br.program"), self.program_b)
        self.assertEqual(self._visible(user, "g2p.br.cycle"), self.cycle_b)
        self.assertEqual(
            self._visible(user, "g2p.br.disbursement"),
            self.cycle_b.entitlement_ids.disbursement_ids,
        )
        with self.assertRaises(AccessError):
            self.cycle_a.with_user(user).action_cancel()
        with self.assertRaises(AccessError):
            self.program_a.with_user(user).write({"name": "Hijacked"})
        with self.assertRaises(AccessError):
            self.env["g2p.br.cycle"].with_user(user).create(
                {
                    "program_id": self.program_a.id,
                    "name": "Intruder",
                    "start_date": date(2030, 1, 1),
                    "end_date": date(2030, 1, 31),
                }
            )

    def test_status_updates_of_another_program(self):
        disbursement = self.cycle_a.entitlement_ids.disbursement_ids[0]
        Disbursement = self.env["g2p.br.disbursement"]
        [result] = Disbursement.with_user(self.user_manager_b).apply_status_updates(
            [{"reference": disbursement.reference, "status": "paid"}]
        )
        self.assertEqual(result["code"], "not_found")
        self.assertEqual(disbursement.status, "pending")
        [result] = Disbursement.with_user(self.user_manager).apply_status_updates(
            [{"reference": disbursement.reference, "status": "paid"}]
        )
        self.assertEqual(result["result"], "applied")
        self.assertEqual(disbursement.status, "paid")

    def _disbursement_rule(self, domain, perm):
        """A global rule on disbursements for ``perm`` ("read" or "write")
        alone."""
        self.env["ir.rule"].create(
            {
                "name": f"test: {perm} {domain}",
                "model_id": self.env.ref(
                    "g2p_beneficiary_registry.model_g2p_br_disbursement"
                ).id,
                "domain_force": domain,
                **{
                    f"perm_{p}": p == perm
                    for p in ("read", "write", "create", "unlink")
                },
            }
        )

    def test_status_updates_refused_by_a_write_only_rule(self):
        """A rule on writing alone (the read rules let the disbursement
        through): the batch is refused as a whole, nothing is written, and a
        batch of writable disbursements still applies."""
        disbursements = self.cycle_a.entitlement_ids.disbursement_ids[:2]
        locked, free = disbursements[0], disbursements[1]
        self._disbursement_rule(f"[('id', '!=', {locked.id})]", "write")
        Disbursement = self.env["g2p.br.disbursement"].with_user(self.user_manager)
        with self.assertRaises(AccessError):
            Disbursement.apply_status_updates(
                [
                    {"reference": free.reference, "status": "paid"},
                    {"reference": locked.reference, "status": "paid"},
                ]
            )
        self.assertEqual((locked | free).mapped("status"), ["pending", "pending"])
        [result] = Disbursement.apply_status_updates(
            [{"reference": free.reference, "status": "paid"}]
        )
        self.assertEqual(result["result"], "applied")
        self.assertEqual(free.status, "paid")

    def test_status_updates_write_rule_equal_to_read_rule_in_python_only(self):
        """A read rule and a write rule whose domains Python finds equal
        (False == 0) but Odoo does not (IS NULL against = 0): the write rule
        is still checked."""
        disbursement = self.cycle_a.entitlement_ids.disbursement_ids[0]
        self._disbursement_rule("[('retry_of_id', '=', False)]", "read")
        self._disbursement_rule("[('retry_of_id', '=', 0)]", "write")
        with self.assertRaises(AccessError):
            self.env["g2p.br.disbursement"].with_user(
                self.user_manager
            ).apply_status_updates(
                [{"reference": disbursement.reference, "status": "paid"}]
            )
        self.assertEqual(disbursement.status, "pending")

    def test_admin_sees_everything(self):
        self.assertEqual(
            self._visible(self.user_admin, "g2p.br.program")
            & (self.program_a | self.program_b),
            self.program_a | self.program_b,
        )
        self.assertEqual(
            len(
                self._visible(self.user_admin, "g2p.br.disbursement")
                & (self.cycle_a | self.cycle_b).entitlement_ids.disbursement_ids
            ),
            4,
        )

    def test_beneficiaries(self):
        everyone = self.hh1 | self.hh2 | self.ind1 | self.ind2 | self.ind3
        # Viewers and approvers: only the members of their programs.
        for role in ("viewer", "approver"):
            with self.subTest(role=role):
                visible = (
                    self._visible(self.users[role], "g2p.br.beneficiary") & everyone
                )
                self.assertEqual(visible, self.ind1 | self.ind2)
                with self.assertRaises(AccessError):
                    self.hh2.with_user(self.users[role]).read(["sr_id"])
                identifiers = self._visible(
                    self.users[role], "g2p.br.beneficiary.identifier"
                )
                self.assertEqual(identifiers, self.ind1.identifier_ids)
        # Managers and admins: all.
        for role in ("manager", "admin"):
            with self.subTest(role=role):
                visible = (
                    self._visible(self.users[role], "g2p.br.beneficiary") & everyone
                )
                self.assertEqual(visible, everyone)
        self.assertEqual(
            self._visible(self.user_manager_b, "g2p.br.beneficiary") & everyone,
            everyone,
        )

    def test_multi_company(self):
        company2 = self.env["res.company"].create({"name": "BR Company 2"})
        program_c2 = self.create_program(
            code="PC2",
            company_id=company2.id,
            user_ids=[Command.set((self.user_admin | self.user_manager).ids)],
        )
        both = self.create_user(
            "br_admin_both",
            "g2p_beneficiary_registry.group_br_admin",
            company_id=self.company.id,
            company_ids=[Command.set((self.company | company2).ids)],
        )
        Program = self.env["g2p.br.program"]
        for user in (self.user_admin, self.user_manager):
            with self.subTest(user=user.login):
                self.assertNotIn(program_c2, Program.with_user(user).search([]))
                with self.assertRaises(AccessError):
                    program_c2.with_user(user).read(["name"])
        self.assertIn(
            program_c2,
            Program.with_user(both)
            .with_context(allowed_company_ids=(self.company | company2).ids)
            .search([]),
        )
        # Only the current companies count.
        self.assertNotIn(
            program_c2,
            Program.with_user(both)
            .with_context(allowed_company_ids=self.company.ids)
            .search([]),
        )
        # Beneficiaries and their identifiers follow their company too.
        person_c2 = self.create_beneficiary(
            company_id=company2.id,
            identifier_ids=[
                Command.create({"type_id": self.id_type_nid.id, "value": "C2-0001"})
            ],
        )
        for model, record in (
            ("g2p.br.beneficiary", person_c2),
            ("g2p.br.beneficiary.identifier", person_c2.identifier_ids),
        ):
            with self.subTest(model=model):
                self.assertFalse(
                    self.env[model]
                    .with_user(self.user_admin)
                    .search([("id", "=", record.id)])
                )
                self.assertTrue(
                    self.env[model]
                    .with_user(both)
                    .with_context(allowed_company_ids=(self.company | company2).ids)
                    .search([("id", "=", record.id)])
                )
