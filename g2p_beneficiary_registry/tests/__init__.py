# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import test_approval
from . import test_beneficiary
from . import test_bulk_operations
from . import test_cycle
from . import test_disbursement
from . import test_entitlement
from . import test_membership
from . import test_program
from . import test_queries
from . import test_security
from . import test_tours
from . import test_rpc_matrix
from . import test_rpc_attacks
from . import test_rpc_history
from . import test_managers_day
from . import test_papers
from . import test_integrity
