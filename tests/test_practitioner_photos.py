"""Practitioners' photos: re-encoded without camera details, refused when not a usable photo."""

import io
import re

import pytest
import sqlalchemy as sa
from PIL import ExifTags, Image

from booking.clinic.settings import clinic_settings
from booking.extensions import db
from booking.models import Practitioner
from tests.forms import csrf_token


@pytest.fixture
def colette(demo) -> Practitioner:
    return db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor"))


@pytest.fixture(autouse=True)
def own_photo_folder(app, tmp_path):
    """Each test's photos in its own instance folder, removed with it."""
    saved, app.instance_path = app.instance_path, str(tmp_path)
    yield tmp_path
    app.instance_path = saved


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (1600, 1200), (200, 120, 60))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.ImageDescription] = "Taken at home"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 32.0, 10.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 11.0, 42.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def upload(client, practitioner, data: bytes, filename="photo.jpg"):
    page = client.get(f"/diary/practitioners/{practitioner.id}").get_data(as_text=True)
    return client.post(
        f"/diary/practitioners/{practitioner.id}/photo",
        data={"csrf_token": csrf_token(page), "photo": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_an_uploaded_photo_loses_its_gps_position_and_camera_details(admin_client, client, colette):
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # there

    page = upload(admin_client, colette, original).get_data(as_text=True)
    assert "The new photo has been saved" in page
    db.session.expire_all()
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}\.jpg", colette.photo_filename)

    served = client.get("/practitioners/colette-assor/photo.jpg")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    photo = Image.open(io.BytesIO(served.data))
    assert photo.format == "JPEG" and max(photo.size) == 800
    exif = photo.getexif()
    assert len(exif) == 0 and not exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert b"Exif" not in served.data and b"PhoneMaker" not in served.data
    assert b"Taken at home" not in served.data


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"#!/bin/sh\necho hello\n", "photo.jpg", "not a photo we can use"),
        (b"GIF89a" + b"\x00" * 50, "photo.gif", "not a photo we can use"),
        (b"", "photo.jpg", "Choose a photo"),
    ],
)
def test_a_file_that_is_not_a_photo_is_refused_with_a_message(
    admin_client, colette, data, filename, message
):
    page = upload(admin_client, colette, data, filename).get_data(as_text=True)
    assert message in page
    db.session.expire_all()
    assert colette.photo_filename is None


def test_a_photo_of_too_many_pixels_is_refused_with_a_message(admin_client, colette):
    out = io.BytesIO()
    Image.new("1", (10_000, 5_000)).save(out, format="PNG")  # 50 megapixels, a few kB
    page = upload(admin_client, colette, out.getvalue(), "huge.png").get_data(as_text=True)
    assert "That photo is too large" in page
    db.session.expire_all()
    assert colette.photo_filename is None


def test_a_file_too_big_to_send_is_refused_with_a_message(admin_client, colette):
    response = upload(admin_client, colette, b"\xff" * (9 * 1024 * 1024))
    assert response.status_code == 413
    assert "larger than this site accepts" in response.get_data(as_text=True)


def test_reception_cannot_change_a_photo(receptionist_client, colette):
    page = receptionist_client.get("/my-bookings").get_data(as_text=True)
    response = receptionist_client.post(
        f"/diary/practitioners/{colette.id}/photo",
        data={"csrf_token": csrf_token(page), "photo": (io.BytesIO(jpeg_with_gps()), "p.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (302, 403)
    db.session.expire_all()
    assert colette.photo_filename is None


def test_patients_see_the_photo_and_biography_where_they_choose(admin_client, client, colette):
    colette.bio = "Colette has treated back pain for twelve years."
    db.session.commit()
    upload(admin_client, colette, jpeg_with_gps())
    choice = client.get("/book/massage").get_data(as_text=True)
    assert "/practitioners/colette-assor/photo.jpg" in choice
    assert "treated back pain for twelve years" in choice
    profile = client.get("/practitioners/colette-assor").get_data(as_text=True)
    assert 'alt="Photo of Colette' in profile and "twelve years" in profile
    assert "/book/massage/times?practitioner=colette-assor" in profile


def test_replacing_or_removing_a_photo_deletes_the_old_file(
    admin_client, colette, own_photo_folder
):
    upload(admin_client, colette, jpeg_with_gps())
    upload(admin_client, colette, jpeg_with_gps())
    assert len(list((own_photo_folder / "practitioner-photos").glob("*.jpg"))) == 1
    page = admin_client.get(f"/diary/practitioners/{colette.id}").get_data(as_text=True)
    admin_client.post(
        f"/diary/practitioners/{colette.id}/photo",
        data={"csrf_token": csrf_token(page), "remove": "1"},
    )
    assert list((own_photo_folder / "practitioner-photos").glob("*.jpg")) == []
    db.session.expire_all()
    assert colette.photo_filename is None


def test_the_contact_page_gives_the_clinics_own_directions(client, demo):
    settings = clinic_settings()
    settings.directions = "From Kilburn station, turn left and walk four minutes."
    db.session.commit()
    from booking.public.page_cache import forget_cached_pages

    forget_cached_pages()
    page = client.get("/contact").get_data(as_text=True)
    assert "How to find us" in page
    assert "From Kilburn station, turn left and walk four minutes." in page
