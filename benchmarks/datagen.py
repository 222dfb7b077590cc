# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Generate N beneficiaries directly in SQL, for benchmarks.

70% individuals living in groups that make up the other 30% (households of
1 to 8 members), a realistic spread of sex, ages, ten regions, group sizes and
poverty scores, one identifier each (NATIONAL_ID) and a second one (UIN) for
half of them. Deterministic (seeded). A million rows take well under a minute.

Usage (also as a library: ``generate(cr, size)``)::

    python3 benchmarks/datagen.py --db bench --size 1000000
"""

import argparse
import time

import psycopg2

REGIONS = 10


def generate(cr, size, seed=0.42):
    """Insert ``size`` beneficiaries (and their identifiers) into the database
    of cursor ``cr``; return the number of rows inserted."""
    groups = max(1, int(size * 0.3))
    individuals = size - groups
    cr.execute("SELECT setseed(%s)", (seed,))
    cr.execute("SELECT id FROM res_company ORDER BY id LIMIT 1")
    company = cr.fetchone()[0]
    cr.execute("SELECT COALESCE(MAX(id), 0) FROM g2p_br_beneficiary")
    offset = cr.fetchone()[0]
    cr.execute(
        """
        INSERT INTO g2p_br_beneficiary
            (sr_id, kind, active, sex, birth_date, region_code, group_size,
             poverty_score, disability, company_id, sr_updated_at, synced_at,
             create_uid, create_date, write_uid, write_date)
        SELECT 'G' || lpad((%(offset)s + i)::text, 9, '0'), 'group', true, NULL,
               NULL,
               'R' || lpad((1 + floor(random() * %(regions)s))::int::text, 2, '0'),
               1 + floor(random() * 8)::int, round((random() * 100)::numeric, 4),
               random() < 0.05, %(company)s,
               now() - random() * interval '365 days', now(),
               1, now(), 1, now()
          FROM generate_series(1, %(groups)s) AS i
        """,
        {"offset": offset, "regions": REGIONS, "groups": groups, "company": company},
    )
    cr.execute(
        "SELECT MIN(id), MAX(id) FROM g2p_br_beneficiary"
        " WHERE id > %s AND kind = 'group'",
        (offset,),
    )
    first_group, last_group = cr.fetchone()
    cr.execute(
        """
        INSERT INTO g2p_br_beneficiary
            (sr_id, kind, active, sex, birth_date, region_code, group_size,
             poverty_score, disability, group_id, company_id, sr_updated_at,
             synced_at, create_uid, create_date, write_uid, write_date)
        SELECT 'I' || lpad((%(offset)s + i)::text, 9, '0'), 'individual', true,
               CASE WHEN random() < 0.51 THEN 'female' ELSE 'male' END,
               (date '2026-01-01' - (floor(random() * 90 * 365))::int),
               g.region_code, NULL, NULL, random() < 0.04, g.id, %(company)s,
               now() - random() * interval '365 days', now(), 1, now(), 1, now()
          FROM generate_series(1, %(individuals)s) AS i
          JOIN g2p_br_beneficiary g
            ON g.id = %(first)s + (i %% (%(last)s - %(first)s + 1))
        """,
        {
            "offset": offset,
            "individuals": individuals,
            "company": company,
            "first": first_group,
            "last": last_group,
        },
    )
    for code, name in (
        ("NATIONAL_ID", "National ID"),
        ("UIN", "Unique Identification Number"),
    ):
        cr.execute(
            """
            INSERT INTO g2p_br_identifier_type (code, name, active, create_uid,
                                                create_date, write_uid, write_date)
            SELECT %s, jsonb_build_object('en_US', %s), true, 1, now(), 1, now()
             WHERE NOT EXISTS (SELECT 1 FROM g2p_br_identifier_type WHERE code = %s)
            """,
            (code, name, code),
        )
    cr.execute(
        """
        INSERT INTO g2p_br_beneficiary_identifier
            (beneficiary_id, type_id, value, company_id,
             create_uid, create_date, write_uid, write_date)
        SELECT b.id, t.id, 'NID' || lpad(b.id::text, 10, '0'), b.company_id,
               1, now(), 1, now()
          FROM g2p_br_beneficiary b, g2p_br_identifier_type t
         WHERE b.id > %(offset)s AND t.code = 'NATIONAL_ID'
        UNION ALL
        SELECT b.id, t.id, 'UIN' || lpad(b.id::text, 10, '0'), b.company_id,
               1, now(), 1, now()
          FROM g2p_br_beneficiary b, g2p_br_identifier_type t
         WHERE b.id > %(offset)s AND b.id %% 2 = 0 AND t.code = 'UIN'
        """,
        {"offset": offset},
    )
    cr.execute("ANALYZE g2p_br_beneficiary")
    cr.execute("ANALYZE g2p_br_beneficiary_identifier")
    return size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--size", type=int, default=1_000_000)
    args = parser.parse_args()
    start = time.monotonic()
    with psycopg2.connect(dbname=args.db) as conn, conn.cursor() as cr:
        generate(cr, args.size)
    print(f"{args.size} beneficiaries in {time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    main()
