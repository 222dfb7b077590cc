# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Adversarial tests over the real RPC path (issue #9): shared fixtures.

Every user logs in over HTTP and calls ``/web/dataset/call_kw`` (JSON-RPC) or
``/xmlrpc/2/object`` (XML-RPC), as any client of the server could. The data is
created once per class with the ORM as superuser; every check that may change
it runs inside a savepoint of the test transaction (the HTTP server works in
that same transaction in test mode) and is rolled back afterwards, so that the
checks of the allow/deny table are independent of each other.

The money invariants of issue #9 item 2 are one SQL query,
:data:`MONEY_INVARIANTS_SQL`, run after every scenario.
"""

import json
import logging
import xmlrpc.client
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from passlib.hash import pbkdf2_sha512

from odoo import Command
from odoo.tests import HttpCase
from odoo.tests.common import get_db_name
from odoo.tools import mute_logger

from .common import XMLID, BeneficiaryRegistryCase

_logger = logging.getLogger(__name__)

# Errors a refusal may give over JSON-RPC: anything else (a psycopg2 error, a
# TypeError, a KeyError...) is a 500-style traceback, not a clean refusal.
CLEAN_ERRORS = {
    "odoo.exceptions.AccessError",
    "odoo.exceptions.UserError",
    "odoo.exceptions.ValidationError",
    "odoo.exceptions.MissingError",
}
# XML-RPC fault codes of odoo.addons.base.controllers.rpc: 2 warning
# (UserError and subclasses), 3 access denied, 4 access error; 1 is a traceback.
CLEAN_FAULT_CODES = {2, 3, 4}

# the models the RPC tests call
BEN = "g2p.br.beneficiary"
IDENT = "g2p.br.beneficiary.identifier"
PROG = "g2p.br.program"
MEMB = "g2p.br.program.membership"
CYCLE = "g2p.br.cycle"
ENT = "g2p.br.entitlement"
DISB = "g2p.br.disbursement"
HISTORY = "g2p.br.history"
IMPORT = "g2p.br.disbursement.import.wizard"
CONFIRM = "g2p.br.bulk.confirm.wizard"

# One query, one row per violation of a money invariant (issue #9 item 2).
MONEY_INVARIANTS_SQL = """
WITH value AS (
    SELECT e.id, e.state, e.cycle_id, e.beneficiary_id, e.program_id,
           e.disbursed_total, e.remaining,
           CASE WHEN e.benefit_kind = 'cash' THEN e.amount ELSE e.quantity END
               AS entitled
      FROM g2p_br_entitlement e
), paid AS (
    SELECT v.id,
           COALESCE(SUM(CASE WHEN e.benefit_kind = 'cash' THEN d.amount
                             ELSE d.quantity END)
                    FILTER (WHERE d.status IN ('pending', 'sent', 'paid')), 0)
               AS live,
           COALESCE(SUM(CASE WHEN e.benefit_kind = 'cash' THEN d.amount
                             ELSE d.quantity END)
                    FILTER (WHERE d.status = 'paid'), 0) AS paid
      FROM value v
      JOIN g2p_br_entitlement e ON e.id = v.id
      LEFT JOIN g2p_br_disbursement d ON d.entitlement_id = v.id
     GROUP BY v.id
)
-- 1. live disbursements above the entitlement
SELECT 'over_disbursed' AS violation, v.id AS record_id,
       format('entitled %s, live disbursements %s', v.entitled, p.live) AS detail
  FROM value v JOIN paid p ON p.id = v.id
 WHERE p.live > COALESCE(v.entitled, 0) + 0.005
UNION ALL
-- 2. sent or paid under a dead entitlement or a cancelled cycle
SELECT 'paid_under_dead_parent', d.id,
       format('disbursement %s under entitlement %s / cycle %s',
              d.status, e.state, c.state)
  FROM g2p_br_disbursement d
  JOIN g2p_br_entitlement e ON e.id = d.entitlement_id
  JOIN g2p_br_cycle c ON c.id = e.cycle_id
 WHERE d.status IN ('sent', 'paid')
   AND (e.state IN ('draft', 'pending_approval', 'rejected', 'cancelled')
        OR c.state = 'cancelled')
