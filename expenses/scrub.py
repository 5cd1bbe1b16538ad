"""Receipt files without their metadata: what is stored is re-made, never the original.

A photo taken on a phone carries where and when it was taken (EXIF GPS), the
phone's make and often the owner's name; a PDF carries its author and the program
that made it. A survivor's receipt must not say where they live, so:

- images (JPEG, PNG, WebP, told by their bytes) are decoded by Pillow, turned
  upright (``ImageOps.exif_transpose``), and encoded afresh from the pixels alone:
  no EXIF, XMP, ICC profile, comment or text chunk is carried over;
- PDFs are read by pypdf and their pages written into a new document without the
  document information or XMP metadata; a PDF that cannot be read (or is
  encrypted) is refused.

Anything else, or a file that does not decode, is refused with a clear message.
"""

from __future__ import annotations

import io
import uuid
import warnings
from dataclasses import dataclass
from typing import cast

from django import forms
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject

from core.errors import ValidationFailed
from core.files import check_upload

# Far beyond a phone's photo (48 megapixels), far below a decompression bomb.
MAX_PIXELS = 80_000_000
PIL_FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}


@dataclass(frozen=True)
class CleanFile:
    content: ContentFile
    kind: str  # a key of core.files.UPLOAD_TYPES
    size: int


def clean_upload(upload: UploadedFile, *, field: str = "files") -> CleanFile:
    """The upload re-made without metadata, or ValidationFailed naming ``field``."""
    try:
        check_upload(upload, what=_("receipts"))
    except forms.ValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), field=field, code="file") from None
    kind = cast(str, upload.name).rsplit(".", 1)[-1]
    upload.seek(0)
    data = upload.read()
    cleaned = _clean_pdf(data, field) if kind == "pdf" else _clean_image(data, kind, field)
    if len(cleaned) > settings.MAX_RECEIPT_UPLOAD_BYTES * 2:
        raise ValidationFailed(_("This file is too large once re-made."), field=field, code="file")
    return CleanFile(
        content=ContentFile(cleaned, name=f"{uuid.uuid4().hex}.{kind}"),
        kind=kind,
        size=len(cleaned),
    )


def _unreadable(field: str) -> ValidationFailed:
    return ValidationFailed(
        _("This file could not be read. Take the photo again, or upload another copy."),
        field=field,
        code="file",
    )


def _clean_image(data: bytes, kind: str, field: str) -> bytes:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format != PIL_FORMATS[kind]:
                    raise _unreadable(field)
                if probe.width * probe.height > MAX_PIXELS:
                    raise ValidationFailed(
                        _("This photo is too large; send a smaller one."), field=field, code="file"
                    )
                probe.load()
                upright = ImageOps.exif_transpose(probe)
                assert upright is not None
                # Only the pixels go into the new image: a fresh image has no info.
                mode = "RGBA" if upright.mode in ("RGBA", "LA", "P") and kind != "jpg" else "RGB"
                pixels = upright.convert(mode)
                fresh = Image.new(mode, pixels.size)
                fresh.paste(pixels)
    except ValidationFailed:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Warning):
        raise _unreadable(field) from None
    out = io.BytesIO()
    if kind == "jpg":
        fresh.save(out, format="JPEG", quality=88, optimize=True)
    elif kind == "png":
        fresh.save(out, format="PNG", optimize=True)
    else:
        fresh.save(out, format="WEBP", quality=88)
    return out.getvalue()


def _clean_pdf(data: bytes, field: str) -> bytes:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise ValidationFailed(
                _("This PDF is locked with a password. Upload an unlocked copy or a photo."),
                field=field,
                code="file",
            )
        writer = PdfWriter()
        for page in reader.pages:
            writer.add_page(page)
        for page in writer.pages:
            for key in ("/Metadata", "/PieceInfo"):
                if NameObject(key) in page:
                    del page[NameObject(key)]
        # No document information (author, creator, producer, dates), no XMP.
        writer.metadata = None
        if NameObject("/Metadata") in writer._root_object:
            del writer._root_object[NameObject("/Metadata")]
        out = io.BytesIO()
        writer.write(out)
    except ValidationFailed:
        raise
    except Exception:  # pypdf raises many kinds on a broken file
        raise _unreadable(field) from None
    if not len(reader.pages):
        raise _unreadable(field)
    return out.getvalue()
