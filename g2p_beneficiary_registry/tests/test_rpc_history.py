# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Issue #9 item 6: the history of money, for a cycle taken over RPC through
generate, approve, disburse, a CSV import, a status report, a failure and a
reversal: who, when, from which path, from which state to which."""

from odoo.tests import tagged

from .rpc_common import CYCLE, DISB, ENT, HISTORY, IMPORT, RpcCase


@tagged("post_install", "-at_install")
class TestRpcHistory(RpcCase):
    def test_history_of_a_cycle(self):
        self.assertIn(HISTORY, self.env, f"no {HISTORY} model: no history of money")
        History = self.env[HISTORY].sudo()
        t = self.T["A"]
        cycle = self.env[CYCLE].browse(t["c_draft"])
        # both members enrolled
        self.env["g2p.br.program.membership"].browse(t["m_paused"]).action_resume()
        self.env.flush_all()
        start = History.search([], order="id desc", limit=1).id or 0

        # All the requests below share the test's transaction: the history's
        # path and reason must be scoped to each operation, not leak from one
        # request (the import, a reversal reason) to the next.
        def rows(**domain):
            return History.search(
                [("id", ">", start)] + [(k, "=", v) for k, v in domain.items()],
                order="id",
            )

        self.login("manager")
        self.assertAccepted(self.rpc(CYCLE, "action_generate_entitlements", [cycle.id]))
        entitlements = cycle.entitlement_ids
        self.assertEqual(len(entitlements), 2)
        self.assertAccepted(self.rpc(CYCLE, "action_to_approve", [cycle.id]))
        self.login("approver")
        self.assertAccepted(self.rpc(CYCLE, "action_approve_entitlements", [cycle.id]))
        self.login("manager")
        self.assertAccepted(self.rpc(CYCLE, "action_create_disbursements", [cycle.id]))
        first, second = (
            entitlements.filtered(
                lambda e: e.beneficiary_id == self.ind1
            ).disbursement_ids,
            entitlements.filtered(
                lambda e: e.beneficiary_id == self.ind2
            ).disbursement_ids,
        )
        self.assertTrue(first and second)
        # CSV import: first -> sent
        wizard = self.assertAccepted(
            self.rpc(
                IMPORT,
                "create",
                {"csv_text": f"reference,status\n{first.reference},sent\n"},
            )
        )
        self.assertAccepted(self.rpc(IMPORT, "action_import", [wizard]))
        # status report: first -> paid
        report = self.assertAccepted(
            self.rpc(
                DISB,
                "apply_status_updates",
                [{"reference": first.reference, "status": "paid"}],
            )
        )
        self.assertEqual(report[0]["result"], "applied", report)
        # failure: second -> failed
        self.assertAccepted(
            self.rpc(DISB, "action_mark_failed", [second.id], "account closed")
        )
        # reversal: first -> reversed (an administrator)
        self.login("admin")
        self.assertAccepted(self.rpc(DISB, "action_reverse", [first.id], "paid twice"))
        self.env.invalidate_all()

        expected = [
            # (record field, record, from, to, user, paths)
            (
                "entitlement_id",
                entitlements[0],
                "draft",
                "pending_approval",
                self.user_manager,
                {"ui"},
            ),
            (
                "entitlement_id",
                entitlements[1],
                "draft",
                "pending_approval",
                self.user_manager,
                {"ui"},
            ),
            (
                "entitlement_id",
                entitlements[0],
                "pending_approval",
                "approved",
                self.user_approver,
                {"ui"},
            ),
            (
                "entitlement_id",
                entitlements[1],
                "pending_approval",
                "approved",
                self.user_approver,
                {"ui"},
            ),
            (
                "disbursement_id",
                first,
                "pending",
                "sent",
                self.user_manager,
                {"import"},
            ),
            (
                "disbursement_id",
                first,
                "sent",
                "paid",
                self.user_manager,
                {"ui", "api"},
            ),
            ("disbursement_id", second, "pending", "failed", self.user_manager, {"ui"}),
            ("disbursement_id", first, "paid", "reversed", self.user_admin, {"ui"}),
        ]
        for field, record, old, new, user, paths in expected:
            label = f"{record.display_name}: {old} -> {new}"
            with self.subTest(change=label):
                found = rows(**{field: record.id, "from_state": old, "to_state": new})
                self.assertEqual(len(found), 1, f"{label}: {len(found)} history rows")
                self.assertEqual(found.user_id, user, label)
                self.assertIn(found.path, paths, label)
                self.assertTrue(found.at, label)
                self.assertEqual(found.program_id, self.program_a, label)
                self.assertEqual(found.cycle_id, cycle, label)
                if field == "disbursement_id":
                    self.assertAlmostEqual(found.amount, record.amount, 2)
        with self.subTest(change="failure reason"):
            failed = rows(disbursement_id=second.id, to_state="failed")
            self.assertEqual(failed.reason, "account closed")
        with self.subTest(change="reversal reason"):
            reversed_ = rows(disbursement_id=first.id, to_state="reversed")
            self.assertEqual(reversed_.reason, "paid twice")
        # the times follow the order of the changes
        times = [r.at for r in rows()]
        self.assertEqual(times, sorted(times))
        # after the reversal nothing is paid
        entitlement = first.entitlement_id
        self.assertEqual(entitlement.disbursed_total, 0.0)
        self.assertEqual(entitlement.remaining, entitlement.amount)
        # shown on the forms
        for model in (ENT, DISB, CYCLE):
            with self.subTest(form=model):
                views = self.assertAccepted(
                    self.rpc(model, "get_views", [[False, "form"]])
                )
                arch = views["views"]["form"]["arch"]
                self.assertIn("history", arch, f"{model} form shows no history")
