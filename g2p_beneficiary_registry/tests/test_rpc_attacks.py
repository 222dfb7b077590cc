# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""One test per finding of issue #9, each over the RPC path as the attacker.

Each test names the finding it reproduces; on the code before the fixes
(commit 4c8e976) each one fails. After every test the money invariants are
checked (RpcCase.setUp).
"""

import base64
import time

import psycopg2

from odoo.tests import tagged
from odoo.tools import mute_logger

from .rpc_common import (
    CONFIRM,
    CYCLE,
    DISB,
    ENT,
    HISTORY,
    IMPORT,
    MEMB,
    PROG,
    RpcCase,
)


@tagged("post_install", "-at_install")
class TestRpcFindings(RpcCase):
    def rec(self, model, key, prog="A"):
        return self.env[model].browse(self.T[prog][key])

    def live_total(self, entitlement):
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT COALESCE(SUM(amount), 0) FROM g2p_br_disbursement
                WHERE entitlement_id = %s AND status IN ('pending', 'sent', 'paid')""",
            [entitlement.id],
        )
        return self.env.cr.fetchone()[0]

    def paid_total(self, entitlement):
        self.env.flush_all()
        self.env.cr.execute(
            """SELECT COALESCE(SUM(amount), 0) FROM g2p_br_disbursement
                WHERE entitlement_id = %s AND status = 'paid'""",
            [entitlement.id],
        )
        return self.env.cr.fetchone()[0]

    def assertAllRefused(self, calls):
        """``calls``: (label, role or user, model, method, args...) run in
        order; each must be refused cleanly and change nothing."""
        for label, who, model, method, *args in calls:
            with self.subTest(attack=label):
                before = self.snapshot()
                self.login(who)
                result = self.rpc(model, method, *args)
                self.assertRefused(result, label)
                self.assertEqual(self.snapshot(), before, f"{label}: data changed")

    # ------------------------------------------------------------------
    # 51x payout
    # ------------------------------------------------------------------
    def test_finding_remaining_write_then_disburse(self):
        """Issue #9: write `remaining`, Create Disbursements, Mark Paid: 51x."""
        t = self.T["A"]
        entitlement = self.rec(ENT, "e_dist")
        entitled = entitlement.amount
        for role in ("manager", "approver"):
            with self.subTest(role=role):
                result = self.rpc_as(
                    role, ENT, "write", [entitlement.id], {"remaining": 50 * entitled}
                )
                self.assertRefused(result, f"{role} writes remaining")
        # the attack goes on whatever the write did
        self.login("manager")
        self.rpc(CYCLE, "action_create_disbursements", [t["c_dist"]])
        for disbursement in entitlement.disbursement_ids:
            self.rpc(DISB, "action_mark_paid", [disbursement.id])
        self.assertLessEqual(
            self.paid_total(entitlement),
            entitled,
            f"paid {self.paid_total(entitlement)} on an entitlement of {entitled}",
        )

    def test_finding_database_refuses_over_disbursement(self):
        """Issue #9 item 2: the set-based disbursement INSERT trusts
        `remaining`; PostgreSQL must refuse live disbursements above the
        entitlement whatever the path (here a stale `remaining` left by SQL)."""
        t = self.T["A"]
        entitlement = self.rec(ENT, "e_dist")
        entitled = entitlement.amount
        self.env.flush_all()
        accepted = True
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                self.env.cr.execute(
                    "UPDATE g2p_br_entitlement SET remaining = %s WHERE id = %s",
                    [50 * entitled, entitlement.id],
                )
        except psycopg2.Error:
            accepted = False  # the database keeps the total equal to its sum
        self.env.invalidate_all()
        if accepted:
            self.env.cr.execute(
                "SELECT remaining FROM g2p_br_entitlement WHERE id = %s",
                [entitlement.id],
            )
            accepted = self.env.cr.fetchone()[0] != entitled
        result = self.rpc_as(
            "manager", CYCLE, "action_create_disbursements", [t["c_dist"]]
        )
        if not result.ok:
            self.assertRefused(result, "create disbursements over the entitlement")
        live = self.live_total(entitlement)
        if accepted:
            # repair what this test injected before the cleanup's invariant check
            self.env.cr.execute(
                "UPDATE g2p_br_entitlement SET remaining = amount - disbursed_total "
                "WHERE id = %s AND remaining <> amount - disbursed_total",
                [entitlement.id],
            )
            self.env.invalidate_all()
        self.assertLessEqual(
            live,
            entitled,
            f"the database accepted live disbursements of {live} on an entitlement "
            f"of {entitled} (stale remaining accepted by SQL: {accepted})",
        )

    # ------------------------------------------------------------------
    # Four-eyes and audit fields
    # ------------------------------------------------------------------
    def test_finding_four_eyes_toggled_around_approval(self):
        """Issue #9: four_eyes off, approve, back on, no trace."""
        t = self.T["A"]
        cycle = self.rec(CYCLE, "c_draft")
        self.login(self.user_manager_approver)
        self.assertAccepted(self.rpc(CYCLE, "action_generate_entitlements", [cycle.id]))
        self.assertAccepted(self.rpc(CYCLE, "action_to_approve", [cycle.id]))
        off = self.rpc(PROG, "write", [t["program"]], {"four_eyes": False})
        approve = self.rpc(CYCLE, "action_approve_entitlements", [cycle.id])
        self.rpc(PROG, "write", [t["program"]], {"four_eyes": True})
        self.assertRefused(off, "four_eyes turned off by a manager-approver")
        self.assertRefused(approve, "self-approval")
        self.assertEqual(cycle.state, "to_approve")
        # an administrator generating cannot turn it off either while the
        # cycle awaits approval, nor approve their own entitlements
        cycle_b = self.rec(CYCLE, "c_draft", "B")
        self.login("admin")
        self.assertAccepted(
            self.rpc(CYCLE, "action_generate_entitlements", [cycle_b.id])
        )
        self.assertAccepted(self.rpc(CYCLE, "action_to_approve", [cycle_b.id]))
        self.assertAllRefused(
            [
                (
                    "admin turns four_eyes off while a cycle awaits approval",
                    "admin",
                    PROG,
                    "write",
                    [self.program_b.id],
                    {"four_eyes": False},
                ),
                (
                    "admin approves what they generated",
                    "admin",
                    CYCLE,
                    "action_approve_entitlements",
                    [cycle_b.id],
                ),
            ]
        )

    def test_finding_four_eyes_admin_only_and_tracked(self):
        """Issue #9 item 3/6: only an administrator changes four_eyes, the
        change is tracked; new programs default to four_eyes."""
        scratch = self.create_program(
            code="FE", name="Four eyes", user_ids=[(6, 0, [self.user_manager.id])]
        )
        self.env.cr.execute(
            "UPDATE g2p_br_program SET four_eyes = TRUE WHERE id = %s", [scratch.id]
        )
        self.env.invalidate_all()
        self.assertAllRefused(
            [
                (
                    "manager turns four_eyes off",
                    "manager",
                    PROG,
                    "write",
                    [scratch.id],
                    {"four_eyes": False},
                )
            ]
        )
        self.assertAccepted(
            self.rpc_as("admin", PROG, "write", [scratch.id], {"four_eyes": False}),
            "admin turns four_eyes off (no cycle awaits approval)",
        )
        tracked = (
            self.env["mail.tracking.value"]
            .sudo()
            .search(
                [
                    ("mail_message_id.model", "=", PROG),
                    ("mail_message_id.res_id", "=", scratch.id),
                    ("field_id.name", "=", "four_eyes"),
                ]
            )
        )
        self.assertTrue(tracked, "four_eyes change not tracked in the chatter")
        created = self.rpc_as(
            "manager",
            PROG,
            "create",
            {
                "code": "FE2",
                "name": "Default four eyes",
                "eligibility_domain": "[('region_code', '=', 'ZZR1')]",
            },
        )
        program = self.env[PROG].browse(self.assertAccepted(created))
        self.assertTrue(program.four_eyes, "a new program must default to four_eyes")
        forged = self.rpc_as(
            "manager",
            PROG,
            "create",
            {"code": "FE3", "name": "No four eyes", "four_eyes": False},
        )
        if forged.ok:
            self.assertTrue(
                self.env[PROG].browse(forged.result).four_eyes,
                "a manager created a program without four_eyes",
            )

    def test_four_eyes_on_every_path(self):
        """Issue #9 item 3: four-eyes per person on every path: the cycle
        button, one entitlement's button, the confirmation wizard, a state
        written directly, an entitlement added by hand."""
        t = self.T["A"]
        cycle = self.rec(CYCLE, "c_draft")
        who = self.user_manager_approver
        self.login(who)
        self.assertAccepted(self.rpc(CYCLE, "action_generate_entitlements", [cycle.id]))
        self.assertAccepted(self.rpc(CYCLE, "action_to_approve", [cycle.id]))
        entitlement = cycle.entitlement_ids[:1]
        confirm = self.rpc(
            CONFIRM,
            "create",
            {"operation": "cycle_approve_entitlements", "cycle_id": cycle.id},
        )
        calls = [
            (
                "generator approves the cycle",
                who,
                CYCLE,
                "action_approve_entitlements",
                [cycle.id],
            ),
            (
                "generator approves one entitlement",
                who,
                ENT,
                "action_approve",
                entitlement.ids,
            ),
            (
                "generator approves by writing the state",
                who,
                ENT,
                "write",
                entitlement.ids,
                {"state": "approved"},
            ),
            (
                "generator rejects their own entitlement",
                who,
                ENT,
                "action_reject",
                entitlement.ids,
                "I changed my mind",
            ),
        ]
        if confirm.ok:
            calls.append(
                (
                    "generator approves through the confirmation wizard",
                    who,
                    CONFIRM,
                    "action_confirm",
                    [confirm.result],
                )
            )
        self.assertAllRefused(calls)
        self.assertEqual(
            set(cycle.entitlement_ids.mapped("state")), {"pending_approval"}
        )
        # an entitlement added by hand to a to-approve cycle by one user is not
        # approved by the same user, even if someone else generated the cycle
        toapp = self.rec(CYCLE, "c_toapp")
        self.login(who)
        added = self.rpc(
            ENT,
            "create",
            {"cycle_id": toapp.id, "beneficiary_id": t["ben2"], "amount": 100.0},
        )
        if added.ok:
            self.rpc(ENT, "action_submit", [added.result])
            self.assertAllRefused(
                [
                    (
                        "creator approves the entitlement they added",
                        who,
                        ENT,
                        "action_approve",
                        [added.result],
                    ),
                    (
                        "creator approves the cycle holding it",
                        who,
                        CYCLE,
                        "action_approve_entitlements",
                        [toapp.id],
                    ),
                ]
            )

    def test_entitlement_outside_the_membership(self):
        """Issue #9 item 2: every entitlement has an enrolled membership of
        its own program."""
        a, b = self.T["A"], self.T["B"]
        self.assertAllRefused(
            [
                (
                    "entitlement for a draft member",
                    "manager",
                    ENT,
                    "create",
                    {
                        "cycle_id": a["c_draft"],
                        "beneficiary_id": a["newcomer"],
                        "amount": 100.0,
                    },
                ),
                (
                    "entitlement for a paused member",
                    "manager",
                    ENT,
                    "create",
                    {
                        "cycle_id": a["c_draft"],
                        "beneficiary_id": a["ben2"],
                        "amount": 100.0,
                    },
                ),
                (
                    "entitlement for a member of another program",
                    "manager",
                    ENT,
                    "create",
                    {
                        "cycle_id": a["c_draft"],
                        "beneficiary_id": b["ben"],
                        "amount": 100.0,
                    },
                ),
                (
                    "admin deletes a membership behind entitlements",
                    "admin",
                    MEMB,
                    "unlink",
                    [b["m_enrolled"]],
                ),
                (
                    "admin deletes a program with payments",
                    "admin",
                    PROG,
                    "unlink",
                    [b["program"]],
                ),
                (
                    "admin deletes a cycle with payments",
                    "admin",
                    CYCLE,
                    "unlink",
                    [b["c_paid"]],
                ),
            ]
        )

    def test_finding_forged_audit_fields(self):
        """Issue #9: generated_by_id, approved_by_id, approved_at, a paid
        disbursement's reference and paid_at are writable over RPC."""
        t = self.T["A"]
        other = self.user_approver2.id
        calls = []
        for role in ("manager", "approver", "admin"):
            calls += [
                (
                    f"{role}: cycle.generated_by_id",
                    role,
                    CYCLE,
                    "write",
                    [t["c_toapp"]],
                    {"generated_by_id": other},
                ),
                (
                    f"{role}: cycle.approved_by_id",
                    role,
                    CYCLE,
                    "write",
                    [t["c_paid"]],
                    {"approved_by_id": other},
                ),
                (
                    f"{role}: cycle.approved_at",
                    role,
                    CYCLE,
                    "write",
                    [t["c_paid"]],
                    {"approved_at": "2020-01-01 00:00:00"},
                ),
                (
                    f"{role}: entitlement.approved_by_id",
                    role,
                    ENT,
                    "write",
                    [t["e_paid"]],
                    {"approved_by_id": other},
                ),
                (
                    f"{role}: entitlement.approved_at",
                    role,
                    ENT,
                    "write",
                    [t["e_paid"]],
                    {"approved_at": "2020-01-01 00:00:00"},
                ),
                (
                    f"{role}: paid disbursement.reference",
                    role,
                    DISB,
                    "write",
                    [t["d_paid"]],
                    {"reference": "FORGED"},
                ),
                (
                    f"{role}: paid disbursement.paid_at",
                    role,
                    DISB,
                    "write",
                    [t["d_paid"]],
                    {"paid_at": "2020-01-01 00:00:00"},
                ),
            ]
        self.assertAllRefused(calls)

    def test_finding_forged_fields_on_create(self):
        """Issue #9 item 1: the workflow fields cannot be forged at creation
        either (a cycle created approved, an entitlement created with an
        approver, a disbursement created with a payment time)."""
        t = self.T["A"]
        other = self.user_approver2.id
        forged = [
            (
                CYCLE,
                {
                    "program_id": t["program"],
                    "name": "Born approved",
                    "start_date": "2028-03-01",
                    "end_date": "2028-03-31",
                    "state": "approved",
                    "approved_by_id": other,
                    "approved_at": "2020-01-01 00:00:00",
                    "generated_by_id": other,
                },
                ("state", "approved_by_id", "approved_at", "generated_by_id"),
            ),
            (
                ENT,
                {
                    "cycle_id": t["c_draft"],
                    "beneficiary_id": t["ben"],
                    "amount": 100.0,
                    "state": "approved",
                    "approved_by_id": other,
                    "approved_at": "2020-01-01 00:00:00",
                    "remaining": 5000.0,
                    "disbursed_total": 0.0,
                    "disbursement_status": "fully_disbursed",
                },
                (
                    "state",
                    "approved_by_id",
                    "approved_at",
                    "remaining",
                    "disbursement_status",
                ),
            ),
            (
                DISB,
                {
                    "entitlement_id": t["e_dist"],
                    "amount": 10.0,
                    "reference": "BORN-PAID",
                    "status": "paid",
                    "paid_at": "2020-01-01 00:00:00",
                    "sent_at": "2020-01-01 00:00:00",
                },
                ("status", "paid_at", "sent_at"),
            ),
            (
                MEMB,
                {
                    "program_id": t["program"],
                    "beneficiary_id": self.ind3.id,
                    "state": "enrolled",
                    "enrollment_date": "2020-01-01",
                },
                ("state", "enrollment_date"),
            ),
        ]
        self.login("manager")
        for model, values, fields in forged:
            with self.subTest(model=model):
                result = self.rpc(model, "create", values)
                if not result.ok:
                    self.assertRefused(result, f"create {model} with forged fields")
                    continue
                record = self.env[model].browse(result.result)
                defaults = {
                    "state": {CYCLE: "draft", ENT: "draft", MEMB: "draft"}.get(model),
                    "status": "pending",
                    "remaining": 100.0,
                    "disbursement_status": "not_started",
                }
                for name in fields:
                    value = record[name]
                    if name in defaults:
                        self.assertEqual(
                            value, defaults[name], f"{model}.{name} forged"
                        )
                    else:
                        self.assertFalse(value, f"{model}.{name} forged at creation")

    def test_private_methods_not_callable(self):
        """The set-based internals are not reachable over RPC (already true
        before issue #9: a regression guard)."""
        t = self.T["A"]
        self.assertAllRefused(
            [
                (
                    "_enroll_eligible",
                    "manager",
                    PROG,
                    "_enroll_eligible",
                    [t["program"]],
                ),
                (
                    "_bulk_set_state",
                    "manager",
                    ENT,
                    "_bulk_set_state",
                    [t["c_paid"]],
                    "approved",
                    "cancelled",
                ),
                (
                    "_refresh_disbursement_totals",
                    "manager",
                    ENT,
                    "_refresh_disbursement_totals",
                    [t["e_paid"]],
                ),
                (
                    "_write_status_updates",
                    "manager",
                    DISB,
                    "_write_status_updates",
                    [
                        [
                            t["d_pending"],
                            "paid",
                            "2026-12-01 00:00:00",
                            None,
                            t["e_paid"],
                        ]
                    ],
                ),
                (
                    "_run_bulk_job",
                    "manager",
                    CYCLE,
                    "_run_bulk_job",
                    [t["c_dist"]],
                    "_create_disbursements",
                ),
                (
                    "_approve_entitlements",
                    "manager",
                    CYCLE,
                    "_approve_entitlements",
                    [t["c_toapp"]],
                ),
            ]
        )

    # ------------------------------------------------------------------
    # Moving records into another program
    # ------------------------------------------------------------------
    def test_finding_move_records_into_other_program(self):
        """Issue #9: record rules are checked before the write, not on where
        the record ends up."""
        a, b = self.T["A"], self.T["B"]
        self.assertAllRefused(
            [
                (
                    "membership.program_id -> B",
                    "manager",
                    MEMB,
                    "write",
                    [a["m_enrolled"]],
                    {"program_id": b["program"]},
                ),
                (
                    "entitlement.cycle_id -> B's cycle",
                    "manager",
                    ENT,
                    "write",
                    [a["e_paid"]],
                    {"cycle_id": b["c_draft"]},
                ),
                (
                    "draft entitlement.cycle_id -> B's cycle",
                    "manager",
                    ENT,
                    "write",
                    [a["e_draft"]],
                    {"cycle_id": b["c_draft"]},
                ),
                (
                    "cycle.program_id -> B",
                    "manager",
                    CYCLE,
                    "write",
                    [a["c_paid"]],
                    {"program_id": b["program"]},
                ),
                (
                    "entitlement.program_id (related) -> B",
                    "manager",
                    ENT,
                    "write",
                    [a["e_paid"]],
                    {"program_id": b["program"]},
                ),
                (
                    "disbursement.entitlement_id -> other entitlement",
                    "manager",
                    DISB,
                    "write",
                    [a["d_pending"]],
                    {"entitlement_id": a["e_dist"]},
                ),
                (
                    "disbursement.program_id (related) -> B",
                    "manager",
                    DISB,
                    "write",
                    [a["d_paid"]],
                    {"program_id": b["program"]},
                ),
                (
                    "membership created in B by A's manager",
                    "manager",
                    MEMB,
                    "create",
                    {"program_id": b["program"], "beneficiary_id": self.ind3.id},
                ),
                (
                    "entitlement created in B's cycle by A's manager",
                    "manager",
                    ENT,
                    "create",
                    {
                        "cycle_id": b["c_draft"],
                        "beneficiary_id": self.hh2.id,
                        "amount": 1000.0,
                    },
                ),
            ]
        )

    # ------------------------------------------------------------------
    # Eligibility rule
    # ------------------------------------------------------------------
    SIDE_CHANNELS = (
        "[('membership_ids.program_id.code', '=', 'PB')]",
        "[('membership_ids.state', '=', 'enrolled')]",
        "[('disbursement_ids.amount', '>', 0)]",
        "[('entitlement_ids.amount', '>=', 60)]",
        "[('group_id.membership_ids.program_id.code', '=', 'PB')]",
        "[('member_ids.entitlement_ids.state', '=', 'approved')]",
        "[('membership_ids.program_id.user_ids.login', '=', 'br_manager_b')]",
        "[('identifier_ids.beneficiary_id.membership_ids.program_id.code', '=', 'PB')]",
        "[('group_id.member_ids.disbursement_ids.status', '=', 'paid')]",
        "[('member_ids.membership_ids.state', '=', 'enrolled')]",
        "[('id', 'in', [1, 2]), ('membership_ids', '!=', False)]",
        "['|', ('region_code', '=', 'ZZR1'), ('entitlement_ids', '!=', False)]",
    )

    def test_finding_eligibility_rule_side_channel(self):
        """Issue #9: the rule is evaluated as superuser: a path into
        memberships, entitlements or disbursements reads other programs."""
        t = self.T["A"]
        calls = []
        for n, rule in enumerate(self.SIDE_CHANNELS):
            calls.append(
                (
                    f"rule {rule} on A",
                    "manager",
                    PROG,
                    "write",
                    [t["program"]],
                    {"eligibility_domain": rule},
                )
            )
            calls.append(
                (
                    f"scratch program with {rule}",
                    "manager",
                    PROG,
                    "create",
                    {
                        "code": f"SCR{n}",
                        "name": "Scratch",
                        "target_type": "group",
                        "eligibility_domain": rule,
                    },
                )
            )
        self.assertAllRefused(calls)
        # the beneficiary's own attributes and identifiers stay allowed
        for rule in (
            "[('region_code', '=', 'ZZR1'), ('sex', '=', 'female')]",
            "[('identifier_ids.type_id.code', '=', 'NATIONAL_ID')]",
        ):
            with self.subTest(allowed=rule):
                self.assertAccepted(
                    self.rpc_as(
                        "manager",
                        PROG,
                        "write",
                        [t["program"]],
                        {"eligibility_domain": rule},
                    ),
                    rule,
                )

    def test_finding_expensive_rule(self):
        """Issue #9: `sum(range(30000000))` in the rule costs seconds on every
        read of the count: refused when saved, or bounded."""
        t = self.T["A"]
        rule = "[('group_size', '<', sum(range(30000000)))]"
        started = time.monotonic()
        result = self.rpc_as(
            "manager", PROG, "write", [t["program"]], {"eligibility_domain": rule}
        )
        saved = time.monotonic() - started
        if result.ok:
            started = time.monotonic()
            self.rpc(PROG, "read", [t["program"]], ["eligible_count"])
            read = time.monotonic() - started
            self.fail(
                f"rule {rule} accepted (saved in {saved:.1f}s, the count read "
                f"in {read:.1f}s)"
            )
        self.assertRefused(result, "expensive rule")

    def test_finding_non_stored_field_leaf(self):
        """Issue #9: a leaf on a non-stored field is silently TRUE."""
        t = self.T["A"]
        with mute_logger("odoo.osv.expression", "odoo.models"):
            self.assertAllRefused(
                [
                    (
                        "rule on a non-stored field",
                        "manager",
                        PROG,
                        "write",
                        [t["program"]],
                        {"eligibility_domain": "[('membership_count', '>', 0)]"},
                    )
                ]
            )

    # ------------------------------------------------------------------
    # Workflow guards bypassed by writing the state
    # ------------------------------------------------------------------
    def test_finding_state_writes_bypass_guards(self):
        """Issue #9: a paid entitlement cancelled by write(); an approver
        cancelling an approved cycle with paid disbursements."""
        t = self.T["A"]
        self.assertAllRefused(
            [
                (
                    "manager: paid entitlement state=cancelled",
                    "manager",
                    ENT,
                    "write",
                    [t["e_paid"]],
                    {"state": "cancelled"},
                ),
                (
                    "manager: paid entitlement action_cancel",
                    "manager",
                    ENT,
                    "action_cancel",
                    [t["e_paid"]],
                ),
                (
                    "approver: paid entitlement state=cancelled",
                    "approver",
                    ENT,
                    "write",
                    [t["e_paid"]],
                    {"state": "cancelled"},
                ),
                (
                    "approver: cycle with paid disbursements state=cancelled",
                    "approver",
                    CYCLE,
                    "write",
                    [t["c_paid"]],
                    {"state": "cancelled"},
                ),
                (
                    "approver: cycle with paid disbursements action_cancel",
                    "approver",
                    CYCLE,
                    "action_cancel",
                    [t["c_paid"]],
                ),
                (
                    "manager: cycle with paid disbursements state=cancelled",
                    "manager",
                    CYCLE,
                    "write",
                    [t["c_paid"]],
                    {"state": "cancelled"},
                ),
                (
                    "admin: cycle with paid disbursements state=cancelled",
                    "admin",
                    CYCLE,
                    "write",
                    [t["c_paid"]],
                    {"state": "cancelled"},
                ),
                (
                    "manager: disbursement status=paid by write",
                    "manager",
                    DISB,
                    "write",
                    [t["d_pending"]],
                    {"status": "paid"},
                ),
                (
                    "manager: membership state=exited by write",
                    "manager",
                    MEMB,
                    "write",
                    [t["m_enrolled"]],
                    {"state": "exited", "exit_reason": "x"},
                ),
            ]
        )

    def test_refusal_names_the_button(self):
        """Issue #9 item 1: a direct write that would bypass a guard is refused
        with a clear error naming the button to use."""
        t = self.T["A"]
        result = self.rpc_as(
            "manager", ENT, "write", [t["e_draft"]], {"state": "cancelled"}
        )
        self.assertRefused(
            result, "state written directly", names={"odoo.exceptions.UserError"}
        )
        self.assertIn("Cancel", result.message, result.message)
        result = self.rpc_as(
            "manager", DISB, "write", [t["d_pending"]], {"status": "paid"}
        )
        self.assertRefused(
            result, "status written directly", names={"odoo.exceptions.UserError"}
        )
        self.assertIn("Paid", result.message, result.message)

    def test_finding_approver_runs_manager_steps(self):
        """Issue #9: approvers submit/cancel entitlements, send cycles to
        approval, mark distributed, end, cancel."""
        t = self.T["A"]
        self.assertAllRefused(
            [
                (
                    "approver: entitlement action_submit",
                    "approver",
                    ENT,
                    "action_submit",
                    [t["e_draft"]],
                ),
                (
                    "approver: entitlement action_cancel",
                    "approver",
                    ENT,
                    "action_cancel",
                    [t["e_draft"]],
                ),
                (
                    "approver: cycle action_to_approve",
                    "approver",
                    CYCLE,
                    "action_to_approve",
                    [t["c_gen"]],
                ),
                (
                    "approver: cycle action_mark_distributed",
                    "approver",
                    CYCLE,
                    "action_mark_distributed",
                    [t["c_paid"]],
                ),
                (
                    "approver: cycle action_end",
                    "approver",
                    CYCLE,
                    "action_end",
                    [t["c_dist"]],
                ),
                (
                    "approver: cycle action_cancel",
                    "approver",
                    CYCLE,
                    "action_cancel",
                    [t["c_gen"]],
                ),
                (
                    "approver: draft entitlement amount",
                    "approver",
                    ENT,
                    "write",
                    [t["e_draft"]],
                    {"amount": 1000.0},
                ),
                (
                    "approver: cycle name",
                    "approver",
                    CYCLE,
                    "write",
                    [t["c_gen"]],
                    {"name": "renamed by an approver"},
                ),
            ]
        )

    def test_reasons_required(self):
        """Issue #9 items 3/6: an exit, a failure, a rejection carry a reason."""
        t = self.T["A"]
        self.assertAllRefused(
            [
                (
                    "exit without a reason",
                    "manager",
                    MEMB,
                    "action_exit",
                    [t["m_enrolled"]],
                ),
                (
                    "exit with a blank reason",
                    "manager",
                    MEMB,
                    "action_exit",
                    [t["m_enrolled"]],
                    "   ",
                ),
                (
                    "failure without a reason",
                    "manager",
                    DISB,
                    "action_mark_failed",
                    [t["d_pending"]],
                ),
                (
                    "cycle rejected without a reason",
                    "approver",
                    CYCLE,
                    "action_reject_entitlements",
                    [t["c_toapp"]],
                ),
            ]
        )

    def test_approver_through_the_bulk_confirm_wizard(self):
        """The confirmation wizard runs the action with the caller's rights:
        an approver cannot run a manager step through it."""
        t = self.T["A"]
        for operation, cycle in (
            ("cycle_create_disbursements", t["c_dist"]),
            ("cycle_cancel", t["c_gen"]),
            ("cycle_to_approve", t["c_gen"]),
            ("cycle_generate_entitlements", t["c_draft"]),
        ):
            with self.subTest(operation=operation):
                created = self.rpc_as(
                    "approver",
                    CONFIRM,
                    "create",
                    {"operation": operation, "cycle_id": cycle},
                )
                if not created.ok:
                    self.assertRefused(created, operation)
                    continue
                self.assertAllRefused(
                    [
                        (
                            f"approver confirms {operation}",
                            "approver",
                            CONFIRM,
                            "action_confirm",
                            [created.result],
                        )
                    ]
                )

    def test_over_disbursement_refused_cleanly(self):
        """Issue #9 item 2: a disbursement above the entitlement is refused
        with a clear error, whatever the path (create, write)."""
        t = self.T["A"]
        entitled = self.rec(ENT, "e_dist").amount
        self.assertAllRefused(
            [
                (
                    "create a disbursement above the entitlement",
                    "manager",
                    DISB,
                    "create",
                    {
                        "entitlement_id": t["e_dist"],
                        "amount": entitled + 0.01,
                        "reference": "OVER-1",
                    },
                ),
                (
                    "raise a pending disbursement above the entitlement",
                    "manager",
                    DISB,
                    "write",
                    [t["d_pending"]],
                    {"amount": 10 * entitled},
                ),
                (
                    "a second live disbursement on a paid entitlement",
                    "manager",
                    DISB,
                    "create",
                    {
                        "entitlement_id": t["e_paid"],
                        "amount": 1.0,
                        "reference": "OVER-2",
                    },
                ),
                (
                    "a negative disbursement",
                    "manager",
                    DISB,
                    "create",
                    {
                        "entitlement_id": t["e_dist"],
                        "amount": -50.0,
                        "reference": "NEG-1",
                    },
                ),
            ]
        )

    def test_reject_needs_a_reason(self):
        """Issue #9 item 3: approvers reject with a reason."""
        t = self.T["A"]
        self.assertAllRefused(
            [
                (
                    "approver rejects without a reason",
                    "approver",
                    ENT,
                    "action_reject",
                    [t["e_pending"]],
                )
            ]
        )
        result = self.rpc_as(
            "approver", ENT, "action_reject", [t["e_pending"]], "not in the household"
        )
        self.assertAccepted(result, "reject with a reason")
        entitlement = self.rec(ENT, "e_pending")
        self.assertEqual(entitlement.state, "rejected")
        self.assertEqual(entitlement.rejection_reason, "not in the household")

    # ------------------------------------------------------------------
    # Deletion
    # ------------------------------------------------------------------
    def test_finding_admin_deletes_paid_disbursement(self):
        """Issue #9: a BR administrator can delete a paid disbursement,
        leaving the entitlement fully disbursed with no payment behind it."""
        t = self.T["A"]
        self.assertAllRefused(
            [
                (
                    "admin deletes a paid disbursement",
                    "admin",
                    DISB,
                    "unlink",
                    [t["d_paid"]],
                ),
                (
                    "admin deletes an approved entitlement",
                    "admin",
                    ENT,
                    "unlink",
                    [t["e_paid"]],
                ),
                (
                    "admin deletes the membership behind entitlements",
                    "admin",
                    MEMB,
                    "unlink",
                    [t["m_enrolled"]],
                ),
            ]
        )
        # PostgreSQL refuses it too, whatever the path
        self.env.flush_all()
        with (
            self.assertRaises(psycopg2.Error, msg="SQL DELETE of a paid disbursement"),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.env.cr.execute(
                "DELETE FROM g2p_br_disbursement WHERE id = %s", [t["d_paid"]]
            )
        self.env.invalidate_all()

    # ------------------------------------------------------------------
    # Transient wizards
    # ------------------------------------------------------------------
    def test_finding_import_wizard_shared(self):
        """Issue #9: manager B reads and rewrites manager A's pending import."""
        a, b = self.T["A"], self.T["B"]
        created = self.rpc_as(
            "manager",
            IMPORT,
            "create",
            {"csv_text": f"reference,status\n{a['d_pending_ref']},sent\n"},
        )
        wizard_id = self.assertAccepted(created, "manager A creates an import")
        self.assertAllRefused(
            [
                (
                    "manager B reads A's import",
                    self.user_manager_b,
                    IMPORT,
                    "read",
                    [wizard_id],
                    ["csv_text"],
                ),
                (
                    "manager B rewrites A's import",
                    self.user_manager_b,
                    IMPORT,
                    "write",
                    [wizard_id],
                    {"csv_text": f"reference,status\n{b['d_pending_ref']},paid\n"},
                ),
            ]
        )
        search = self.rpc_as(self.user_manager_b, IMPORT, "search", [])
        if search.ok:
            self.assertNotIn(wizard_id, search.result, "manager B lists A's import")
        self.assertAccepted(
            self.rpc_as("manager", IMPORT, "action_import", [wizard_id])
        )
        self.assertEqual(self.rec(DISB, "d_pending").status, "sent")
        self.assertEqual(self.rec(DISB, "d_pending", "B").status, "pending")

    def test_finding_bulk_confirm_preview_counts_any_cycle(self):
        """Issue #9: the bulk-confirm preview counts any cycle by id."""
        a = self.T["A"]
        created = self.rpc_as(
            self.user_manager_b,
            CONFIRM,
            "create",
            {"operation": "cycle_create_disbursements", "cycle_id": a["c_dist"]},
        )
        if created.ok:
            preview = self.rpc(
                CONFIRM, "read", [created.result], ["record_count", "message"]
            )
            self.assertRefused(preview, "manager B previews A's cycle")
        else:
            self.assertRefused(created, "manager B previews A's cycle")
        # and A's own preview works, and B cannot read it
        own = self.rpc_as(
            "manager",
            CONFIRM,
            "create",
            {"operation": "cycle_create_disbursements", "cycle_id": a["c_dist"]},
        )
        own_id = self.assertAccepted(own)
        preview = self.assertAccepted(
            self.rpc(CONFIRM, "read", [own_id], ["record_count"])
        )
        self.assertEqual(
            preview[0]["record_count"],
            len(self.rec(CYCLE, "c_dist").entitlement_ids),
        )
        self.assertAllRefused(
            [
                (
                    "manager B reads A's confirmation",
                    self.user_manager_b,
                    CONFIRM,
                    "read",
                    [own_id],
                    ["record_count", "message"],
                )
            ]
        )

    # ------------------------------------------------------------------
    # History of money
    # ------------------------------------------------------------------
    def test_finding_no_money_history(self):
        """Issue #9: who marked a disbursement sent, when, from which path."""
        self.assertIn(HISTORY, self.env, f"no {HISTORY} model")
        t = self.T["A"]
        self.assertAccepted(
            self.rpc_as("manager", DISB, "action_mark_sent", [t["d_pending"]])
        )
        rows = (
            self.env[HISTORY]
            .sudo()
            .search(
                [("disbursement_id", "=", t["d_pending"]), ("to_state", "=", "sent")]
            )
        )
        self.assertEqual(len(rows), 1, "one history row for pending -> sent")
        self.assertEqual(rows.from_state, "pending")
        self.assertEqual(rows.user_id, self.user_manager)
        self.assertEqual(rows.path, "ui")
        self.assertTrue(rows.at)
        # nobody writes or deletes it through the ORM, not even an admin
        self.assertAllRefused(
            [
                (
                    "admin rewrites history",
                    "admin",
                    HISTORY,
                    "write",
                    rows.ids,
                    {"user_id": self.user_approver2.id},
                ),
                ("admin deletes history", "admin", HISTORY, "unlink", rows.ids),
                ("manager reads history", "manager", HISTORY, "read", rows.ids, []),
            ]
        )
        if self.user_auditor:
            self.assertAccepted(
                self.rpc_as(self.user_auditor, HISTORY, "read", rows.ids, ["to_state"]),
                "auditor reads history",
            )

    def test_finding_program_changes_not_tracked(self):
        """Issue #9: changes to amounts, the rule and the assigned users of a
        program are not tracked in the chatter."""
        t = self.T["A"]
        self.assertAccepted(
            self.rpc_as(
                "admin",
                PROG,
                "write",
                [t["program"]],
                {
                    "base_amount": 120.0,
                    "amount_per_member": 3.0,
                    "max_amount": 500.0,
                    "eligibility_domain": "[('region_code', '=', 'ZZR1'), "
                    "('sex', '=', 'female')]",
                    "user_ids": [(4, self.user_approver2.id), (3, self.user_viewer.id)],
                },
            )
        )
        tracked = set(
            self.env["mail.tracking.value"]
            .sudo()
            .search(
                [
                    ("mail_message_id.model", "=", PROG),
                    ("mail_message_id.res_id", "=", t["program"]),
                ]
            )
            .mapped("field_id.name")
        )
        for name in (
            "base_amount",
            "amount_per_member",
            "max_amount",
            "eligibility_domain",
            "user_ids",
        ):
            with self.subTest(field=name):
                self.assertIn(name, tracked, f"program.{name} change not tracked")

    # ------------------------------------------------------------------
    # Bad input to the import
    # ------------------------------------------------------------------
    def _import(self, values, method="action_check", timeout=60):
        created = self.rpc_as("manager", IMPORT, "create", values, timeout=timeout)
        if not created.ok:
            return created
        return self.rpc(IMPORT, method, [created.result], timeout=timeout)

    def test_finding_import_bad_input(self):
        """Issue #9: a NUL byte or invalid base64 gives a raw error."""
        ref = self.T["A"]["d_pending_ref"]
        cases = {
            "invalid base64": {"csv_file": "@@@ not base64 @@@"},
            "NUL byte in pasted text": {
                "csv_text": f"reference,status\n{ref}\x00,paid\n"
            },
            "NUL byte in the file": {
                "csv_file": base64.b64encode(
                    f"reference,status\n{ref}\x00,paid\n".encode()
                ).decode()
            },
            "not UTF-8": {
                "csv_file": base64.b64encode(
                    b"reference,status\n\xff\xfe\xfa,paid\n"
                ).decode()
            },
        }
        for label, values in cases.items():
            with self.subTest(case=label):
                before = self.snapshot()
                for method in ("action_check", "action_import"):
                    result = self._import(values, method)
                    self.assertRefused(result, f"{label} ({method})")
                self.assertEqual(self.snapshot(), before, f"{label}: data changed")
                self.assertEqual(self.rec(DISB, "d_pending").status, "pending")

    def test_finding_import_size_cap(self):
        """Issue #9: the status import has no size cap (100,000 rows)."""
        rows = "".join(f"NOPE-{n},sent\n" for n in range(100_001))
        started = time.monotonic()
        result = self._import(
            {"csv_text": "reference,status\n" + rows}, "action_check", timeout=600
        )
        elapsed = time.monotonic() - started
        self.assertRefused(result, f"100,001 rows ({elapsed:.1f}s)")
        self.assertIn(
            result.error,
            ("odoo.exceptions.UserError", "odoo.exceptions.ValidationError"),
        )

    # ------------------------------------------------------------------
    # XML-RPC: the same refusals on the other RPC path
    # ------------------------------------------------------------------
    def test_xmlrpc_path(self):
        t = self.T["A"]
        viewer, manager, outsider = (
            self.user_viewer,
            self.user_manager,
            self.user_outsider,
        )
        result = self.xmlrpc_as(
            manager, CYCLE, "search_read", [("id", "=", t["c_paid"])], fields=["state"]
        )
        self.assertEqual(self.assertAccepted(result)[0]["state"], "approved")
        for label, user, model, method, args in (
            (
                "viewer renames a program",
                viewer,
                PROG,
                "write",
                [[t["program"]], {"name": "x"}],
            ),
            (
                "outsider reads a cycle",
                outsider,
                CYCLE,
                "read",
                [[t["c_paid"]], ["name"]],
            ),
            (
                "manager writes remaining",
                manager,
                ENT,
                "write",
                [[t["e_dist"]], {"remaining": 5000.0}],
            ),
            (
                "manager moves a cycle to B",
                manager,
                CYCLE,
                "write",
                [[t["c_paid"]], {"program_id": self.program_b.id}],
            ),
            (
                "manager forges approved_by_id",
                manager,
                ENT,
                "write",
                [[t["e_paid"]], {"approved_by_id": self.user_approver2.id}],
            ),
            (
                "manager cancels a paid entitlement by write",
                manager,
                ENT,
                "write",
                [[t["e_paid"]], {"state": "cancelled"}],
            ),
        ):
            with self.subTest(attack=label):
                before = self.snapshot()
                result = self.xmlrpc_as(user, model, method, *args)
                self.assertFalse(result.ok, f"{label}: accepted over XML-RPC")
                self.assertIn(
                    result.error,
                    ("fault 2", "fault 3", "fault 4"),
                    f"{label}: unclean XML-RPC fault {result}",
                )
                self.assertEqual(self.snapshot(), before, f"{label}: data changed")
