from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backups.management.commands._warning import KEEP_SAFE
from backups.services import backup_restore
from core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Put back an archive made by `manage.py backup`: first check every part against the "
        "SHA-256 in its manifest and the migration state against this code (nothing is "
        "written if anything is off), then load the database, then write the private files "
        "back as stored. Refuses a database or file storage that is not empty unless --force. "
        "Run with the same FIELD_ENCRYPTION_KEY the archive was made under. " + KEEP_SAFE
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the archive to restore")
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace the tables and files that are there (pg_restore --clean)",
        )

    def handle(self, *args, path, force, **options):
        try:
            summary = backup_restore(path=Path(path), replace=force)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        total = sum(summary.counts.values())
        self.stdout.write(
            f"Restored {summary.path}: database ({total} rows in {len(summary.counts)} "
            f"tables), {summary.files} private files ({summary.file_bytes} bytes)."
        )
        for note in summary.notes:
            self.stdout.write(f"Note: {note}")
