import logging
import math

from psycopg2 import sql

from odoo import fields, models

from ..services.dci_client import SrSyncError
from ..services.record_mapping import MappingError, RecordError

_logger = logging.getLogger(__name__)

# SQL type of the arrays the upsert unnests, by Odoo field type
_ARRAY_TYPES = {
    "char": "varchar",
    "selection": "varchar",
    "date": "date",
    "datetime": "timestamp",
    "integer": "int4",
    "float": "float8",
    "boolean": "bool",
}


class G2pBrSrPullPage(models.Model):
    """One page of a pull run, fetched, validated and upserted by one job in
    one transaction."""

    _name = "g2p.br.sr.pull.page"
    _description = "Social Registry Pull Page"
    _order = "run_id, page_number"

    run_id = fields.Many2one(
        "g2p.br.sr.pull.run", required=True, ondelete="cascade", index=True
    )
    page_number = fields.Integer(required=True)
    state = fields.Selection(
        [("pending", "Pending"), ("done", "Done"), ("failed", "Failed")],
        required=True,
        default="pending",
        index=True,
    )
    fetched = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    archived = fields.Integer()
    rejected = fields.Integer()
    retries = fields.Integer(
        string="Attempts", help="How many times the page was enqueued."
    )
    error_message = fields.Char()
    done_at = fields.Datetime()
    error_ids = fields.One2many(
        "g2p.br.sr.pull.error", "page_id", string="Rejected Records"
    )

    _sql_constraints = [
        ("run_page_unique", "unique(run_id, page_number)", "A page exists already."),
    ]

    # -- job --------------------------------------------------------------------
    def _job_process(self):
        """Fetch, validate and upsert this page (queue job; idempotent).

        SR and mapping problems fail the page (state ``failed`` with the reason);
        a malformed record is rejected alone. Anything else (a crash) raises:
        the transaction is rolled back and the page stays pending, to be
        retried by queue_job or by resuming the run.
        """
        self.ensure_one()
        run = self.run_id
        if self.state == "done" or run.state != "running":
            return "skipped: page done or run not running"
        connection = run.connection_id
        Beneficiary = self.env["g2p.br.beneficiary"]
        Beneficiary.check_access_rights("create")
        Beneficiary.check_access_rights("write")
        try:
            mapper = connection._get_mapper()
            client = connection._get_client()
            result = client.search(self.page_number, cursor=run.cursor_used)
        except (SrSyncError, MappingError) as exc:
            return self._fail(str(exc))
        if self.page_number == run.pages_total or not run.pages_total:
            self._plan_next_pages(result, connection.page_size)

        rows, errors = [], []
        for index, record in enumerate(result.records):
            try:
                rows.append(mapper.map_record(record))
            except RecordError as exc:
                errors.append(
                    {
                        "run_id": run.id,
                        "page_id": self.id,
                        "record_index": index,
                        "sr_id": mapper.sr_id_of(record),
                        "reason": str(exc)[:500],
                    }
                )
        counters = {"fetched": len(result.records), "rejected": len(errors)}
        counters.update(self._upsert(rows, mapper))
        if errors:
            self.env["g2p.br.sr.pull.error"].create(errors)
        self.write({"state": "done", "done_at": fields.Datetime.now(), **counters})
        run._record_page_result(self, counters)
        return f"page {self.page_number}: {counters}"

    def _fail(self, reason):
        _logger.warning(
            "SR pull run %s page %s failed: %s",
            self.run_id.id,
            self.page_number,
            reason,
        )
        self.write({"state": "failed", "error_message": reason[:1000]})
        self.run_id._record_page_result(self, {})
        return f"failed: {reason}"

    def _plan_next_pages(self, result, page_size):
        """After the last known page: create the pages still to fetch.

        With a total count (DCI pagination or totalRegistrantCount) every page
        is known after page 1; without one, a full page announces the next one.
        """
        run = self.run_id
        if result.total_count is not None:
            last = max(math.ceil(result.total_count / page_size), 1)
        elif len(result.records) >= page_size:
            last = self.page_number + 1
        else:
            last = self.page_number
        if not run.pages_total:
            run.pages_total = max(last, self.page_number)
        run._add_pages(last)

    # -- set-based upsert ---------------------------------------------------------
    def _upsert(self, rows, mapper):
        """Write one page of mapped records with a handful of SQL statements.

        One INSERT .. ON CONFLICT (sr_id) DO UPDATE .. WHERE the row differs
        (unchanged records are not rewritten), one DELETE and one INSERT for the
        identifiers, one UPDATE for the group links. Only mapped columns are
        written. Returns the page's counters.
        """
        if not rows:
            return {"created": 0, "updated": 0, "unchanged": 0, "archived": 0}
        run = self.run_id
        connection = run.connection_id
        Beneficiary = self.env["g2p.br.beneficiary"]
        # pending ORM writes must reach the tables before the raw SQL reads them
        self.env.flush_all()
        # a record twice in a page: the last one wins
        by_sr_id = {row["sr_id"]: row for row in rows}
        sr_ids = list(by_sr_id)
        rows = list(by_sr_id.values())
        columns = [
            key
            for key in mapper.keys
            if key != "sr_id" and not key.startswith("identifier:")
        ]
        now = fields.Datetime.now()
        uid = self.env.uid
        arrays = [sr_ids, [connection.beneficiary_kind] * len(rows)]
        casts = [sql.SQL("%s::varchar[]"), sql.SQL("%s::varchar[]")]
        for column in columns:
            arrays.append([row[column] for row in rows])
            casts.append(
                sql.SQL("%s::{}[]").format(
                    sql.SQL(_ARRAY_TYPES[Beneficiary._fields[column].type])
                )
            )
        data_columns = ["sr_id", "kind", *columns]
        compared = ["kind", *columns]
        insert_columns = [*data_columns]
        insert_values = [
            sql.SQL("d.{}").format(sql.Identifier(c)) for c in data_columns
        ]
        if "active" not in columns:
            insert_columns.append("active")
            insert_values.append(sql.SQL("TRUE"))
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
            insert_columns.append(column)
            insert_values.append(sql.Literal(value))
        updated_columns = [
            *compared,
            "sr_pull_run_id",
            "synced_at",
            "write_uid",
            "write_date",
        ]
        query = sql.SQL(
            """
            WITH data AS (
                SELECT * FROM unnest({casts}) AS d({data_columns})
            ), old AS (
                SELECT b.sr_id, b.active FROM g2p_br_beneficiary b
                  JOIN data d ON d.sr_id = b.sr_id
            ), ups AS (
                INSERT INTO g2p_br_beneficiary AS b ({insert_columns})
                SELECT {insert_values} FROM data d
                ON CONFLICT (sr_id) DO UPDATE SET {assignments}
                 WHERE ({old_tuple}) IS DISTINCT FROM ({new_tuple})
                RETURNING b.id, b.sr_id, b.active, (b.xmax = 0) AS inserted
            )
            SELECT ups.id, ups.inserted, ups.active, old.active
              FROM ups LEFT JOIN old ON old.sr_id = ups.sr_id
            """
        ).format(
            casts=sql.SQL(", ").join(casts),
            data_columns=sql.SQL(", ").join(map(sql.Identifier, data_columns)),
            insert_columns=sql.SQL(", ").join(map(sql.Identifier, insert_columns)),
            insert_values=sql.SQL(", ").join(insert_values),
            assignments=sql.SQL(", ").join(
                sql.SQL("{col} = EXCLUDED.{col}").format(col=sql.Identifier(c))
                for c in updated_columns
            ),
            old_tuple=sql.SQL(", ").join(
                sql.SQL("b.{}").format(sql.Identifier(c)) for c in compared
            ),
            new_tuple=sql.SQL(", ").join(
                sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in compared
            ),
        )
        cr = self.env.cr
        cr.execute(query, arrays)
        written = cr.fetchall()
        created = sum(1 for row in written if row[1])
        archived = sum(
            1 for row in written if not row[1] and row[2] is False and row[3]
        )
        changed_ids = {row[0] for row in written}
        changed_ids |= self._upsert_identifiers(rows, mapper, sr_ids, now)
        self._link_groups(sr_ids, "sr_group_ref" in columns, now)
        updated = len(changed_ids) - created

        # The rows were written in SQL: the ORM cache of these models is stale,
        # and stored fields computed from them must be recomputed.
        Beneficiary.invalidate_model()
        self.env["g2p.br.beneficiary.identifier"].invalidate_model()
        if changed_ids:
            Beneficiary.browse(sorted(changed_ids)).modified(
                [c for c in columns if c in Beneficiary._fields] + ["kind", "group_id"]
            )
        return {
            "created": created,
            "updated": updated,
            "unchanged": len(rows) - created - updated,
            "archived": archived,
        }

    def _upsert_identifiers(self, rows, mapper, sr_ids, now):
        """Set the mapped identifiers of the page's beneficiaries (3 statements).

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
        # identifiers of these types that the SR no longer reports for them
        cr.execute(
            """
            SELECT i.id, i.beneficiary_id, b.sr_id, i.type_id, i.value
              FROM g2p_br_beneficiary b
              JOIN g2p_br_beneficiary_identifier i ON i.beneficiary_id = b.id
             WHERE b.sr_id = ANY(%s) AND i.type_id = ANY(%s)
            """,
            (sr_ids, list(type_ids.values())),
        )
        current = cr.fetchall()
        stale = [row for row in current if triples.get((row[3], row[4])) != row[2]]
        changed = {row[1] for row in stale}
        if stale:
            cr.execute(
                "DELETE FROM g2p_br_beneficiary_identifier WHERE id = ANY(%s)",
                ([row[0] for row in stale],),
            )
        # only the identifiers that are new or move to another beneficiary
        known = {(row[3], row[4]): row[2] for row in current}
        triples = {k: v for k, v in triples.items() if known.get(k) != v}
        if not triples:
            return changed
        page_sr = list(triples.values())
        page_types = [key[0] for key in triples]
        page_values = [key[1] for key in triples]
        cr.execute(
            """
            INSERT INTO g2p_br_beneficiary_identifier AS i
                   (beneficiary_id, type_id, value, company_id,
                    create_uid, create_date, write_uid, write_date)
            SELECT b.id, d.type_id, d.value, b.company_id,
                   %(uid)s, %(now)s, %(uid)s, %(now)s
              FROM unnest(%(d_sr)s::varchar[], %(d_type)s::int4[],
                          %(d_value)s::varchar[]) AS d(sr_id, type_id, value)
              JOIN g2p_br_beneficiary b ON b.sr_id = d.sr_id
            ON CONFLICT (type_id, value) DO UPDATE
               SET beneficiary_id = EXCLUDED.beneficiary_id,
                   company_id = EXCLUDED.company_id,
                   write_uid = EXCLUDED.write_uid, write_date = EXCLUDED.write_date
             WHERE i.beneficiary_id IS DISTINCT FROM EXCLUDED.beneficiary_id
            RETURNING i.beneficiary_id
            """,
            {
                "uid": self.env.uid,
                "now": now,
                "d_sr": page_sr,
                "d_type": page_types,
                "d_value": page_values,
            },
        )
        changed |= {row[0] for row in cr.fetchall()}
        return changed

    def _link_groups(self, sr_ids, mapped, now):
        """Resolve member → group links where both sides are in the BR: links
        of this page's individuals, and links to this page's groups. Each
        UPDATE is driven by the page's SR ids (indexed)."""
        cr = self.env.cr
        params = {"uid": self.env.uid, "now": now, "sr_ids": sr_ids}
        cr.execute(
            """
            UPDATE g2p_br_beneficiary m
               SET group_id = g.id, write_uid = %(uid)s, write_date = %(now)s
              FROM g2p_br_beneficiary g
             WHERE m.sr_id = ANY(%(sr_ids)s) AND m.kind = 'individual'
               AND g.sr_id = m.sr_group_ref AND g.kind = 'group'
               AND m.group_id IS DISTINCT FROM g.id
            """,
            params,
        )
        cr.execute(
            """
            UPDATE g2p_br_beneficiary m
               SET group_id = g.id, write_uid = %(uid)s, write_date = %(now)s
              FROM g2p_br_beneficiary g
             WHERE g.sr_id = ANY(%(sr_ids)s) AND g.kind = 'group'
               AND m.sr_group_ref = g.sr_id AND m.kind = 'individual'
               AND m.group_id IS DISTINCT FROM g.id
            """,
            params,
        )
        if mapped:  # the SR reports no group (any more) for these individuals
            cr.execute(
                """
                UPDATE g2p_br_beneficiary
                   SET group_id = NULL, write_uid = %(uid)s, write_date = %(now)s
                 WHERE sr_id = ANY(%(sr_ids)s) AND sr_group_ref IS NULL
                   AND group_id IS NOT NULL
                """,
                params,
            )
