# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A DCI Social Registry test server (sync search API), for tests and benchmarks.

Serves a generated, deterministic registry of individuals and groups (households)
over real HTTP on 127.0.0.1 through both query dialects of the BR's SR sync:

* ``predicate`` (DCI standard): ``search_criteria.query`` is a list of
  ``{seq_num, expression1: {attribute_name, operator, attribute_value},
  condition, expression2}``; records are DCI ``Person`` / ``Group`` objects.
* ``graphql`` (OpenG2P Social Registry): ``search_criteria.query`` is a graphql
  query on ``getRegistrants(isGroup, lastSyncDate, limit, offset)``; records are
  OpenG2P registrants under ``data.reg_records.getRegistrants`` with
  ``totalRegistrantCount``.

Records are sorted by a stable key (their sequence number) and paginated
(``page_number`` starts at 1). Authentication: none, a static bearer token, or
OAuth2 client credentials (``POST /oauth2/token``, tokens that expire).

Switches (attributes of :class:`Faults`) inject faults in the next search
requests: slow answers, 500s, 429 with Retry-After, dropped connections,
malformed JSON, ``rjct`` answers, 400s, records with bad fields, records
changing between pages (``after_page`` hooks, or ``churn`` records after every
page), and an outage that starts after N answered searches (``outage_after``).
Behaviours of real registries (attributes of :class:`SrRegistry` and
:class:`DciSrServer`): ``clock_offset`` (the SR's clock, its ``last_updated``
stamps and its ``message_ts`` run behind or ahead of real time),
``order_by_last_updated`` (pages ordered by last update, ``sort`` ignored, as
the DCI spec allows), and ``strict`` (every request is validated against the
DCI social registry SearchRequest schema, unknown properties refused; the
violations are kept in ``invalid_requests``).

:class:`SrRegistry` has a small API to mutate records (update, deactivate,
add) for incremental pulls, also reachable over HTTP (``POST /_test/mutate``)
when the server runs in another process::

    python3 g2p_br_sr_sync/tests/dci_sr_server.py 100000 [none|bearer|oauth2]

Records carry personal data (names, phones, addresses) so that tests can prove
the BR never stores it. Standard library only (``orjson`` writes the responses
when installed); usable from Odoo tests, pytest
and the benchmark::

    registry = SrRegistry(size=10_000, seed=42)
    with DciSrServer(registry) as server:
        url = server.base_url  # http://127.0.0.1:<port>
