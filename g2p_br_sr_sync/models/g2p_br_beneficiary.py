# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging
import math
from datetime import date, datetime

import psycopg2

from odoo import fields, models
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY
from odoo.tools import SQL, mute_logger

from ..services import json_codec

_logger = logging.getLogger(__name__)

# SQL type of the columns of the page's rows, by Odoo field type
_SQL_TYPES = {
    "char": "varchar",
    "selection": "varchar",
    "date": "date",
    "datetime": "timestamp",
    "integer": "int4",
    "float": "float8",
    "boolean": "bool",
}


# float8 input of the non-finite floats, which JSON cannot carry as numbers
_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _json_default(value):
    """JSON of the mapped values JSON has no type for: ISO dates, read back
    by PostgreSQL's date and timestamp input functions."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a mapped value type")


def page_json(rows, float_keys=()):
    """A page's rows as one JSON text parameter (read in SQL with
    ``json_to_recordset``): one string for psycopg2 to quote, where lists of
    values would be adapted one by one into an ``ARRAY[...]`` expression of
    thousands of constants for PostgreSQL to parse and plan (that adaptation
    was a fifth of a page's time at 5,000 records)."""
    if float_keys:
        rows = [
            {
                **row,
                **{
                    key: _NON_FINITE[str(row[key])]
                    for key in float_keys
                    if isinstance(row.get(key), float) and not math.isfinite(row[key])
                },
            }
            for row in rows
        ]
    return json_codec.dumps(rows, _json_default)


class SrWriteError(Exception):
    """A page's data statement failed for a reason other than concurrency.

    The message names the statement and the PostgreSQL error code only: the
    error's own text may quote row values (``DETAIL: Key (value)=(...)``).
    """


def sr_execute(cr, query, what):
    """Execute a statement that carries Social Registry data.

    Odoo's SQL logger prints a failing statement with its parameters (ERROR
    ``bad query``) and every statement at DEBUG: for these statements it is
    muted, and a failure is logged here without any value. Concurrency errors
    are raised again unchanged (the job is retried by queue_job; their message
    holds no row data); other errors become :class:`SrWriteError`.
    """
    try:
        with mute_logger("odoo.sql_db"):
            cr.execute(query, log_exceptions=False)
    except psycopg2.Error as exc:
        if exc.pgcode in PG_CONCURRENCY_ERRORS_TO_RETRY:
            _logger.info("SR sync: %s hit a concurrent update (%s)", what, exc.pgcode)
            raise
        constraint = getattr(exc.diag, "constraint_name", None) or ""
        _logger.warning(
            "SR sync: %s failed: SQLSTATE %s %s", what, exc.pgcode, constraint
        )
        raise SrWriteError(
            f"{what} failed: SQLSTATE {exc.pgcode} {constraint}".strip()
        ) from None


class G2pBrBeneficiary(models.Model):
    _inherit = "g2p.br.beneficiary"

    sr_group_ref = fields.Char(
        string="SR Group ID",
        index="btree_not_null",
        copy=False,
        help="Social Registry id of the group (household) the Social Registry "
        "reports this individual in; the group link is set as soon as both are "
        "in the Beneficiary Registry.",
    )
    sr_pull_run_id = fields.Many2one(
        "g2p.br.sr.pull.run",
        string="Last Changed by Pull Run",
        index="btree_not_null",
        ondelete="set null",
        copy=False,
        readonly=True,
    )

    # -- set-based upsert of one page of SR records -------------------------------
    def _sr_upsert_page(self, connection, run, rows, mapper):
        """Write one page of mapped SR records with a handful of statements.

        One INSERT .. ON CONFLICT (sr_id) DO UPDATE .. WHERE the row differs
        (unchanged records are not rewritten), one DELETE and one INSERT for
        the identifiers. Only mapped columns are written. Group links are not
        set by this page for the rows it changes: a concurrent page of another
        connection would not see this page's rows; :meth:`_sr_link_groups`
        links them once a run's pages are all committed. The only exception is
        a cheap head start: an individual inserted here gets the group its
        ``sr_group_ref`` names if that group is already in the BR (committed
        before this page began), so that the end-of-run pass, which checks every
        individual the run touched, has nothing left to rewrite when the
        households were pulled first (the households pages of a run go first,
        see ``g2p.br.sr.pull.run._enqueue_pages``). Returns the page's counters.
        """
        if not rows:
            return {"created": 0, "updated": 0, "unchanged": 0, "archived": 0}
        # pending ORM writes must reach the tables before the raw SQL reads them
        self.env.flush_all()
        # a record twice in a page: the last one wins; rows are written in
        # sr_id order, the order the link pass locks them in (no deadlock)
        by_sr_id = {row["sr_id"]: row for row in rows}
        sr_ids = sorted(by_sr_id)
        rows = [by_sr_id[sr_id] for sr_id in sr_ids]
        columns = [
            key
            for key in mapper.keys
            if key != "sr_id" and not key.startswith("identifier:")
        ]
        now = fields.Datetime.now()
        uid = self.env.uid
        types = {column: self._fields[column].type for column in columns}
        data_json = page_json(
            rows, [column for column in columns if types[column] == "float"]
        )
        record_columns = SQL(", ").join(
            [SQL("sr_id varchar")]
            + [
                SQL(f"%s {_SQL_TYPES[types[column]]}", SQL.identifier(column))
                for column in columns
            ]
        )
        data_columns = ["sr_id", "kind", *columns]
        compared = ["kind", *columns]
        insert_columns = [SQL.identifier(c) for c in data_columns]
        insert_values = [SQL("d.%s", SQL.identifier(c)) for c in data_columns]
        if "active" not in columns:
            insert_columns.append(SQL.identifier("active"))
            insert_values.append(SQL("TRUE"))
        meta = {
            "company_id": connection.company_id.id,
            "sr_pull_run_id": run.id,
            "synced_at": now,
            "create_uid": uid,
            "create_date": now,
            "write_uid": uid,
            "write_date": now,
        }
        for column, value in meta.items():
            insert_columns.append(SQL.identifier(column))
            insert_values.append(SQL("%s", value))
        link = connection.beneficiary_kind == "individual" and "sr_group_ref" in columns
        if link:
            # head start of the link pass (inserted rows only, see above)
            insert_columns.append(SQL.identifier("group_id"))
            insert_values.append(SQL("g.id"))
            link_join = SQL(
                "LEFT JOIN g2p_br_beneficiary g"
                " ON g.sr_id = d.sr_group_ref AND g.kind = 'group'"
            )
        else:
            link_join = SQL()
        updated_columns = [*compared, "sr_pull_run_id", "synced_at"]
        updated_columns += ["write_uid", "write_date"]
        query = SQL(
            """
            WITH data AS (
                SELECT %(data_select)s
                  FROM json_to_recordset(%(data_json)s::json) AS d(%(record_columns)s)
            ), todo AS MATERIALIZED (
                -- new or changed only: an unchanged row is not even locked, so
                -- a concurrent link pass on it cannot fail this page
                SELECT d.*, b.active AS was_active FROM data d
                  LEFT JOIN g2p_br_beneficiary b ON b.sr_id = d.sr_id
                 WHERE b.id IS NULL OR (%(old_tuple)s) IS DISTINCT FROM (%(data_tuple)s)
                 ORDER BY d.sr_id
            ), ups AS (
                INSERT INTO g2p_br_beneficiary AS b (%(insert_columns)s)
                SELECT %(insert_values)s FROM todo d %(link_join)s
                 ORDER BY d.sr_id
                ON CONFLICT (sr_id) DO UPDATE SET %(assignments)s
                 WHERE (%(old_tuple)s) IS DISTINCT FROM (%(new_tuple)s)
                RETURNING b.id, b.sr_id, b.active, (b.xmax = 0) AS inserted
            )
            -- the rows written, then the SR ids of the changed rows that were
            -- active before (no join of the two: the planner, which expects
            -- 100 rows of each, would rescan one for every row of the other)
            SELECT ups.id, ups.inserted, ups.active, ups.sr_id FROM ups
             UNION ALL
            SELECT NULL, NULL, NULL, todo.sr_id FROM todo WHERE todo.was_active
            """,
            data_json=data_json,
            record_columns=record_columns,
            data_select=SQL(", ").join(
                SQL("%s::varchar AS kind", connection.beneficiary_kind)
                if c == "kind"
                else SQL("d.%s", SQL.identifier(c))
                for c in data_columns
            ),
            insert_columns=SQL(", ").join(insert_columns),
            insert_values=SQL(", ").join(insert_values),
            link_join=link_join,
            assignments=SQL(", ").join(
                SQL("%s = EXCLUDED.%s", SQL.identifier(c), SQL.identifier(c))
                for c in updated_columns
            ),
            old_tuple=SQL(", ").join(SQL("b.%s", SQL.identifier(c)) for c in compared),
            new_tuple=SQL(", ").join(
                SQL("EXCLUDED.%s", SQL.identifier(c)) for c in compared
            ),
            data_tuple=SQL(", ").join(SQL("d.%s", SQL.identifier(c)) for c in compared),
        )
        cr = self.env.cr
        sr_execute(cr, query, "beneficiary upsert")
        written, was_active = [], set()
        for row in cr.fetchall():
            if row[0] is None:
                was_active.add(row[3])
            else:
                written.append(row)
        created = sum(1 for row in written if row[1])
        archived = sum(
            1
            for row in written
            if not row[1] and row[2] is False and row[3] in was_active
        )
        changed_ids = {row[0] for row in written}
        # a beneficiary inserted by this statement has no identifier to read
        existing = set(sr_ids).difference(row[3] for row in written if row[1])
        changed_ids |= self._sr_upsert_identifiers(rows, mapper, existing, now)
        updated = len(changed_ids) - created

        # The rows were written in SQL: the ORM cache of these models is stale,
        # and stored fields computed from them must be recomputed.
        self.invalidate_model()
        self.env["g2p.br.beneficiary.identifier"].invalidate_model()
        if changed_ids:
            self.browse(sorted(changed_ids)).modified(
                [c for c in columns if c in self._fields]
                + ["kind"]
                + (["group_id"] if link and created else [])
            )
        return {
            "created": created,
            "updated": updated,
            "unchanged": len(rows) - created - updated,
            "archived": archived,
        }

    def _sr_upsert_identifiers(self, rows, mapper, existing, now):
        """Set the mapped identifiers of a page's beneficiaries (3 statements
        at most: read, delete, upsert; ``existing``: the SR ids of the page's
        beneficiaries that were in the BR before it, the only ones that may
        have identifiers to read).

        Returns the ids of the beneficiaries whose identifiers changed.
        """
        type_codes = [
            key.split(":", 1)[1] for key in mapper.keys if key.startswith("identifier:")
        ]
        if not type_codes:
            return set()
        types = self.env["g2p.br.identifier.type"].search([("code", "in", type_codes)])
        type_ids = {t.code: t.id for t in types}
        triples = {}
        for row in rows:
            for code in type_codes:
                value = row.get(f"identifier:{code}")
                if value and code in type_ids:
                    # one owner per (type, value) in a page: the last record wins
                    triples[(type_ids[code], value.strip())] = row["sr_id"]
        cr = self.env.cr
        current = []
        if existing:
            # identifiers of these types that the SR no longer reports for
            # them; LATERAL: read through the beneficiary_id index (a hash join
            # would scan the whole identifier table for every page). OFFSET 0
            # keeps the planner from pulling the subquery up into a plain join,
            # which it did: 240 ms a page of 5,000 updates at 1,000,000 (a
            # parallel scan of the table) instead of 100 ms
            sr_execute(
                cr,
                SQL(
                    """
                    SELECT i.id, i.beneficiary_id, b.sr_id, i.type_id, i.value
                      FROM g2p_br_beneficiary b
                      CROSS JOIN LATERAL (
                          SELECT i.id, i.beneficiary_id, i.type_id, i.value
                            FROM g2p_br_beneficiary_identifier i
                           WHERE i.beneficiary_id = b.id AND i.type_id = ANY(%s)
                          OFFSET 0
                      ) i
                     WHERE b.sr_id = ANY(%s)
                    """,
                    list(type_ids.values()),
                    sorted(existing),
                ),
                "identifier read",
            )
            current = cr.fetchall()
        stale = [row for row in current if triples.get((row[3], row[4])) != row[2]]
        changed = {row[1] for row in stale}
        if stale:
            sr_execute(
                cr,
                SQL(
                    "DELETE FROM g2p_br_beneficiary_identifier WHERE id = ANY(%s)",
                    [row[0] for row in stale],
                ),
                "identifier delete",
            )
        # only the identifiers that are new or move to another beneficiary
        known = {(row[3], row[4]): row[2] for row in current}
        triples = {k: v for k, v in triples.items() if known.get(k) != v}
        if not triples:
            return changed
        uid = self.env.uid
        sr_execute(
            cr,
            SQL(
                """
                INSERT INTO g2p_br_beneficiary_identifier AS i
                       (beneficiary_id, type_id, value, company_id,
                        create_uid, create_date, write_uid, write_date)
                SELECT b.id, d.type_id, d.value, b.company_id,
                       %(uid)s, %(now)s, %(uid)s, %(now)s
                  FROM json_to_recordset(%(data)s::json)
                       AS d(sr_id varchar, type_id int4, value varchar)
                  JOIN g2p_br_beneficiary b ON b.sr_id = d.sr_id
                ON CONFLICT (type_id, value) DO UPDATE
                   SET beneficiary_id = EXCLUDED.beneficiary_id,
                       company_id = EXCLUDED.company_id,
                       write_uid = EXCLUDED.write_uid,
                       write_date = EXCLUDED.write_date
                 WHERE i.beneficiary_id IS DISTINCT FROM EXCLUDED.beneficiary_id
                RETURNING i.beneficiary_id
                """,
                uid=uid,
                now=now,
                data=page_json(
                    [
                        {"sr_id": sr_id, "type_id": type_id, "value": value}
                        for (type_id, value), sr_id in triples.items()
                    ]
                ),
            ),
            "identifier upsert",
        )
        changed |= {row[0] for row in cr.fetchall()}
        return changed

    # -- household links ------------------------------------------------------------
    def _sr_analyze_if_stale(self):
        """ANALYZE the beneficiary table when the rows changed since its last
        analysis are more than a tenth of it (at least 10,000): after a first
        pull into an empty or small BR, autovacuum has often not analyzed it
        yet, and the link pass planned on the statistics of a nearly empty
        table took 82 s instead of about 2 s at 100,000."""
        cr = self.env.cr
        cr.execute(
            SQL(
                "SELECT n_mod_since_analyze, n_live_tup FROM pg_stat_user_tables"
                " WHERE relid = %s::regclass",
                self._table,
            )
        )
        row = cr.fetchone()
        if row and row[0] >= max(10_000, row[1] // 10):
            cr.execute(SQL("ANALYZE %s", SQL.identifier(self._table)))
            return True
        return False

    def _sr_link_groups(self, ids_query, kind, group_ref_mapped):
        """Set ``group_id`` from ``sr_group_ref`` for the beneficiaries a run
        touched, set-based (``ids_query``: an :class:`~odoo.tools.SQL` query of
        their SR ids). Returns the number of individuals whose link changed.

        * ``kind == 'individual'`` (the ids are individuals): each is linked
          to the group its ``sr_group_ref`` names if that group is in the BR;
          when the mapping sets ``sr_group_ref``, an individual the SR reports
          in no group (or in a group not in the BR yet) loses its link.
        * ``kind == 'group'`` (the ids are groups): every individual already
          in the BR that names one of them is linked.

        Called by a run after all its pages committed, in a transaction that
        started after that: of two connections pulling at once, the run that
        ends last sees both sides, whatever the order of their pages.
        """
        cr = self.env.cr
        self._sr_analyze_if_stale()
        # The run's SR ids in an analyzed temporary table: read inline (an
        # unnest of the pages' id lists), they were estimated at 10 a page, and
        # the pass over the 900,000 individuals of a full pull ran as 900,000
        # index probes of four joins (29 s) instead of hash joins (1.3 s).
        # Not made distinct (a sort of 900,000 ids): they are read by IN.
        cr.execute(SQL("DROP TABLE IF EXISTS pg_temp.g2p_br_sr_link_ids"))
        cr.execute(
            SQL(
                "CREATE TEMPORARY TABLE g2p_br_sr_link_ids ON COMMIT DROP AS"
                " SELECT ids.sr_id FROM (%s) ids",
                ids_query,
            )
        )
        cr.execute(SQL("ANALYZE g2p_br_sr_link_ids"))
        run_ids = SQL("SELECT sr_id FROM g2p_br_sr_link_ids")
        if kind == "individual":
            # (individual, its group in the BR or NULL, its current group) for
            # the run's individuals
            pairs = SQL(
                """
                SELECT i.id, g.id AS gid, i.group_id
                  FROM g2p_br_beneficiary i
                  LEFT JOIN g2p_br_beneficiary g
                    ON g.sr_id = i.sr_group_ref AND g.kind = 'group'
                 WHERE i.sr_id IN (%s) AND i.kind = 'individual'
                """,
                run_ids,
            )
            if not group_ref_mapped:  # links are only set, never cleared
                pairs = SQL("SELECT * FROM (%s) p WHERE p.gid IS NOT NULL", pairs)
        else:
            # (individual, group, its current group) for the individuals
            # naming the run's groups
            pairs = SQL(
                """
                SELECT m.id, g.id AS gid, m.group_id
                  FROM g2p_br_beneficiary g
                  JOIN g2p_br_beneficiary m
                    ON m.sr_group_ref = g.sr_id AND m.kind = 'individual'
                 WHERE g.sr_id IN (%s) AND g.kind = 'group'
                """,
                run_ids,
            )
        # the rows to change are locked in sr_id order, like the pages write
        # them: a link pass and a page never wait for each other in a cycle
        query = SQL(
            """
            WITH todo AS (
                SELECT p.id, p.gid FROM (%(pairs)s) p
                 WHERE p.group_id IS DISTINCT FROM p.gid
            ), locked AS (
                SELECT b.id, todo.gid FROM g2p_br_beneficiary b
                  JOIN todo ON todo.id = b.id
                 ORDER BY b.sr_id FOR UPDATE OF b
            )
            UPDATE g2p_br_beneficiary m
               SET group_id = locked.gid, write_uid = %(uid)s, write_date = %(now)s
              FROM locked
             WHERE m.id = locked.id
            RETURNING m.id
            """,
            pairs=pairs,
            uid=self.env.uid,
            now=fields.Datetime.now(),
        )
        sr_execute(cr, query, "household link pass")
        linked = [row[0] for row in cr.fetchall()]
        cr.execute(SQL("DROP TABLE g2p_br_sr_link_ids"))
        self.invalidate_model(["group_id"])
        if linked:
            self.browse(linked).modified(["group_id"])
        return len(linked)