UNION ALL
-- 3. an entitlement without a membership of its own program
SELECT 'entitlement_without_membership', e.id,
       format('beneficiary %s, program %s', e.beneficiary_id, c.program_id)
  FROM g2p_br_entitlement e
  JOIN g2p_br_cycle c ON c.id = e.cycle_id
 WHERE NOT EXISTS (
        SELECT 1 FROM g2p_br_program_membership m
         WHERE m.beneficiary_id = e.beneficiary_id AND m.program_id = c.program_id)
UNION ALL
-- 3b. denormalised links that disagree with the cycle / entitlement
SELECT 'entitlement_program_mismatch', e.id,
       format('program_id %s, cycle program %s', e.program_id, c.program_id)
  FROM g2p_br_entitlement e
  JOIN g2p_br_cycle c ON c.id = e.cycle_id
 WHERE e.program_id IS DISTINCT FROM c.program_id
UNION ALL
SELECT 'disbursement_link_mismatch', d.id,
       format('disbursement program/cycle/beneficiary/kind/currency %s/%s/%s/%s/%s, '
              'entitlement %s/%s/%s/%s/%s',
              d.program_id, d.cycle_id, d.beneficiary_id, d.benefit_kind,
              d.currency_id, e.program_id, e.cycle_id, e.beneficiary_id,
              e.benefit_kind, e.currency_id)
  FROM g2p_br_disbursement d
  JOIN g2p_br_entitlement e ON e.id = d.entitlement_id
 WHERE d.program_id IS DISTINCT FROM e.program_id
    OR d.cycle_id IS DISTINCT FROM e.cycle_id
    OR d.beneficiary_id IS DISTINCT FROM e.beneficiary_id
    OR d.benefit_kind IS DISTINCT FROM e.benefit_kind
    OR d.currency_id IS DISTINCT FROM e.currency_id
UNION ALL
-- 4. totals equal to their sums
SELECT 'totals_mismatch', v.id,
       format('disbursed_total %s (paid %s), remaining %s (entitled %s)',
              v.disbursed_total, p.paid, v.remaining, v.entitled)
  FROM value v JOIN paid p ON p.id = v.id
 WHERE abs(COALESCE(v.disbursed_total, 0) - p.paid) > 0.005
    OR abs(COALESCE(v.remaining, 0)
           - (COALESCE(v.entitled, 0) - COALESCE(v.disbursed_total, 0))) > 0.005
UNION ALL
-- 5. history links pointing nowhere (they are not foreign keys: history.py)
SELECT 'history_link_dangling', h.id,
       format('entitlement %s, disbursement %s, cycle %s, program %s',
              h.entitlement_id, h.disbursement_id, h.cycle_id, h.program_id)
  FROM g2p_br_history h
 WHERE (h.entitlement_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM g2p_br_entitlement x WHERE x.id = h.entitlement_id))
    OR (h.disbursement_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM g2p_br_disbursement x WHERE x.id = h.disbursement_id))
    OR (h.cycle_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM g2p_br_cycle x WHERE x.id = h.cycle_id))
    OR (h.program_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM g2p_br_program x WHERE x.id = h.program_id))
