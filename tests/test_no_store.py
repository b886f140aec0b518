"""Pages with patient data are never kept by a browser or a shared cache.

Every GET address of the staff side (diary, patients, exports, staff feed pages, auth)
and of the patient's own links (manage, reschedule, calendar file, confirmation, course
pages) is fetched signed in as an administrator, with real ids and tokens, and each
answer, whatever its status, must say `Cache-Control: no-store`.
"""

import sqlalchemy as sa
from werkzeug.routing import IntegerConverter

from booking.clinic.courses import sell_course
from booking.clinic.tokens import course_token, manage_token
from booking.extensions import db
from booking.models import CourseProduct, Practitioner
from tests.test_auth import staff_rules
from tests.test_security import appointment  # noqa: F401  (the fixture)

PATIENT_LINKS = ("public.manage", "public.book_confirmed", "public.course")


def patient_link_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(PATIENT_LINKS) and "GET" in rule.methods:
            yield rule


def url_for_rule(rule, values: dict) -> str:
    filled = dict(rule.defaults or {})
    for name in rule.arguments - filled.keys():
        converter = rule._converters[name]
        if name in values:
            filled[name] = values[name]
        elif hasattr(converter, "items"):  # <any(a, b):name>
            filled[name] = sorted(converter.items)[0]
        elif isinstance(converter, IntegerConverter):
            filled[name] = 1
        else:
            filled[name] = values["day"]
    return rule.build(filled, append_unknown=False)[1]


def test_every_staff_and_patient_page_says_no_store(app, admin_client, appointment):  # noqa: F811
    product = db.session.scalar(sa.select(CourseProduct).order_by(CourseProduct.id))
    course = sell_course(
        product, appointment.patient, staff_user=admin_client.user, payment_reference="T-1"
    )
    practitioner = db.session.scalar(sa.select(Practitioner).filter_by(slug="colette-assor"))
    values = {
        "appointment_id": appointment.id,
        "patient_id": appointment.patient_id,
        "practitioner_id": practitioner.id,
        "account_id": admin_client.user.id,
        "course_id": course.id,
        "product_id": product.id,
        "session_type_id": appointment.session_type_id,
        "slug": practitioner.slug,
        "day": appointment.starts_at.date().isoformat(),
    }
    manage, course_link = manage_token(appointment), course_token(course)
    answered = {}
    for rule in [*staff_rules(app), *patient_link_rules(app)]:
        if "GET" not in rule.methods or rule.endpoint == "auth.sign_out":
            continue
        token = course_link if rule.endpoint.startswith("public.course") else manage
        url = url_for_rule(rule, {**values, "token": token})
        response = admin_client.get(url)
        answered[url] = response.status_code
        assert response.status_code < 500, url
        assert "no-store" in response.headers.get("Cache-Control", ""), (url, response.status)
    ok = {url for url, status in answered.items() if status == 200}
    # Real pages answered, not only refusals: the diary, the patient, the export, the links.
    for expected in (
        f"/diary/appointments/{appointment.id}",
        f"/diary/patients/{appointment.patient_id}",
        f"/manage/{manage}",
        f"/course/{course_link}",
    ):
        assert expected in ok, (expected, answered)
    assert any("export" in url for url in ok), answered
    assert len(ok) >= 20, answered


def test_the_sign_in_page_and_a_refusal_say_no_store_too(client, demo):
    for url in ("/staff/sign-in", "/diary/", "/manage/not-a-token"):
        assert client.get(url).headers["Cache-Control"] == "no-store", url


def test_static_files_keep_their_revalidating_cache(client):
    response = client.get("/static/css/site.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