"""

import bisect
import contextlib
import json
import random
import re
import secrets
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

try:
    import orjson  # optional: the JSON of a page of 5,000 records, faster
except ImportError:
    orjson = None

GIVEN_NAMES = (
    "Zawadi", "Baraka", "Amani", "Imani", "Jabari", "Nyokabi", "Wanjiru", "Kamau",
    "Achieng", "Otieno", "Makena", "Mwangi", "Njeri", "Kipchoge", "Chebet", "Auma",
)  # fmt: skip
SURNAMES = (
    "Odhiambowski", "Kariukiello", "Wekesatown", "Mutuaberg", "Onyangostra",
    "Kiplagatson", "Ndungufield", "Wambuiton", "Chepkoechry", "Omondimar",
)  # fmt: skip
STREETS = ("Mango Lane", "Baobab Road", "Acacia Close", "Jacaranda Way", "Tamarind Row")
REGIONS = tuple(f"R{n:02d}" for n in range(1, 21))
SR_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _iso(value):
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dumps(payload):
    """JSON bytes of a response (the standard library's for what orjson refuses)."""
    if orjson is not None:
        try:
            return orjson.dumps(payload)
        except orjson.JSONEncodeError:
            return json.dumps(payload).encode()
    return json.dumps(payload).encode()


def _parse_dt(value):
    text = str(value).strip().replace("Z", "+00:00")
    result = datetime.fromisoformat(text)
    return result if result.tzinfo else result.replace(tzinfo=UTC)


# Field mappings (source path, BR field, transform, value map) that read this
# server's predicate-dialect records: used by the sync tests and the benchmark.
INDIVIDUAL_MAPPING = [
    ("identifier[identifier_type=SRID].identifier_value", "sr_id", "none", ""),
    ("identifier[identifier_type=UIN].identifier_value", "identifier", "none", ""),
    ("sex", "sex", "lower", ""),
    ("birth_date", "birth_date", "date", ""),
    ("address[0].region_code", "region_code", "none", ""),
    ("is_disabled", "disability", "bool", ""),
    ("status", "active", "value_map", "active = true\ninactive = false"),
    ("member_of[identifier_type=SRID].identifier_value", "sr_group_ref", "none", ""),
    ("last_updated", "sr_updated_at", "datetime", ""),
]
GROUP_MAPPING = [
    ("group_identifier[identifier_type=SRID].identifier_value", "sr_id", "none", ""),
    ("group_size", "group_size", "int", ""),
    ("poverty_score", "poverty_score", "float", ""),
    ("place.region_code", "region_code", "none", ""),
    ("status", "active", "value_map", "active = true\ninactive = false"),
    ("last_updated", "sr_updated_at", "datetime", ""),
]


def mapping_commands(mapping, identifier_type_id):
    """The ``mapping_ids`` commands of a connection reading ``mapping`` (one
    of the above); ``identifier`` lines fill ``identifier_type_id``."""
    return [
        (
            0,
            0,
            {
                "sequence": seq,
                "source_path": path,
                "target_field": target,
                "transform": transform,
                "value_map": value_map or False,
                "identifier_type_id": identifier_type_id
                if target == "identifier"
                else False,
            },
        )
        for seq, (path, target, transform, value_map) in enumerate(mapping)
    ]


@dataclass
class Registrant:
    seq: int
    kind: str  # individual | group
    sr_id: str
    uin: str
    given_name: str
    surname: str
    phone: str
    street: str
    region_code: str
    sex: str | None = None
    birth_date: date | None = None
    disability: bool = False
    group_seq: int | None = None
    group_size: int = 0
    poverty_score: float = 0.0
    active: bool = True
    registered: datetime = SR_EPOCH
    last_updated: datetime = SR_EPOCH


class SrRegistry:
    """A generated registry: ``size`` registrants, one group per ``members + 1``
    (a household with ``members`` members, 4 by default), deterministic for a
    given ``seed``."""

    def __init__(self, size=1000, seed=42, members=4):
        self.rng = random.Random(seed)
        self.lock = threading.RLock()
        self.records = {}  # seq -> Registrant
        self._clock = SR_EPOCH
        # the SR's clock: real time plus this offset (negative: it lags)
        self.clock_offset = timedelta(0)
        # pages ordered by last update (then seq), whatever the request's sort
        self.order_by_last_updated = False
        # kind -> (number of records when built, its registrants by seq)
        self._by_kind = {}
        # bumped by every change of a registrant (update, deactivate, add)
        self._version = 0
        # kind -> (version when built, last_updated values, registrants), both
        # sorted by (last_updated, seq): the index on last update a real SR has
        self._by_stamp = {}
        self._uins = set()  # a UIN identifies one registrant, as in a real SR
        n_groups = max(size // (members + 1), 1)
        n_individuals = size - n_groups
        for _ in range(n_groups):
            self._new("group")
        groups = [r.seq for r in self.records.values()]
        for index in range(n_individuals):
            self._new("individual", group_seq=groups[index % len(groups)])
        for rec in self.records.values():
            if rec.kind == "group":
                rec.group_size = 0
        for rec in self.records.values():
            if rec.group_seq:
                self.records[rec.group_seq].group_size += 1

    # -- generation and mutation ------------------------------------------------
    def now(self):
        """The SR's clock (real time plus ``clock_offset``)."""
        return datetime.now(UTC) + self.clock_offset

    def _tick(self):
        """Monotonic SR clock: its time, but never twice the same value."""
        now = self.now()
        self._clock = max(now, self._clock + timedelta(microseconds=1))
        return self._clock

    def _new(self, kind, group_seq=None):
        rng = self.rng
        seq = len(self.records) + 1
        prefix = "GRP" if kind == "group" else "IND"
        stamp = SR_EPOCH + timedelta(seconds=seq)
        uin = f"{rng.randrange(10**9, 10**10)}"
        while uin in self._uins:  # in 1,000,000 random draws about 50 repeat one
            uin = f"{rng.randrange(10**9, 10**10)}"
        self._uins.add(uin)
        rec = Registrant(
            seq=seq,
            kind=kind,
            sr_id=f"{prefix}-{seq:07d}",
            uin=uin,
            given_name=rng.choice(GIVEN_NAMES),
            surname=rng.choice(SURNAMES),
            phone=f"+2547{rng.randrange(10**7, 10**8)}",
            street=f"{rng.randrange(1, 400)} {rng.choice(STREETS)}",
            region_code=rng.choice(REGIONS),
            registered=stamp,
            last_updated=stamp,
        )
        if kind == "individual":
            rec.sex = rng.choice(("male", "female", "female", "male", "other"))
            rec.birth_date = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 30000))
            rec.disability = rng.random() < 0.05
            rec.group_seq = group_seq
        else:
            rec.poverty_score = round(rng.uniform(0, 10), 2)
        self.records[seq] = rec
        return rec

    def by_sr_id(self, sr_id):
        return next(r for r in self.records.values() if r.sr_id == sr_id)

    def find(self, kind, id_type, value):
        """Registrants of ``kind`` with identifier ``id_type`` = ``value``."""
        with self.lock:
            return [
                r
                for r in self.records.values()
                if r.kind == kind
                and (
                    (id_type == "SRID" and r.sr_id == value)
                    or (id_type == "UIN" and r.uin == str(value))
                )
            ]

    def update(self, count=None, seqs=None, kind=None):
        """Change the region (and poverty score / birth date) of ``count``
        registrants (or of ``seqs``); returns their SR ids."""
        with self.lock:
            targets = self._pick(count, seqs, kind)
            for rec in targets:
                rec.region_code = REGIONS[
                    (REGIONS.index(rec.region_code) + 1) % len(REGIONS)
                ]
                if rec.kind == "group":
                    rec.poverty_score = round((rec.poverty_score + 1.5) % 10, 2)
                else:
                    rec.birth_date = rec.birth_date + timedelta(days=1)
                rec.last_updated = self._tick()
            self._version += 1
            return [r.sr_id for r in targets]

    def deactivate(self, count=None, seqs=None, kind=None):
        with self.lock:
            targets = self._pick(count, seqs, kind, active_only=True)
            for rec in targets:
                rec.active = False
                rec.last_updated = self._tick()
            self._version += 1
            return [r.sr_id for r in targets]

    def add(self, count, kind="individual"):
        with self.lock:
            groups = [r.seq for r in self.records.values() if r.kind == "group"]
            added = []
            for _ in range(count):
                rec = self._new(
                    kind,
                    group_seq=self.rng.choice(groups) if kind == "individual" else None,
                )
                rec.registered = rec.last_updated = self._tick()
                if rec.group_seq:
                    self.records[rec.group_seq].group_size += 1
                added.append(rec.sr_id)
            self._version += 1
            return added

    def _pick(self, count, seqs, kind, active_only=False):
        if seqs is not None:
            return [self.records[s] for s in seqs]
        pool = [
            r
            for r in self.records.values()
            if (kind is None or r.kind == kind) and (r.active or not active_only)
        ]
        return self.rng.sample(pool, min(count, len(pool)))

    # -- querying -----------------------------------------------------------------
    def select(self, kind, conditions=(), since=None):
        """Registrants of ``kind`` matching every ``(attribute, op, value)``,
        sorted by the stable key (sequence number).

        A lower bound on ``last_updated`` (``since``, or a ``ge``/``gt``
        condition) is served by an index: only the registrants updated since
        then are checked, as a real SR with an index on its update timestamp
        does (a scan of 900,000 registrants took about 2 s a request)."""
        with self.lock:
            if since is None and not conditions and not self.order_by_last_updated:
                return self._of_kind(kind)  # the common full-pull page: no scan
            bounds = [
                _parse_dt(value)
                for attribute, operator, value in conditions
                if attribute == "last_updated" and operator in ("ge", "gt")
            ]
            if since is not None:
                bounds.append(since)
            if bounds:
                rows = self._updated_since(kind, max(bounds))
            else:
                rows = list(self._of_kind(kind))
            if since is not None:
                rows = [r for r in rows if r.last_updated >= since]
            for attribute, operator, value in conditions:
                rows = [r for r in rows if _match(r, attribute, operator, value)]
            if self.order_by_last_updated:
                rows.sort(key=lambda r: (r.last_updated, r.seq))
            else:
                rows.sort(key=lambda r: r.seq)
            return rows

    def reindex(self):
        """Build the index on last update of every kind now (after changes)."""
        with self.lock:
            for kind in ("individual", "group"):
                self._updated_since(kind, SR_EPOCH)

    def _updated_since(self, kind, since):
        """The registrants of ``kind`` with ``last_updated >= since`` (a new
        list), through the index on last update, rebuilt after a change."""
        version, stamps, rows = self._by_stamp.get(kind, (None, None, None))
        if version != self._version or rows is None:
            rows = sorted(self._of_kind(kind), key=lambda r: (r.last_updated, r.seq))
            stamps = [r.last_updated for r in rows]
            self._by_stamp[kind] = (self._version, stamps, rows)
        return rows[bisect.bisect_left(stamps, since) :]

    def _of_kind(self, kind):
        """The registrants of ``kind`` sorted by seq (shared, do not modify),
        kept until a registrant is added: kinds and seqs never change."""
        count, rows = self._by_kind.get(kind, (None, None))
        if count != len(self.records):
            rows = sorted(
                (r for r in self.records.values() if r.kind == kind),
                key=lambda r: r.seq,
            )
            self._by_kind[kind] = (len(self.records), rows)
        return rows

    # -- rendering (copies taken under the lock) ------------------------------------
    def render_dci(self, rec):
        status = "active" if rec.active else "inactive"
        common = {
            "registration_date": _iso(rec.registered),
            "last_updated": _iso(rec.last_updated),
            "status": status,
        }
        if rec.kind == "group":
            return {
                "@type": "Group",
                "group_identifier": [
                    {"identifier_type": "SRID", "identifier_value": rec.sr_id},
                    {"identifier_type": "HHID", "identifier_value": f"HH{rec.uin}"},
                ],
                "group_size": rec.group_size,
                "poverty_score": rec.poverty_score,
                "place": {
                    "address": f"{rec.street}, {rec.region_code}",
                    "region_code": rec.region_code,
                },
                "group_head_info": {
                    "name": {"given_name": rec.given_name, "surname": rec.surname},
                    "phone_number": [rec.phone],
                },
                **common,
            }
        group = self.records.get(rec.group_seq)
        person = {
            "@type": "Person",
            "identifier": [
                {"identifier_type": "SRID", "identifier_value": rec.sr_id},
                {"identifier_type": "UIN", "identifier_value": rec.uin},
            ],
            "name": {"given_name": rec.given_name, "surname": rec.surname},
            "sex": rec.sex,
            "birth_date": rec.birth_date.isoformat(),
            "address": [{"address_line1": rec.street, "region_code": rec.region_code}],
            "phone_number": [rec.phone],
            "is_disabled": rec.disability,
            **common,
        }
        if group:
            person["member_of"] = [
                {"identifier_type": "SRID", "identifier_value": group.sr_id}
            ]
        return person

    def render_graphql(self, rec):
        group = self.records.get(rec.group_seq)
        result = {
            "id": rec.seq,
            "name": f"{rec.given_name} {rec.surname}",
            "givenName": rec.given_name,
            "familyName": rec.surname,
            "isGroup": rec.kind == "group",
            "active": rec.active,
            "regIds": [
                {"idTypeAsStr": "SRID", "value": rec.sr_id},
                {"idTypeAsStr": "UIN", "value": rec.uin},
            ],
            "phoneNumberIds": [{"phoneNo": rec.phone}],
            "address": f"{rec.street}, {rec.region_code}",
            "region": {"code": rec.region_code},
            "registrationDate": _iso(rec.registered),
            "writeDate": _iso(rec.last_updated),
        }
        if rec.kind == "group":
            result.update(groupSize=rec.group_size, povertyScore=rec.poverty_score)
        else:
            result.update(
                gender=(rec.sex or "").capitalize(),
                birthdate=rec.birth_date.isoformat(),
                disabled=rec.disability,
                groupRegId=group.sr_id if group else None,
            )
        return result


