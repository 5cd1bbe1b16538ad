"""Private files are encrypted at rest with the rotating field keys (core.storage)."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from core.storage import MAGIC, EncryptedStorage, UnreadableFile

SECRET = b"%PDF-1.7 Legal name: Rivera Example, TIN 123-45-6789"


def raw_bytes(settings, name: str) -> bytes:
    return (settings.MEDIA_ROOT / name).read_bytes()


def test_the_default_storage_encrypts(settings):
    assert isinstance(default_storage, EncryptedStorage)
    name = default_storage.save("receipts/2026/r.pdf", ContentFile(SECRET))
    raw = raw_bytes(settings, name)
    assert raw.startswith(MAGIC)
    assert b"Rivera" not in raw and b"123-45" not in raw
    with default_storage.open(name) as handle:
        assert handle.read() == SECRET
    assert default_storage.size(name) == len(SECRET)
    assert default_storage.exists(name)
    default_storage.delete(name)
    assert not default_storage.exists(name)


def test_a_rotated_key_still_reads_old_files_and_writes_with_the_new_one(settings):
    old_name = default_storage.save("old.pdf", ContentFile(SECRET))
    settings.FIELD_ENCRYPTION_KEY = [
        "a brand new secret of some length",
        *settings.FIELD_ENCRYPTION_KEY,
    ]
    with default_storage.open(old_name) as handle:
        assert handle.read() == SECRET
    new_name = default_storage.save("new.pdf", ContentFile(SECRET))
    # Without the new secret the new file cannot be read: it was written with it.
    settings.FIELD_ENCRYPTION_KEY = settings.FIELD_ENCRYPTION_KEY[1:]
    with pytest.raises(UnreadableFile):
        default_storage.open(new_name)


def test_a_file_from_before_encryption_is_read_as_it_is(settings):
    settings.MEDIA_ROOT.mkdir(parents=True, exist_ok=True)
    (settings.MEDIA_ROOT / "legacy.pdf").write_bytes(SECRET)
    with default_storage.open("legacy.pdf") as handle:
        assert handle.read() == SECRET


def test_a_marked_file_that_does_not_decrypt_is_an_oserror(settings):
    settings.MEDIA_ROOT.mkdir(parents=True, exist_ok=True)
    (settings.MEDIA_ROOT / "forged.pdf").write_bytes(MAGIC + b"not a token")
    with pytest.raises(OSError):
        default_storage.open("forged.pdf")


def test_private_files_have_no_public_url():
    with pytest.raises(NotImplementedError):
        default_storage.url("receipts/x.pdf")
