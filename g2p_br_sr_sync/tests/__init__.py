# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import (
    test_connection,
    test_record_mapping,
    test_sync_concurrency,
    test_sync_correctness,
    test_sync_e2e,
)