_ATTRIBUTES = {
    "last_updated": lambda r: r.last_updated,
    "region_code": lambda r: r.region_code,
    "sex": lambda r: r.sex,
    "status": lambda r: "active" if r.active else "inactive",
    "poverty_score": lambda r: r.poverty_score,
}


def _match(rec, attribute, operator, value):
    getter = _ATTRIBUTES.get(attribute)
    if getter is None:
        raise LookupError(attribute)
    actual = getter(rec)
    if attribute == "last_updated":
        value = _parse_dt(value)
    if operator == "in":
        return actual in value
    ops = {
        "eq": lambda a, b: a == b,
        "ge": lambda a, b: a is not None and a >= b,
        "gt": lambda a, b: a is not None and a > b,
        "le": lambda a, b: a is not None and a <= b,
        "lt": lambda a, b: a is not None and a < b,
    }
    return ops[operator](actual, value)


@dataclass
class Faults:
    """Fault switches. Counters apply to the next N search requests."""

    slow: int = 0
    slow_seconds: float = 1.0
    status_500: int = 0
    status_429: int = 0
    retry_after: int = 0
    drop: int = 0
    malformed_json: int = 0
    reject: int = 0
    status_400: int = 0
    bad_record_seqs: set = field(default_factory=set)  # rendered with bad fields
    # page number -> callable(registry) run once that page is rendered
    after_page: dict = field(default_factory=dict)
    # token endpoint: answer 401 to the next N token requests
    token_401: int = 0
    # after each of the next ``churn_pages`` search pages served, change
    # ``churn`` registrants of the page's kind
    churn: int = 0
    churn_pages: int = 0
    # after that many answered searches, every search gets 503 (None: no outage)
    outage_after: int | None = None

    def take(self, name):
        count = getattr(self, name)
        if count:
            setattr(self, name, count - 1)
            return True
        return False


