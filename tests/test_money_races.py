# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Races on one entitlement: two clients disbursing it at the same time, in
separate committed transactions, never pay more than the entitlement.

The data is committed (two database sessions must see it), in the throwaway
test database of tools/run-tests."""

import threading
import uuid
from datetime import date

import psycopg2
import pytest

import odoo
from odoo import SUPERUSER_ID, api
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from odoo.addons.g2p_beneficiary_registry.utils import workflow


@pytest.fixture(scope="module")
def registry():
    return odoo.registry(odoo.tools.config["db_name"])


def _approved_entitlement(registry, amount=100.0):
    """An approved cash entitlement of ``amount``, committed."""
    tag = uuid.uuid4().hex[:8].upper()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
        region = f"RACE-{tag}"
        beneficiary = env["g2p.br.beneficiary"].create(
            {"sr_id": f"RACE-{tag}", "region_code": region}
        )
        program = env["g2p.br.program"].create(
            {
                "code": f"RACE-{tag}",
                "name": f"Race {tag}",
                "eligibility_domain": repr([("region_code", "=", region)]),
                "base_amount": amount,
                "four_eyes": False,
            }
        )
        program.action_activate()
        program._enroll_eligible()
        cycle = env["g2p.br.cycle"].create(
            {
                "program_id": program.id,
                "name": f"Race {tag}",
                "start_date": date(2026, 12, 1),
                "end_date": date(2026, 12, 31),
            }
        )
        cycle._generate_entitlements()
        cycle.action_to_approve()
        cycle._approve_entitlements()
        entitlement = cycle.entitlement_ids
        assert entitlement.beneficiary_id == beneficiary
        return entitlement.id


def _race(registry, attempt):
    """Run ``attempt(env, n)`` in two sessions that both hold their snapshot
    before either writes; return what each ended with."""
    barrier = threading.Barrier(2, timeout=30)
    outcomes = []

    def run(n):
        try:
            with registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                cr.execute("SELECT 1")  # the transaction's snapshot
                barrier.wait()
                attempt(env, n)
            outcomes.append("committed")
        except (psycopg2.Error, ValidationError) as err:
            outcomes.append(type(err).__name__)

    threads = [threading.Thread(target=run, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return sorted(outcomes)


def _live_total(registry, entitlement_id):
    with registry.cursor() as cr:
        cr.execute(
            SQL(
                "SELECT COALESCE(SUM(amount), 0) FROM g2p_br_disbursement"
                " WHERE entitlement_id = %s AND status IN ('pending', 'sent', 'paid')",
                entitlement_id,
            )
        )
        live = float(cr.fetchone()[0])
        cr.execute(
            SQL(
                "SELECT live_total, remaining FROM g2p_br_entitlement WHERE id = %s",
                entitlement_id,
            )
        )
        return live, cr.fetchone()


def _assert_one_of_two_paid(registry, entitlement_id, attempt):
    """Two sessions race ``attempt`` (a disbursement of 60 of an entitlement of
    100): one commits, and the entitlement holds 60 live, in its rows and in
    its total."""
    outcomes = _race(registry, attempt)
    assert outcomes.count("committed") == 1, outcomes
    live, (live_total, _remaining) = _live_total(registry, entitlement_id)
    assert live == 60.0
    assert float(live_total) == 60.0


def test_orm_disbursements_race(registry):
    entitlement_id = _approved_entitlement(registry)

    def attempt(env, n):
        env["g2p.br.disbursement"].create(
            {
                "entitlement_id": entitlement_id,
                "reference": f"RACE-ORM-{entitlement_id}-{n}",
                "amount": 60,
            }
        )

    _assert_one_of_two_paid(registry, entitlement_id, attempt)


def test_sql_disbursements_race(registry):
    """A set-based statement written around the models is held by PostgreSQL
    alone (it copies the entitlement's links, as PostgreSQL requires of a new
    disbursement)."""
    entitlement_id = _approved_entitlement(registry)

    def attempt(env, n):
        env.cr.execute(
            SQL(
                """
                INSERT INTO g2p_br_disbursement
                    (entitlement_id, beneficiary_id, program_id, cycle_id,
                     company_id, currency_id, benefit_kind,
                     reference, amount, quantity, channel, status)
                SELECT e.id, e.beneficiary_id, e.program_id, e.cycle_id,
                       e.company_id, e.currency_id, e.benefit_kind,
                       %s, 60, 0, 'bank_transfer', 'pending'
                  FROM g2p_br_entitlement e WHERE e.id = %s
                """,
                f"RACE-SQL-{entitlement_id}-{n}",
                entitlement_id,
            )
        )

    _assert_one_of_two_paid(registry, entitlement_id, attempt)


def test_cancel_races_payment(registry):
    """Cancelling an entitlement while a payment is reported for it: never a
    paid disbursement under a cancelled entitlement."""
    entitlement_id = _approved_entitlement(registry)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        env["g2p.br.disbursement"].create(
            {
                "entitlement_id": entitlement_id,
                "reference": f"RACE-PAY-{entitlement_id}",
                "amount": 100,
            }
        ).action_mark_failed("Timeout at the provider")
        disbursement = env["g2p.br.disbursement"].create(
            {
                "entitlement_id": entitlement_id,
                "reference": f"RACE-PAY2-{entitlement_id}",
                "amount": 100,
            }
        )
        disbursement_id = disbursement.id
        # the manager's view: a failed payment, nothing in flight yet is paid
        env.cr.execute(
            SQL(
                "UPDATE g2p_br_disbursement SET status = 'failed',"
                " failure_reason = 'stale' WHERE id = %s",
                disbursement_id,
            )
        )

    def attempt(env, n):
        if n == 1:
            workflow(env["g2p.br.entitlement"].browse(entitlement_id)).write(
                {"state": "cancelled"}
            )
            env.flush_all()
        else:
            env.cr.execute(
                SQL(
                    "UPDATE g2p_br_disbursement SET status = 'paid' WHERE id = %s",
                    disbursement_id,
                )
            )

    _race(registry, attempt)
    with registry.cursor() as cr:
        cr.execute(
            SQL(
                """
                SELECT COUNT(*) FROM g2p_br_disbursement d
                  JOIN g2p_br_entitlement e ON e.id = d.entitlement_id
                 WHERE e.id = %s AND e.state = 'cancelled'
                   AND d.status IN ('pending', 'sent', 'paid')
                """,
                entitlement_id,
            )
        )
        assert cr.fetchone()[0] == 0