ORDER BY 1, 2
"""


def money_invariant_violations(cr):
    """Rows ``(violation, record id, detail)`` of every broken money invariant."""
    cr.execute(MONEY_INVARIANTS_SQL)
    return cr.fetchall()


@dataclass
class RpcResult:
    ok: bool
    result: Any = None
    error: str | None = None  # exception class, e.g. odoo.exceptions.AccessError
    message: str = ""
    debug: str = field(default="", repr=False)

    @property
    def clean(self):
        return self.ok or self.error in CLEAN_ERRORS

    def __str__(self):
        if self.ok:
            return f"ok: {str(self.result)[:200]}"
        return f"{self.error}: {self.message[:300]}"


class RpcCase(BeneficiaryRegistryCase, HttpCase):
    """The fixtures of :class:`BeneficiaryRegistryCase` (users of each group,
    programs A and B) with passwords, plus, in each program, records in every
    state that the table needs: see :meth:`_build_program`."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api_installed = bool(
            cls.env.ref(
                "g2p_br_api.group_br_api_disbursement_writer", raise_if_not_found=False
            )
        )
        if cls.api_installed:
            cls.user_api = cls.create_user(
                "br_api_client", "g2p_br_api.group_br_api_disbursement_writer"
            )
            cls.program_a.user_ids = [Command.link(cls.user_api.id)]
        auditor = cls.env.ref(XMLID % "group_br_auditor", raise_if_not_found=False)
        cls.user_auditor = None
        if auditor:
            cls.user_auditor = cls.create_user("br_auditor", XMLID % "group_br_auditor")
        # a manager who is also an approver (four-eyes per person)
        cls.user_manager_approver = cls.create_user(
            "br_manager_approver",
            XMLID % "group_br_manager",
            XMLID % "group_br_approver",
        )
        cls.program_a.user_ids = [Command.link(cls.user_manager_approver.id)]
        # passwords of the users, hashed with few rounds: the default 600,000
        # rounds cost a second per user (passlib verifies with the rounds
        # stored in the hash)
        cheap = pbkdf2_sha512.using(rounds=1000)
        cls.env.flush_all()
        for user in cls.env["res.users"].search([("login", "=like", "br\\_%")]):
            cls.env.cr.execute(
                "UPDATE res_users SET password = %s WHERE id = %s",
                (cheap.hash(user.login), user.id),
            )
        cls.env.invalidate_all()
        cls.users = {
            "viewer": cls.user_viewer,
            "manager": cls.user_manager,
            "approver": cls.user_approver,
            "admin": cls.user_admin,
            "outsider": cls.user_outsider,
        }
        if cls.api_installed:
            cls.users["api"] = cls.user_api
        if cls.user_auditor:
            cls.users["auditor"] = cls.user_auditor

        cls.company2 = cls.env["res.company"].create({"name": "BR RPC Company 2"})
        cls.id_type_other = cls.env["g2p.br.identifier.type"].create(
            {"code": "VOTER_ID", "name": "Voter ID"}
        )
        cls.ind2.identifier_ids = [
            Command.create({"type_id": cls.id_type_nid.id, "value": "NID-2"})
        ]
        cls.hh2.identifier_ids = [
            Command.create({"type_id": cls.id_type_nid.id, "value": "NID-B"})
        ]
        cls.T = {
            "A": cls._build_program(cls.program_a, cls.ind1, cls.ind2, "ZZR1"),
            "B": cls._build_program(cls.program_b, cls.hh2, cls.hh1, "ZZR2"),
        }
        cls.T["A"]["find"] = ["NATIONAL_ID", "NID-1"]
        cls.T["B"]["find"] = ["NATIONAL_ID", "NID-B"]
        # four-eyes on in both programs (set in SQL: the fixture is not the
        # scenario; the contract's default for new programs is on anyway)
        cls.env.flush_all()
        cls.env.cr.execute(
            "UPDATE g2p_br_program SET four_eyes = TRUE WHERE id IN %s",
            ((cls.program_a.id, cls.program_b.id),),
        )
        cls.env.invalidate_all()
        cls.env.flush_all()
        cls._history_ids()
        cls.fixture_beneficiaries = tuple(
            cls.env["g2p.br.beneficiary"]
            .with_context(active_test=False)
            .search([("sr_id", "=like", "SR-%"), ("sr_id", "not like", "SR-DEMO-%")])
            .ids
        ) or (0,)

    @classmethod
    def _build_program(cls, program, ben, other_member, region):
        """Records of ``program`` in every state, keyed by name.

        ``ben`` is the beneficiary the table targets (paid in ``c_paid``);
        ``other_member`` is the second member (pending in ``c_paid``, paused
        at the end)."""

        def ent(cycle, beneficiary):
            return cls.env["g2p.br.entitlement"].search(
                [("cycle_id", "=", cycle.id), ("beneficiary_id", "=", beneficiary.id)]
            )

        t = {"program": program.id}
        # approved, disbursements created, ben's paid, the other pending
        c_paid = cls.approved_cycle(
            program, start=date(2026, 12, 1), end=date(2026, 12, 31)
        )
        c_paid.action_create_disbursements()
        e_paid = ent(c_paid, ben)
        d_paid = e_paid.disbursement_ids
        d_paid.action_mark_paid()
        e_other = ent(c_paid, other_member)
        d_pending = e_other.disbursement_ids
        # approved then distributed, no disbursement
        c_dist = cls.approved_cycle(
            program, start=date(2027, 4, 1), end=date(2027, 4, 30)
        )
        c_dist.action_mark_distributed()
        # to approve
        c_toapp = cls.generated_cycle(
            program, start=date(2027, 3, 1), end=date(2027, 3, 31)
        )
        c_toapp.action_to_approve()
        # generated, draft
        c_gen = cls.generated_cycle(
            program, start=date(2027, 2, 1), end=date(2027, 2, 28)
        )
        # empty draft
        c_draft = cls.create_cycle(
            program, start=date(2027, 1, 1), end=date(2027, 1, 31)
        )
        membership = cls.env["g2p.br.program.membership"]
        m_enrolled = membership.search(
            [("program_id", "=", program.id), ("beneficiary_id", "=", ben.id)]
        )
        m_paused = membership.search(
            [("program_id", "=", program.id), ("beneficiary_id", "=", other_member.id)]
        )
        m_paused.action_pause()
        newcomer = cls.create_beneficiary(
            kind=program.target_type,
            region_code="ZZR1" if program.target_type == "individual" else region,
            group_size=3 if program.target_type == "group" else 0,
        )
        m_draft = membership.create(
            {"program_id": program.id, "beneficiary_id": newcomer.id}
        )
        # of the program's target kind, not eligible, not a member: to create
        # a membership
        candidate = cls.create_beneficiary(
            kind=program.target_type,
            region_code="ZZR3",
            group_size=2 if program.target_type == "group" else 0,
        )
        t.update(
            ben=ben.id,
            ben2=other_member.id,
            newcomer=newcomer.id,
            candidate=candidate.id,
            ident=ben.identifier_ids[:1].id,
            c_paid=c_paid.id,
            c_dist=c_dist.id,
            c_toapp=c_toapp.id,
            c_gen=c_gen.id,
            c_draft=c_draft.id,
            e_paid=e_paid.id,
            e_pending_pay=e_other.id,
            e_dist=ent(c_dist, ben).id,
            e_dist_value=ent(c_dist, ben).amount,
            e_pending=ent(c_toapp, ben).id,
            e_draft=ent(c_gen, ben).id,
            d_paid=d_paid.id,
            d_paid_ref=d_paid.reference,
            d_pending=d_pending.id,
            d_pending_ref=d_pending.reference,
            m_enrolled=m_enrolled.id,
            m_paused=m_paused.id,
            m_draft=m_draft.id,
        )
        assert all(t.values()), t
        return t

    @classmethod
    def _history_ids(cls):
        for t in cls.T.values():
            t["h"] = None
            if HISTORY in cls.env:
                history = cls.env[HISTORY].search(
                    [("program_id", "=", t["program"])], limit=1
                )
                t["h"] = history.id or None

    def setUp(self):
        super().setUp()
        self._openers = {}
        # after every scenario: the money invariants hold (issue #9 item 2)
        self.addCleanup(self.assertMoneyInvariants)

    # ------------------------------------------------------------------
    # Invariants, snapshots
    # ------------------------------------------------------------------
    def assertMoneyInvariants(self, context=""):
        self.env.flush_all()
        violations = money_invariant_violations(self.env.cr)
        self.assertFalse(
            violations,
            f"money invariants broken{' ' + context if context else ''}: {violations}",
        )

    def snapshot(self):
        """A fingerprint of every BR row of the fixtures (and the highest id of
        each table): equal before and after a refused call."""
        programs = (self.program_a.id, self.program_b.id)
        beneficiaries = self.fixture_beneficiaries
        tables = [
            ("g2p_br_program", "t.id IN %(p)s"),
            ("g2p_br_program_res_users_rel", "t.program_id IN %(p)s"),
            ("g2p_br_program_membership", "t.program_id IN %(p)s"),
            ("g2p_br_cycle", "t.program_id IN %(p)s"),
            ("g2p_br_entitlement", "t.program_id IN %(p)s"),
            ("g2p_br_disbursement", "t.program_id IN %(p)s"),
            ("g2p_br_beneficiary", "t.id IN %(b)s"),
            ("g2p_br_beneficiary_identifier", "t.beneficiary_id IN %(b)s"),
        ]
        if HISTORY in self.env:
            tables.append((self.env[HISTORY]._table, "t.program_id IN %(p)s"))
        parts = []
        for table, where in tables:
            order = "t::text" if table.endswith("_rel") else "t.id"
            maxid = "0" if table.endswith("_rel") else f"(SELECT max(id) FROM {table})"
            parts.append(
                f"SELECT '{table}', md5(COALESCE(string_agg(t::text, '|' ORDER BY "
                f"{order}), '')), {maxid} FROM {table} t WHERE {where}"
            )
        self.env.flush_all()
        self.env.cr.execute(
            " UNION ALL ".join(parts), {"p": programs, "b": beneficiaries}
        )
        return sorted(self.env.cr.fetchall())

    # ------------------------------------------------------------------
    # RPC
    # ------------------------------------------------------------------
    def login(self, role_or_user):
        """Log ``role_or_user`` in over HTTP (once per test) and make its
        session the current one."""
        user = (
            self.users[role_or_user] if isinstance(role_or_user, str) else role_or_user
        )
        if user.login not in self._openers:
            self.session = None  # keep the other users' sessions alive
            self.authenticate(user.login, user.login)
            self._openers[user.login] = (self.opener, self.session)
        self.opener, self.session = self._openers[user.login]
        return user

    def rpc(self, model, method, *args, timeout=60, **kwargs):
        """JSON-RPC ``call_kw`` as the logged-in user; never raises on an
        Odoo error: returns an :class:`RpcResult`."""
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "method": "call",
                "id": 1,
                "params": {
                    "model": model,
                    "method": method,
                    "args": list(args),
                    "kwargs": kwargs,
                },
            }
        )
        # a refusal by PostgreSQL (constraint, trigger) is logged as a "bad
        # query" by the server: the assertions judge the error, not the log
        with mute_logger("odoo.sql_db"):
            response = self.url_open(
                f"/web/dataset/call_kw/{model}/{method}",
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=timeout,
            )
        self.env.invalidate_all()
        if response.status_code != 200:
            return RpcResult(
                False, error=f"HTTP {response.status_code}", message=response.text[:500]
            )
        payload = response.json()
        if "error" in payload:
            data = payload["error"].get("data") or {}
            return RpcResult(
                False,
                error=data.get("name"),
                message=data.get("message") or payload["error"].get("message", ""),
                debug=data.get("debug", ""),
            )
        return RpcResult(True, result=payload.get("result"))

    def rpc_as(self, role, model, method, *args, **kwargs):
        self.login(role)
        return self.rpc(model, method, *args, **kwargs)

    def xmlrpc_as(self, user, model, method, *args, **kwargs):
        """XML-RPC ``execute_kw`` with the user's password; returns an
        :class:`RpcResult` (error: the fault code as a string)."""
        try:
            with mute_logger("odoo.sql_db"):
                result = self.xmlrpc_object.execute_kw(
                    get_db_name(),
                    user.id,
                    user.login,
                    model,
                    method,
                    list(args),
                    kwargs,
                )
        except xmlrpc.client.Fault as fault:
            self.env.invalidate_all()
            return RpcResult(
                False, error=f"fault {fault.faultCode}", message=str(fault.faultString)
            )
        self.env.invalidate_all()
        return RpcResult(True, result=result)

    # ------------------------------------------------------------------
    # Assertions
    # ------------------------------------------------------------------
    def assertRefused(self, result, what="", names=None):
        """A clean refusal (an Odoo user-facing error), never a traceback of
        another kind nor a success."""
        self.assertFalse(result.ok, f"{what}: accepted, expected a refusal ({result})")
        self.assertIn(
            result.error,
            names or CLEAN_ERRORS,
            f"{what}: refused with an unclean error {result}\n{result.debug[-1500:]}",
        )

    def assertAccepted(self, result, what=""):
        self.assertTrue(
            result.ok,
            f"{what}: refused, expected success ({result})\n{result.debug[-1500:]}",
        )
        return result.result

    def savepoint_check(self, call, baseline=None):
        """Run ``call()`` in a savepoint rolled back afterwards; return
        ``(result, unchanged, violations)``. ``baseline``: the snapshot before
        (the same for every check, since each one is rolled back)."""
        self.env.flush_all()
        self.env.cr.execute("SAVEPOINT rpc_check")
        try:
            before = baseline if baseline is not None else self.snapshot()
            result = call()
            outcome = result[1] if isinstance(result, tuple) else result
            if getattr(outcome, "ok", True):
                # allowed: the money invariants still hold
                unchanged, violations = None, money_invariant_violations(self.env.cr)
            else:
                # refused: nothing changed (so the invariants are as before)
                unchanged, violations = self.snapshot() == before, []
        finally:
            self.env.cr.execute("ROLLBACK TO SAVEPOINT rpc_check")
            self.env.cr.execute("RELEASE SAVEPOINT rpc_check")
            self.env.invalidate_all()
        return result, unchanged, violations
