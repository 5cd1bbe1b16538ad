"""Dumping and loading the database: pg_dump/pg_restore on PostgreSQL, SQLite's backup API.

The PostgreSQL password travels in the environment (``PGPASSWORD``), never on a command
line another user of the machine could read.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

from django.db import connection

from core.errors import StateConflict

DUMP_MEMBER = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}


def vendor() -> str:
    if connection.vendor not in DUMP_MEMBER:
        raise StateConflict(f"backups support PostgreSQL and SQLite, not {connection.vendor}")
    return connection.vendor


def _pg_env() -> dict[str, str]:
    db = connection.settings_dict
    env = dict(os.environ)
    pairs = {
        "PGHOST": db.get("HOST"),
        "PGPORT": db.get("PORT"),
        "PGUSER": db.get("USER"),
        "PGPASSWORD": db.get("PASSWORD"),
        "PGDATABASE": db.get("NAME"),
        "PGSSLMODE": (db.get("OPTIONS") or {}).get("sslmode"),
    }
    for key, value in pairs.items():
        if value:
            env[key] = str(value)
        elif key == "PGPASSWORD":
            env.pop(key, None)
    return env


def _run(command: list[str]) -> None:
    # Fixed programs (pg_dump, pg_restore); arguments come from settings, not from input.
    try:
        result = subprocess.run(command, env=_pg_env(), capture_output=True, text=True, check=False)  # noqa: S603
    except FileNotFoundError:
        raise StateConflict(
            f"{command[0]} is not installed: install PostgreSQL's client tools "
            "(the server's major version or newer, e.g. apt-get install postgresql-client-15)"
        ) from None
    if result.returncode != 0:
        raise StateConflict(f"{command[0]} failed: {result.stderr.strip()[-2000:]}")


def dump(path: Path) -> None:
    """Write a consistent copy of the whole database to ``path``."""
    if vendor() == "postgresql":
        # One snapshot for every table; custom format is compressed and pg_restore reads it.
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={path}"])
        return
    connection.ensure_connection()
    target = sqlite3.connect(path)
    try:
        connection.connection.backup(target)  # online: consistent while others write
    finally:
        target.close()


def tables() -> list[str]:
    return connection.introspection.table_names()


def load(path: Path, *, replace: bool) -> None:
    """Load a dump made by ``dump`` into this database (empty unless ``replace``)."""
    if vendor() == "postgresql":
        command = ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error"]
        if replace:
            command += ["--clean", "--if-exists"]
        connection.close()  # nothing of ours holds a lock while pg_restore works
        _run([*command, f"--dbname={connection.settings_dict['NAME']}", str(path)])
        return
    connection.ensure_connection()
    source = sqlite3.connect(path)
    try:
        source.backup(connection.connection)
    finally:
        source.close()
    connection.close()
