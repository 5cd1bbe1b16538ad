"""Private files in S3-compatible storage (django-storages) against a real S3 server (moto).

The settings are built the way production builds them (from the environment), then
applied; a receipt rendered by the real task lands in the bucket encrypted, comes back
through Honora's download view as the PDF whose SHA-256 the receipt recorded, and the
public check says it is genuine. Nothing in the bucket is public.
"""

from __future__ import annotations

import hashlib
import importlib
import urllib.error
import urllib.request

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from core.storage import MAGIC
from payments.documents.rendering import stored_pdf
from tests.payments.documents_support import LEGAL_NAME, body_of, paid_with_receipt

pytestmark = pytest.mark.django_db


def production_storages(monkeypatch, s3) -> dict:
    """STORAGES as config/settings.py makes it from these variables."""
    import config.settings as honora_settings

    for name, value in {
        "STORAGE_BACKEND": "storages.backends.s3.S3Storage",
        "AWS_STORAGE_BUCKET_NAME": s3.bucket,
        "AWS_S3_ENDPOINT_URL": s3.url,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_S3_ADDRESSING_STYLE": "path",
        "AWS_S3_CONNECT_TIMEOUT": "5",
        "AWS_S3_READ_TIMEOUT": "20",
    }.items():
        monkeypatch.setenv(name, value)
    try:
        return importlib.reload(honora_settings).STORAGES
    finally:
        for name in ("STORAGE_BACKEND", "AWS_STORAGE_BUCKET_NAME", "AWS_S3_ENDPOINT_URL"):
            monkeypatch.delenv(name)
        importlib.reload(honora_settings)


@pytest.fixture
def s3_storage(settings, monkeypatch, s3_server):
    # Assigning STORAGES sends setting_changed: Django drops default_storage's backend.
    settings.STORAGES = production_storages(monkeypatch, s3_server)
    return s3_server


def test_the_settings_build_a_private_s3_storage_with_bounded_waits(s3_storage):
    inner = default_storage.inner
    assert type(inner).__name__ == "S3Storage"
    assert inner.bucket_name == s3_storage.bucket
    assert inner.default_acl is None and inner.querystring_auth is True
    assert inner.file_overwrite is False
    config = inner.client_config
    assert config.s3 == {"addressing_style": "path"}
    assert config.signature_version == "s3v4"
    assert config.connect_timeout == 5 and config.read_timeout == 20


def test_a_receipt_from_the_real_task_is_stored_encrypted_in_the_bucket_and_verifies(
    client, s3_storage, engagement, coordinator, coordinator2, finance, finance2
):
    _payment, receipt = paid_with_receipt(
        engagement,
        coordinator=coordinator,
        coordinator2=coordinator2,
        finance=finance,
        finance2=finance2,
        by_task=True,
    )
    assert receipt.is_rendered
    s3 = s3_storage.client()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_storage.bucket)["Contents"]]
    assert keys == [receipt.pdf.name]

    stored = s3.get_object(Bucket=s3_storage.bucket, Key=receipt.pdf.name)["Body"].read()
    assert stored.startswith(MAGIC) and b"%PDF" not in stored
    assert LEGAL_NAME.encode() not in stored

    client.force_login(finance)
    response = client.get(reverse("payments:receipt_pdf", kwargs={"public_id": receipt.public_id}))
    assert response.status_code == 200
    pdf = body_of(response)
    assert pdf.startswith(b"%PDF-")
    assert hashlib.sha256(pdf).hexdigest() == receipt.sha256
    assert stored_pdf(receipt) == pdf

    client.logout()
    check = client.get(reverse("receipt_verify", kwargs={"code": receipt.verification_code}))
    assert check.status_code == 200
    assert f"Receipt {receipt.number} is genuine" in check.content.decode()


def test_nothing_in_the_bucket_is_public(s3_storage):
    name = default_storage.save("payments/proof/2026/01/proof.pdf", ContentFile(b"%PDF-1.7 x"))
    s3 = s3_storage.client()
    grants = s3.get_object_acl(Bucket=s3_storage.bucket, Key=name)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    assert all(g["Grantee"].get("Type") == "CanonicalUser" for g in grants)  # the owner only
    with pytest.raises(NotImplementedError):
        default_storage.url(name)  # Honora never hands out an object URL
    # An anonymous GET of the object's address is refused.
    anonymous = urllib.request.Request(f"{s3_storage.url}/{s3_storage.bucket}/{name}")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(anonymous, timeout=30)
    assert refused.value.code == 403


def test_an_upload_goes_through_the_same_encryption(s3_storage):
    name = default_storage.save("consultants/taxforms/signed.pdf", ContentFile(b"%PDF-1.7 W-9"))
    raw = s3_storage.client().get_object(Bucket=s3_storage.bucket, Key=name)["Body"].read()
    assert raw.startswith(MAGIC)
    with default_storage.open(name) as handle:
        assert handle.read() == b"%PDF-1.7 W-9"


@pytest.mark.django_db(transaction=True)
def test_backup_and_restore_copy_the_bucket_as_stored(
    s3_storage, tmp_path, engagement, coordinator, coordinator2, finance, finance2
):
    import io
    import json
    import tarfile

    from django.core.management import call_command

    _payment, receipt = paid_with_receipt(
        engagement,
        coordinator=coordinator,
        coordinator2=coordinator2,
        finance=finance,
        finance2=finance2,
        by_task=True,
    )
    s3 = s3_storage.client()
    in_bucket = s3.get_object(Bucket=s3_storage.bucket, Key=receipt.pdf.name)["Body"].read()
    archive = tmp_path / "backup.tar"
    call_command("backup", str(archive), stdout=io.StringIO())
    with tarfile.open(archive) as tar:
        assert tar.extractfile(f"files/{receipt.pdf.name}").read() == in_bucket  # as stored
        assert [f["name"] for f in json.load(tar.extractfile("manifest.json"))["files"]] == [
            receipt.pdf.name
        ]

    s3.delete_object(Bucket=s3_storage.bucket, Key=receipt.pdf.name)  # the bucket is wiped
    call_command("restore", str(archive), "--force", stdout=io.StringIO())
    assert s3.get_object(Bucket=s3_storage.bucket, Key=receipt.pdf.name)["Body"].read() == (
        in_bucket
    )
    assert hashlib.sha256(stored_pdf(receipt)).hexdigest() == receipt.sha256
