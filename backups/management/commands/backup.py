from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backups.management.commands._warning import KEEP_SAFE
from backups.services import backup_create
from core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Write one archive (a tar file) holding the database and every private file, with "
        "a manifest: when, the migration state, row counts, and the SHA-256 of every part. "
        "PostgreSQL is dumped with pg_dump (its password passed in PGPASSWORD), SQLite with "
        "its online backup API; files are copied as stored, still encrypted. " + KEEP_SAFE
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the archive to write (must not exist yet)")

    def handle(self, *args, path, **options):
        try:
            summary = backup_create(path=Path(path))
        except DomainError as exc:
            raise CommandError(exc.message) from None
        total = sum(summary.counts.values())
        self.stdout.write(
            f"Backup written to {summary.path}: database {summary.database_bytes} bytes "
            f"({total} rows in {len(summary.counts)} tables), {summary.files} private files "
            f"({summary.file_bytes} bytes, encrypted as stored)."
        )
        self.stdout.write(
            "Keep this archive encrypted and off this machine; FIELD_ENCRYPTION_KEY is not in it."
        )
