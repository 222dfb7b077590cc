# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""HTTP client of the DCI social registry sync search API.

Plain Python (no ORM): the Odoo models turn a connection record into a
:class:`ClientConfig`. Nothing here logs a record, a token or a secret; the
log lines carry page numbers, HTTP status codes and SR reason codes only.
"""

import hashlib
import json
import logging
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests
from pydantic import ValidationError

from . import json_codec
from .schemas import DciSearchResponse, GraphqlRegRecords, OAuthToken

_logger = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
# Refresh an OAuth2 token this many seconds before the SR says it expires
TOKEN_EXPIRY_MARGIN = 30

_token_cache = {}  # cache key -> (access token, monotonic expiry)
_token_lock = threading.Lock()


class SrSyncError(Exception):
    """Base class: the message is safe to show to an administrator and to log."""

    stage = "search"


class SrTransportError(SrSyncError):
    """Timeouts, refused connections, 5xx and 429 still failing after retries."""


class SrRejectedError(SrSyncError):
    """The SR answered 4xx or ``rjct``: retrying the same request is useless."""


class SrMalformedResponseError(SrSyncError):
    """The SR answered something that is not a DCI search response."""


class SrAuthError(SrSyncError):
    """The token endpoint refused the credentials or answered nonsense."""

    stage = "authentication"


@dataclass
class ClientConfig:
    base_url: str
    search_path: str = "/registry/sync/search"
    auth_type: str = "none"  # none | bearer | oauth2
    bearer_token: str | None = None
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None
    dialect: str = "predicate"  # predicate | graphql
    reg_type: str | None = None
    base_query: str | None = None  # predicate: JSON list; graphql: the query
    sort_attribute: str | None = None
    last_updated_attribute: str = "last_updated"
    graphql_is_group: bool | None = None
    # DCI social SearchRequest.search_criteria.response_entity: Member | Group
    response_entity: str | None = None
    page_size: int = 1000
    timeout: float = 30.0
    max_retries: int = 4
    backoff: float = 1.0
    max_backoff: float = 60.0
    sender_id: str = "openg2p-br"
    receiver_id: str = "social-registry"
    cache_key: str = field(default="", repr=False)

    def __repr__(self):  # never show secrets in tracebacks or logs
        return f"ClientConfig(base_url={self.base_url!r}, dialect={self.dialect!r})"


@dataclass
class SearchPage:
    records: list
    total_count: int | None
    page_number: int
    # the SR's clock when it answered (header.message_ts), naive UTC, or None
    sr_clock: datetime | None = None


def _iso_utc(value):
    if isinstance(value, datetime):
        if value.tzinfo:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return str(value)


_GRAPHQL_ARG_RE = r"\b{name}\s*:\s*(\"(?:[^\"\\]|\\.)*\"|[^,)\s]+)\s*,?"


def build_graphql_query(template, arguments):
    """Set ``arguments`` on the ``getRegistrants`` field of a graphql query.

    Arguments already present in the template with the same names are replaced;
    ``totalRegistrantCount`` is added when the template does not ask for it.
    """
    query = (template or "").strip()
    match = re.search(r"\bgetRegistrants\b\s*(\((?P<args>[^)]*)\))?", query)
    if not match:
        raise SrSyncError("the graphql query must select getRegistrants")
    existing = match.group("args") or ""
    for name in arguments:
        existing = re.sub(_GRAPHQL_ARG_RE.format(name=re.escape(name)), "", existing)
    rendered = [existing.strip().rstrip(",")] if existing.strip().rstrip(",") else []
    rendered += [f"{name}: {json.dumps(value)}" for name, value in arguments.items()]
    query = (
        query[: match.start()]
        + f"getRegistrants({', '.join(rendered)})"
        + query[match.end() :]
    )
    if "totalRegistrantCount" not in query:
        query = query[: query.rstrip().rfind("}")] + " totalRegistrantCount }"
    return query


class SrClient:
    """Pages through a Social Registry with the DCI sync search API.

    :param session: a ``requests.Session`` (one per job, reused across pages)
    :param sleep: injectable for tests
    """

    def __init__(self, config, session=None, sleep=None):
        self.config = config
        self.session = session or requests.Session()
        self.sleep = sleep or time.sleep

    # -- request building -----------------------------------------------
    def build_search_criteria(self, page_number, cursor=None, page_size=None):
        """``search_criteria`` of one page (DCI social registry SearchRequest).

        Conformance notes (spdci/standards ``src/registry/social/``):

        * ``reg_event_type`` is not sent: the social ``RegistryEventType`` enum
          (``REGISTER``, ``NewHouseHoldMember``) names registration events, not
          a search; the property is optional.
        * individuals or households are chosen with ``response_entity``
          (``Member`` / ``Group``), the social schema's own property;
          ``reg_type`` is not a property of the social SearchRequest (only of
          the generic one) and is sent only when the connection sets it, for
          registries that still read it.
        * ``sort`` (a ``SearchSortList``) is optional in the spec: sent only
          when the connection names a stable sort attribute.
        * the graphql dialect (OpenG2P) sends ``query_type: graphql``, which is
          outside the DCI ``QueryType`` enum by design of that registry.
        """
        cfg = self.config
        size = page_size or cfg.page_size
        criteria = {
            "version": "1.0.0",
            "pagination": {"page_size": size, "page_number": page_number},
        }
        if cfg.response_entity and cfg.dialect != "graphql":
            criteria["response_entity"] = cfg.response_entity
        if cfg.reg_type:
            criteria["reg_type"] = cfg.reg_type
        if cfg.dialect == "graphql":
            arguments = {}
            if cfg.graphql_is_group is not None:
                arguments["isGroup"] = cfg.graphql_is_group
            if cursor:
                arguments["lastSyncDate"] = _iso_utc(cursor)
            arguments["limit"] = size
            arguments["offset"] = (page_number - 1) * size
            if cfg.sort_attribute:
                arguments["order"] = f"{cfg.sort_attribute} asc"
            criteria["query_type"] = "graphql"
            criteria["query"] = build_graphql_query(cfg.base_query, arguments)
        else:
            predicates = json.loads(cfg.base_query) if cfg.base_query else []
            if isinstance(predicates, dict):
                predicates = [predicates]
            predicates = list(predicates)
            if cursor:
                predicates.append(
                    {
                        "seq_num": len(predicates) + 1,
                        "expression1": {
                            "attribute_name": cfg.last_updated_attribute,
                            "operator": "ge",
                            "attribute_value": _iso_utc(cursor),
                        },
                        "condition": "and",
                    }
                )
            criteria["query_type"] = "predicate"
            criteria["query"] = predicates
            if cfg.sort_attribute:
                criteria["sort"] = [
                    {"attribute_name": cfg.sort_attribute, "sort_order": "asc"}
                ]
        return criteria

    def build_id_criteria(self, id_type, value):
        """``search_criteria`` asking for one registrant by identifier
        (DCI ``idtype-value`` query), used to ask again for rejected records."""
        criteria = {
            "version": "1.0.0",
            "query_type": "idtype-value",
            "query": {"type": id_type, "value": value},
            "pagination": {"page_size": 1, "page_number": 1},
        }
        if self.config.response_entity:
            criteria["response_entity"] = self.config.response_entity
        if self.config.reg_type:
            criteria["reg_type"] = self.config.reg_type
        return criteria

    def build_envelope(self, search_criteria):
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        return {
            "signature": "",
            "header": {
                "version": "1.0.0",
                "message_id": str(uuid.uuid4()),
                "message_ts": now,
                "action": "search",
                "sender_id": self.config.sender_id,
                "receiver_id": self.config.receiver_id,
                "total_count": 1,
                "is_msg_encrypted": False,
            },
            "message": {
                "transaction_id": str(uuid.uuid4()),
                "search_request": [
                    {
                        "reference_id": str(uuid.uuid4()),
                        "timestamp": now,
                        "search_criteria": search_criteria,
                    }
                ],
            },
        }

    # -- authentication ---------------------------------------------------
    def _token_cache_key(self):
        cfg = self.config
        material = "\0".join(
            str(v)
            for v in (cfg.cache_key, cfg.token_url, cfg.client_id, cfg.client_secret)
        )
        return hashlib.sha256(material.encode()).hexdigest()

    def invalidate_token(self):
        with _token_lock:
            _token_cache.pop(self._token_cache_key(), None)

    def get_token(self, force=False):
        """OAuth2 client-credentials token, cached until shortly before expiry."""
        key = self._token_cache_key()
        with _token_lock:
            cached = _token_cache.get(key)
            if cached and not force and cached[1] > time.monotonic():
                return cached[0]
        cfg = self.config
        data = {
            "grant_type": "client_credentials",
            "client_id": cfg.client_id,
            "client_secret": cfg.client_secret,
        }
        if cfg.scope:
            data["scope"] = cfg.scope
        try:
            response = self._send_with_retries(
                "POST", cfg.token_url, data=data, what="token request"
            )
        except SrSyncError as exc:
            raise SrAuthError(f"token endpoint unreachable: {exc}") from None
        if response.status_code >= 400:
            raise SrAuthError(
                f"token endpoint refused the credentials (HTTP {response.status_code}"
                f"{_oauth_error(response)})"
            )
        try:
            token = OAuthToken.model_validate(response.json())
        except (ValueError, ValidationError):
            raise SrAuthError(
                "token endpoint answered without an access_token"
            ) from None
        lifetime = token.expires_in if token.expires_in is not None else 300
        expires = time.monotonic() + max(lifetime - TOKEN_EXPIRY_MARGIN, 0)
        with _token_lock:
            _token_cache[key] = (token.access_token, expires)
        return token.access_token

    def _auth_headers(self, force_token=False):
        cfg = self.config
        if cfg.auth_type == "bearer":
            return {"Authorization": f"Bearer {cfg.bearer_token}"}
        if cfg.auth_type == "oauth2":
            return {"Authorization": f"Bearer {self.get_token(force=force_token)}"}
        return {}

    # -- transport --------------------------------------------------------
    def _backoff_delay(self, attempt, response=None):
        cfg = self.config
        if response is not None and response.status_code == 429:
            retry_after = response.headers.get("Retry-After", "")
            if retry_after.strip().isdigit():
                return min(float(retry_after), cfg.max_backoff)
        delay = cfg.backoff * (2**attempt)
        # full jitter on the upper half keeps concurrent clients apart
        return min(delay * (0.5 + random.random() / 2), cfg.max_backoff)

    def _send_with_retries(self, method, url, what, **kwargs):
        """Send, retrying timeouts, connection errors, 5xx and 429 (bounded)."""
        cfg = self.config
        last_problem = ""
        for attempt in range(cfg.max_retries + 1):
            response = None
            try:
                response = self.session.request(
                    method, url, timeout=cfg.timeout, **kwargs
                )
            except requests.Timeout:
                last_problem = f"timed out after {cfg.timeout:g}s"
            except requests.ConnectionError as exc:
                last_problem = f"connection failed ({type(exc).__name__})"
            else:
                if response.status_code not in RETRYABLE_STATUS:
                    return response
                last_problem = f"HTTP {response.status_code}"
            if attempt < cfg.max_retries:
                delay = self._backoff_delay(attempt, response)
                _logger.info(
                    "SR %s: %s, retry %d/%d in %.2fs",
                    what, last_problem, attempt + 1, cfg.max_retries, delay,
                )  # fmt: skip
                self.sleep(delay)
        raise SrTransportError(
            f"{what} failed after {cfg.max_retries + 1} attempts: {last_problem}"
        )

    def search(self, page_number, cursor=None, page_size=None):
        """Fetch one page. Returns a :class:`SearchPage` of raw records."""
        criteria = self.build_search_criteria(page_number, cursor, page_size)
        return self._post(criteria, page_number, f"search page {page_number}")

    def search_by_id(self, id_type, value):
        """Fetch one registrant by identifier (``idtype-value``)."""
        return self._post(self.build_id_criteria(id_type, value), 1, "search by id")

    def _post(self, criteria, page_number, what):
        cfg = self.config
        url = cfg.base_url.rstrip("/") + (cfg.search_path or "")
        body = self.build_envelope(criteria)
        headers = {"Content-Type": "application/json", **self._auth_headers()}
        response = self._send_with_retries(
            "POST", url, what=what, data=json.dumps(body), headers=headers
        )
        if response.status_code == 401 and cfg.auth_type == "oauth2":
            # The token may have been revoked or expired early: refresh once.
            self.invalidate_token()
            headers.update(self._auth_headers(force_token=True))
            response = self._send_with_retries(
                "POST", url, what=what, data=json.dumps(body), headers=headers
            )
        if response.status_code >= 400:
            raise SrRejectedError(
                f"{what}: HTTP {response.status_code}{_sr_reason(response)}"
            )
        return self._parse(response, page_number)

    def _parse(self, response, page_number):
        try:
            payload = json_codec.loads(response.content)
        except ValueError:
            raise SrMalformedResponseError(
                f"search page {page_number}: the response is not valid JSON"
            ) from None
        try:
            parsed = DciSearchResponse.model_validate(payload)
            item = parsed.message.search_response[0]
        except ValidationError as exc:
            raise SrMalformedResponseError(
                f"search page {page_number}: not a DCI search response "
                f"({exc.error_count()} schema errors)"
            ) from None
        if item.status != "succ":
            raise SrRejectedError(
                f"search page {page_number}: status {item.status}"
                + (f", {item.status_reason_code}" if item.status_reason_code else "")
                + (
                    f": {item.status_reason_message[:300]}"
                    if item.status_reason_message
                    else ""
                )
            )
        reg_records = (item.data or {}).get("reg_records")
        total = item.pagination.total_count if item.pagination else None
        if self.config.dialect == "graphql":
            try:
                graphql = GraphqlRegRecords.model_validate(reg_records)
            except ValidationError:
                raise SrMalformedResponseError(
                    f"search page {page_number}: data.reg_records has no getRegistrants"
                ) from None
            records = graphql.registrants
            total = graphql.total_count if graphql.total_count is not None else total
        else:
            if not isinstance(reg_records, list):
                raise SrMalformedResponseError(
                    f"search page {page_number}: data.reg_records is not a list"
                )
            records = reg_records
        return SearchPage(
            records=records,
            total_count=total,
            page_number=page_number,
            sr_clock=_naive_utc(parsed.header.message_ts if parsed.header else None),
        )


def _naive_utc(value):
    """A DCI DateTime string as a naive UTC datetime, or None if unreadable."""
    if not value or not isinstance(value, str):
        return None
    try:
        result = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if result.tzinfo:
        result = result.astimezone(UTC).replace(tzinfo=None)
    return result


def _sr_reason(response):
    """The SR's own reason for an error status, never the raw body."""
    try:
        payload = response.json()
    except ValueError:
        return f" {response.reason}" if response.reason else ""
    reason = ""
    if isinstance(payload, dict):
        try:
            item = payload["message"]["search_response"][0]
            reason = item.get("status_reason_message") or item.get("status_reason_code")
        except (KeyError, IndexError, TypeError, AttributeError):
            header = (
                payload.get("header") if isinstance(payload.get("header"), dict) else {}
            )
            reason = (
                header.get("status_reason_message")
                or payload.get("error_description")
                or payload.get("message")
                or payload.get("error")
            )
    return f": {str(reason)[:300]}" if reason else ""


def _oauth_error(response):
    try:
        payload = response.json()
    except ValueError:
        return ""
    if isinstance(payload, dict) and payload.get("error"):
        return f", {str(payload['error'])[:100]}"
    return ""