def spoil(record, variant):
    """Return a copy of ``record`` with bad fields (several kinds of damage)."""
    bad = dict(record)
    if variant == 0:  # wrong date format
        for key in ("birth_date", "birthdate"):
            if key in bad:
                bad[key] = "31/02/1990"
        bad["last_updated"] = bad["writeDate"] = "yesterday"
    elif variant == 1:  # wrong types
        bad["sex"] = bad["gender"] = 42
        bad["group_size"] = bad["groupSize"] = "many"
        bad["poverty_score"] = bad["povertyScore"] = {"value": 3}
    else:  # missing identifiers
        bad.pop("identifier", None)
        bad.pop("group_identifier", None)
        bad.pop("regIds", None)
    return bad


_GRAPHQL_ARG = r"\b{}\s*:\s*(\"(?:[^\"\\]|\\.)*\"|[^,)\s]+)"

# DCI social registry SearchRequest (spdci/standards src/registry/social/
# SearchRequest.yaml and the common schemas it references)
_CRITERIA_KEYS = {
    "version", "reg_event_type", "query_type", "response_entity", "query", "sort",
    "pagination", "consent", "authorize",
}  # fmt: skip
_REG_EVENT_TYPES = {"REGISTER", "NewHouseHoldMember"}
_QUERY_TYPES = {"idtype-value", "expression", "predicate"}
_RESPONSE_ENTITIES = {"Group", "Member"}
_OPERATORS = {"gt", "lt", "eq", "ge", "le", "in"}
_CONDITIONS = {"and", "or", "not"}


