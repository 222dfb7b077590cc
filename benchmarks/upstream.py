# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Upstream OpenG2P side by side: time upstream's program steps on our data.

Given the path(s) of an upstream OpenG2P 17.0 checkout (``openg2p-registry``
and ``openg2p-program``; nothing of theirs is in this repository), creates a
database with their ``g2p_programs`` installed (no demo data), generates the
very beneficiaries our benchmark generates (``datagen.generate``, same seed,
run into scratch tables of the same name and then mapped onto upstream's
registrants: ``res.partner`` individuals and groups, group memberships,
``g2p.reg.id`` identifiers, the region as a ``g2p.district``), creates a
program through upstream's own *Create Program* wizard with the rule and
amount of ours (individuals, region other than R10; 50 per cycle, nothing per
member) and a posted fund large enough, then times upstream's buttons, in
order:

* ``import``: the eligibility manager's ``import_eligible_registrants()``
  (what *Create Program* with "import beneficiaries" calls), as draft members;
* ``enroll``: the program's *Enroll Eligible Registrants*
  (``enroll_eligible_registrants()``);
* ``cycle``: the program's *Create New Cycle* (``create_new_cycle()``: the
  cycle and one ``g2p.cycle.membership`` row per enrolled member);
* ``generate``: the cycle's *Prepare Entitlement*;
* ``to_approve``: the cycle's *To Approve* (entitlements pending validation);
* ``approve``: the cycle's *Approve* then *Approve Entitlement*
  (``validate_entitlement()``: a fund check and an ``account.payment`` per
  entitlement);
* ``disburse``: the cycle's *Prepare Payments* (a ``g2p.payment`` per
  approved entitlement, in batches of 500).

Upstream's managers enqueue queue jobs above 200 rows (hard-coded class
attributes). The benchmark keeps that: each step is the button, committed,
then every job it enqueued (and those their completion releases) run as
queue_job's runner runs them (``RunJobController._try_perform_job``: set
started, commit, perform, set done, commit), on the same connection, until
none is left; the step's time includes them. With ``--budget`` a step stops
running jobs after that many seconds and its time is extrapolated linearly
to all rows (flagged ``extrapolated``; the steps after it then work on the
rows done).

