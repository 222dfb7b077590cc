# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import bulk_operation_mixin
from . import identifier_type
from . import item
from . import beneficiary
from . import beneficiary_identifier
from . import program
from . import program_membership
from . import cycle
from . import entitlement
from . import disbursement
from . import history
from . import demo_data
from . import exit_reason
from . import ir_rule
