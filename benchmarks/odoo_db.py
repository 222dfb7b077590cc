# Copyright 2026 G2P Beneficiary Registry contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""How every benchmark runs Odoo's command line and makes its database: one
definition for ``run.py``, ``api_bench.py``, ``sr_sync_bench.py`` and
``upstream.py``."""

import os
import subprocess
import sys


def run(cmd, **kwargs):
    """Run ``cmd`` (printed first); raise if it fails."""
    print("+", " ".join(map(str, cmd)), flush=True)
    return subprocess.run(cmd, check=True, **kwargs)


def odoo_args(db, addons_path):
    """The options every Odoo command of the benchmarks takes."""
    return [f"--addons-path={addons_path}", "-d", db, "--log-level=warn"]


def odoo_cmd(db, addons_path, *args, command=()):
    """``python -m odoo [command] <options> <args>``, with this interpreter."""
    return [sys.executable, "-m", "odoo", *command, *odoo_args(db, addons_path), *args]


def vacuum(db, tables=(), keep_pages=False):
    """``VACUUM (ANALYZE)`` of ``tables`` of ``db`` (all of them by default),
    with ``vacuumdb``; ``keep_pages``: no truncation of empty pages at the end
    of a table (``TRUNCATE false``)."""
    run(
        [
            "vacuumdb",
            "--quiet",
            "--analyze",
            *(["--no-truncate"] if keep_pages else []),
            *(option for table in tables for option in ("--table", table)),
            db,
        ]
    )


def checkpoint(db):
    """Write every change so far to disk: PostgreSQL's ``CHECKPOINT`` (a
    superuser's), then the kernel's dirty pages (``sync``). A measurement
    that follows does not compete with the spread checkpoint and the disk
    writes of what was done before it (a million-row setup leaves about a
    gigabyte of both)."""
    run(["psql", "-Atqc", "CHECKPOINT", db])
    os.sync()


def database_exists(db):
    done = subprocess.run(
        ["psql", "-Atqc", "SELECT 1", db], capture_output=True, check=False
    )
    return done.returncode == 0


def create_database(db, addons, addons_path, port, template=None):
    """A fresh ``db``: a copy of ``template``, or ``addons`` installed without
    demo data (Odoo's HTTP server on ``port`` while it installs)."""
    run(["dropdb", "--if-exists", db])
    if template:
        run(["createdb", "-T", template, db])
        return
    run(
        odoo_cmd(
            db,
            addons_path,
            "-i",
            addons,
            "--without-demo=all",
            "--stop-after-init",
            f"--http-port={port}",
        )
    )
