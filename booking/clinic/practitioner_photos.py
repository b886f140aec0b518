"""Practitioners' photos: checked, re-encoded and stripped of metadata before anyone sees them.

An upload is only ever read by Pillow and written back out as a new JPEG of at most
PHOTO_EDGE pixels a side: nothing of the original file survives (no EXIF, no GPS
position, no comment, no embedded profile or script), its orientation is applied to
the pixels first, and anything Pillow cannot read as a JPEG, PNG or WebP photo is
refused with a message. The file is kept in the instance folder under a random name
(`Practitioner.photo_filename`); the public route serves it as image/jpeg.
"""

import os
import secrets
import warnings
from io import BytesIO
from pathlib import Path

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from booking.clinic import audit
from booking.clinic.errors import DomainError
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.models import Practitioner, StaffUser

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel camera; more is a decompression bomb
PHOTO_EDGE = 800
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}
NAME_PATTERN = "{token}.jpg"

NOT_A_PHOTO = "That file is not a photo we can use. Upload a JPEG, PNG or WebP image."
TOO_BIG = "That photo is too large: upload one under 8 MB and 40 megapixels."


def photo_folder() -> Path:
    folder = Path(current_app.instance_path) / "practitioner-photos"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def clean_photo(data: bytes) -> bytes:
    """The upload as a fresh JPEG without metadata, or a DomainError saying why not."""
    if not data:
        raise DomainError("Choose a photo to upload.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise DomainError(TOO_BIG)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data)) as image:
                if image.format not in ACCEPTED_FORMATS:
                    raise DomainError(NOT_A_PHOTO)
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise DomainError(TOO_BIG)
                image.load()
                upright = ImageOps.exif_transpose(image) or image
                picture = upright.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DomainError(TOO_BIG) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise DomainError(NOT_A_PHOTO) from None
    picture.thumbnail((PHOTO_EDGE, PHOTO_EDGE))
    out = BytesIO()
    # A new image from the pixels alone: no exif=, icc_profile= or comment passed on.
    picture.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


def set_photo(practitioner: Practitioner, data: bytes, *, staff_user: StaffUser) -> Practitioner:
    """Check and store a practitioner's new photo; the old file goes once the change is saved."""
    cleaned = clean_photo(data)
    folder = photo_folder()
    name = NAME_PATTERN.format(token=secrets.token_urlsafe(18))
    partial = folder / f".{name}.part"
    partial.write_bytes(cleaned)
    os.replace(partial, folder / name)
    old = None
    try:
        with unit_of_work():
            practitioner = lock_or_refuse(
                Practitioner, practitioner.id, "This practitioner no longer exists."
            )
            old = practitioner.photo_filename
            practitioner.photo_filename = name
            audit.record(staff_user, "practitioner.photo", practitioner, size=len(cleaned))
    except BaseException:
        (folder / name).unlink(missing_ok=True)
        raise
    if old and old != name:
        path_of(old).unlink(missing_ok=True)
    return practitioner


def remove_photo(practitioner: Practitioner, *, staff_user: StaffUser) -> Practitioner:
    with unit_of_work():
        practitioner = lock_or_refuse(
            Practitioner, practitioner.id, "This practitioner no longer exists."
        )
        old = practitioner.photo_filename
        practitioner.photo_filename = None
        audit.record(staff_user, "practitioner.photo_removed", practitioner)
    if old:
        path_of(old).unlink(missing_ok=True)
    return practitioner


def path_of(name: str) -> Path:
    """The stored file for a photo name we made; anything else names no file."""
    if not name.endswith(".jpg") or "/" in name or "\\" in name or name.startswith("."):
        raise DomainError(NOT_A_PHOTO)
    return photo_folder() / name
