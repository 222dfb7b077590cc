# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Service layer of the BR API.

Every method runs in the environment of the authenticated client's user
(never ``sudo()``): the user's groups and the core's record rules decide what
exists.  A record the user cannot see is reported as ``None`` (answered 404 by
the routers, so that its existence is not revealed).  Methods return plain
data that the routers' response schemas validate: one mapping per schema,
whatever the endpoint (the beneficiary detail is the core's ``get_summary()``,
whose ``group_sr_id`` the schema reads as ``household_sr_id``).
"""

import time
import uuid
from collections import Counter
from datetime import UTC, datetime

from odoo import api, models
from odoo.tools import SQL, html2plaintext

from ..schemas import encode_cursor

DISBURSEMENT_WRITER_GROUP = "g2p_br_api.group_br_api_disbursement_writer"
DCI_SENDER_ID = "beneficiary-registry"
DCI_PROGRAMME_KEYS = (
    "programme_identifier.program.programme_identifier",
    "programme_identifier.programme.programme_identifier",
    "programme_identifier",
    "program_identifier",
    "programme_code",
)
DCI_PERSON_TYPE_KEYS = ("person_identifier_type", "identifier_type", "type")
# membership state -> DCI EnrollmentStatus (src/extensions/ibr/EnrollmentStatus.yaml);
# draft and not_eligible memberships are no enrolment and are not listed
DCI_ENROLMENT_STATUS = {
    "enrolled": "Active",
    "paused": "Suspended",
    "exited": "Graduated",
}
# an exit with one of these reasons is reported Deceased
DCI_DECEASED_REASONS = {"deceased", "death", "died"}
# orders of the lean reads (their tables are ``m`` and ``e``)
MEMBERSHIPS_LATEST_FIRST = SQL("m.id DESC")
ENTITLEMENTS_LATEST_FIRST = SQL("e.valid_from DESC, e.id DESC")


def _none(value):
    """Odoo returns False for empty values; the API says null."""
    return None if value is False else value


def _page(total, limit, offset, items):
    return {"total": total, "limit": limit, "offset": offset, "items": items}


class DciQueryError(ValueError):
    """An enrolled query the BR cannot answer (reported as ``rjct``)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class G2pBrApiService(models.AbstractModel):
    _name = "g2p.br.api.service"
    _description = "BR API service"

    # ------------------------------------------------------------------
    # beneficiaries
    # ------------------------------------------------------------------
    @api.model
    def _find_beneficiary(self, id_type, id_value):
        """The beneficiary known by this identifier, if the user may see it, in
        two queries (the core's ``find_by_identifier`` takes three: identifier,
        its beneficiary, the beneficiary's record rules)."""
        Beneficiary = self.env["g2p.br.beneficiary"]
        if not id_type or not id_value:
            return Beneficiary
        if id_type == "sr":
            column, query = "id", Beneficiary._search([("sr_id", "=", id_value)])
        else:
            Identifier = self.env["g2p.br.beneficiary.identifier"]
            column = "beneficiary_id"
            query = Identifier._search(
                [("type_id.code", "=", id_type), ("value", "=", id_value)]
            )
        self.env.cr.execute(query.select(SQL.identifier(query.table, column)))
        row = self.env.cr.fetchone()
        if not row:
            return Beneficiary
        # the record rules on the beneficiary decide, on a known id: one
        # query, planned from the primary key (a single query joining the
        # identifier and the rules was planned badly at 100,000 rows)
        return Beneficiary.search([("id", "=", row[0])])

    # ------------------------------------------------------------------
    # lean reads: the ORM decides what the user may see (``_search`` applies
    # the record rules), one SQL statement then reads the rows with what they
    # refer to (instead of one query per related model) and maps each row to
    # its response schema, once: ``_enrollment_rows`` to ``Enrollment``,
    # ``_entitlement_rows`` to ``Entitlement`` (with its ``Disbursement``\ s),
    # whatever the endpoint (one beneficiary, bulk, change feed, DCI)
    # ------------------------------------------------------------------
    @api.model
    def _flush(self):
        """Write the pending ORM changes (none in a request of its own; those
        made earlier in the transaction otherwise) before a lean read."""
        self.env.flush_all()

    @api.model
    def _enrollment_rows(self, query, order=MEMBERSHIPS_LATEST_FIRST):
        """``[(beneficiary_id, Enrollment)]`` of the memberships of ``query``
        (a ``Query`` of g2p.br.program.membership, record rules applied), in
        ``order`` (the model's own order, latest first, by default)."""
        self._flush()
        self.env.cr.execute(
            SQL(
                """
                SELECT m.beneficiary_id, p.code,
                       COALESCE(p.name->>%(lang)s, p.name->>'en_US'),
                       m.state, m.enrollment_date, m.exit_date, m.exit_reason
                  FROM g2p_br_program_membership m
                  JOIN g2p_br_program p ON p.id = m.program_id
                 WHERE m.id IN %(ids)s
                 ORDER BY %(order)s
                """,
                lang=self.env.lang or "en_US",
                ids=query.subselect(),
                order=order,
            )
        )
        return [
            (
                row[0],
                {
                    "program": row[1],
                    "program_name": row[2] or "",
                    "state": row[3],
                    "enrollment_date": row[4],
                    "exit_date": row[5],
                    "exit_reason": row[6],
                },
            )
            for row in self.env.cr.fetchall()
        ]

    @api.model
    def _entitlement_rows(self, query, order=ENTITLEMENTS_LATEST_FIRST):
        """``[(beneficiary_id, Entitlement)]`` of the entitlements of ``query``
        (a ``Query`` of g2p.br.entitlement, record rules applied) with their
        disbursements (record rules applied too), in two statements, in
        ``order`` (latest first by default)."""
        self._flush()
        self.env.cr.execute(
            SQL(
                """
                SELECT e.beneficiary_id, e.id, p.code, e.cycle_id, c.name,
                       e.benefit_kind, e.amount, cur.name, e.quantity, it.unit,
                       it.code, e.state, e.valid_from, e.valid_until,
                       e.disbursed_total, e.remaining, e.disbursement_status,
                       e.write_date
                  FROM g2p_br_entitlement e
                  JOIN g2p_br_program p ON p.id = e.program_id
                  LEFT JOIN g2p_br_cycle c ON c.id = e.cycle_id
                  LEFT JOIN res_currency cur ON cur.id = e.currency_id
                  LEFT JOIN g2p_br_item it ON it.id = e.item_id
                 WHERE e.id IN %(ids)s
                 ORDER BY %(order)s
                """,
                ids=query.subselect(),
                order=order,
            )
        )
        rows = [
            (row[0], self._entitlement_values(row[1:]))
            for row in self.env.cr.fetchall()
        ]
        if rows:
            self._add_disbursements({item["id"]: item for _id, item in rows})
        return rows

    @api.model
    def _entitlement_values(self, row):
        """An ``Entitlement`` of a row of ``_entitlement_rows``."""
        (eid, program, cycle_id, cycle, kind, amount, currency, quantity) = row[:8]
        (unit, item, state, valid_from, valid_until, disbursed, remaining) = row[8:15]
        cash = kind == "cash"
        return {
            "id": eid,
            "program": program,
            "cycle_id": cycle_id,
            "cycle": cycle,
            "kind": kind,
            "amount": amount if cash else None,
            "currency": currency if cash else None,
            "quantity": quantity if kind == "in_kind" else None,
            "unit": unit,
            "item": item,
            "state": state,
            "valid_from": valid_from,
            "valid_until": valid_until,
            "disbursed_total": disbursed or 0.0,
            "remaining": remaining or 0.0,
            "disbursement_status": row[15],
            "updated_at": row[16],
            "disbursements": [],
        }

    @api.model
    def _add_disbursements(self, by_id):
        """Append its ``Disbursement``\\ s (those the user may see, oldest
        first) to each entitlement of ``by_id`` (``{id: Entitlement}``)."""
        disbursements = self.env["g2p.br.disbursement"]._search(
            [("entitlement_id", "in", list(by_id))]
        )
        self.env.cr.execute(
            SQL(
                """
                SELECT d.entitlement_id, d.reference, d.channel, d.amount,
                       d.quantity, d.benefit_kind, d.status, d.status_time,
                       d.failure_reason
                  FROM g2p_br_disbursement d
                 WHERE d.id IN %(ids)s
                 ORDER BY d.id
                """,
                ids=disbursements.subselect(),
            )
        )
        for row in self.env.cr.fetchall():
            entitlement_id, reference, channel, amount, quantity, kind = row[:6]
            by_id[entitlement_id]["disbursements"].append(
                {
                    "reference": reference,
                    "channel": channel,
                    "amount": amount if kind == "cash" else None,
                    "quantity": quantity if kind == "in_kind" else None,
                    "status": row[6],
                    "status_time": row[7],
                    "failure_reason": row[8],
                }
            )

    @api.model
    def beneficiary_detail(self, id_type, id_value):
        """``BeneficiaryDetail``: the core's summary of the beneficiary (which
        hides a household the user may not see), its enrollments and counts
        of its entitlements."""
        beneficiary = self._lookup(id_type, id_value)
        if not beneficiary:
            return None
        domain = [("beneficiary_id", "=", beneficiary.id)]
        memberships = self.env["g2p.br.program.membership"]._search(domain)
        entitlements = self.env["g2p.br.entitlement"].search_read(
            domain, ["state", "disbursement_status"], order="valid_from desc, id desc"
        )
        return dict(
            beneficiary.get_summary(),
            enrollments=[item for _id, item in self._enrollment_rows(memberships)],
            entitlements={
                "total": len(entitlements),
                "by_state": dict(Counter(e["state"] for e in entitlements)),
                "by_disbursement_status": dict(
                    Counter(
                        e["disbursement_status"]
                        for e in entitlements
                        if e["disbursement_status"]
                    )
                ),
            },
        )

    @api.model
    def _lookup(self, id_type, id_value):
        """``_find_beneficiary``, its read audited."""
        beneficiary = self._find_beneficiary(id_type, id_value)
        if beneficiary:
            self._audit_reads(beneficiary.ids)
        return beneficiary

    @api.model
    def _domain_of(self, field, record, state):
        """The domain of the records whose ``field`` is ``record``, in
        ``state`` if given; None when ``record`` is empty (it does not exist
        or is not visible)."""
        if not record:
            return None
        domain = [(field, "=", record.id)]
        if state:
            domain.append(("state", "=", state))
        return domain

    @api.model
    def _beneficiary_domain(self, id_type, id_value, state):
        """``_domain_of`` the beneficiary known by this identifier (its read
        audited)."""
        return self._domain_of("beneficiary_id", self._lookup(id_type, id_value), state)

    @api.model
    def _lean_page(self, model, domain, order, rows, limit, offset):
        """An offset page of the ``model`` records in ``domain``, in ``order``,
        read by ``rows`` (a lean read); counted unless it is the last page."""
        items = []
        if limit:
            query = self.env[model]._search(
                domain, order=order, limit=limit, offset=offset
            )
            items = [item for _id, item in rows(query)]
        if limit and (items or not offset) and len(items) < limit:
            total = offset + len(items)
        else:
            total = self.env[model].search_count(domain)
        return _page(total, limit, offset, items)

    @api.model
    def beneficiary_enrollments(self, id_type, id_value, state, limit, offset):
        domain = self._beneficiary_domain(id_type, id_value, state)
        if domain is None:
            return None
        return self._lean_page(
            "g2p.br.program.membership",
            domain,
            "id desc",
            self._enrollment_rows,
            limit,
            offset,
        )

    @api.model
    def beneficiary_entitlements(
        self,
        id_type,
        id_value,
        program,
        cycle,
        state,
        limit,
        offset,
        updated_since=None,
        cursor=None,
    ):
        domain = self._beneficiary_domain(id_type, id_value, state)
        if domain is None:
            return None
        if program:
            domain.append(("program_id.code", "=", program))
        if cycle:
            domain.append(("cycle_id", "=", cycle))
        model = "g2p.br.entitlement"
        if not (updated_since or cursor):
            return self._lean_page(
                model,
                domain,
                "valid_from desc, id desc",
                self._entitlement_rows,
                limit,
                offset,
            )
        return self._feed(
            model, domain, updated_since, cursor, limit, self._changed_entitlements
        )

    @api.model
    def _changed_entitlements(self, entitlements):
        r"""The ``Entitlement``\ s of a change-feed page, in its order."""
        query = entitlements._as_query(ordered=False)
        rows = self._entitlement_rows(query, SQL("e.write_date, e.id"))
        return [item for _id, item in rows]

    @api.model
    def _audit_reads(self, beneficiary_ids):
        """Read audit trail (only inside an API request, see ``context``)."""
        self.env["g2p.br.api.read.log"]._record_reads(beneficiary_ids)

    # ------------------------------------------------------------------
    # bulk lookups
    # ------------------------------------------------------------------
    def _find_beneficiaries(self, identifiers):
        """``{(type, value): beneficiary}`` of the people the user may see
        among ``identifiers`` (``[(type, value)]``): one query per identifier
        type, then one for the record rules on the beneficiaries."""
        Beneficiary = self.env["g2p.br.beneficiary"]
        by_type = {}
        for id_type, value in identifiers:
            by_type.setdefault(id_type, set()).add(value)
        candidates = {}
        for id_type, values in by_type.items():
            if id_type == "sr":
                rows = Beneficiary.search_read(
                    [("sr_id", "in", list(values))], ["sr_id"]
                )
                candidates.update({("sr", r["sr_id"]): r["id"] for r in rows})
            else:
                rows = self.env["g2p.br.beneficiary.identifier"].search_read(
                    [("type_id.code", "=", id_type), ("value", "in", list(values))],
                    ["value", "beneficiary_id"],
                )
                candidates.update(
                    {(id_type, r["value"]): r["beneficiary_id"][0] for r in rows}
                )
        # the identifier may be visible while the beneficiary is not
        visible = Beneficiary.search([("id", "in", list(set(candidates.values())))])
        by_id = {b.id: b for b in visible}
        return {
            key: by_id[beneficiary_id]
            for key, beneficiary_id in candidates.items()
            if beneficiary_id in by_id
        }

    @api.model
    @api.model
    def _bulk(self, identifiers, rows):
        """One result per identifier, with the items ``rows`` (one of the
        lean reads, given a domain) finds for each beneficiary."""
        found = self._find_beneficiaries(identifiers)
        beneficiaries = self.env["g2p.br.beneficiary"].union(*found.values())
        items_by_beneficiary = {}
        for beneficiary_id, item in rows([("beneficiary_id", "in", beneficiaries.ids)]):
            items_by_beneficiary.setdefault(beneficiary_id, []).append(item)
        self._audit_reads(beneficiaries.ids)
        results = []
        for id_type, value in identifiers:
            beneficiary = found.get((id_type, value))
            result = {"type": id_type, "value": value, "found": bool(beneficiary)}
            result["sr_id"] = beneficiary.sr_id if beneficiary else None
            result["items"] = (
                items_by_beneficiary.get(beneficiary.id, []) if beneficiary else []
            )
            results.append(result)
        return {"results": results}

    @api.model
    def bulk_enrollments(self, identifiers):
        """Enrollments of up to 1,000 people, in the order of ``identifiers``."""
        Membership = self.env["g2p.br.program.membership"]
        return self._bulk(
            identifiers,
            lambda domain: self._enrollment_rows(
                Membership._search(domain), SQL("m.id")
            ),
        )

    @api.model
    def bulk_entitlements(self, identifiers):
        """Entitlements of up to 1,000 people, in the order of ``identifiers``."""
        Entitlement = self.env["g2p.br.entitlement"]
        return self._bulk(
            identifiers,
            lambda domain: self._entitlement_rows(Entitlement._search(domain)),
        )

    # ------------------------------------------------------------------
    # programs
    # ------------------------------------------------------------------
    @api.model
    def _program_values(self, program):
        item = program.item_id
        return {
            "code": program.code,
            "name": program.name,
            "state": program.state,
            "target_type": _none(program.target_type),
            "benefit_kind": _none(program.benefit_kind),
            "currency": program.currency_id.name
            if program.benefit_kind == "cash"
            else None,
            "item": item.code or None,
            "unit": item.unit or None,
            "cycle_frequency": _none(program.cycle_frequency),
        }

    @api.model
    def _totals(self, totals):
        return {
            "members": dict(totals.get("members") or {}),
            "entitled": totals.get("entitled") or 0.0,
            "disbursed": totals.get("disbursed") or 0.0,
        }

    @api.model
    def _identifiers(self, beneficiary):
        r"""The ``Identifier``\ s of a beneficiary."""
        return [
            {"type": i.type_id.code, "value": i.value}
            for i in beneficiary.identifier_ids
        ]

    @api.model
    def _find_program(self, code):
        return self.env["g2p.br.program"].search([("code", "=", code)], limit=1)

    @api.model
    def _search_page(self, model, domain, limit, offset, order=None):
        Model = self.env[model]
        total = Model.search_count(domain)
        if not limit or offset >= total:
            return total, Model.browse()
        return total, Model.search(domain, limit=limit, offset=offset, order=order)

    @api.model
    def programs(self, state, limit, offset):
        domain = [("state", "=", state)] if state else []
        total, programs = self._search_page(
            "g2p.br.program", domain, limit, offset, order="code, id"
        )
        items = [self._program_values(p) for p in programs]
        return _page(total, limit, offset, items)

    @api.model
    def program_detail(self, code):
        program = self._find_program(code)
        if not program:
            return None
        values = self._program_values(program)
        values["description"] = (
            html2plaintext(program.description) if program.description else None
        )
        values["totals"] = self._totals(program.get_totals())
        return values

    @api.model
    def _program_domain(self, code, state):
        """The domain of a program's records in ``state``, or None when the
        program does not exist or is not visible."""
        return self._domain_of("program_id", self._find_program(code), state)

    @api.model
    def _feed(self, model, domain, updated_since, cursor, limit, to_items):
        """A page of the change feed of ``model`` (``total`` null, ``offset``
        0, ``next_cursor``, ``has_more``), ``to_items`` mapping its records."""
        records, next_cursor, has_more = self._feed_page(
            model, domain, updated_since, cursor, max(limit, 1)
        )
        return dict(
            _page(None, limit, 0, to_items(records[:limit])),
            next_cursor=next_cursor,
            has_more=has_more,
        )

    @api.model
    def _member_items(self, memberships):
        r"""``ProgramEnrollment``\ s of ``memberships`` (whose reads are audited)."""
        self._audit_reads(memberships.beneficiary_id.ids)
        return [
            {
                "sr_id": membership.beneficiary_id.sr_id,
                "kind": _none(membership.beneficiary_id.kind),
                "identifiers": self._identifiers(membership.beneficiary_id),
                "state": membership.state,
                "enrollment_date": _none(membership.enrollment_date),
                "exit_date": _none(membership.exit_date),
                "exit_reason": _none(membership.exit_reason),
                "updated_at": membership.write_date,
            }
            for membership in memberships
        ]

    @api.model
    def program_enrollments(
        self, code, state, limit, offset, updated_since=None, cursor=None
    ):
        domain = self._program_domain(code, state)
        if domain is None:
            return None
        model = "g2p.br.program.membership"
        if updated_since or cursor:
            return self._feed(
                model, domain, updated_since, cursor, limit, self._member_items
            )
        total, memberships = self._search_page(model, domain, limit, offset, "id")
        return _page(total, limit, offset, self._member_items(memberships))

    @api.model
    def _cycle_values(self, cycle):
        """A ``Cycle``."""
        return {
            "id": cycle.id,
            "name": cycle.name,
            "start_date": _none(cycle.start_date),
            "end_date": _none(cycle.end_date),
            "state": cycle.state,
            "totals": self._totals(cycle.get_totals()),
        }

    @api.model
    def program_cycles(self, code, state, limit, offset):
        domain = self._program_domain(code, state)
        if domain is None:
            return None
        total, cycles = self._search_page(
            "g2p.br.cycle", domain, limit, offset, "start_date, id"
        )
        return _page(total, limit, offset, [self._cycle_values(c) for c in cycles])

    # ------------------------------------------------------------------
    # disbursements
    # ------------------------------------------------------------------
    @api.model
    def can_write_disbursement_status(self):
        return self.env.user.has_group(DISBURSEMENT_WRITER_GROUP)

    @api.model
    def _log_write_call(self, endpoint, vals):
        vals.update(
            client_id=self.env.context.get("br_api_client_id"),
            user_id=self.env.uid,
            method="POST",
            endpoint=endpoint,
        )
        return self.env["g2p.br.api.call.log"]._record_call(vals)

    @api.model
    def _log_forbidden_call(self, endpoint, item_count):
        """Record a refused write call. Private (never callable over RPC): only
        the API request path writes the call log, with the client taken from
        the authenticated request."""
        self._log_write_call(
            endpoint,
            {"status_code": 403, "outcome": "forbidden", "item_count": item_count},
        )

    @api.model
    def _log_status_report(self, endpoint, results, summary, started):
        """Log a status report: its counts, the codes of its errors (never a
        reference or a reason) and its duration since ``started``."""
        if not summary["error"]:
            outcome = "ok"
        elif summary["error"] == len(results):
            outcome = "failed"
        else:
            outcome = "partial"
        error_codes = Counter(
            r.get("code") for r in results if r.get("result") == "error"
        )
        self._log_write_call(
            endpoint,
            {
                "status_code": 200,
                "outcome": outcome,
                "item_count": len(results),
                "applied_count": summary["applied"],
                "unchanged_count": summary["unchanged"],
                "error_count": summary["error"],
                "duration_ms": int((time.monotonic() - started) * 1000),
                "detail": ", ".join(f"{code}: {n}" for code, n in error_codes.items())
                or False,
            },
        )

    @api.model
    def _apply_status_report(self, endpoint, items):
        """Apply a batch of status updates (``items`` as the core expects them)
        and log the call. Private: only the API request path may write the
        call log."""
        started = time.monotonic()
        results = self.env["g2p.br.disbursement"].apply_status_updates(
            items, since_creation=True
        )
        counts = Counter(r.get("result") for r in results)
        summary = {key: counts.get(key, 0) for key in ("applied", "unchanged", "error")}
        self._log_status_report(endpoint, results, summary, started)
        return {
            "summary": summary,
            "results": [
                {
                    "reference": r.get("reference"),
                    "result": r.get("result"),
                    "code": _none(r.get("code")),
                    "message": _none(r.get("message")),
                }
                for r in results
            ],
        }

    # ------------------------------------------------------------------
    # change feeds (keyset pagination on (write_date, id))
    # ------------------------------------------------------------------
    @api.model
    def _feed_horizon(self):
        """The feed only serves rows changed before every write that may still
        commit: before the start of the oldest open transaction of the
        database (other than this request's, which writes no feed record).
        Odoo stamps ``write_date`` with the start of the writing transaction,
        so a row that one of them commits later has a ``write_date`` at or
        after this horizon, and a later call serves it: no row is skipped
        (see the README for the guarantee and its one residual case).
        Only client backends count: an autovacuum worker's transaction writes
        no feed record, and would hold the feed back for as long as it runs."""
        self.env.cr.execute(
            SQL(
                "SELECT COALESCE(min(xact_start), clock_timestamp()) "
                "AT TIME ZONE 'UTC' FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend' AND xact_start IS NOT NULL"
            )
        )
        return self.env.cr.fetchone()[0]

    @api.model
    def _feed_page(self, model, domain, updated_since, cursor, limit):
        """``(records, next_cursor, has_more)``: the next ``limit`` records of
        ``model`` (with the user's record rules) in ``domain``, ordered by
        ``(write_date, id)``, after ``cursor`` (a decoded ``(write_date, id)``)
        or changed at or after ``updated_since``."""
        Model = self.env[model]
        horizon = self._feed_horizon()
        query = Model._search(domain, order="write_date, id", limit=limit + 1)
        write_date = SQL.identifier(Model._table, "write_date")
        record_id = SQL.identifier(Model._table, "id")
        query.add_where(SQL("%s < %s", write_date, horizon))
        if cursor:
            query.add_where(SQL("(%s, %s) > (%s, %s)", write_date, record_id, *cursor))
        elif updated_since:
            query.add_where(SQL("%s >= %s", write_date, updated_since))
        records = Model.browse(query)
        has_more = len(records) > limit
        records = records[:limit]
        if records:
            last = records[-1]
            next_cursor = encode_cursor(last.write_date, last.id)
        elif cursor:
            next_cursor = encode_cursor(*cursor)
        else:
            # nothing yet: from updated_since on (ids start at 1)
            next_cursor = encode_cursor(updated_since or datetime(1970, 1, 1), 0)
        return records, next_cursor, has_more

    # ------------------------------------------------------------------
    # disbursements (payment providers)
    # ------------------------------------------------------------------
    @api.model
    def _disbursement_values(self, disbursement):
        beneficiary = disbursement.beneficiary_id
        cash = disbursement.benefit_kind == "cash"
        return {
            "reference": disbursement.reference,
            "program": disbursement.program_id.code,
            "cycle_id": disbursement.cycle_id.id or None,
            "cycle": disbursement.cycle_id.name or None,
            "entitlement_id": disbursement.entitlement_id.id,
            "beneficiary": {
                "sr_id": beneficiary.sr_id,
                "identifiers": self._identifiers(beneficiary),
            },
            "channel": _none(disbursement.channel),
            "amount": disbursement.amount if cash else None,
            "currency": disbursement.currency_id.name if cash else None,
            "quantity": None if cash else disbursement.quantity,
            "unit": None if cash else _none(disbursement.unit),
            "status": disbursement.status,
            "status_time": _none(disbursement.status_time),
            "failure_reason": _none(disbursement.failure_reason),
            "updated_at": disbursement.write_date,
        }

    @api.model
    def disbursement(self, reference):
        """The disbursement with this reference, if the user may see it."""
        # no LIMIT: see _find_beneficiary
        disbursement = self.env["g2p.br.disbursement"].search(
            [("reference", "=", reference)]
        )[:1]
        if not disbursement:
            return None
        self._audit_reads(disbursement.beneficiary_id.ids)
        return self._disbursement_values(disbursement)

    @api.model
    def disbursements(
        self, program, cycle, state, updated_since, cursor, limit, reference=None
    ):
        """A page of the change feed of the disbursements visible to the user
        (``None`` when ``program`` is given and not visible)."""
        domain = []
        if program:
            found = self._find_program(program)
            if not found:
                return None
            domain.append(("program_id", "=", found.id))
        if cycle:
            domain.append(("cycle_id", "=", cycle))
        if state:
            domain.append(("status", "=", state))
        if reference:
            domain.append(("reference", "=", reference))
        records, next_cursor, has_more = self._feed_page(
            "g2p.br.disbursement", domain, updated_since, cursor, limit
        )
        self._audit_reads(records.beneficiary_id.ids)
        return {
            "items": [self._disbursement_values(d) for d in records],
            "next_cursor": next_cursor,
            "has_more": has_more,
        }

    # ------------------------------------------------------------------
    # DCI IBR enrolled query
    # ------------------------------------------------------------------
    @api.model
    def _dci_scalar(self, value, what):
        if isinstance(value, dict):
            if set(value) != {"eq"}:
                raise DciQueryError(
                    "rjct.search_criteria.invalid",
                    f"{what}: only the 'eq' operator is supported",
                )
            value = value["eq"]
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise DciQueryError(
                "rjct.search_criteria.invalid", f"{what} must be a string"
            )
        value = str(value).strip()
        if not value or len(value) > 256 or "\x00" in value:
            raise DciQueryError(
                "rjct.search_criteria.invalid", f"{what} is not a valid value"
            )
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise DciQueryError(
                "rjct.search_criteria.invalid", f"{what} is not valid text"
            ) from exc
        return value

    @api.model
    def _dci_parse_query(self, query_type, query):
        """Return ``(person_value, person_type or None, programme or None)``."""
        conditions = {}
        if query_type == "expression" or isinstance(query, list):
            expressions = query if isinstance(query, list) else [query]
            for expression in expressions:
                name = expression.get("attribute_name")
                operator = expression.get("operator", "eq")
                if not isinstance(name, str) or operator != "eq":
                    raise DciQueryError(
                        "rjct.search_criteria.invalid",
                        "expressions need an attribute_name and the 'eq' operator",
                    )
                conditions[name] = expression.get("attribute_value")
        else:
            conditions = dict(query)
            if "value" in conditions and "person_identifier" not in conditions:
                conditions["person_identifier"] = conditions.pop("value")
        if "person_identifier" not in conditions:
            raise DciQueryError(
                "rjct.search_criteria.invalid", "the query needs a person_identifier"
            )
        person = self._dci_scalar(conditions["person_identifier"], "person_identifier")
        person_type = next(
            (
                self._dci_scalar(conditions[key], key)
                for key in DCI_PERSON_TYPE_KEYS
                if key in conditions
            ),
            None,
        )
        programme = next(
            (
                self._dci_scalar(conditions[key], key)
                for key in DCI_PROGRAMME_KEYS
                if key in conditions
            ),
            None,
        )
        return person, person_type, programme

    @api.model
    def _dci_find_person(self, value, id_type):
        if id_type:
            return self._find_beneficiary(id_type, value)
        beneficiary = self._find_beneficiary("sr", value)
        if beneficiary:
            return beneficiary
        # one lookup per identifier type: each uses the (type_id, value)
        # unique index, where a search on the value alone would scan them all
        beneficiaries = self.env["g2p.br.beneficiary"]
        for type_code in self.env["g2p.br.identifier.type"].search([]).mapped("code"):
            beneficiaries |= self._find_beneficiary(type_code, value)
        if len(beneficiaries) > 1:
            raise DciQueryError(
                "rjct.search.too_many_records_found",
                "several people have this identifier value: "
                "give person_identifier_type",
            )
        return beneficiaries

    @api.model
    def _dci_programmes(self, beneficiary, programme):
        """``(enrolled, programmes)``: the visible memberships of the person
        (in ``programme`` if given) in the DCI vocabulary."""
        programmes = []
        enrolled = False
        memberships = self.env["g2p.br.program.membership"]._search(
            [("beneficiary_id", "=", beneficiary.id)]
        )
        for _id, membership in self._enrollment_rows(memberships):
            state = membership["state"]
            if state not in DCI_ENROLMENT_STATUS:
                continue
            if programme and membership["program"] != programme:
                continue
            status = DCI_ENROLMENT_STATUS[state]
            reason = (membership["exit_reason"] or "").strip().lower()
            if state == "exited" and reason in DCI_DECEASED_REASONS:
                status = "Deceased"
            enrolled = enrolled or state == "enrolled"
            values = {
                "programme_identifier": membership["program"],
                "programme_name": membership["program_name"],
                "enrolment_status": status,
                "registry_state": state,
            }
            if membership["enrollment_date"]:
                values["enrolment_date"] = membership["enrollment_date"]
            programmes.append(values)
        return enrolled, programmes

    @api.model
    def _dci_answer(self, reference_id, criteria, now):
        """One ``enrolled_response`` item for one query."""
        item = {
            "reference_id": reference_id,
            "timestamp": now,
            "status": "succ",
            "enrolled_status": "no",
            "programmes": [],
        }
        try:
            if criteria.get("query_type") == "predicate":
                raise DciQueryError(
                    "rjct.search_criteria.invalid",
                    "predicate queries are not supported",
                )
            person, person_type, programme = self._dci_parse_query(
                criteria.get("query_type"), criteria["query"]
            )
            beneficiary = self._dci_find_person(person, person_type)
            if beneficiary:
                self._audit_reads(beneficiary.ids)
                enrolled, programmes = self._dci_programmes(beneficiary, programme)
                item["enrolled_status"] = "yes" if enrolled else "no"
                item["programmes"] = programmes
        except DciQueryError as error:
            item.update(
                status="rjct",
                status_reason_code=error.code,
                status_reason_message=error.message,
                enrolled_status="no",
            )
        return item

    @api.model
    def _dci_rejection(self, header, message):
        """``(code or None, reason)`` when the whole message is rejected: it
        is encrypted (not supported: no code of the spec fits, only a message
        is given) or its action is not ``search``/``enrolled``; else None."""
        if header.get("is_msg_encrypted") or "ciphertext" in message:
            return None, "encrypted messages are not supported"
        if header.get("action") not in ("search", "enrolled"):
            return "rjct.action.not_supported", "action must be 'search' or 'enrolled'"
        return None

    @api.model
    def _dci_queries(self, header, message):
        """``[(reference_id, criteria)]``: the spec's single
        ``enrolled_criteria`` (referenced by the message id), or the queries
        of ``search_request``."""
        if message.get("search_request") is not None:
            return [
                (query["reference_id"], query["search_criteria"])
                for query in message["search_request"]
            ]
        return [(header["message_id"], message["enrolled_criteria"])]

    @api.model
    def _dci_response_header(self, header, now):
        """The response header, without its status and counts."""
        out_header = {
            "version": "1.0.0",
            "message_id": str(uuid.uuid4()),
            "message_ts": now,
            "action": header.get("action") or "search",
            "sender_id": DCI_SENDER_ID,
            "is_msg_encrypted": False,
        }
        if header.get("sender_id"):
            out_header["receiver_id"] = header["sender_id"]
        return out_header

    @api.model
    def dci_enrolled(self, request):
        """Answer a DCI IBR ``enrolled`` query (``request``: the parsed envelope).

        The whole message is rejected (header ``rjct``, see
        ``_dci_rejection``); otherwise each query is answered by an item of
        its own (``rjct`` with a ``SearchStatusReasonCode`` when it cannot be
        answered), and the header is ``succ`` unless every item is rejected."""
        header = request["header"]
        message = request["message"]
        now = datetime.now(UTC)
        out_header = self._dci_response_header(header, now)
        reject = self._dci_rejection(header, message)
        if reject:
            code, reason = reject
            items = [
                {
                    "reference_id": header["message_id"],
                    "timestamp": now,
                    "status": "rjct",
                    "status_reason_message": reason,
                    "enrolled_status": "no",
                }
            ]
            out_header.update(status="rjct", status_reason_message=reason)
            if code:
                out_header["status_reason_code"] = code
        else:
            items = [
                self._dci_answer(reference_id, criteria, now)
                for reference_id, criteria in self._dci_queries(header, message)
            ]
            all_rejected = all(item["status"] == "rjct" for item in items)
            out_header["status"] = "rjct" if all_rejected else "succ"
            if len(items) == 1 and all_rejected:
                out_header["status_reason_message"] = items[0]["status_reason_message"]
        out_header.update(total_count=len(items), completed_count=len(items))
        return {
            "header": out_header,
            "message": {
                "transaction_id": message.get("transaction_id") or "",
                "correlation_id": str(uuid.uuid4()),
                "enrolled_response": items,
            },
        }