def _is_number(value):
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_predicate(expr, where, problems):
    if not isinstance(expr, dict):
        problems.append(f"{where}: not an object")
        return
    for key in ("attribute_name", "operator", "attribute_value"):
        if key not in expr:
            problems.append(f"{where}.{key}: required")
    if "attribute_name" in expr and not isinstance(expr["attribute_name"], str):
        problems.append(f"{where}.attribute_name: not a string")
    if "operator" in expr and expr["operator"] not in _OPERATORS:
        problems.append(f"{where}.operator: not in {sorted(_OPERATORS)}")
    if "attribute_value" in expr and isinstance(expr["attribute_value"], list):
        problems.append(f"{where}.attribute_value: an array is not an AttributeValue")


def validate_social_search_request(message):
    """Problems of ``message`` against the DCI social registry SearchRequest
    (an empty list if it conforms; unknown search_criteria properties are
    refused, as a strict registry would)."""
    problems = []
    if not isinstance(message, dict):
        return ["message: not an object"]
    if not message.get("transaction_id"):
        problems.append("message.transaction_id: required")
    requests_ = message.get("search_request")
    if not isinstance(requests_, list) or not requests_:
        return [*problems, "message.search_request: required, a non-empty array"]
    for index, item in enumerate(requests_):
        where = f"search_request[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: not an object")
            continue
        for key in ("reference_id", "timestamp", "search_criteria"):
            if key not in item:
                problems.append(f"{where}.{key}: required")
        criteria = item.get("search_criteria")
        if isinstance(criteria, dict):
            _check_criteria(criteria, f"{where}.search_criteria", problems)
    return problems


