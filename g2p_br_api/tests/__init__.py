# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import warnings

# starlette 1.x warns that its test client prefers httpx2 (httpx still works)
warnings.filterwarnings("ignore", message=".*httpx.*")

from . import (
    test_api_feeds,
    test_api_fuzz,
    test_api_http,
    test_api_lookups,
    test_api_queries,
    test_api_routers,
)
