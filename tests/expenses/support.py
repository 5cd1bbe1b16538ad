"""Receipt files as phones and scanners make them: with metadata that must not survive."""

from __future__ import annotations

import io

import pypdf
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, PngImagePlugin
from PIL.ExifTags import GPS, IFD, Base

GPS_LATITUDE = ((40, 1), (26, 1), (4620, 100))


def jpeg_with_gps(*, size=(64, 48), name="IMG_0001.jpg") -> SimpleUploadedFile:
    """A JPEG whose EXIF says where it was taken, the camera and the owner."""
    image = Image.new("RGB", size, (200, 120, 40))
    exif = Image.Exif()
    exif[Base.Make] = "PhoneMaker"
    exif[Base.Artist] = "Rivera Example"
    exif[Base.Orientation] = 6  # rotated: exif_transpose turns it upright
    gps = exif.get_ifd(IFD.GPSInfo)
    gps[GPS.GPSLatitudeRef] = "N"
    gps[GPS.GPSLatitude] = (40.0, 26.0, 46.2)
    gps[GPS.GPSLongitudeRef] = "W"
    gps[GPS.GPSLongitude] = (79.0, 58.0, 56.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), comment=b"home address")
    data = out.getvalue()
    # The test's own check that the fixture carries what must be stripped.
    with Image.open(io.BytesIO(data)) as check:
        assert check.getexif().get_ifd(IFD.GPSInfo)
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def png_with_text(name="scan.png") -> SimpleUploadedFile:
    image = Image.new("RGBA", (20, 10), (0, 0, 255, 128))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Rivera Example")
    info.add_text("Comment", "12 Elm Street")
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


def plain_jpeg(name="receipt.jpg") -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (250, 250, 250)).save(out, format="JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def pdf_with_metadata(name="receipt.pdf") -> SimpleUploadedFile:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_metadata(
        {"/Author": "Rivera Example", "/Title": "Clinic bus fare", "/Producer": "Scanner 9"}
    )
    out = io.BytesIO()
    writer.write(out)
    return SimpleUploadedFile(name, out.getvalue(), content_type="application/pdf")


def stored_bytes(fieldfile) -> bytes:
    """A stored file read back through the private storage (decrypted)."""
    with default_storage.open(fieldfile.name, "rb") as handle:
        return handle.read()


def raw_bytes(fieldfile) -> bytes:
    """A stored file as it lies on disk (encrypted)."""
    return default_storage.inner.open(fieldfile.name, "rb").read()
