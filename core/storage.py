"""Private files encrypted at rest, whatever the storage behind them.

Every file Honora keeps (receipts, statements, uploaded receipts and proofs of
payment, signed tax forms) is private and may carry a legal name. This storage
wraps the configured one (the file system, or S3-compatible object storage) and
encrypts each file with the same rotating key set as the encrypted fields
(``FIELD_ENCRYPTION_KEY``, newest secret first; see ``core.keys``), so a copy of
the bucket or the disk reveals nothing without the key.

A stored file is ``MAGIC`` followed by a Fernet token. A file without the mark
(written before encryption was turned on) is read as it is, so an existing
installation keeps working; receipts and statements are still checked against
their SHA-256 when served, so an altered file is refused either way. A marked
file that does not decrypt cannot be read (``UnreadableFile``, an ``OSError``,
which the download views already treat as a file that cannot be served).
"""

from __future__ import annotations

from datetime import datetime
from os import PathLike
from typing import Any

from cryptography.fernet import InvalidToken
from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage
from django.utils.deconstruct import deconstructible
from django.utils.module_loading import import_string

from core.keys import fernet

MAGIC = b"HONORA-ENC1\n"
PURPOSE = "files"


class UnreadableFile(OSError):
    """A stored file that is marked encrypted but does not decrypt with any key."""


def encrypt(data: bytes) -> bytes:
    return MAGIC + fernet(PURPOSE).encrypt(data)


def decrypt(raw: bytes, *, name: str = "") -> bytes:
    if not raw.startswith(MAGIC):
        return raw  # stored before files were encrypted
    try:
        return fernet(PURPOSE).decrypt(raw[len(MAGIC) :])
    except InvalidToken:
        raise UnreadableFile(f"stored file {name!r} does not decrypt with any key") from None


@deconstructible
class EncryptedStorage(Storage):
    """Encrypts on save and decrypts on open; everything else is the inner storage's."""

    def __init__(
        self,
        backend: str = "django.core.files.storage.FileSystemStorage",
        options: dict[str, Any] | None = None,
    ):
        self.backend = backend
        self.options = options or {}
        self.inner: Storage = import_string(backend)(**self.options)

    def _save(self, name: str, content: File) -> str:
        content.seek(0) if hasattr(content, "seek") else None
        data = b"".join(content.chunks()) if hasattr(content, "chunks") else content.read()
        return self.inner.save(name, ContentFile(encrypt(data)))

    def _open(self, name: str, mode: str = "rb") -> File:
        if "r" not in mode or "+" in mode:
            # Writing through open() bypasses encryption; only tests that forge a file do it.
            return self.inner.open(name, mode)
        with self.inner.open(name, "rb") as handle:
            raw = handle.read()
        return ContentFile(decrypt(raw, name=name), name=name)

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return self.inner.get_available_name(name, max_length=max_length)

    def generate_filename(self, filename: str | PathLike[str]) -> str:
        return self.inner.generate_filename(filename)

    def delete(self, name: str) -> None:
        self.inner.delete(name)

    def exists(self, name: str) -> bool:
        return self.inner.exists(name)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        return self.inner.listdir(path)

    def size(self, name: str) -> int:
        with self.open(name, "rb") as handle:
            return len(handle.read())

    def url(self, name: str | None) -> str:
        raise NotImplementedError("private files are served only through views that check access")

    def get_modified_time(self, name: str) -> datetime:
        return self.inner.get_modified_time(name)

    def get_created_time(self, name: str) -> datetime:
        return self.inner.get_created_time(name)

    def get_accessed_time(self, name: str) -> datetime:
        return self.inner.get_accessed_time(name)
