"""Benchmark one bulk operation of the core addon, with its two references.

Each operation runs in its own process (so that its peak memory is its own) on
a database prepared by ``benchmarks/run.py``, in three ways on the same data:

* **ours**: the addon's method, as a program manager's button calls it
  (inline: the queue job runs the very same method);
* **sql floor**: one set-based statement producing the same rows in the same
  tables, inside a savepoint that is rolled back;
* **naive ORM**: per-record ``create``/``write`` as upstream does it, on a
  sample of ``--sample`` rows inside a savepoint that is rolled back,
  reported per row and extrapolated to the full size.

Prints one JSON object on the last line of stdout.
"""

import argparse
import json
import resource
import sys
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROGRAM_CODE = "BENCH"
ADMIN_UID = 2


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timed(result, key):
    start = time.perf_counter()
    yield
    result[key] = round(time.perf_counter() - start, 3)


@contextmanager
def rolled_back(env):
    """Run the block in a savepoint that is always rolled back."""
    cr = env.cr
    cr.execute("SAVEPOINT bench")
    try:
        yield
    finally:
        env.flush_all()
        cr.execute("ROLLBACK TO SAVEPOINT bench")
        env.invalidate_all()


def program(env):
    return env["g2p.br.program"].search([("code", "=", PROGRAM_CODE)])


def cycle(env):
    return env["g2p.br.cycle"].search([("program_id.code", "=", PROGRAM_CODE)], limit=1)


def setup_enroll(env):
    prog = env["g2p.br.program"].create(
        {
            "code": PROGRAM_CODE,
            "name": "Benchmark program",
            "target_type": "individual",
            "eligibility_domain": "[('region_code', '!=', 'R10')]",
            "base_amount": 50.0,
            "cycle_frequency": "monthly",
        }
    )
    prog.action_activate()


def refs_enroll(env, sample, result):
    prog = program(env)
    with rolled_back(env), timed(result, "sql_floor_s"):
        env.cr.execute(
            """
            INSERT INTO g2p_br_program_membership
                (beneficiary_id, program_id, company_id, state, enrollment_date,
                 create_uid, create_date, write_uid, write_date)
            SELECT b.id, %s, 1, 'enrolled', current_date, 2, now(), 2, now()
              FROM g2p_br_beneficiary b
             WHERE b.active AND b.kind = 'individual' AND b.region_code <> 'R10'
            """,
            (prog.id,),
        )
    eligible = env["g2p.br.beneficiary"].search(
        prog._get_eligibility_domain(), limit=sample
    )
    with rolled_back(env), timed(result, "naive_sample_s"):
        Membership = env["g2p.br.program.membership"]
        for beneficiary in eligible:
            membership = Membership.create(
                {"program_id": prog.id, "beneficiary_id": beneficiary.id}
            )
            membership.action_enroll()
    result["naive_rows"] = len(eligible)


def ours_enroll(env, result):
    summary = program(env).action_enroll_eligible()
    result["rows"] = summary["created"]


