# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import datetime, timedelta, timezone

from psycopg2 import IntegrityError

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..utils import workflow
from .common import BeneficiaryRegistryCase

STATUSES = ("pending", "sent", "paid", "failed", "reversed")
ALLOWED = {
    ("pending", "sent"),
    ("pending", "paid"),
    ("pending", "failed"),
    ("sent", "paid"),
    ("sent", "failed"),
    ("paid", "reversed"),
}


class DisbursementCase(BeneficiaryRegistryCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Disbursement = cls.env["g2p.br.disbursement"]
        cls.cycle = cls.approved_cycle(cls.program_a)
        cls.ent1 = cls.cycle.entitlement_ids.filtered(
            lambda e: e.beneficiary_id == cls.ind1
        )
        cls.ent2 = cls.cycle.entitlement_ids - cls.ent1

    def disburse(self, amount, entitlement=None, reference=None, **vals):
        self._ref = getattr(self, "_ref", 0) + 1
        return self.Disbursement.create(
            dict(
                entitlement_id=(entitlement or self.ent1).id,
                reference=reference or f"TX-{self._ref}",
                amount=amount,
                **vals,
            )
        )


@tagged("post_install", "-at_install")
class TestDisbursement(DisbursementCase):
    def test_pending_sent_paid(self):
        d = self.disburse(100)
        self.assertEqual(d.status, "pending")
        self.assertTrue(d.pending_at)
        self.assertEqual(d.status_time, d.pending_at)
        self.assertEqual(
            (d.beneficiary_id, d.program_id, d.cycle_id),
            (self.ind1, self.program_a, self.cycle),
        )
        self.assertEqual(self.ent1.disbursement_status, "in_progress")
        self.assertEqual(self.ent1.disbursed_total, 0.0)
        d.action_mark_sent()
        self.assertEqual(d.status, "sent")
        self.assertTrue(d.sent_at)
        self.assertFalse(d.paid_at)
        d.action_mark_paid()
        self.assertEqual(d.status, "paid")
        self.assertTrue(d.paid_at)
        self.assertEqual(d.status_time, d.paid_at)
        self.assertEqual(self.ent1.disbursed_total, 100.0)
        self.assertEqual(self.ent1.remaining, 0.0)
        self.assertEqual(self.ent1.disbursement_status, "fully_disbursed")

    def test_pending_paid_sets_sent_at(self):
        d = self.disburse(100)
        d.action_mark_paid()
        self.assertEqual(d.status, "paid")
        self.assertEqual(d.sent_at, d.paid_at)

    def test_failed_needs_reason(self):
        d = self.disburse(100)
        with self.assertRaises(UserError):
            d.action_mark_failed()
        self.assertEqual(d.status, "pending")
        d.with_context(failure_reason="Closed account").action_mark_failed()
        self.assertEqual(d.status, "failed")
        self.assertTrue(d.failed_at)
        self.assertEqual(d.failure_reason, "Closed account")
        self.assertEqual(self.ent1.disbursement_status, "failed")
        self.assertEqual(self.ent1.remaining, 100.0)

    def test_reverse(self):
        d = self.disburse(100)
        d.action_mark_paid()
        d.action_reverse()
        self.assertEqual(d.status, "reversed")
        self.assertTrue(d.reversed_at)
        self.assertEqual(self.ent1.disbursed_total, 0.0)
        self.assertEqual(self.ent1.remaining, 100.0)
        self.assertEqual(self.ent1.disbursement_status, "not_started")

    def test_transition_matrix(self):
        def move(d, new):
            workflow(d).write({"sent_at": False})
            d._set_status(new, failure_reason="x")

        self.assert_transition_matrix(
            self.disburse(10),
            STATUSES,
            ALLOWED,
            move,
            field="status",
            # A refused move leaves no trace.
            after_refusal=lambda d: self.assertFalse(d.sent_at),
        )

    def test_write_keeps_the_rules(self):
        """The status and its times are the workflow's: a direct write (RPC)
        is refused, whoever writes; the buttons keep the rules."""
        d = self.disburse(100)
        for vals in (
            {"status": "failed"},
            {"status": "paid"},
            {"paid_at": "2026-12-02 10:00:00"},
            {"failure_reason": "Closed"},
        ):
            with self.subTest(vals=vals), self.assertRaises(UserError):
                d.write(vals)
        self.assertEqual(d.status, "pending")
        d.action_mark_paid()
        self.assertTrue(d.paid_at)
        self.assertEqual(d.status_time, d.paid_at)
        self.assertEqual(self.ent1.disbursed_total, 100.0)
        self.assertEqual(self.ent1.disbursement_status, "fully_disbursed")
        # a paid disbursement keeps its reference
        with self.assertRaises(UserError):
            d.write({"reference": "FORGED"})
        d.action_reverse("Paid twice by the provider")
        self.assertTrue(d.reversed_at)
        self.assertEqual(self.ent1.disbursed_total, 0.0)
        d2 = self.disburse(100)
        d2.action_mark_failed("Closed")
        self.assertTrue(d2.failed_at)
        self.assertEqual(self.ent1.disbursement_status, "failed")

    def test_only_approved_entitlements(self):
        cycle = self.generated_cycle(self.program_b)
        with self.assertRaises(UserError):
            self.disburse(10, entitlement=cycle.entitlement_ids[0])
        with self.assertRaises(UserError):
            self.Disbursement.create({"reference": "NOENT", "amount": 1})

    def test_reference_unique(self):
        self.disburse(10, reference="SAME")
        with (
            self.assertRaises(IntegrityError),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.disburse(10, entitlement=self.ent2, reference="SAME")
            self.env.flush_all()

    # ------------------------------------------------------------------
    # Over-disbursement guard
    # ------------------------------------------------------------------
    def test_over_disbursement(self):
        with self.assertRaises(ValidationError):
            self.disburse(100.01)
        self.disburse(60)
        with self.assertRaises(ValidationError):
            self.disburse(40.5)
        # Several at once are checked together.
        with self.assertRaises(ValidationError):
            self.Disbursement.create(
                [
                    {"entitlement_id": self.ent1.id, "reference": "M1", "amount": 30},
                    {"entitlement_id": self.ent1.id, "reference": "M2", "amount": 30},
                ]
            )
        self.disburse(40)
        self.assertEqual(len(self.ent1.disbursement_ids), 2)

    def test_second_disbursement_in_flight_refused(self):
        first = self.disburse(100)
        with self.assertRaises(ValidationError):
            self.disburse(100)
        first.action_mark_sent()
        with self.assertRaises(ValidationError):
            self.disburse(1)
        first.action_mark_paid()
        with self.assertRaises(ValidationError):
            self.disburse(1)

    def test_failed_and_reversed_do_not_count(self):
        failed = self.disburse(100)
        failed.with_context(failure_reason="Timeout").action_mark_failed()
        reversed_ = self.disburse(100)
        reversed_.action_mark_paid()
        reversed_.action_reverse()
        retry = self.disburse(100)
        self.assertEqual(retry.status, "pending")

    def test_amount_change(self):
        d = self.disburse(50)
        d.amount = 100
        with self.assertRaises(ValidationError):
            d.amount = 101
        d.action_mark_sent()
        with self.assertRaises(UserError):
            d.amount = 10

    def test_disbursement_status(self):
        ent = self.ent1
        self.assertEqual(ent.disbursement_status, "not_started")
        d1 = self.disburse(40)
        self.assertEqual(ent.disbursement_status, "in_progress")
        d1.action_mark_paid()
        self.assertEqual(ent.disbursement_status, "partially_disbursed")
        self.assertEqual((ent.disbursed_total, ent.remaining), (40.0, 60.0))
        d2 = self.disburse(60)
        self.assertEqual(ent.disbursement_status, "in_progress")
        d2.with_context(failure_reason="Rejected").action_mark_failed()
        self.assertEqual(ent.disbursement_status, "partially_disbursed")
        d3 = self.disburse(60)
        d3.action_mark_paid()
        self.assertEqual(ent.disbursement_status, "fully_disbursed")
        self.assertEqual((ent.disbursed_total, ent.remaining), (100.0, 0.0))
        d3.action_reverse()
        self.assertEqual(ent.disbursement_status, "partially_disbursed")
        # Only failed ones.
        self.disburse(10, entitlement=self.ent2).with_context(
            failure_reason="x"
        ).action_mark_failed()
        self.assertEqual(self.ent2.disbursement_status, "failed")


@tagged("post_install", "-at_install")
class TestStatusUpdates(DisbursementCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cycle.action_create_disbursements()
        cls.d1 = cls.ent1.disbursement_ids
        cls.d2 = cls.ent2.disbursement_ids

    def apply(self, *items):
        return self.Disbursement.apply_status_updates(list(items))

    def test_applied_then_unchanged(self):
        items = [
            {
                "reference": self.d1.reference,
                "status": "paid",
                "status_time": "2026-11-20T10:30:00Z",
            },
            {
                "reference": self.d2.reference,
                "status": "sent",
                "status_time": datetime(2026, 11, 21, 8, 0),
            },
        ]
        results = self.apply(*items)
        self.assertEqual([r["result"] for r in results], ["applied", "applied"])
        self.assertEqual(set(results[0]), {"reference", "result", "code", "message"})
        self.assertEqual(self.d1.status, "paid")
        self.assertEqual(self.d1.paid_at, datetime(2026, 11, 20, 10, 30))
        self.assertEqual(self.d1.sent_at, datetime(2026, 11, 20, 10, 30))
        self.assertEqual(self.d1.status_time, datetime(2026, 11, 20, 10, 30))
        self.assertEqual(self.d2.status, "sent")
        self.assertEqual(self.d2.sent_at, datetime(2026, 11, 21, 8, 0))
        self.assertEqual(self.ent1.disbursed_total, 100.0)
        self.assertEqual(self.ent1.disbursement_status, "fully_disbursed")
        write_date = self.d1.write_date
        results = self.apply(*items)
        self.assertEqual([r["result"] for r in results], ["unchanged", "unchanged"])
        self.assertEqual(self.d1.write_date, write_date)

    def test_timezone_aware_times_are_stored_in_utc(self):
        self.apply(
            {
                "reference": self.d1.reference,
                "status": "sent",
                "status_time": "2026-11-20T12:30:00+02:00",
            },
            {
                "reference": self.d2.reference,
                "status": "sent",
                "status_time": datetime(
                    2026, 11, 20, 12, 30, tzinfo=timezone(timedelta(hours=2))
                ),
            },
        )
        self.assertEqual(self.d1.sent_at, datetime(2026, 11, 20, 10, 30))
        self.assertEqual(self.d2.sent_at, datetime(2026, 11, 20, 10, 30))

    def test_errors(self):
        self.d2.action_mark_paid()
        cases = [
            ({"status": "paid"}, "missing_reference"),
            ({"reference": self.d1.reference, "status": "lost"}, "invalid_status"),
            ({"reference": self.d1.reference}, "invalid_status"),
            ({"reference": "NOPE", "status": "paid"}, "not_found"),
            (
                {
                    "reference": self.d1.reference,
                    "status": "paid",
                    "status_time": "yesterday",
                },
                "invalid_status_time",
            ),
            (
                {"reference": self.d1.reference, "status": "paid", "status_time": 12},
                "invalid_status_time",
            ),
            (
                {"reference": self.d1.reference, "status": "reversed"},
                "invalid_transition",
            ),
            (
                {"reference": self.d2.reference, "status": "pending"},
                "invalid_transition",
            ),
            (
                {"reference": self.d1.reference, "status": "failed"},
                "missing_failure_reason",
            ),
            (
                {
                    "reference": self.d1.reference,
                    "status": "failed",
                    "failure_reason": "  ",
                },
                "missing_failure_reason",
            ),
        ]
        for item, code in cases:
            with self.subTest(item=item):
                [result] = self.apply(item)
                self.assertEqual(result["result"], "error")
                self.assertEqual(result["code"], code)
                self.assertTrue(result["message"])
        self.assertEqual(self.d1.status, "pending")

    def test_duplicate_reference(self):
        results = self.apply(
            {"reference": self.d1.reference, "status": "sent"},
            {"reference": self.d1.reference, "status": "paid"},
        )
        self.assertEqual(results[0]["result"], "applied")
        self.assertEqual(
            (results[1]["result"], results[1]["code"]), ("error", "duplicate_reference")
        )
        self.assertEqual(self.d1.status, "sent")

    def test_bad_item_does_not_block_others(self):
        results = self.apply(
            {"reference": "NOPE", "status": "paid"},
            {
                "reference": self.d1.reference,
                "status": "failed",
                "failure_reason": "Account closed",
                "status_time": "2026-11-24 09:00:00",
            },
            {"reference": self.d2.reference, "status": "bogus"},
            {"reference": self.d2.reference, "status": "paid", "status_time": object()},
        )
        self.assertEqual(
            [r["result"] for r in results], ["error", "applied", "error", "error"]
        )
        self.assertEqual(self.d1.status, "failed")
        self.assertEqual(self.d1.failure_reason, "Account closed")
        self.assertEqual(self.d1.failed_at, datetime(2026, 11, 24, 9, 0))
        self.assertEqual(self.ent1.disbursement_status, "failed")
        self.assertEqual(self.d2.status, "pending")

    def test_reversal_refreshes_totals(self):
        self.apply({"reference": self.d1.reference, "status": "paid"})
        self.assertEqual(self.ent1.remaining, 0.0)
        before = fields.Datetime.now()
        self.apply({"reference": self.d1.reference, "status": "reversed"})
        self.assertEqual(self.d1.status, "reversed")
        self.assertGreaterEqual(self.d1.reversed_at, before.replace(microsecond=0))
        self.assertEqual(self.ent1.remaining, 100.0)
        self.assertEqual(self.ent1.disbursed_total, 0.0)

    def test_totals_change_stamps_the_entitlement(self):
        """Whoever follows entitlements by their last change (the API's
        change feed) sees a payment: the totals refresh stamps write_date;
        a report that changes no total does not."""
        old = datetime(2020, 1, 1)
        cr = self.env.cr
        cr.execute(
            "UPDATE g2p_br_entitlement SET write_date = %s WHERE id IN %s",
            (old, (self.ent1.id, self.ent2.id)),
        )
        self.env.invalidate_all()
        self.assertEqual(self.ent1.write_date, old)
        self.apply({"reference": self.d1.reference, "status": "paid"})
        cr.execute("SELECT now() at time zone 'UTC'")
        now = cr.fetchone()[0]
        # the ORM's cache follows (no invalidate_all here)
        self.assertEqual(self.ent1.write_date, now)
        self.assertEqual(self.ent2.write_date, old)
        # sent: in flight before and after, no total changes
        self.apply({"reference": self.d2.reference, "status": "sent"})
        self.env.invalidate_all()
        self.assertEqual(self.ent2.write_date, old)


@tagged("post_install", "-at_install")
class TestRegistryReferences(DisbursementCase):
    """BR-<entitlement>-<n> is the registry's own numbering (creation and
    retry): nobody takes the number an entitlement will use next."""

    def test_another_entitlements_number_is_refused(self):
        # a manager of another program cannot take ent1's next number: the
        # cycle's creation would skip ent1, its retry would say "in flight"
        ent_b = self.approved_cycle(self.program_b).entitlement_ids[:1]
        for reference in (f"BR-{self.ent1.id}-1", f"BR-{self.ent1.id}-2", "BR-x"):
            with (
                self.subTest(reference=reference),
                self.assertRaises(IntegrityError),
                mute_logger("odoo.sql_db"),
                self.env.cr.savepoint(),
            ):
                self.Disbursement.with_user(self.user_manager_b).create(
                    {"entitlement_id": ent_b.id, "reference": reference, "amount": 1}
                )
        self.cycle.action_create_disbursements()
        self.assertEqual(self.ent1.disbursement_ids.reference, f"BR-{self.ent1.id}-1")

    def test_numbering_follows_the_highest_own_number(self):
        # a manager's own BR number for the entitlement (failed): the next
        # one the registry uses is above it, not a taken one skipped
        own = self.disburse(40, reference=f"BR-{self.ent1.id}-5")
        own.with_context(failure_reason="Account closed").action_mark_failed()
        self.cycle.action_create_disbursements()
        created = self.ent1.disbursement_ids - own
        self.assertEqual(created.reference, f"BR-{self.ent1.id}-6")
        self.assertEqual(created.amount, 100.0)
        created.with_context(failure_reason="Again").action_mark_failed()
        retry = created.action_retry()
        self.assertEqual(
            self.Disbursement.browse(retry["res_id"]).reference,
            f"BR-{self.ent1.id}-7",
        )

    def test_first_report_counts_even_when_invalid(self):
        """A reference reported twice in a batch: the second report is refused
        whatever the first one's fate (the rule the API documents), on the
        core's path too (import, RPC)."""
        disbursement = self.disburse(100)
        results = self.Disbursement.apply_status_updates(
            [
                {
                    "reference": disbursement.reference,
                    "status": "paid",
                    "status_time": "bad",
                },
                {"reference": disbursement.reference, "status": "paid"},
            ]
        )
        self.assertEqual(
            [r["code"] for r in results],
            ["invalid_status_time", "duplicate_reference"],
        )
        self.assertEqual(disbursement.status, "pending")