def _check_criteria(criteria, where, problems):
    for key in sorted(set(criteria) - _CRITERIA_KEYS):
        problems.append(f"{where}.{key}: not a property of the social SearchRequest")
    for key in ("query_type", "query"):
        if key not in criteria:
            problems.append(f"{where}.{key}: required")
    enums = (
        ("reg_event_type", _REG_EVENT_TYPES),
        ("query_type", _QUERY_TYPES),
        ("response_entity", _RESPONSE_ENTITIES),
    )
    for key, allowed in enums:
        if key in criteria and criteria[key] not in allowed:
            problems.append(f"{where}.{key}: not in {sorted(allowed)}")
    sort = criteria.get("sort")
    if sort is not None and (
        not isinstance(sort, list)
        or any(
            not isinstance(item, dict) or item.get("sort_order") not in ("asc", "desc")
            for item in sort
        )
    ):
        problems.append(f"{where}.sort: not a SearchSortList")
    pagination = criteria.get("pagination")
    if pagination is not None and (
        not isinstance(pagination, dict)
        or not _is_number(pagination.get("page_size"))
        or not _is_number(pagination.get("page_number", 1))
    ):
        problems.append(f"{where}.pagination: not a PaginationRequest")
    _check_query(criteria.get("query_type"), criteria.get("query"), where, problems)


def _check_query(query_type, query, where, problems):
    if query_type == "idtype-value":
        if not isinstance(query, dict) or not isinstance(query.get("type"), str):
            problems.append(f"{where}.query: not an IdentifierTypeValue")
        return
    if query_type != "predicate":
        return
    if not isinstance(query, list):
        problems.append(f"{where}.query: not an ExpPredicateWithConditionList")
        return
    for n, cond in enumerate(query):
        cwhere = f"{where}.query[{n}]"
        if not isinstance(cond, dict) or "expression1" not in cond:
            problems.append(f"{cwhere}.expression1: required")
            continue
        for key in ("expression1", "expression2"):
            if key in cond:
                _check_predicate(cond[key], f"{cwhere}.{key}", problems)
        if "condition" in cond and cond["condition"] not in _CONDITIONS:
            problems.append(f"{cwhere}.condition: not in {sorted(_CONDITIONS)}")
        if "seq_num" in cond and not _is_number(cond["seq_num"]):
            problems.append(f"{cwhere}.seq_num: not a number")


def _graphql_arg(query, name):
    match = re.search(_GRAPHQL_ARG.format(name), query)
    return json.loads(match.group(1)) if match else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # clients that time out close their socket: not worth a traceback
        pass