def setup_verify(env):
    # 5% of the beneficiaries change: half leave the eligible regions, half
    # of the same number come in from R10.
    env.cr.execute("SELECT COUNT(*) FROM g2p_br_beneficiary")
    changed = env.cr.fetchone()[0] // 20
    env.cr.execute(
        """
        UPDATE g2p_br_beneficiary SET region_code = 'R10', write_date = now()
         WHERE id IN (SELECT id FROM g2p_br_beneficiary
                       WHERE kind = 'individual' AND region_code = 'R01' LIMIT %s);
        UPDATE g2p_br_beneficiary SET region_code = 'R01', write_date = now()
         WHERE id IN (SELECT id FROM g2p_br_beneficiary
                       WHERE kind = 'individual' AND region_code = 'R10'
                         AND write_date < now() LIMIT %s);
        """,
        (changed // 2, changed // 2),
    )
    env.invalidate_all()


def refs_verify(env, sample, result):
    prog = program(env)
    with rolled_back(env), timed(result, "sql_floor_s"):
        env.cr.execute(
            """
            UPDATE g2p_br_program_membership m SET state = 'not_eligible'
              FROM g2p_br_beneficiary b
             WHERE b.id = m.beneficiary_id AND m.program_id = %(p)s
               AND m.state = 'enrolled' AND b.region_code = 'R10';
            UPDATE g2p_br_program_membership m SET state = 'enrolled'
              FROM g2p_br_beneficiary b
             WHERE b.id = m.beneficiary_id AND m.program_id = %(p)s
               AND m.state = 'not_eligible' AND b.region_code <> 'R10';
            """,
            {"p": prog.id},
        )
    memberships = env["g2p.br.program.membership"].search(
        [("program_id", "=", prog.id), ("state", "in", ("enrolled", "not_eligible"))],
        limit=sample,
    )
    Beneficiary = env["g2p.br.beneficiary"]
    domain = prog._get_eligibility_domain()
    with rolled_back(env), timed(result, "naive_sample_s"):
        # Upstream's way: evaluate the rule for each member, write each change.
        for membership in memberships:
            eligible = Beneficiary.search_count(
                domain + [("id", "=", membership.beneficiary_id.id)]
            )
            if not eligible and membership.state == "enrolled":
                membership.write({"state": "not_eligible"})
            elif eligible and membership.state == "not_eligible":
                membership.write({"state": "enrolled"})
    result["naive_rows"] = len(memberships)
    result["naive_scale_rows"] = env["g2p.br.program.membership"].search_count(
        [("program_id", "=", prog.id)]
    )


def ours_verify(env, result):
    summary = program(env).action_verify_eligibility()
    result["rows"] = summary["not_eligible"] + summary["enrolled"]


def setup_generate(env):
    program(env)._create_next_cycle()


def refs_generate(env, sample, result):
    prog = program(env)
    cyc = cycle(env)
    with rolled_back(env), timed(result, "sql_floor_s"):
        env.cr.execute(
            """
            INSERT INTO g2p_br_entitlement
                (beneficiary_id, cycle_id, program_id, company_id, benefit_kind, amount,
                 currency_id, quantity, valid_from, valid_until, state, disbursed_total,
                 remaining, disbursement_status, create_uid, create_date, write_uid,
                 write_date)
            SELECT m.beneficiary_id, %(c)s, %(p)s, 1, 'cash', 50, 1, 0, %(s)s, %(e)s,
                   'draft', 0, 50, 'not_started', 2, now(), 2, now()
              FROM g2p_br_program_membership m
             WHERE m.program_id = %(p)s AND m.state = 'enrolled'
            """,
            {"c": cyc.id, "p": prog.id, "s": cyc.start_date, "e": cyc.end_date},
        )
    members = env["g2p.br.program.membership"].search(
        [("program_id", "=", prog.id), ("state", "=", "enrolled")], limit=sample
    )
    with rolled_back(env), timed(result, "naive_sample_s"):
        Entitlement = env["g2p.br.entitlement"]
        for membership in members:
            Entitlement.create(
                {
                    "cycle_id": cyc.id,
                    "beneficiary_id": membership.beneficiary_id.id,
                    "amount": prog._compute_entitlement_amount(
                        membership.beneficiary_id
                    ),
                }
            )
    result["naive_rows"] = len(members)


def ours_generate(env, result):
    summary = cycle(env).action_generate_entitlements()
    result["rows"] = summary["created"]


def setup_approve(env):
    cycle(env).action_to_approve()


def refs_approve(env, sample, result):
    cyc = cycle(env)
    with rolled_back(env), timed(result, "sql_floor_s"):
        env.cr.execute(
            """
            UPDATE g2p_br_entitlement SET state = 'approved', approved_by_id = 2,
                   approved_at = now(), write_uid = 2, write_date = now()
             WHERE cycle_id = %s AND state = 'pending_approval'
            """,
            (cyc.id,),
        )
    entitlements = env["g2p.br.entitlement"].search(
        [("cycle_id", "=", cyc.id), ("state", "=", "pending_approval")], limit=sample
    )
    with rolled_back(env), timed(result, "naive_sample_s"):
        for entitlement in entitlements:
            entitlement.action_approve()
    result["naive_rows"] = len(entitlements)


def ours_approve(env, result):
    summary = cycle(env).action_approve_entitlements()
    result["rows"] = summary["approved"]


def refs_disburse(env, sample, result):
    cyc = cycle(env)
    with rolled_back(env), timed(result, "sql_floor_s"):
        env.cr.execute(
            """
            INSERT INTO g2p_br_disbursement
                (entitlement_id, beneficiary_id, program_id, cycle_id, company_id,
                 benefit_kind, reference, amount, quantity, currency_id, channel,
                 status,
                 pending_at, status_time, create_uid, create_date, write_uid,
                 write_date)
            SELECT e.id, e.beneficiary_id, e.program_id, e.cycle_id, e.company_id,
                   e.benefit_kind, 'BR-' || e.id || '-1', e.remaining, 0, e.currency_id,
                   'bank_transfer', 'pending', now(), now(), 2, now(), 2, now()
              FROM g2p_br_entitlement e
             WHERE e.cycle_id = %s AND e.state = 'approved' AND e.remaining > 0
            """,
            (cyc.id,),
        )
    entitlements = env["g2p.br.entitlement"].search(
        [("cycle_id", "=", cyc.id), ("state", "=", "approved")], limit=sample
    )
    with rolled_back(env), timed(result, "naive_sample_s"):
        Disbursement = env["g2p.br.disbursement"]
        for entitlement in entitlements:
            Disbursement.create(
                {
                    "entitlement_id": entitlement.id,
                    "reference": f"NAIVE-{entitlement.id}",
                    "amount": entitlement.remaining,
                }
            )
    result["naive_rows"] = len(entitlements)


def ours_disburse(env, result):
    summary = cycle(env).action_create_disbursements()
    result["rows"] = summary["created"]


def status_references(env, updates=100_000):
    env.cr.execute(
        "SELECT reference FROM g2p_br_disbursement WHERE cycle_id = %s "
        "AND status = 'pending' ORDER BY id LIMIT %s",
        (cycle(env).id, updates),
    )
    return [row[0] for row in env.cr.fetchall()]


def refs_status(env, sample, result):
    references = status_references(env)
    Disbursement = env["g2p.br.disbursement"]
    with rolled_back(env), timed(result, "sql_floor_s"):
        env.cr.execute(
            "UPDATE g2p_br_disbursement SET status = 'paid', paid_at = now(), "
            "status_time = now() WHERE reference IN %s",
            (tuple(references),),
        )
    sample_refs = Disbursement.search([("reference", "in", references[:sample])])
    with rolled_back(env), timed(result, "naive_sample_s"):
        for disbursement in sample_refs:
            disbursement.action_mark_paid()
    result["naive_rows"] = len(sample_refs)


def ours_status(env, result, batch=1000):
    """100,000 status updates through the model method the API calls, in
    batches of 1,000 (the API's maximum), one transaction per batch."""
    references = status_references(env)
    Disbursement = env["g2p.br.disbursement"]
    for start in range(0, len(references), batch):
        items = [
            {"reference": ref, "status": "paid", "status_time": "2026-11-25T10:00:00Z"}
            for ref in references[start : start + batch]
        ]
        results = Disbursement.apply_status_updates(items)
        assert all(r["result"] == "applied" for r in results), results[:3]
        env.cr.commit()
    result["rows"] = len(references)


def nothing(env):
    """No preparation needed."""


# operation: (setup, references, ours); each part runs in its own process
OPERATIONS = {
    "enroll": (setup_enroll, refs_enroll, ours_enroll),
    "verify": (setup_verify, refs_verify, ours_verify),
    "generate": (setup_generate, refs_generate, ours_generate),
    "approve": (setup_approve, refs_approve, ours_approve),
    "disburse": (nothing, refs_disburse, ours_disburse),
    "status": (nothing, refs_status, ours_status),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--op", required=True, choices=sorted(OPERATIONS))
    parser.add_argument("--part", required=True, choices=("setup", "refs", "ours"))
    parser.add_argument("--sample", type=int, default=10_000)
    args = parser.parse_args()

    import odoo
    from odoo import api

    odoo.tools.config.parse_config(
        ["-d", args.db, f"--addons-path={REPO}", "--log-level=warn"]
    )
    registry = odoo.registry(args.db)
    with registry.cursor() as cr:
        env = api.Environment(
            cr, ADMIN_UID, {"tracking_disable": True, "tz": "UTC", "lang": "en_US"}
        )
        env["ir.config_parameter"].sudo().set_param(
            "g2p_beneficiary_registry.bulk_async_threshold", str(10**9)
        )
        setup, refs, ours = OPERATIONS[args.op]
        result = {}
        if args.part == "setup":
            setup(env)
        elif args.part == "refs":
            refs(env, args.sample, result)
        else:
            with timed(result, "ours_s"):
                ours(env, result)
                env.flush_all()
                cr.commit()
        cr.commit()
    result.update(
        op=args.op,
        part=args.part,
        peak_rss_mib=round(peak_rss_mib(), 1),
        date=str(date.today()),
    )
    print(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