Wall time and CPU seconds (the PostgreSQL backend's, from
``/proc/<pg_backend_pid()>/stat``, plus this process's) per step, as
``bench_core.cpu_measured``. With ``--ours FILE`` (a ``core-<size>.json`` of
``run.py``) it adds the ratios ours / upstream. Writes
``benchmarks/results/upstream-<size>.json`` and ``.md``.

Usage::

    python3 benchmarks/upstream.py --size 10000 \\
        --upstream ~/openg2p-registry,~/openg2p-program \\
        --ours benchmarks/results/core-10000.json --drop
"""

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import odoo_db
from bench_core import backend_memory, cpu_measured, timed
from datagen import REGIONS, generate
from odoo_db import odoo_args, run

ADMIN_UID = 2
AMOUNT = 50.0
EXCLUDED_REGION = "R10"
STEPS = ["import", "enroll", "cycle", "generate", "to_approve", "approve", "disburse"]
LABELS = {
    "import": "Import eligible registrants (upstream only)",
    "enroll": "Enroll eligible",
    "cycle": "Create cycle",
    "generate": "Generate entitlements",
    "to_approve": "Send for approval",
    "approve": "Approve entitlements",
    "disburse": "Create disbursements / prepare payments",
}
# which of our operations each upstream step is set against ("enroll" is
# upstream's import + enroll; ours creates its cycle untimed, in the setup)
OURS_OF = {
    "enroll": ("import", "enroll"),
    "generate": ("generate",),
    "to_approve": ("to_approve",),
    "approve": ("approve",),
    "disburse": ("disburse",),
}
DIFFERENCES = {
    "enroll": "upstream first imports every eligible registrant as a draft "
    "program membership (one ORM create per row through the program's "
    "one2many), then re-runs the rule and writes them enrolled; ours inserts "
    "the enrolled memberships in one statement (no history row for a "
    "membership)",
    "cycle": "upstream writes one cycle membership row per enrolled member; "
    "ours has no cycle membership rows (its cycle is created untimed, in the "
    "setup)",
    "generate": "upstream creates the entitlements through the ORM (each with "
    "a random code), after reading the cycle's members; ours inserts them in "
    "one statement, checks membership in the database and writes a history "
    "row per entitlement",
    "to_approve": "both move every entitlement to the next state; upstream "
    "through the ORM in jobs of 2,000, ours in one UPDATE with history rows",
    "approve": "upstream checks the program's fund (a SUM over the approved "
    "entitlements) and creates an account.payment with its account.move "
    "(draft) per entitlement; ours checks no fund and writes no accounting "
    "entry, only the approval (approver, time) and history rows",
    "disburse": "upstream creates a g2p.payment per approved entitlement and "
    "batches of 500 through the ORM; ours inserts the disbursements in one "
    "statement with their references, marks the entitlements in progress, "
    "refreshes totals and writes history rows",
}

# the scratch tables ``datagen.generate`` fills (our tables' names and
# columns), mapped onto upstream's registrants and then dropped
SCRATCH = """
CREATE TABLE g2p_br_beneficiary (
    id serial PRIMARY KEY, sr_id varchar, kind varchar, active boolean,
    sex varchar, birth_date date, region_code varchar, group_size integer,
    poverty_score numeric, disability boolean, group_id integer,
    company_id integer, sr_updated_at timestamp, synced_at timestamp,
    create_uid integer, create_date timestamp, write_uid integer,
    write_date timestamp);
CREATE TABLE g2p_br_identifier_type (
    id serial PRIMARY KEY, code varchar, name jsonb, active boolean,
    create_uid integer, create_date timestamp, write_uid integer,
    write_date timestamp);
CREATE TABLE g2p_br_beneficiary_identifier (
    id serial PRIMARY KEY, beneficiary_id integer, type_id integer,
    value varchar, company_id integer, create_uid integer,
    create_date timestamp, write_uid integer, write_date timestamp);
"""


def create_database(db, addons, template=None):
    odoo_db.create_database(db, "g2p_programs", addons, 18997, template)


# ----------------------------------------------------------------------
# Data: our generator, mapped onto upstream's registrants
# ----------------------------------------------------------------------
def map_registrants(cr):
    """Our generated beneficiaries as upstream registrants; return the id of
    the excluded region's district."""
    cr.execute(
        """
        INSERT INTO g2p_district (name, create_uid, create_date, write_uid,
                                  write_date)
        SELECT 'R' || lpad(i::text, 2, '0'), 1, now(), 1, now()
          FROM generate_series(1, %s) AS i
        """,
        (REGIONS,),
    )
    cr.execute("SELECT id FROM g2p_district WHERE name = %s", (EXCLUDED_REGION,))
    excluded = cr.fetchone()[0]
    # a fresh upstream database has no gender types: the two ours uses
    cr.execute(
        """
        INSERT INTO gender_type (code, value, active, create_uid, create_date,
                                 write_uid, write_date)
        SELECT v, v, true, 1, now(), 1, now() FROM unnest(%s) AS v
         WHERE NOT EXISTS (SELECT 1 FROM gender_type)
        """,
        (["Female", "Male"],),
    )
    cr.execute("SELECT value FROM gender_type ORDER BY id")
    genders = [value for (value,) in cr.fetchall()]
    female = next((g for g in genders if g.lower() == "female"), None)
    male = next((g for g in genders if g.lower() == "male"), None)
    cr.execute("ALTER TABLE res_partner ADD COLUMN bench_src integer")
    cr.execute(
        """
        INSERT INTO res_partner
            (bench_src, name, complete_name, active, type, is_company,
             is_registrant, is_group, gender, birthdate, district, company_id,
             registration_date, create_uid, create_date, write_uid, write_date)
        SELECT b.id, b.sr_id, b.sr_id, b.active, 'contact', false, true,
               b.kind = 'group',
               CASE b.sex WHEN 'female' THEN %(female)s
                          WHEN 'male' THEN %(male)s END,
               b.birth_date, d.id, b.company_id, b.create_date::date,
               1, now(), 1, now()
          FROM g2p_br_beneficiary b
          JOIN g2p_district d ON d.name = b.region_code
         ORDER BY b.id
        """,
        {"female": female, "male": male},
    )
    cr.execute(
        "UPDATE res_partner SET commercial_partner_id = id WHERE bench_src IS NOT NULL"
    )
    cr.execute(
        """
        INSERT INTO g2p_group_membership
            ("group", individual, start_date, is_ended, create_uid,
             create_date, write_uid, write_date)
        SELECT g.id, p.id, now(), false, 1, now(), 1, now()
          FROM g2p_br_beneficiary b
          JOIN res_partner p ON p.bench_src = b.id
          JOIN res_partner g ON g.bench_src = b.group_id
         WHERE b.kind = 'individual'
        """
    )
    cr.execute(
        """
        UPDATE res_partner g SET z_ind_grp_num_individuals = m.n
          FROM (SELECT "group", count(*) AS n FROM g2p_group_membership
                GROUP BY "group") m
         WHERE g.id = m."group"
        """
    )
    for code in ("NATIONAL_ID", "UIN"):
        cr.execute(
            """
            INSERT INTO g2p_id_type (name, create_uid, create_date, write_uid,
                                     write_date)
            SELECT %s, 1, now(), 1, now()
             WHERE NOT EXISTS (SELECT 1 FROM g2p_id_type WHERE name = %s)
            """,
            (code, code),
        )
    cr.execute(
        """
        INSERT INTO g2p_reg_id (partner_id, id_type, value, create_uid,
                                create_date, write_uid, write_date)
        SELECT p.id, it.id, i.value, 1, now(), 1, now()
          FROM g2p_br_beneficiary_identifier i
          JOIN g2p_br_identifier_type t ON t.id = i.type_id
          JOIN g2p_id_type it ON it.name = t.code
          JOIN res_partner p ON p.bench_src = i.beneficiary_id
        """
    )
    cr.execute("ALTER TABLE res_partner DROP COLUMN bench_src")
    cr.execute(
        "DROP TABLE g2p_br_beneficiary_identifier, g2p_br_identifier_type,"
        " g2p_br_beneficiary"
    )
    cr.execute("ANALYZE res_partner")
    cr.execute("ANALYZE g2p_group_membership")
    cr.execute("ANALYZE g2p_reg_id")
    return excluded


def load_data(db, size):
    import psycopg2

    start = time.perf_counter()
    with psycopg2.connect(dbname=db) as conn, conn.cursor() as cr:
        cr.execute(SCRATCH)
        generate(cr, size)
        excluded = map_registrants(cr)
    conn.close()
    return excluded, round(time.perf_counter() - start, 1)


# ----------------------------------------------------------------------
# Upstream's program, through its own wizard
# ----------------------------------------------------------------------
def setup_program(env, excluded):
    """The program as upstream's Create Program wizard makes it, our rule and
    amount; a posted fund; payment batches on (as its onchange sets them)."""
    # the benchmark's user may use every G2P group (upstream's own checks)
    groups = env["res.groups"].sudo().search([("category_id.name", "ilike", "G2P")])
    env.user.sudo().write({"groups_id": [(4, g.id) for g in groups]})
    wizard = env["g2p.program.create.wizard"].create(
        {
            "name": "Benchmark program",
            "currency_id": env.company.currency_id.id,
            "target_type": "individual",
            "eligibility_domain": f"[('district', '!=', {excluded})]",
            "amount_per_cycle": AMOUNT,
            "amount_per_individual_in_group": 0.0,
            "import_beneficiaries": "no",
            "approver_group_id": env.ref("g2p_programs.g2p_program_cycle_approver").id,
        }
    )
    action = wizard.create_program()
    program = env["g2p.program"].browse(action["res_id"])
    fund = env["g2p.program.fund"].create(
        {"program_id": program.id, "amount": AMOUNT * 10**7}
    )
    fund.post_fund()
    payment_manager = program.get_manager(program.MANAGER_PAYMENT)
    tag = (
        env["g2p.payment.batch.tag"]
        .sudo()
        .create(
            {
                "name": f"Default {program.name}",
                "order": 1,
                "domain": "[]",
                "max_batch_size": 500,
            }
        )
    )
    payment_manager.write({"create_batch": True, "batch_tag_ids": [(6, 0, tag.ids)]})
    return program


def program_of(env):
    return env["g2p.program"].search([("name", "=", "Benchmark program")], limit=1)


def cycle_of(env):
    return env["g2p.cycle"].search(
        [("program_id", "=", program_of(env).id)], order="sequence desc", limit=1
    )


def click_import(env):
    prog = program_of(env)
    prog.get_managers(prog.MANAGER_ELIGIBILITY)[0].import_eligible_registrants()


def click_enroll(env):
    program_of(env).enroll_eligible_registrants()


def click_cycle(env):
    program_of(env).create_new_cycle()


def click_generate(env):
    cycle_of(env).prepare_entitlement()


def click_to_approve(env):
    cycle_of(env).to_approve()


def click_approve(env):
    cyc = cycle_of(env)
    cyc.approve()
    env.flush_all()
    cyc.validate_entitlement()


def click_disburse(env):
    cycle_of(env).prepare_payment()


CLICKS = {
    "import": click_import,
    "enroll": click_enroll,
    "cycle": click_cycle,
    "generate": click_generate,
    "to_approve": click_to_approve,
    "approve": click_approve,
    "disburse": click_disburse,
}
# (rows the step leaves: SQL on the program %(p)s, its last cycle %(c)s)
ROWS_SQL = {
    "import": "SELECT count(*) FROM g2p_program_membership WHERE program_id = %(p)s",
    "enroll": "SELECT count(*) FROM g2p_program_membership"
    " WHERE program_id = %(p)s AND state = 'enrolled'",
    "cycle": "SELECT count(*) FROM g2p_cycle_membership WHERE cycle_id = %(c)s",
    "generate": "SELECT count(*) FROM g2p_entitlement WHERE cycle_id = %(c)s",
    "to_approve": "SELECT count(*) FROM g2p_entitlement WHERE cycle_id = %(c)s"
    " AND state = 'pending_validation'",
    "approve": "SELECT count(*) FROM g2p_entitlement WHERE cycle_id = %(c)s"
    " AND state = 'approved'",
    "disburse": "SELECT count(*) FROM g2p_payment WHERE cycle_id = %(c)s",
}
EXTRA_SQL = {
    "approve": {
        "account_payments": "SELECT count(*) FROM g2p_entitlement"
        " WHERE cycle_id = %(c)s AND disbursement_id IS NOT NULL",
        "account_moves": "SELECT count(*) FROM account_move",
    },
    "disburse": {
        "payment_batches": "SELECT count(*) FROM g2p_payment_batch"
        " WHERE cycle_id = %(c)s",
    },
}


def count(env, sql):
    prog = program_of(env)
    cyc = cycle_of(env) if prog else None
    env.cr.execute(sql, {"p": prog.id, "c": cyc.id if cyc else None})
    return env.cr.fetchone()[0]


def run_jobs(env, after_id, deadline):
    """Run the jobs enqueued since queue_job id ``after_id`` (and those their
    completion releases) as the runner and ``runjob()`` do, in id order,
    until none is left or ``deadline`` (perf_counter) is passed. Return
    (jobs run, stopped)."""
    from odoo.addons.queue_job.controllers.main import RunJobController
    from odoo.addons.queue_job.job import ENQUEUED, Job

    cr, done = env.cr, 0
    while True:
        if deadline and time.perf_counter() > deadline:
            return done, True
        cr.execute(
            "SELECT uuid FROM queue_job WHERE id > %s AND state = 'pending'"
            " ORDER BY id LIMIT 1",
            (after_id,),
        )
        row = cr.fetchone()
        if not row:
            cr.execute(
                "SELECT count(*) FROM queue_job WHERE id > %s"
                " AND state NOT IN ('done', 'cancelled')",
                (after_id,),
            )
            left = cr.fetchone()[0]
            assert not left, f"{left} jobs neither pending nor done"
            return done, False
        uuid = row[0]
        # what the runner does before calling /queue_job/runjob
        cr.execute(
            "UPDATE queue_job SET state = %s, date_enqueued = now() at time"
            " zone 'UTC' WHERE uuid = %s",
            (ENQUEUED, uuid),
        )
        cr.commit()
        cr.execute(
            "SELECT state FROM queue_job WHERE uuid = %s AND state = %s FOR UPDATE",
            (uuid, ENQUEUED),
        )
        assert cr.fetchone(), uuid
        job = Job.load(env, uuid)
        controller = RunJobController()
        controller._try_perform_job(env, job)
        # then, as runjob() does, release the jobs that waited for this one
        controller._enqueue_dependent_jobs(env, job)
        cr.execute("SELECT state, exc_info FROM queue_job WHERE uuid = %s", (uuid,))
        state, exc = cr.fetchone()
        assert state == "done", (uuid, state, exc)
        done += 1


def step(env, name, budget, expected):
    from odoo import SUPERUSER_ID, api

    cr = env.cr
    jenv = api.Environment(cr, SUPERUSER_ID, {})
    cr.execute("SELECT COALESCE(max(id), 0) FROM queue_job")
    after_id = cr.fetchone()[0]
    result = {"step": name}
    start = time.perf_counter()
    deadline = start + budget if budget else None
    with cpu_measured(cr, result), timed(result, "wall_s"):
        CLICKS[name](env)
        env.flush_all()
        cr.commit()
        result["jobs"], stopped = run_jobs(jenv, after_id, deadline)
        cr.commit()
    env.invalidate_all()
    result["rows"] = count(env, ROWS_SQL[name])
    for key, sql in EXTRA_SQL.get(name, {}).items():
        result[key] = count(env, sql)
    result.update(backend_memory(cr))
    if stopped:
        cr.execute(
            "UPDATE queue_job SET state = 'cancelled' WHERE id > %s"
            " AND state NOT IN ('done', 'cancelled')",
            (after_id,),
        )
        cr.commit()
        result["stopped_by_budget"] = True
    # a step stopped by the budget, or working on what a stopped step left,
    # did fewer rows than the eligible members: scaled to all of them
    if result["rows"] < expected:
        extrapolate(result, expected)
    return result


def extrapolate(result, expected):
    """Scale a step's times linearly from the rows it did to ``expected``."""
    result["extrapolated"] = True
    if "measured_rows" not in result:
        result["measured_rows"] = result["rows"]
    measured = result["measured_rows"]
    if not measured:
        return
    for key in ("wall_s", "cpu_s", "pg_cpu_s", "odoo_cpu_s"):
        if result.get(key) is None:
            continue
        result.setdefault(f"measured_{key}", result[key])
        result[key] = round(result[f"measured_{key}"] * expected / measured, 2)
    result["rows"] = expected


def part_steps(db, addons, excluded, steps, budget):
    import odoo
    from odoo import api

    odoo.tools.config.parse_config(odoo_args(db, addons))
    registry = odoo.registry(db)
    results = []
    with registry.cursor() as cr:
        env = api.Environment(
            cr, ADMIN_UID, {"tracking_disable": True, "tz": "UTC", "lang": "en_US"}
        )
        if not program_of(env):
            setup_program(env, excluded)
            env.flush_all()
            cr.commit()
        prog = program_of(env)
        eligible = env["res.partner"].search_count(
            prog.get_managers(prog.MANAGER_ELIGIBILITY)[0]._prepare_eligible_domain()
        )
        for name in steps:
            result = step(env, name, budget, eligible)
            print(json.dumps(result), file=sys.stderr, flush=True)
            results.append(result)
            cr.execute("ANALYZE")
    return eligible, results


def ratios(report, ours_file):
    ours = {
        r["operation"]: r for r in json.loads(Path(ours_file).read_text())["operations"]
    }
    up = {r["step"]: r for r in report["steps"]}
    rows = []
    for op, steps in OURS_OF.items():
        if op not in ours or not all(s in up for s in steps):
            continue
        o = ours[op]
        up_wall = sum(up[s]["wall_s"] for s in steps)
        up_cpu = sum(up[s]["cpu_s"] for s in steps)
        # per row: ours works on 5% fewer after its re-verification step
        per_row = (up[steps[-1]]["rows"] / o["rows"]) if o.get("rows") else 1
        rows.append(
            {
                "operation": op,
                "upstream_steps": list(steps),
                "ours_rows": o.get("rows"),
                "upstream_rows": up[steps[-1]]["rows"],
                "ours_wall_s": o.get("ours_s"),
                "upstream_wall_s": round(up_wall, 2),
                "ours_cpu_s": o.get("ours_cpu_s"),
                "upstream_cpu_s": round(up_cpu, 2),
                "ratio_wall_ours_to_upstream_per_row": round(
                    o["ours_s"] * per_row / up_wall, 4
                )
                if up_wall and o.get("ours_s")
                else None,
                "ratio_cpu_ours_to_upstream_per_row": round(
                    o["ours_cpu_s"] * per_row / up_cpu, 4
                )
                if up_cpu and o.get("ours_cpu_s")
                else None,
                "upstream_extrapolated": any(up[s].get("extrapolated") for s in steps),
            }
        )
    return rows


def fmt(value, spec=".2f"):
    return "–" if value is None else format(value, spec)


def markdown(report):
    lines = [
        (
            f"Upstream OpenG2P `g2p_programs` side by side at {report['size']:,} "
            f"beneficiaries ({report['eligible']:,} eligible individuals), "
            f"{report['machine']}; upstream {report['upstream']}."
        ),
        "",
        (
            "| Step | Upstream rows | Upstream wall (s) "
            "| Upstream CPU (s: PG + Odoo) | Jobs | Note |"
        ),
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in report["steps"]:
        note = ""
        if r.get("extrapolated"):
            note = (
                f"extrapolated (linearly) from {r['measured_rows']:,} rows: "
                f"{fmt(r.get('measured_wall_s'), '.1f')} s wall, "
                f"{fmt(r.get('measured_cpu_s'), '.1f')} s CPU"
            )
        extra = {k: r[k] for k in ("account_payments", "payment_batches") if k in r}
        if extra:
            note = "; ".join(
                [note] * bool(note)
                + [f"{k.replace('_', ' ')}: {v:,}" for k, v in extra.items()]
            )
        lines.append(
            f"| {LABELS[r['step']]} | {r['rows']:,} | {fmt(r['wall_s'])} "
            f"| {fmt(r['cpu_s'])} ({fmt(r.get('pg_cpu_s'))} + "
            f"{fmt(r.get('odoo_cpu_s'))}) | {r.get('jobs', 0)} | {note} |"
        )
    if report.get("ratios"):
        lines += [
            "",
            (
                "| Operation | Ours rows | Ours wall (s) | Ours CPU (s) "
                "| Upstream wall (s) | Upstream CPU (s) "
                "| Ours / upstream per row, CPU | Ours / upstream per row, wall |"
            ),
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in report["ratios"]:
            mark = " (extrapolated)" if r["upstream_extrapolated"] else ""
            lines.append(
                f"| {LABELS[r['operation']]} | {r['ours_rows'] or 0:,} "
                f"| {fmt(r['ours_wall_s'])} | {fmt(r['ours_cpu_s'])} "
                f"| {fmt(r['upstream_wall_s'])}{mark} "
                f"| {fmt(r['upstream_cpu_s'])}{mark} "
                f"| {fmt(r['ratio_cpu_ours_to_upstream_per_row'], '.4f')} "
                f"| {fmt(r['ratio_wall_ours_to_upstream_per_row'], '.4f')} |"
            )
    lines += ["", "What each side does that the other does not:", ""]
    for key, text in DIFFERENCES.items():
        lines.append(f"- {LABELS[key]}: {text}.")
    return "\n".join(lines) + "\n"


def upstream_revisions(addons):
    revs = []
    for path in addons.split(","):
        rev = Path(path) / ".upstream-rev"
        revs.append(
            f"{Path(path).name} {rev.read_text().strip()}" if rev.exists() else path
        )
    return ", ".join(revs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--upstream",
        required=True,
        help="upstream addons path(s), comma-separated (openg2p-registry, "
        "openg2p-program)",
    )
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--db", help="database (default up_upstream_<size>)")
    parser.add_argument(
        "--template", help="copy this database (upstream already installed)"
    )
    parser.add_argument("--steps", default=",".join(STEPS))
    parser.add_argument(
        "--budget",
        type=float,
        default=0,
        help="seconds per step after which its jobs stop and its time is "
        "extrapolated (0: run to the end)",
    )
    parser.add_argument("--ours", help="run.py's core-<size>.json, for ratios")
    parser.add_argument("--label", default="")
    parser.add_argument("--drop", action="store_true")
    parser.add_argument(
        "--part",
        choices=("all", "steps", "report"),
        default="all",
        help="report: only redo the ratios and table from "
        "results/upstream-<size>.json (with --ours)",
    )
    parser.add_argument("--excluded", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    addons = ",".join(
        str(Path(p).expanduser().resolve()) for p in args.upstream.split(",")
    )
    db = args.db or f"up_upstream_{args.size}"
    steps = args.steps.split(",")

    name = f"upstream-{args.size}" + (f"-{args.label}" if args.label else "")
    out_dir = HERE / "results"
    if args.part == "report":
        # the ratios and table again, from a run's JSON (and --ours)
        report = json.loads((out_dir / f"{name}.json").read_text())
        for result in report["steps"]:
            if result.get("extrapolated"):
                extrapolate(result, report["eligible"])
        if args.ours:
            report["ours_file"] = str(args.ours)
            report["ratios"] = ratios(report, args.ours)
        (out_dir / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
        (out_dir / f"{name}.md").write_text(markdown(report))
        print(markdown(report))
        return report
    if args.part == "steps":
        eligible, results = part_steps(db, addons, args.excluded, steps, args.budget)
        print(json.dumps({"eligible": eligible, "steps": results}))
        return

    from run import machine

    started = time.perf_counter()
    report = {
        "size": args.size,
        "machine": machine(),
        "upstream": upstream_revisions(addons),
        "queue_jobs": "each step's jobs run as queue_job's runner runs them, "
        "timed with the step",
        "budget_s": args.budget or None,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    create_database(db, addons, args.template)
    excluded, report["datagen_s"] = load_data(db, args.size)
    print(f"generated {args.size:,} registrants in {report['datagen_s']} s")
    out = run(
        [
            sys.executable,
            __file__,
            "--part",
            "steps",
            "--upstream",
            addons,
            "--size",
            str(args.size),
            "--db",
            db,
            "--excluded",
            str(excluded),
            "--steps",
            args.steps,
            "--budget",
            str(args.budget),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    part = json.loads(out.stdout.strip().splitlines()[-1])
    report["eligible"], report["steps"] = part["eligible"], part["steps"]
    report["peak_rss_note"] = "not measured for upstream"
    if args.ours:
        report["ours_file"] = str(args.ours)
        report["ratios"] = ratios(report, args.ours)
    report["run_s"] = round(time.perf_counter() - started, 1)
    out_dir.mkdir(exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    (out_dir / f"{name}.md").write_text(table)
    print(table)
    if args.drop:
        run(["dropdb", "--if-exists", db])
    return report


if __name__ == "__main__":
    main()
