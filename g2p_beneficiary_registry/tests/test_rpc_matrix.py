# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The allow/deny table of issue #9, asserted over JSON-RPC.

One place, :data:`TABLE`: for each BR model, each operation (read, search,
write of each field, create, unlink, each public method) and each role, what
is expected on a record of the user's own program (A) and of another program
(B). Every check runs in a savepoint, over ``/web/dataset/call_kw`` as the
logged-in user, and is rolled back. A refusal must be a clean Odoo error that
leaves the database unchanged; after each check the money invariants hold.

Expectation codes, own program then other program:
``Y`` allowed, ``N`` refused, ``?`` not asserted (the contract does not say;
the outcome is recorded in the printed table), ``-`` not applicable.
"""

import functools
import logging
import time

from odoo.tests import tagged

from .rpc_common import BEN, CYCLE, DISB, ENT, HISTORY, IDENT, MEMB, PROG, RpcCase

_logger = logging.getLogger(__name__)

ROLES = ("viewer", "manager", "approver", "admin", "outsider", "api", "auditor")
HIST = HISTORY
DT = "2020-01-01 00:00:00"


def E(**roles):
    """Expectations per role: two characters (own program, other program);
    refused everywhere unless given."""
    expected = dict.fromkeys(ROLES, "NN")
    expected.update(roles)
    return expected


# the auditor (g2p_beneficiary_registry.group_br_auditor, when it exists)
# reads every program and the history, and changes nothing
READ = E(viewer="YN", manager="YN", approver="YN", admin="YY", api="YN", auditor="YY")
BEN_READ = E(
    viewer="YN", manager="YY", approver="YN", admin="YY", api="YN", auditor="??"
)
NOBODY = E()
MGR = E(manager="YN", admin="YY")
APPR = E(approver="YN", admin="YY")
ADMIN = E(admin="YY")
HIST_READ = E(admin="YY", auditor="YY")
MODEL_ONLY = dict.fromkeys(ROLES, "N-")


def w(field, value, expected=None, target=None):
    return ("write", field, value, expected or NOBODY, target)


def m(method, expected, target=None, args=()):
    return ("method", method, args, expected, target)


# (model, default target key) -> rows (operation, what, value/args, expected,
# target key or None for the default). Values and args are callables of
# (t, o, u): the targets of the program, of the other program, the users' ids.
TABLE = {
    (BEN, "ben"): [
        ("read", "", None, BEN_READ, None),
        ("search", "", None, BEN_READ, None),
        w("sr_id", lambda t, o, u: "SR-FORGED", ADMIN),
        w("region_code", lambda t, o, u: "ZZR9", ADMIN),
        w("group_size", lambda t, o, u: 9, ADMIN),
        w("poverty_score", lambda t, o, u: 0.99, ADMIN),
        w("sex", lambda t, o, u: "other", ADMIN),
        w("birth_date", lambda t, o, u: "1990-01-01", ADMIN),
        w("disability", lambda t, o, u: True, ADMIN),
        w("active", lambda t, o, u: False, E(admin="??")),
        w("kind", lambda t, o, u: "group", E(admin="??")),
        (
            "create",
            "",
            lambda t, o, u: {"sr_id": "SR-NEWBORN", "region_code": "ZZR1"},
            dict(MODEL_ONLY, admin="Y-"),
            None,
        ),
        ("unlink", "", None, NOBODY, None),  # members: restricted
        m(
            "find_by_identifier",
            BEN_READ,
            target="@model",
            args=lambda t, o, u: t["find"],
        ),
        m("get_summary", BEN_READ),
        # data of the beneficiary in the caller's programs only
        m("get_enrollments", READ),
        m("get_entitlements", READ),
    ],
    (IDENT, "ident"): [
        ("read", "", None, BEN_READ, None),
        ("search", "", None, BEN_READ, None),
        w("value", lambda t, o, u: "NID-FORGED", ADMIN),
        w("type_id", lambda t, o, u: u["voter_type"], ADMIN),
        w("beneficiary_id", lambda t, o, u: t["newcomer"], E(admin="??")),
        (
            "create",
            "",
            lambda t, o, u: {
                "beneficiary_id": t["ben2"],
                "type_id": u["voter_type"],
                "value": f"V-{t['ben2']}",
            },
            ADMIN,
            None,
        ),
        ("unlink", "", None, ADMIN, None),
    ],
    (PROG, "program"): [
        ("read", "", None, READ, None),
        ("search", "", None, READ, None),
        w("name", lambda t, o, u: "Renamed", MGR),
        w("code", lambda t, o, u: "RENAMED", MGR),
        w("description", lambda t, o, u: "<p>changed</p>", MGR),
        w("base_amount", lambda t, o, u: 1000.0, MGR),
        w("amount_per_member", lambda t, o, u: 5.0, MGR),
        w("max_amount", lambda t, o, u: 20.0, MGR),
        w("cycle_frequency", lambda t, o, u: "quarterly", MGR),
        w("default_channel", lambda t, o, u: "cash", MGR),
        w("eligibility_domain", lambda t, o, u: "[('region_code', '=', 'ZZR2')]", MGR),
        # a cycle of the program awaits approval: refused even to an admin
        w("four_eyes", lambda t, o, u: False, NOBODY),
        w("state", lambda t, o, u: "ended", NOBODY),
        w(
            "user_ids",
            lambda t, o, u: [(4, u["outsider"])],
            E(manager="?N", admin="YY"),
        ),
        w("target_type", lambda t, o, u: "group", E(manager="?N", admin="??")),
        w("active", lambda t, o, u: False, E(manager="?N", admin="??")),
        w("company_id", lambda t, o, u: u["company2"], E(manager="?N", admin="??")),
        (
            "create",
            "",
            lambda t, o, u: {
                "code": "NEWP",
                "name": "New program",
                "eligibility_domain": "[('region_code', '=', 'ZZR1')]",
            },
            dict(MODEL_ONLY, manager="Y-", admin="Y-"),
            None,
        ),
        ("unlink", "", None, NOBODY, None),
        m("get_totals", READ),
        m("action_enroll_eligible", MGR),
        m("action_verify_eligibility", MGR),
        m("verify_eligibility", MGR),
        m("action_create_next_cycle", MGR),
        m("action_end", E(manager="?N", admin="??")),
    ],
    (MEMB, "m_enrolled"): [
        ("read", "", None, READ, None),
        ("search", "", None, READ, None),
        w("state", lambda t, o, u: "paused"),
        w("enrollment_date", lambda t, o, u: "2020-01-01"),
        w("exit_date", lambda t, o, u: "2020-01-01"),
        w("exit_reason", lambda t, o, u: "forged"),
        w("program_id", lambda t, o, u: o["program"]),
        w("beneficiary_id", lambda t, o, u: t["newcomer"]),
        w("company_id", lambda t, o, u: u["company2"]),
        (
            "create",
            "",
            lambda t, o, u: {
                "program_id": t["program"],
                "beneficiary_id": t["candidate"],
            },
            MGR,
            None,
        ),
        ("unlink", "", None, NOBODY, None),  # it has entitlements
        m("action_enroll", MGR, target="m_draft"),
        m("action_pause", MGR),
        m("action_resume", MGR, target="m_paused"),
        m("action_exit", MGR, args=lambda t, o, u: ["moved away"]),
    ],
    (CYCLE, "c_paid"): [
        ("read", "", None, READ, None),
        ("search", "", None, READ, None),
        w("name", lambda t, o, u: "Renamed", MGR),
        w("start_date", lambda t, o, u: "2026-11-30", E(manager="?N", admin="??")),
        w("state", lambda t, o, u: "cancelled"),
        w("generated_by_id", lambda t, o, u: u["approver2"]),
        w("approved_by_id", lambda t, o, u: u["approver2"]),
        w("approved_at", lambda t, o, u: DT),
        w("program_id", lambda t, o, u: o["program"]),
        w("company_id", lambda t, o, u: u["company2"]),
        w("busy_job_uuid", lambda t, o, u: "forged", E(manager="?N", admin="??")),
        (
            "create",
            "",
            lambda t, o, u: {
                "program_id": t["program"],
                "name": "New cycle",
                "start_date": "2028-01-01",
                "end_date": "2028-01-31",
            },
            MGR,
            None,
        ),
        ("unlink", "", None, NOBODY, None),
        m("get_totals", READ),
        m("action_generate_entitlements", MGR, target="c_draft"),
        m("action_to_approve", MGR, target="c_gen"),
        m("action_approve_entitlements", APPR, target="c_toapp"),
        m(
            "action_reject_entitlements",
            APPR,
            target="c_toapp",
            args=lambda t, o, u: ["wrong amounts"],
        ),
        m("action_create_disbursements", MGR, target="c_dist"),
        m("action_mark_distributed", MGR),
        m("action_end", MGR, target="c_dist"),
        m("action_cancel", MGR, target="c_gen"),
        m("action_cancel", NOBODY),  # paid disbursements: nobody
    ],
    (ENT, "e_paid"): [
        ("read", "", None, READ, None),
        ("search", "", None, READ, None),
        w("state", lambda t, o, u: "cancelled"),
        w("approved_by_id", lambda t, o, u: u["approver2"]),
        w("approved_at", lambda t, o, u: DT),
        w("rejection_reason", lambda t, o, u: "forged"),
        w("disbursed_total", lambda t, o, u: 0.0),
        w("remaining", lambda t, o, u: 5000.0),
        w("disbursement_status", lambda t, o, u: "not_started"),
        w("beneficiary_id", lambda t, o, u: t["newcomer"]),
        w("cycle_id", lambda t, o, u: o["c_draft"]),
        w("amount", lambda t, o, u: 5000.0),
        w("quantity", lambda t, o, u: 5.0),
        w("program_id", lambda t, o, u: o["program"]),
        w("company_id", lambda t, o, u: u["company2"]),
        w("benefit_kind", lambda t, o, u: "in_kind"),
        w("currency_id", lambda t, o, u: u["other_currency"]),
        w("valid_until", lambda t, o, u: "2030-12-31", E(manager="?N", admin="??")),
        w("amount", lambda t, o, u: 150.0, MGR, target="e_draft"),
        w("remaining", lambda t, o, u: 5000.0, NOBODY, target="e_dist"),
        (
            "create",
            "",
            lambda t, o, u: {
                "cycle_id": t["c_draft"],
                "beneficiary_id": t["ben"],
                "amount": 10.0,
            },
            MGR,
            None,
        ),
        ("unlink", "", None, NOBODY, None),
        m("action_submit", MGR, target="e_draft"),
        m("action_approve", APPR, target="e_pending"),
        m(
            "action_reject",
            APPR,
            target="e_pending",
            args=lambda t, o, u: ["not eligible"],
        ),
        m("action_cancel", MGR, target="e_draft"),
        m("action_cancel", NOBODY),  # paid: nobody
    ],
    (DISB, "d_paid"): [
        ("read", "", None, READ, None),
        ("search", "", None, READ, None),
        w("status", lambda t, o, u: "reversed"),
        w("status_time", lambda t, o, u: DT),
        w("pending_at", lambda t, o, u: DT),
        w("sent_at", lambda t, o, u: DT),
        w("paid_at", lambda t, o, u: DT),
        w("failed_at", lambda t, o, u: DT),
        w("reversed_at", lambda t, o, u: DT),
        w("failure_reason", lambda t, o, u: "forged"),
        w("reference", lambda t, o, u: "FORGED-REF"),
        w("entitlement_id", lambda t, o, u: t["e_dist"]),
        w("amount", lambda t, o, u: 1.0),
        w("quantity", lambda t, o, u: 1.0),
        w("beneficiary_id", lambda t, o, u: t["newcomer"]),
        w("program_id", lambda t, o, u: o["program"]),
        w("cycle_id", lambda t, o, u: o["c_paid"]),
        w("company_id", lambda t, o, u: u["company2"]),
        w("benefit_kind", lambda t, o, u: "in_kind"),
        w("currency_id", lambda t, o, u: u["other_currency"]),
        # how a paid disbursement was paid is a fact of the record
        w("channel", lambda t, o, u: "cash"),
        # a payment provider reports statuses; it does not set what it pays
        w("amount", lambda t, o, u: 1.0, MGR, target="d_pending"),
        w("reference", lambda t, o, u: "NEW-REF", MGR, target="d_pending"),
        (
            "create",
            "",
            lambda t, o, u: {
                "entitlement_id": t["e_dist"],
                "amount": 10.0,
                "reference": f"MANUAL-{t['e_dist']}",
            },
            MGR,
            None,
        ),
        ("unlink", "", None, NOBODY, None),
        m(
            "action_mark_sent",
            E(manager="YN", admin="YY", api="?N"),
            target="d_pending",
        ),
        m(
            "action_mark_paid",
            E(manager="YN", admin="YY", api="?N"),
            target="d_pending",
        ),
        m(
            "action_mark_failed",
            E(manager="YN", admin="YY", api="?N"),
            target="d_pending",
            args=lambda t, o, u: ["account closed"],
        ),
        m("action_reverse", E(manager="?N", admin="YY", api="?N")),
        m(
            "apply_status_updates",
            E(manager="YN", admin="YY", api="YN"),
            target="@model",
            args=lambda t, o, u: [
                [{"reference": t["d_pending_ref"], "status": "sent"}]
            ],
        ),
    ],
    (HIST, "h"): [
        ("read", "", None, HIST_READ, None),
        ("search", "", None, HIST_READ, None),
        w("to_state", lambda t, o, u: "paid"),
        w("user_id", lambda t, o, u: u["approver2"]),
        w("amount", lambda t, o, u: 1.0),
        (
            "create",
            "",
            lambda t, o, u: {
                "program_id": t["program"],
                "to_state": "paid",
                "user_id": u["approver2"],
            },
            NOBODY,
            None,
        ),
        ("unlink", "", None, NOBODY, None),
    ],
}


@tagged("post_install", "-at_install")
class TestRpcAccessTable(RpcCase):
    """The allow/deny table over JSON-RPC, for every role."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.U = {
            "outsider": cls.user_outsider.id,
            "approver2": cls.user_approver2.id,
            "company2": cls.company2.id,
            "voter_type": cls.id_type_other.id,
            "ind3": cls.ind3.id,
            "other_currency": cls.env["res.currency"]
            .with_context(active_test=False)
            .search([("id", "!=", cls.currency.id)], limit=1)
            .id,
        }

    def _run_op(self, model, op, what, value, target_id, t, o):
        """Run one operation over JSON-RPC; return (Y/N, RpcResult)."""
        U = self.U
        if op == "read":
            result = self.rpc(model, "read", [target_id], [])
            return ("Y" if result.ok and result.result else "N"), result
        if op == "search":
            result = self.rpc(model, "search", [("id", "=", target_id)])
            return ("Y" if result.ok and target_id in result.result else "N"), result
        if op == "write":
            result = self.rpc(model, "write", [target_id], {what: value(t, o, U)})
            return ("Y" if result.ok else "N"), result
        if op == "create":
            result = self.rpc(model, "create", [value(t, o, U)])
            return ("Y" if result.ok else "N"), result
        if op == "unlink":
            result = self.rpc(model, "unlink", [target_id])
            return ("Y" if result.ok else "N"), result
        # public method
        args = list(value(t, o, U)) if value else []
        if target_id == "@model":
            result = self.rpc(model, what, *args)
        else:
            result = self.rpc(model, what, [target_id], *args)
        if not result.ok:
            return "N", result
        if what == "find_by_identifier":
            found = f"({t['ben']},)" in str(result.result)
            return ("Y" if found else "N"), result
        if what == "apply_status_updates":
            applied = result.result and result.result[0].get("result") == "applied"
            return ("Y" if applied else "N"), result
        if what == "get_enrollments":
            return ("Y" if result.result else "N"), result
        if what == "get_entitlements":
            return (
                "Y" if result.result and result.result.get("total") else "N"
            ), result
        return "Y", result

    def test_access_table(self):
        started = time.monotonic()
        printed = []
        failures = 0
        checks = 0
        has_history = HISTORY in self.env
        baseline = self.snapshot()
        self.assertMoneyInvariants("in the fixtures")
        with self.subTest(model=HISTORY, check="exists"):
            self.assertTrue(has_history, f"{HISTORY} does not exist: no money history")
        for role in ROLES:
            if role not in self.users:
                continue  # api client: g2p_br_api not installed
            self.login(role)
            for (model, default_target), rows in TABLE.items():
                if model == HISTORY and not has_history:
                    continue
                for op, what, value, expected, target in rows:
                    key = target or default_target
                    got = ""
                    for index, (prog, other) in enumerate((("A", "B"), ("B", "A"))):
                        want = expected[role][index]
                        if want == "-":
                            got += "-"
                            continue
                        t, o = self.T[prog], self.T[other]
                        target_id = "@model" if key == "@model" else t.get(key)
                        if target_id is None:
                            got += "!"
                            with self.subTest(role=role, model=model, key=key):
                                self.fail(f"no {key} record in program {prog}")
                            continue
                        checks += 1
                        label = (
                            f"{role} {model} {op} {what} [{key}] "
                            f"{'own' if prog == 'A' else 'other'}"
                        )
                        (outcome, result), unchanged, violations = self.savepoint_check(
                            functools.partial(
                                self._run_op, model, op, what, value, target_id, t, o
                            ),
                            baseline,
                        )
                        got += outcome
                        problems = []
                        if want in "YN" and outcome != want:
                            problems.append(
                                f"expected {'allowed' if want == 'Y' else 'refused'}, "
                                f"got {result}"
                            )
                        if not result.ok and not result.clean:
                            problems.append(
                                f"unclean error {result}\n{result.debug[-1200:]}"
                            )
                        if not result.ok and not unchanged:
                            problems.append("refused but changed the data")
                        if violations:
                            problems.append(f"money invariants broken: {violations}")
                        if problems:
                            failures += 1
                            with self.subTest(check=label):
                                self.fail(f"{label}: " + "; ".join(problems))
                    printed.append((model, op, what, key, role, expected[role], got))
        self._print_table(printed, checks, failures, time.monotonic() - started)

    def _print_table(self, printed, checks, failures, elapsed):
        """The table as tested: one line per (model, operation), one column
        per role: expected/got (own program, other program)."""
        rows = {}
        for model, op, what, key, role, want, got in printed:
            rows.setdefault((model, op, what, key), {})[role] = (want, got)
        roles = [r for r in ROLES if r in self.users]
        lines = [
            (
                "Allow/deny table over JSON-RPC (own program A / other program B; "
                "Y allowed, N refused, ? not asserted, - n/a; "
                "expected>got when they differ)"
            ),
            f"{'model':<30} {'operation':<40} " + " ".join(f"{r:<9}" for r in roles),
        ]
        for (model, op, what, key), by_role in rows.items():
            cells = []
            for role in roles:
                want, got = by_role.get(role, ("", ""))
                differs = any(
                    w in "YN" and w != g for w, g in zip(want, got, strict=False)
                )
                cells.append(f"{(want + '>' + got) if differs else got:<9}")
            label = f"{op} {what}".strip() + f" [{key}]"
            lines.append(f"{model:<30} {label:<40} " + " ".join(cells))
        lines.append(f"{checks} checks, {failures} failed, {elapsed:.1f}s")
        _logger.info("\n%s", "\n".join(lines))
