# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Request-scoped state of the BR API, outside of Odoo's (forgeable) context.

``API_REQUEST`` is set by the authentication dependency of an API request
only; nothing a JSON-RPC/XML-RPC caller sends can set it. The read audit
trail is written only when it is set, attributed to the client it names.
"""

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class ApiRequest:
    client_id: int
    user_id: int
    endpoint: str


API_REQUEST = ContextVar("g2p_br_api_request", default=None)
