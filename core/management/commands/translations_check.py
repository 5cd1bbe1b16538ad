"""``manage.py translations_check``: the translation catalogs are complete (issue 15).

Fails (exit 1, each problem listed) when the msgids makemessages extracts differ from the
committed .po files, when a committed entry is untranslated or fuzzy, or when a committed
.mo does not hold its .po. Extraction needs GNU gettext (``apt-get install gettext``);
``--no-extract`` runs the other two checks without it. Nothing committed is written.
"""

import shutil
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core import translations


class Command(BaseCommand):
    help = "Fail when the translation catalogs are incomplete, fuzzy, stale or uncompiled."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--no-extract",
            action="store_true",
            help="Skip the makemessages comparison (which needs GNU gettext's xgettext).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        sections: list[tuple[str, list[str]]] = []
        if not options["no_extract"]:
            if shutil.which("xgettext") is None:
                raise CommandError(
                    "xgettext not found: install GNU gettext (apt-get install gettext) "
                    "or pass --no-extract"
                )
            sections.append(
                ("extracted msgids differ from the catalog", translations.extraction_problems())
            )
        sections.append(("untranslated or fuzzy entries", translations.po_problems()))
        sections.append((".mo files that do not match their .po", translations.mo_problems()))
        failed = False
        for title, problems in sections:
            if problems:
                failed = True
                self.stderr.write(f"{title} ({len(problems)}):")
                for problem in problems:
                    self.stderr.write(f"  {problem}")
        if failed:
            raise CommandError("translation catalogs are not complete (see above)")
        files = len(translations.committed_po_files())
        self.stdout.write(f"translation catalogs complete ({files} .po files checked)")
