# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Plain Python parts of the sync (no ORM): DCI client, record mapping, schemas."""
