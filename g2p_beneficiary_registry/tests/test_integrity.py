# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Issue #9: the rules hold in the data, whatever the path: the ORM as any
role, a set-based SQL statement written around the models, a queue job.

The RPC path is covered by test_rpc_attacks; here each PostgreSQL rule is
attacked directly with SQL, and each ORM guard as the role that found it."""

import base64
from datetime import date

import psycopg2

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import SQL, mute_logger

from ..models.disbursement import COPIED_FIELDS
from ..utils import workflow
from .common import BeneficiaryRegistryCase
from .rpc_common import money_invariant_violations

JAN_1, JAN_31 = date(2027, 1, 1), date(2027, 1, 31)


@tagged("post_install", "-at_install")
class TestIntegrity(BeneficiaryRegistryCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cycle = cls.approved_cycle(cls.program_a)
        cls.ent1 = cls.cycle.entitlement_ids.filtered(
            lambda e: e.beneficiary_id == cls.ind1
        )
        cls.Disbursement = cls.env["g2p.br.disbursement"]

    def tearDown(self):
        self.env.flush_all()
        self.assertEqual(
            money_invariant_violations(self.env.cr), [], "money invariants violated"
        )
        super().tearDown()

    def assertRefusedBySql(self, query, *params):
        """``query`` fails in PostgreSQL (and changes nothing)."""
        self.env.flush_all()
        with (
            self.assertRaises(psycopg2.Error),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.env.cr.execute(SQL(query, *params))

    # ------------------------------------------------------------------
    # 51x payout: remaining is derived, never written
    # ------------------------------------------------------------------
    def test_remaining_cannot_be_forged(self):
        for user in (self.user_manager, self.user_approver):
            with self.subTest(user=user.login), self.assertRaises(UserError):
                self.ent1.with_user(user).write({"remaining": 5000})
        # not even in SQL: it is a generated column
        self.assertRefusedBySql(
            "UPDATE g2p_br_entitlement SET remaining = 5000 WHERE id = %s", self.ent1.id
        )
        # a forged total is caught by the check of the set-based creation
        self.env.cr.execute(
            SQL(
                "UPDATE g2p_br_entitlement SET disbursed_total = -4900 WHERE id = %s",
                self.ent1.id,
            )
        )
        self.ent1.invalidate_recordset()
        with (
            self.assertRaises(psycopg2.errors.CheckViolation),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.cycle._create_disbursements()
        self.env["g2p.br.entitlement"]._refresh_disbursement_totals(
            entitlement_ids=self.ent1.ids
        )
        self.assertEqual(self.ent1.remaining, 100.0)
        self.cycle._create_disbursements()
        self.assertEqual(sum(self.ent1.disbursement_ids.mapped("amount")), 100.0)

    def test_over_disbursement_refused_in_sql(self):
        self.assertRefusedBySql(
            """
            INSERT INTO g2p_br_disbursement
                (entitlement_id, reference, amount, quantity, channel, status)
            VALUES (%s, 'SQL-1', 100.01, 0, 'cash', 'pending')
            """,
            self.ent1.id,
        )
        self.Disbursement.create(
            {"entitlement_id": self.ent1.id, "reference": "D-60", "amount": 60}
        )
        self.assertRefusedBySql(
            """
            INSERT INTO g2p_br_disbursement
                (entitlement_id, reference, amount, quantity, channel, status)
            VALUES (%s, 'SQL-2', 41, 0, 'cash', 'pending')
            """,
            self.ent1.id,
        )
        with self.assertRaises(ValidationError):
            self.Disbursement.create(
                {"entitlement_id": self.ent1.id, "reference": "D-41", "amount": 41}
            )

    def test_live_disbursement_needs_approved_entitlement(self):
        d = self.Disbursement.create(
            {"entitlement_id": self.ent1.id, "reference": "D-1", "amount": 100}
        )
        d.action_mark_paid()
        for query in (
            "UPDATE g2p_br_entitlement SET state = 'cancelled' WHERE id = %s",
            "UPDATE g2p_br_entitlement SET state = 'rejected' WHERE id = %s",
        ):
            with self.subTest(query=query):
                self.assertRefusedBySql(query, self.ent1.id)
        self.assertRefusedBySql(
            "UPDATE g2p_br_cycle SET state = 'cancelled' WHERE id = %s", self.cycle.id
        )
        # the workflow refuses it with a clear error
        with self.assertRaises(UserError):
            self.ent1.action_cancel()
        with self.assertRaises(UserError):
            workflow(self.ent1).write({"state": "cancelled"})
        with self.assertRaises(UserError):
            self.cycle.action_cancel()
        # and a draft entitlement never gets a disbursement, even in SQL
        draft = self.generated_cycle(self.program_b).entitlement_ids[0]
        self.assertRefusedBySql(
            """
            INSERT INTO g2p_br_disbursement
                (entitlement_id, reference, amount, quantity, channel, status)
            VALUES (%s, 'SQL-3', 1, 0, 'cash', 'pending')
            """,
            draft.id,
        )

    def test_entitlement_needs_enrolled_membership_in_sql(self):
        cycle_b = self.generated_cycle(self.program_b)
        # ind3 is no member of program B (a household program)
        self.assertRefusedBySql(
            """
            INSERT INTO g2p_br_entitlement
                (beneficiary_id, cycle_id, program_id, benefit_kind, amount, quantity,
                 valid_from, valid_until, state, disbursement_status)
            VALUES (%s, %s, %s, 'cash', 5, 0, '2026-12-01', '2026-12-31', 'draft',
                    'not_started')
            """,
            self.ind3.id,
            cycle_b.id,
            self.program_b.id,
        )

    def test_delete_refused(self):
        d = self.Disbursement.create(
            {"entitlement_id": self.ent1.id, "reference": "D-1", "amount": 100}
        )
        d.action_mark_paid()
        admin = self.user_admin
        with self.assertRaises(UserError):
            d.with_user(admin).unlink()
        with self.assertRaises(UserError):
            self.ent1.with_user(admin).unlink()
        self.assertRefusedBySql("DELETE FROM g2p_br_disbursement WHERE id = %s", d.id)
        self.assertRefusedBySql(
            "DELETE FROM g2p_br_entitlement WHERE id = %s", self.ent1.id
        )
        self.assertEqual(self.ent1.disbursement_status, "fully_disbursed")

    # ------------------------------------------------------------------
    # Forged audit fields and moves into another program
    # ------------------------------------------------------------------
    def test_audit_fields_not_writable(self):
        manager = self.user_manager
        cycle = self.cycle.with_user(manager)
        for vals in (
            {"generated_by_id": self.user_approver.id},
            {"approved_by_id": manager.id},
            {"approved_at": "2020-01-01 00:00:00"},
            {"state": "ended"},
        ):
            with self.subTest(vals=vals), self.assertRaises(UserError):
                cycle.write(vals)
        ent = self.ent1.with_user(self.user_approver)
        for vals in (
            {"approved_by_id": self.user_approver2.id},
            {"approved_at": "2020-01-01 00:00:00"},
            {"disbursed_total": 0},
            {"disbursement_status": "not_started"},
        ):
            with self.subTest(vals=vals), self.assertRaises(UserError):
                ent.write(vals)
        d = self.Disbursement.create(
            {"entitlement_id": self.ent1.id, "reference": "D-1", "amount": 100}
        )
        d.action_mark_paid()
        for vals in ({"reference": "FORGED"}, {"paid_at": "2020-01-01 00:00:00"}):
            with self.subTest(vals=vals), self.assertRaises(UserError):
                d.with_user(manager).write(vals)
        self.assertRefusedBySql(
            "UPDATE g2p_br_disbursement SET reference = 'FORGED' WHERE id = %s", d.id
        )

    def test_links_are_immutable(self):
        cycle_b = self.generated_cycle(self.program_b)
        membership = self.membership_of(self.program_a, self.ind1)
        d = self.Disbursement.create(
            {"entitlement_id": self.ent1.id, "reference": "D-1", "amount": 10}
        )
        other_ent = self.cycle.entitlement_ids - self.ent1
        for record, vals in (
            (membership, {"program_id": self.program_b.id}),
            (self.cycle, {"program_id": self.program_b.id}),
            (self.ent1, {"cycle_id": cycle_b.id}),
            (self.ent1, {"beneficiary_id": self.ind3.id}),
            (d, {"entitlement_id": other_ent[:1].id}),
        ):
            with (
                self.subTest(model=record._name, vals=vals),
                self.assertRaises(UserError),
            ):
                record.with_user(self.user_admin).write(vals)
        for query, rec_id in (
            (
                "UPDATE g2p_br_program_membership SET program_id = %s WHERE id = %s",
                membership.id,
            ),
            ("UPDATE g2p_br_cycle SET program_id = %s WHERE id = %s", self.cycle.id),
        ):
            with self.subTest(query=query):
                self.assertRefusedBySql(query, self.program_b.id, rec_id)
        self.assertRefusedBySql(
            "UPDATE g2p_br_entitlement SET cycle_id = %s WHERE id = %s",
            cycle_b.id,
            self.ent1.id,
        )

    # ------------------------------------------------------------------
    # What a disbursement copies of its entitlement (CopiedMany2one)
    # ------------------------------------------------------------------
    INSERT_COPY = """
        INSERT INTO g2p_br_disbursement
            (entitlement_id, beneficiary_id, program_id, cycle_id, company_id,
             currency_id, benefit_kind, reference, amount, quantity, channel, status)
        SELECT e.id, %(beneficiary_id)s, %(program_id)s, %(cycle_id)s,
               %(company_id)s, %(currency_id)s, %(benefit_kind)s, 'SQL-1', 1, 0,
               'bank_transfer', 'pending'
          FROM g2p_br_entitlement e WHERE e.id = %(entitlement)s
    """

    def _insert_copy(self, **override):
        """INSERT a disbursement of ent1 in SQL, its copies taken from the
        entitlement unless ``override`` gives a value."""
        values = {
            name: override.get(name, SQL.identifier("e", name))
            for name in COPIED_FIELDS
        }
        return SQL(self.INSERT_COPY, entitlement=self.ent1.id, **values)

    def test_disbursement_copies_are_its_entitlements(self):
        """beneficiary, program, cycle, company and currency have no foreign
        keys on disbursements: PostgreSQL checks that they are the
        entitlement's when a row is inserted, and refuses any change."""
        self.env.flush_all()
        with self.env.cr.savepoint(flush=False) as savepoint:
            self.env.cr.execute(self._insert_copy())
            self.assertEqual(self.env.cr.rowcount, 1, "the right copies are taken")
            savepoint.rollback()
        other_company = self.env["res.company"].create({"name": "Other company"})
        euro = self.env.ref("base.EUR")
        wrong = {
            "beneficiary_id": self.ind3.id,
            "program_id": self.program_b.id,
            "cycle_id": self.generated_cycle(self.program_b).id,
            "company_id": other_company.id,
            "currency_id": euro.id,
            "benefit_kind": "in_kind",
        }
        self.env.flush_all()
        for name, value in wrong.items():
            with self.subTest(insert=name):
                self.assertRefusedBySql(self._insert_copy(**{name: value}))
        with self.subTest(insert="beneficiary that does not exist"):
            self.assertRefusedBySql(self._insert_copy(beneficiary_id=2**31 - 1))
        d = self.Disbursement.create(
            {"entitlement_id": self.ent1.id, "reference": "D-1", "amount": 10}
        )
        self.env.flush_all()
        for name, value in wrong.items():
            with self.subTest(update=name):
                self.assertRefusedBySql(
                    "UPDATE g2p_br_disbursement SET %s = %s WHERE id = %s",
                    SQL.identifier(name),
                    value,
                    d.id,
                )
            with self.subTest(write=name), self.assertRaises(UserError):
                d.with_user(self.user_admin).write({name: value})

    def test_states_indexed_but_for_the_settled_one(self):
        """The state of an entitlement and the status of a disbursement are
        indexed without the value most rows end in (approved, paid), so that
        the updates of settled rows skip that index; a search for another
        state can use it."""
        self.env.cr.execute(
            """
            SELECT indexname, indexdef FROM pg_indexes
             WHERE (tablename, indexname) IN (
                   ('g2p_br_entitlement', 'g2p_br_entitlement__state_index'),
                   ('g2p_br_entitlement', 'g2p_br_entitlement_state_open'),
                   ('g2p_br_disbursement', 'g2p_br_disbursement__status_index'),
                   ('g2p_br_disbursement', 'g2p_br_disbursement_status_open'))
            """
        )
        found = dict(self.env.cr.fetchall())
        self.assertEqual(
            set(found),
            {"g2p_br_entitlement_state_open", "g2p_br_disbursement_status_open"},
        )
        self.assertTrue(
            found["g2p_br_entitlement_state_open"].endswith(
                "WHERE ((state)::text <> 'approved'::text)"
            )
        )
        self.assertTrue(
            found["g2p_br_disbursement_status_open"].endswith(
                "WHERE ((status)::text <> 'paid'::text)"
            )
        )
        self.env.cr.execute("SET LOCAL enable_seqscan = off")
        self.env.cr.execute(
            "EXPLAIN SELECT id FROM g2p_br_disbursement WHERE status = 'failed'"
        )
        plan = "\n".join(row[0] for row in self.env.cr.fetchall())
        self.assertIn("g2p_br_disbursement_status_open", plan)

    def test_copies_have_no_foreign_keys_of_their_own(self):
        """The schema: only the entitlement, the failed payment retried and the
        users are foreign keys of a disbursement; a database made before is
        mended on update (init drops the copies' foreign keys)."""

        def foreign_keys():
            self.env.cr.execute(
                """
                SELECT a.attname FROM pg_constraint c
                  JOIN pg_attribute a
                    ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                 WHERE c.contype = 'f'
                   AND c.conrelid = 'g2p_br_disbursement'::regclass
                """
            )
            return {name for (name,) in self.env.cr.fetchall()}

        expected = {"entitlement_id", "retry_of_id", "create_uid", "write_uid"}
        self.assertEqual(foreign_keys(), expected)
        # a database of the code before: the foreign key, Odoo's record of
        # it, and a copy the old code let a manager write (an empty currency)
        d = self.Disbursement.create(
            {"entitlement_id": self.ent1.id, "reference": "D-1", "amount": 10}
        )
        self.env.flush_all()
        self.env.cr.execute(
            "ALTER TABLE g2p_br_disbursement ADD CONSTRAINT old_beneficiary_fkey"
            " FOREIGN KEY (beneficiary_id) REFERENCES g2p_br_beneficiary(id);"
            "ALTER TABLE g2p_br_disbursement"
            " DISABLE TRIGGER g2p_br_disbursement_immutable;"
            "UPDATE g2p_br_disbursement SET currency_id = NULL WHERE id = %s;"
            "ALTER TABLE g2p_br_disbursement"
            " ENABLE TRIGGER g2p_br_disbursement_immutable;",
            [d.id],
        )
        reflected = self.env["ir.model.constraint"].create(
            {
                "name": "old_beneficiary_fkey",
                "type": "f",
                "model": self.env["ir.model"]._get_id("g2p.br.disbursement"),
                "module": self.env.ref("base.module_g2p_beneficiary_registry").id,
            }
        )
        self.assertEqual(foreign_keys(), expected | {"beneficiary_id"})
        with self.assertLogs(
            "odoo.addons.g2p_beneficiary_registry.models.disbursement", "WARNING"
        ) as logs:
            self.Disbursement.init()
        self.assertEqual(foreign_keys(), expected)
        self.assertFalse(reflected.exists())
        self.assertIn("1 disbursements", logs.output[0])
        d.invalidate_recordset()
        self.assertEqual(d.currency_id, self.ent1.currency_id)
        # a second update finds nothing to drop nor to align
        with self.assertNoLogs(
            "odoo.addons.g2p_beneficiary_registry.models.disbursement", "WARNING"
        ):
            self.Disbursement.init()

    def test_what_disbursements_copy_is_frozen_out_of_draft(self):
        """An entitlement's company, currency and kind (its disbursements copy
        them) change in draft only, in SQL too."""
        other_company = self.env["res.company"].create({"name": "Other company"})
        euro = self.env.ref("base.EUR")
        draft = self.generated_cycle(self.program_a, start=JAN_1, end=JAN_31)
        draft_entitlement = draft.entitlement_ids[:1]
        self.env.flush_all()
        for column, value in (
            ("company_id", other_company.id),
            ("currency_id", euro.id),
            ("benefit_kind", "in_kind"),
        ):
            with self.subTest(column=column):
                self.assertRefusedBySql(
                    "UPDATE g2p_br_entitlement SET %s = %s WHERE id = %s",
                    SQL.identifier(column),
                    value,
                    self.ent1.id,
                )
        with self.env.cr.savepoint(flush=False) as savepoint:
            self.env.cr.execute(
                "UPDATE g2p_br_entitlement SET currency_id = %s WHERE id = %s",
                [euro.id, draft_entitlement.id],
            )
            self.assertEqual(self.env.cr.rowcount, 1, "a draft one may change")
            savepoint.rollback()

    def test_a_disbursed_currency_is_not_deleted(self):
        """The disbursements copy their entitlement's currency (no foreign key
        of their own): the entitlement restricts its deletion."""
        test_currency = self.env["res.currency"].create(
            {"name": "XTS", "symbol": "T", "active": True}
        )
        cycle = self.generated_cycle(self.program_a, start=JAN_1, end=JAN_31)
        cycle.entitlement_ids[:1].write({"currency_id": test_currency.id})
        self.env.flush_all()
        self.assertRefusedBySql(
            "DELETE FROM res_currency WHERE id = %s", test_currency.id
        )

    # ------------------------------------------------------------------
    # Roles
    # ------------------------------------------------------------------
    def test_approver_runs_no_manager_step(self):
        approver = self.user_approver
        cycle = self.generated_cycle(self.program_a, start=JAN_1, end=JAN_31)
        steps = [
            lambda: cycle.with_user(approver).action_to_approve(),
            lambda: cycle.with_user(approver).action_cancel(),
            lambda: cycle.entitlement_ids[:1].with_user(approver).action_submit(),
            lambda: cycle.entitlement_ids[:1].with_user(approver).action_cancel(),
            lambda: self.cycle.with_user(approver).action_mark_distributed(),
            lambda: self.cycle.with_user(approver).action_end(),
            lambda: self.cycle.with_user(approver).action_create_disbursements(),
            lambda: self.program_a.with_user(approver).action_enroll_eligible(),
        ]
        for index, step in enumerate(steps):
            with self.subTest(step=index), self.assertRaises(AccessError):
                step()
        self.assertEqual(cycle.state, "draft")

    def test_four_eyes_changed_by_admin_only_and_never_while_waiting(self):
        program = self.create_program(four_eyes=True)
        with self.assertRaises(AccessError):
            program.with_user(self.user_manager).write({"four_eyes": False})
        with self.assertRaises(AccessError):
            self.env["g2p.br.program"].with_user(self.user_manager).create(
                {"code": "NO4E", "name": "No four eyes", "four_eyes": False}
            )
        self.assertTrue(self.env["g2p.br.program"].new({}).four_eyes)
        program.write({"user_ids": [(4, self.user_manager.id)]})
        self.program_a.with_user(self.user_admin).write({"four_eyes": True})
        cycle = self.generated_cycle(self.program_a, start=JAN_1, end=JAN_31)
        cycle.action_to_approve()
        with self.assertRaises(UserError):
            self.program_a.with_user(self.user_admin).write({"four_eyes": False})
        self.assertTrue(self.program_a.four_eyes)
        cycle.with_user(self.user_approver).action_approve_entitlements()
        self.program_a.with_user(self.user_admin).write({"four_eyes": False})
        self.assertFalse(self.program_a.four_eyes)

    def test_program_changes_are_tracked(self):
        program = self.env(context={})["g2p.br.program"].browse(
            self.create_program().id
        )
        # as if created in an earlier transaction (Odoo tracks no change of a
        # record created in the same one)
        self.env.cr.precommit.data.pop("mail.tracking.g2p.br.program", None)
        program.write(
            {"base_amount": 77, "eligibility_domain": "[('sex', '=', 'male')]"}
        )
        self.env.flush_all()
        self.env.cr.precommit.run()
        tracked = (
            self.env["mail.tracking.value"]
            .search(
                [
                    ("mail_message_id.model", "=", program._name),
                    ("mail_message_id.res_id", "=", program.id),
                ]
            )
            .field_id.mapped("name")
        )
        self.assertIn("base_amount", tracked)
        self.assertIn("eligibility_domain", tracked)

    # ------------------------------------------------------------------
    # The eligibility rule reads only the beneficiary
    # ------------------------------------------------------------------
    def test_eligibility_rule_paths(self):
        program = self.create_program(activate=False)
        refused = [
            "[('membership_ids.program_id.code', '=', 'PB')]",
            "[('entitlement_ids.amount', '>', 0)]",
            "[('disbursement_ids.status', '=', 'paid')]",
            "[('membership_ids', '!=', False)]",
            "[('group_id.membership_ids.state', '=', 'enrolled')]",
            "[('identifier_ids.beneficiary_id.entitlement_ids', '!=', False)]",
            "[('member_ids', 'any', [('region_code', '=', 'ZZR1')])]",
            "[('display_name', 'ilike', 'SR')]",
            "sum(range(30000000))",
            "[('region_code', '=', str(1))]",
        ]
        for rule in refused:
            with self.subTest(rule=rule), self.assertRaises(ValidationError):
                program.write({"eligibility_domain": rule})
        allowed = [
            "[('poverty_score', '<', 0.5), ('sex', '=', 'female')]",
            "['|', ('disability', '=', True), ('birth_date', '<=', '1961-12-31')]",
            "[('group_id.region_code', '=', 'ZZR1')]",
            "[('identifier_ids.type_id.code', '=', 'NATIONAL_ID')]",
            "[('identifier_ids.value', '=', 'NID-1')]",
            "[('group_id', '!=', False)]",
        ]
        for rule in allowed:
            with self.subTest(rule=rule):
                program.write({"eligibility_domain": rule})

    def test_eligible_count_with_the_callers_rights(self):
        # a viewer sees only the members of its programs: the count says so
        program = self.program_a
        self.assertEqual(program.with_user(self.user_manager).eligible_count, 2)
        program.invalidate_recordset(["eligible_count"])
        self.assertEqual(
            program.with_user(self.user_viewer).eligible_count,
            len(self.program_a.membership_ids.beneficiary_id.filtered("active")),
        )

    # ------------------------------------------------------------------
    # History
    # ------------------------------------------------------------------
    def test_history_of_a_cycle(self):
        History = self.env["g2p.br.history"]
        manager, approver = self.user_manager, self.user_approver
        program = self.create_program(
            base_amount=10,
            eligibility_domain="[('region_code', '=', 'ZZR1')]",
            user_ids=[(6, 0, (manager | approver).ids)],
        )
        program._enroll_eligible()
        cycle = self.create_cycle(program).with_user(manager)
        cycle.action_generate_entitlements()
        cycle.action_to_approve()
        cycle.with_user(approver).action_approve_entitlements()
        cycle.action_create_disbursements()
        d1, d2 = cycle.entitlement_ids.disbursement_ids.sorted("id")
        csv = f"reference,status,date\n{d1.reference},paid,2026-12-05T10:00:00Z\n"
        wizard = (
            self.env["g2p.br.disbursement.import.wizard"]
            .with_user(manager)
            .create({"csv_text": csv})
        )
        wizard.action_import()
        self.env["g2p.br.disbursement"].with_user(manager).apply_status_updates(
            [
                {
                    "reference": d2.reference,
                    "status": "failed",
                    "failure_reason": "Closed",
                }
            ]
        )
        d1.with_user(manager).action_reverse("Paid to the wrong account")
        rows = History.search([("cycle_id", "=", cycle.id)], order="id")
        ent_rows = rows.filtered(lambda r: r.record_type == "entitlement")
        self.assertEqual(
            [(r.from_state, r.to_state) for r in ent_rows],
            [(False, "draft")] * 2
            + [("draft", "pending_approval")] * 2
            + [("pending_approval", "approved")] * 2,
        )
        self.assertEqual(ent_rows.mapped("user_id"), manager | approver)
        self.assertEqual(
            set(ent_rows.filtered(lambda r: r.to_state == "approved").user_id.ids),
            {approver.id},
        )
        d1_rows = rows.filtered(lambda r: r.disbursement_id == d1)
        self.assertEqual(
            [(r.from_state, r.to_state, r.path) for r in d1_rows],
            [
                (False, "pending", "ui"),
                ("pending", "paid", "import"),
                ("paid", "reversed", "ui"),
            ],
        )
        self.assertEqual(d1_rows[-1].reason, "Paid to the wrong account")
        self.assertEqual(d1_rows.user_id, manager)
        d2_rows = rows.filtered(lambda r: r.disbursement_id == d2)
        self.assertEqual(d2_rows[-1].to_state, "failed")
        self.assertEqual(d2_rows[-1].reason, "Closed")
        self.assertEqual(d1_rows[0].amount, 10.0)

    def _generated_cycle(self):
        """A new program's first cycle, its draft entitlements generated."""
        program = self.create_program(
            base_amount=10, eligibility_domain="[('region_code', '=', 'ZZR1')]"
        )
        program._enroll_eligible()
        cycle = self.create_cycle(program)
        cycle.action_generate_entitlements()
        return cycle

    def test_history_of_deleted_drafts(self):
        """The history's links are not foreign keys (they made the history
        insert five times slower): deleting a draft entitlement (through the
        ORM or in SQL) or a cycle unlinks its rows, and the rows stay."""
        History = self.env["g2p.br.history"]
        cycle = self._generated_cycle()
        program = cycle.program_id
        ent_a, ent_b = cycle.entitlement_ids.sorted("id")
        rows_a = History.search([("entitlement_id", "=", ent_a.id)])
        rows_b = History.search([("entitlement_id", "=", ent_b.id)])
        self.assertTrue(rows_a and rows_b)
        ent_a.unlink()  # the ORM path
        self.env.flush_all()
        self.env.cr.execute(  # the SQL path
            "DELETE FROM g2p_br_entitlement WHERE id = %s", (ent_b.id,)
        )
        self.env.invalidate_all()
        self.assertEqual((rows_a | rows_b).exists(), rows_a | rows_b)
        self.assertFalse((rows_a | rows_b).entitlement_id)
        self.assertEqual((rows_a | rows_b).cycle_id, cycle)
        cycle.unlink()
        self.env.invalidate_all()
        self.assertFalse((rows_a | rows_b).cycle_id)
        self.assertEqual((rows_a | rows_b).program_id, program)

    def test_history_cannot_be_skipped_by_the_refresh_flag(self):
        """The flag that spares the totals refresh a needless history join
        only works inside a trigger: a client setting it still leaves its
        state change on the record."""
        History = self.env["g2p.br.history"]
        cycle = self._generated_cycle()
        ent = cycle.entitlement_ids[0]
        self.env.flush_all()
        self.env.cr.execute("SET LOCAL g2p_br.totals_refresh = 'on'")
        self.env.cr.execute(
            "UPDATE g2p_br_entitlement SET state = 'pending_approval' WHERE id = %s",
            (ent.id,),
        )
        self.env.cr.execute("SET LOCAL g2p_br.totals_refresh = ''")
        rows = History.search([("entitlement_id", "=", ent.id)], order="id")
        self.assertEqual(rows[-1].to_state, "pending_approval")

    def test_history_is_append_only(self):
        History = self.env["g2p.br.history"]
        row = History.search([("cycle_id", "=", self.cycle.id)], limit=1)
        self.assertTrue(row)
        for user in (self.env.user, self.user_admin):
            with self.subTest(user=user.login):
                with self.assertRaises(AccessError):
                    History.with_user(user).create({"reason": "forged"})
                with self.assertRaises(AccessError):
                    row.with_user(user).write({"reason": "forged"})
                with self.assertRaises(AccessError):
                    row.with_user(user).unlink()
        self.assertRefusedBySql(
            "UPDATE g2p_br_history SET reason = 'forged' WHERE id = %s", row.id
        )
        self.assertRefusedBySql("DELETE FROM g2p_br_history WHERE id = %s", row.id)
        # readable by administrators and auditors only
        with self.assertRaises(AccessError):
            History.with_user(self.user_manager).search([])
        auditor = self.create_user(
            "br_auditor", "g2p_beneficiary_registry.group_br_auditor"
        )
        self.assertTrue(History.with_user(auditor).search([]))

    # ------------------------------------------------------------------
    # Wizards
    # ------------------------------------------------------------------
    def test_wizards_belong_to_their_user(self):
        Import = self.env["g2p.br.disbursement.import.wizard"]
        mine = Import.with_user(self.user_manager).create({"csv_text": "reference"})
        other = Import.with_user(self.user_manager_b)
        with self.assertRaises(AccessError):
            other.browse(mine.id).read(["csv_text"])
        with self.assertRaises(AccessError):
            other.browse(mine.id).write({"csv_text": "reference,status\nX,paid"})
        self.assertFalse(other.search([("id", "=", mine.id)]))
        # a preview counts only what the caller may change
        Confirm = self.env["g2p.br.bulk.confirm.wizard"].with_user(self.user_manager_b)
        with self.assertRaises(AccessError):
            _count = Confirm.create(
                {"operation": "cycle_create_disbursements", "cycle_id": self.cycle.id}
            ).record_count

    def test_import_bad_input(self):
        Import = self.env["g2p.br.disbursement.import.wizard"].with_user(
            self.user_manager
        )
        cases = {
            "nul": {"csv_text": "reference,status\nA\x00,paid\n"},
            "base64": {"csv_file": b"not base64 !!!"},
            "encoding": {"csv_file": base64.b64encode(b"reference,status\n\xff\xfe,x")},
            "size": {
                "csv_text": "reference,status\n"
                + "".join(f"R{i},paid\n" for i in range(10002))
            },
        }
        for name, vals in cases.items():
            with self.subTest(case=name), self.assertRaises(UserError):
                Import.create(vals).action_check()
