# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""pytest plugin: let Odoo test classes live outside an addon (top-level tests/).

Odoo only gives ``test_tags``/``test_module``/``test_class`` to test classes
defined under ``odoo.addons.<addon>``; ``BaseCase.setUpClass`` needs them. This
plugin gives the same defaults to the classes collected from ``tests/`` so that
``TransactionCase``/``HttpCase`` work there under pytest-odoo.
``tools/run-tests`` loads it with ``-p pytest_odoo_toplevel``.
"""

from odoo.tests.common import BaseCase


def pytest_pycollect_makeitem(collector, name, obj):
    if (
        isinstance(obj, type)
        and issubclass(obj, BaseCase)
        and "test_module" not in obj.__dict__
    ):
        if getattr(obj, "test_tags", None) is None:
            obj.test_tags = {"standard", "at_install"}
        obj.test_module = obj.__module__.split(".")[0]
        obj.test_class = obj.__name__
    # let pytest build the item as usual