class _Handler(BaseHTTPRequestHandler):
    server_version = "DciSrTest/1.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    # -- helpers ---------------------------------------------------------------
    def _send_json(self, status, payload, headers=None):
        body = payload if isinstance(payload, bytes) else _dumps(payload)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _drop(self):
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client may be gone already
            self.connection.shutdown(socket.SHUT_RDWR)

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # -- routes ------------------------------------------------------------------
    def do_POST(self):
        srv = self.server.sr
        body = self._read_body()
        if self.path == srv.token_path:
            return self._token(srv, body)
        if self.path == srv.mutate_path:
            return self._mutate(srv, body)
        if self.path != srv.search_path:
            return self._send_json(404, {"error": "not_found"})
        return self._search(srv, body)

    def _token(self, srv, body):
        srv.log_request("token", None)
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if srv.faults.take("token_401") or (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != srv.client_id
            or form.get("client_secret") != srv.client_secret
        ):
            return self._send_json(401, {"error": "invalid_client"})
        token = secrets.token_urlsafe(24)
        with srv.lock:
            srv.tokens[token] = time.monotonic() + srv.token_ttl
        return self._send_json(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": srv.token_ttl,
            },
        )

    def _mutate(self, srv, body):
        """Test API: ``{"update": n, "deactivate": n, "add": n, "kind": ...}``
        changes registrants (for incremental pulls from another process)."""
        try:
            order = json.loads(body or b"{}")
            kind = order.get("kind")
            registry = srv.registry
            result = {
                "updated": registry.update(int(order.get("update", 0)), kind=kind),
                "deactivated": registry.deactivate(
                    int(order.get("deactivate", 0)), kind=kind
                ),
                "added": registry.add(
                    int(order.get("add", 0)), kind=kind or "individual"
                ),
            }
            # a real SR updates its index when it writes, not when it is read
            registry.reindex()
        except (ValueError, TypeError, AttributeError):
            return self._send_json(400, {"error": "bad mutation"})
        return self._send_json(200, result)

    def _authorized(self, srv):
        if srv.auth == "none":
            return True
        header = self.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return False
        token = header[len("Bearer ") :]
        if srv.auth == "bearer":
            return secrets.compare_digest(token, srv.bearer_token)
        with srv.lock:
            expiry = srv.tokens.get(token)
        return expiry is not None and expiry > time.monotonic()

    def _transport_fault(self, srv):
        """Answer with an injected fault (or an auth failure); True if answered."""
        faults = srv.faults
        if faults.take("drop"):
            srv.log_request("search", None, "dropped")
            self._drop()
            return True
        if faults.take("slow"):
            time.sleep(faults.slow_seconds)
        if not self._authorized(srv):
            srv.log_request("search", None, "401")
            self._send_json(401, {"error": "invalid_token"})
        elif faults.take("status_500"):
            srv.log_request("search", None, "500")
            self._send_json(500, {"error": "internal"})
        elif faults.take("status_429"):
            srv.log_request("search", None, "429")
            self._send_json(
                429, {"error": "slow down"}, {"Retry-After": str(faults.retry_after)}
            )
        elif faults.take("malformed_json"):
            srv.log_request("search", None, "malformed")
            self._send_json(200, b'{"message": {"search_response": [{"status": ')
        else:
            return False
        return True

    def _rejection(self, srv, page_number):
        faults = srv.faults
        if faults.take("status_400"):
            srv.log_request("search", page_number, "400")
            self._send_json(
                400,
                self._envelope("rjct", "rjct.filter.invalid", "filter not supported"),
            )
            return True
        if faults.take("reject"):
            srv.log_request("search", page_number, "rjct")
            self._send_json(
                200,
                self._envelope(
                    "rjct", "rjct.search.too_many_records_found", "narrow the query"
                ),
            )
            return True
        return False

    @staticmethod
    def _select(registry, criteria, page_size, page_number):
        """(rows matching the query, page size, page number)."""
        if criteria.get("query_type") == "graphql":
            query = criteria.get("query") or ""
            kind = "group" if _graphql_arg(query, "isGroup") else "individual"
            since = _graphql_arg(query, "lastSyncDate")
            limit = _graphql_arg(query, "limit")
            if limit is not None:
                page_size = int(limit)
                offset = int(_graphql_arg(query, "offset") or 0)
                page_number = offset // max(page_size, 1) + 1
            rows = registry.select(kind, since=_parse_dt(since) if since else None)
            return rows, page_size, page_number
        entity = criteria.get("response_entity")
        if entity:
            kind = "group" if entity == "Group" else "individual"
        else:
            reg_type = str(criteria.get("reg_type") or "")
            kind = "group" if "group" in reg_type.lower() else "individual"
        if criteria.get("query_type") == "idtype-value":
            query = criteria.get("query") or {}
            rows = registry.find(kind, query.get("type"), query.get("value"))
            return rows, page_size, page_number
        conditions = [
            (expr["attribute_name"], expr["operator"], expr["attribute_value"])
            for item in criteria.get("query") or []
            for expr in (item.get("expression1"), item.get("expression2"))
            if expr
        ]
        return registry.select(kind, conditions), page_size, page_number

    def _search(self, srv, body):
        if self._transport_fault(srv):
            return
        if srv.outage_now():
            srv.log_request("search", None, "503")
            return self._send_json(503, {"error": "unavailable"})
        try:
            message = json.loads(body)["message"]
            if srv.strict and (
                (message.get("search_request") or [{}])[0]
                .get("search_criteria", {})
                .get("query_type")
                != "graphql"
            ):
                problems = validate_social_search_request(message)
                if problems:
                    with srv.lock:
                        srv.invalid_requests.append(problems)
                    srv.log_request("search", None, "invalid")
                    return self._send_json(
                        400,
                        self._envelope(
                            "rjct", "rjct.search_criteria.invalid", problems[0]
                        ),
                    )
            search = message["search_request"][0]
            criteria = search["search_criteria"]
            pagination = criteria.get("pagination") or {}
            page_size = int(pagination.get("page_size") or 100)
            page_number = int(pagination.get("page_number") or 1)
            if page_size < 1 or page_number < 1:
                raise ValueError("pagination")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            return self._send_json(
                400,
                self._envelope("rjct", "rjct.search_criteria.invalid", "bad request"),
            )
        if self._rejection(srv, page_number):
            return
        registry = srv.registry
        graphql = criteria.get("query_type") == "graphql"
        try:
            rows, page_size, page_number = self._select(
                registry, criteria, page_size, page_number
            )
        except (LookupError, ValueError, TypeError):
            return self._send_json(
                400, self._envelope("rjct", "rjct.filter.invalid", "unsupported query")
            )
        start = (page_number - 1) * page_size
        page_rows = rows[start : start + page_size]
        render = registry.render_graphql if graphql else registry.render_dci
        with registry.lock:
            records = [render(r) for r in page_rows]
        for index, rec in enumerate(page_rows):
            if rec.seq in srv.faults.bad_record_seqs:
                records[index] = spoil(records[index], rec.seq % 3)
        if graphql:
            reg_records = {"getRegistrants": records, "totalRegistrantCount": len(rows)}
            data = {"reg_records": reg_records}
        else:
            data = {"version": "1.0.0", "reg_records": records}
        payload = self._envelope(
            "succ", None, None, search.get("reference_id"), registry.now()
        )
        payload["message"]["search_response"][0].update(
            data=data,
            pagination={
                "page_size": page_size,
                "page_number": page_number,
                "total_count": len(rows),
            },
        )
        srv.log_request("search", page_number, "succ", len(records))
        # the page is rendered already: the change shows from the next request on
        hook = srv.faults.after_page.pop(page_number, None)
        if hook:
            hook(registry)
        if srv.faults.churn and page_rows and srv.faults.take("churn_pages"):
            registry.update(srv.faults.churn, kind=page_rows[0].kind)
        self._send_json(200, payload)

    @staticmethod
    def _envelope(status, reason_code, reason_message, reference_id=None, now=None):
        now = now or datetime.now(UTC)
        return {
            "signature": "",
            "header": {
                "version": "1.0.0",
                "message_id": secrets.token_hex(8),
                "message_ts": _iso(now),
                "action": "on-search",
                "status": status,
                "sender_id": "test-sr",
                "receiver_id": "openg2p-br",
                "total_count": 1,
                "is_msg_encrypted": False,
            },
            "message": {
                "transaction_id": secrets.token_hex(8),
                "search_response": [
                    {
                        "reference_id": reference_id or "",
                        "timestamp": _iso(now),
                        "status": status,
                        "status_reason_code": reason_code,
                        "status_reason_message": reason_message,
                    }
                ],
            },
        }


