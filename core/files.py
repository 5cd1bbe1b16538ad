"""Private files: what an upload may be, and how a stored file is handed out.

Uploads (contribution receipts, proof of a hand-over) are told by their first
bytes, never by their name or the browser's word, and stored under a random
name: what a person called a file may name them. Downloads always leave as
attachments that a browser will not sniff, run or cache.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar, cast

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, HttpResponse, HttpResponseBase
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# extension -> content type, for everything we accept
UPLOAD_TYPES = {
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "pdf": "application/pdf",
}
ACCEPT = ",".join(UPLOAD_TYPES.values())

_Response = TypeVar("_Response", bound=HttpResponseBase)


def sniff(head: bytes) -> str | None:
    """The kind of a file from its magic bytes (a key of UPLOAD_TYPES), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"%PDF-"):
        return "pdf"
    return None


def check_upload(upload: UploadedFile, *, what: str) -> UploadedFile:
    """Refuse anything but a JPEG, PNG, WebP or PDF within the size limit; rename it.

    ``what`` names the file in messages ("receipts", "proof").
    """
    limit = settings.MAX_RECEIPT_UPLOAD_BYTES
    # Django gives every upload a size; the stubs allow None.
    size = cast(int, upload.size)
    if size > limit:
        raise forms.ValidationError(
            _("The file is %(size)s; %(what)s can be at most %(limit)s.")
            % {"size": filesizeformat(size), "what": what, "limit": filesizeformat(limit)},
            code="too_large",
        )
    if size == 0:
        raise forms.ValidationError(_("The file is empty."), code="empty")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    kind = sniff(head)
    if kind is None:
        raise forms.ValidationError(
            _("Upload a photo (JPEG, PNG or WebP) or a PDF. This file is none of those."),
            code="file_type",
        )
    upload.name = f"{uuid.uuid4().hex}.{kind}"
    upload.content_type = UPLOAD_TYPES[kind]
    return upload


class PrivateUploadField(forms.FileField):
    """A photo or PDF, checked by ``check_upload`` (``what`` names it in messages)."""

    def __init__(self, *, what: str, **kwargs: Any) -> None:
        self.what = what
        kwargs.setdefault("widget", forms.ClearableFileInput(attrs={"accept": ACCEPT}))
        kwargs.setdefault(
            "help_text",
            gettext_lazy("A photo or a PDF, at most %(limit)s.")
            % {"limit": filesizeformat(settings.MAX_RECEIPT_UPLOAD_BYTES)},
        )
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        upload = super().clean(data, initial)
        if upload and upload is not initial and hasattr(upload, "size"):
            return check_upload(upload, what=self.what)
        return upload


def _harden(response: _Response) -> _Response:
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def stored_file_download(fieldfile: FieldFile, *, filename_stem: str) -> FileResponse | None:
    """A stored upload as a download, or None when the file cannot be read."""
    name = cast(str, fieldfile.name)  # a stored file always has a name
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    try:
        handle = fieldfile.storage.open(name, "rb")
    except OSError:
        return None
    return _harden(
        FileResponse(
            handle,
            as_attachment=True,
            filename=f"{filename_stem}.{extension or 'bin'}",
            content_type=UPLOAD_TYPES.get(extension, "application/octet-stream"),
        )
    )


def bytes_download(data: bytes, *, filename: str, content_type: str) -> HttpResponse:
    """Bytes already read and checked (a receipt's PDF, a CSV) as a download."""
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return _harden(response)
