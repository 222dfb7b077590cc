# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from .beneficiaries import router as beneficiaries_router
from .dci import router as dci_router
from .disbursements import router as disbursements_router
from .programs import router as programs_router

ALL_ROUTERS = (beneficiaries_router, programs_router, disbursements_router, dci_router)