class DciSrServer:
    """The HTTP server; ``start()`` binds 127.0.0.1 on a free port."""

    def __init__(
        self,
        registry,
        auth="none",  # none | bearer | oauth2
        bearer_token="test-static-token",
        client_id="br-client",
        client_secret="br-secret",
        token_ttl=3600,
        search_path="/registry/sync/search",
        token_path="/oauth2/token",
        mutate_path="/_test/mutate",
    ):
        self.registry = registry
        self.auth = auth
        self.bearer_token = bearer_token
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.search_path = search_path
        self.token_path = token_path
        self.mutate_path = mutate_path
        self.faults = Faults()
        self.tokens = {}
        self.requests = []  # (kind, page_number, outcome, record count)
        self.strict = False  # validate requests against the social schema
        self.invalid_requests = []  # the problems of each refused request
        self.answered = 0  # search requests answered with succ
        self.lock = threading.Lock()
        self.httpd = None
        self.thread = None

    def log_request(self, kind, page_number, outcome="", count=0):
        with self.lock:
            self.requests.append((kind, page_number, outcome, count))
            if kind == "search" and outcome == "succ":
                self.answered += 1

    def outage_now(self):
        """True once ``faults.outage_after`` searches were answered."""
        limit = self.faults.outage_after
        with self.lock:
            return limit is not None and self.answered >= limit

    def count_requests(self, kind, outcome=None):
        with self.lock:
            return sum(
                1
                for r in self.requests
                if r[0] == kind and (outcome is None or r[2] == outcome)
            )

    def revoke_tokens(self):
        with self.lock:
            self.tokens.clear()

    def reset_faults(self):
        self.faults = Faults()
        self.strict = False
        with self.lock:
            self.invalid_requests.clear()
            self.answered = 0

    @property
    def base_url(self):
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def port(self):
        return self.httpd.server_address[1]

    def start(self):
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.sr = self
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, name="dci-sr-test-server", daemon=True
        )
        self.thread.start()
        return self

    def stop(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(timeout=5)
            self.httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv):
    """``python3 g2p_br_sr_sync/tests/dci_sr_server.py [size] [auth] [members]``:
    serve until interrupted; the first line on stdout gives the search URL."""
    size = int(argv[1]) if len(argv) > 1 else 1000
    members = int(argv[3]) if len(argv) > 3 else 4
    server = DciSrServer(
        SrRegistry(size, members=members), auth=argv[2] if len(argv) > 2 else "none"
    )
    server.start()
    sys.stdout.write(f"DCI SR test server on {server.base_url}{server.search_path}\n")
    sys.stdout.flush()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main(sys.argv)
