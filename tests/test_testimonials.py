"""Replies under the sciatica page: sanitised, moderated by staff, protected from spam."""

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from booking.clinic import DomainError
from booking.clinic.testimonials import approve, reject, sanitise, submit_reply
from booking.extensions import db
from booking.models import AuditEvent
from booking.models import Testimonial as Reply
from booking.models import TestimonialStatus as Status
from tests.forms import csrf_token

EMAIL = "patient.private@example.com"
THANK_YOU = "Thank you: your reply will appear once the clinic has read it."


def _replies_list(html: str) -> str:
    """The approved replies as shown on the page ('' when there are none)."""
    match = re.search(r'<ol class="reply-list">(.*?)</ol>', html, re.S)
    return match.group(1) if match else ""


def _send_reply(client, reply: str, name: str = "Sam Patient", email: str = EMAIL, **extra):
    page = client.get("/sciatica")
    data = {
        "name": name,
        "email": email,
        "reply": reply,
        "website": "",
        "csrf_token": csrf_token(page.get_data(as_text=True)),
    }
    data.update(extra)
    return client.post("/sciatica/replies", data=data)


def _stored() -> list[Reply]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Reply).order_by(Reply.id)))


def _approve_through_the_queue(staff_client, testimonial: Reply):
    queue = staff_client.get("/diary/replies")
    assert queue.status_code == 200
    return staff_client.post(
        f"/diary/replies/{testimonial.id}/approve",
        data={"csrf_token": csrf_token(queue.get_data(as_text=True))},
    )


# The whole journey ---------------------------------------------------------------------------


def test_reply_with_bold_text_and_a_link_shows_once_staff_approve_it(client, receptionist_client):
    response = _send_reply(
        client,
        "Acupuncture made a <strong>real difference</strong> to my back. "
        'More at <a href="https://example.org/my-story">my story</a>.',
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/sciatica")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert THANK_YOU in page
    # Waiting for moderation: not on the page yet.
    assert "No replies yet" in page
    assert "real difference" not in page

    [testimonial] = _stored()
    assert testimonial.status == Status.PENDING.value
    queue = receptionist_client.get("/diary/replies").get_data(as_text=True)
    assert "Sam Patient" in queue and "real difference" in queue

    decided = _approve_through_the_queue(receptionist_client, testimonial)
    assert decided.status_code == 303
    assert "Reply approved" in receptionist_client.get("/diary/replies").get_data(as_text=True)

    page = client.get("/sciatica").get_data(as_text=True)
    shown = _replies_list(page)
    assert "1 reply<" in page
    assert "Sam Patient" in shown
    assert "<strong>real difference</strong>" in shown
    assert '<a href="https://example.org/my-story" rel="nofollow noopener">my story</a>' in shown
    assert EMAIL not in page

    [event] = db.session.scalars(sa.select(AuditEvent)).all()
    assert event.action == "testimonial.approved"
    assert event.subject_id == testimonial.id
    assert event.staff_user_id == receptionist_client.user.id
    assert EMAIL not in str(event.details)


def test_reply_with_a_script_shows_none_of_the_script(client, receptionist_client):
    _send_reply(
        client,
        "Before <script>alert('stolen')</script>after "
        '<img src="x" onerror="alert(1)">'
        '<b onclick="alert(2)">bold</b> '
        '<a href="javascript:alert(3)">js</a> '
        '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCg0KTwvc2NyaXB0Pg==">data</a> '
        '<a href="JaVaScRiPt:alert(5)">mixed case</a> '
        '<a href="jav&#x09;ascript:alert(6)">encoded</a> '
        "<style>body { display: none }</style>"
        '<iframe src="https://evil.example"></iframe>'
        '<svg onload="alert(7)"><script>alert(8)</script></svg>'
        '<blockquote cite="javascript:alert(9)">quoted</blockquote>',
    )
    [testimonial] = _stored()
    _approve_through_the_queue(receptionist_client, testimonial)

    shown = _replies_list(client.get("/sciatica").get_data(as_text=True))
    assert "Before after" in shown
    assert "<b>bold</b>" in shown
    assert "<blockquote>quoted</blockquote>" in shown
    for hostile in (
        "<script",
        "alert(",
        "stolen",
        "<img",
        "onerror",
        "onclick",
        "onload",
        "javascript:",
        "data:",
        "<style",
        "display: none",
        "<iframe",
        "<svg",
    ):
        assert hostile not in shown.lower(), hostile
    # The links lost their targets but kept their words and the safe rel.
    assert shown.count('<a rel="nofollow noopener">') == 4


def test_unclosed_and_misnested_tags_cannot_swallow_the_rest_of_the_page(
    client, receptionist_client
):
    _send_reply(client, "<strong>unclosed <em>nested <a href='https://example.org'>link")
    _send_reply(client, "<b><i>crossed</b></i> <q>open quote", name="Second Writer")
    for testimonial in _stored():
        _approve_through_the_queue(receptionist_client, testimonial)

    page = client.get("/sciatica").get_data(as_text=True)
    shown = _replies_list(page)
    assert (
        '<strong>unclosed <em>nested <a href="https://example.org" rel="nofollow noopener">'
        "link</a></em></strong>"
    ) in shown
    assert "<b><i>crossed</i></b> <q>open quote</q>" in shown
    # The form and footer after the replies are intact, not inside someone's <strong>.
    assert "2 replies<" in page
    assert page.rstrip().endswith("</html>")
    assert 'id="leave-a-reply"' in page


def test_html_stored_by_another_route_is_sanitised_again_when_shown(client, make_staff):
    # A row written without submit_reply (an import, a hand-made fix) must still be safe.
    staff = make_staff("receptionist")
    row = Reply(
        page="sciatica",
        author_name="Imported",
        author_email=EMAIL,
        body_html='Imported <script>alert(1)</script><a href="javascript:x()" onclick="y()">z</a>',
    )
    db.session.add(row)
    db.session.commit()
    approve(row.id, staff_user=staff)

    shown = _replies_list(client.get("/sciatica").get_data(as_text=True))
    assert "Imported" in shown
    assert '<a rel="nofollow noopener">z</a>' in shown
    assert "script" not in shown and "javascript" not in shown and "onclick" not in shown


SAFE_REL = 'rel="nofollow noopener"'


@pytest.mark.parametrize(
    ("hostile", "expected"),
    [
        ("<script>alert(1)</script>kept", "kept"),
        ('<img src=x onerror="alert(1)">', ""),
        (
            '<a href="mailto:clinic@example.org">mail</a>',
            f'<a href="mailto:clinic@example.org" {SAFE_REL}>mail</a>',
        ),
        ('<a href="/relative">rel</a>', f"<a {SAFE_REL}>rel</a>"),
        ('<a href="//evil.example">other host</a>', f"<a {SAFE_REL}>other host</a>"),
        (
            '<a href="https://x.example" target="_blank" rel="opener">t</a>',
            f'<a href="https://x.example" {SAFE_REL}>t</a>',
        ),
        ("<!-- a comment -->text", "text"),
        ("1 < 2 & 3 > 2", "1 &lt; 2 &amp; 3 &gt; 2"),
        (
            '<abbr title="Traditional Chinese Medicine">TCM</abbr>',
            '<abbr title="Traditional Chinese Medicine">TCM</abbr>',
        ),
        (
            '<del datetime="2024-01-01">old</del> <s>gone</s>',
            '<del datetime="2024-01-01">old</del> <s>gone</s>',
        ),
        (
            '<q cite="https://example.org/source">quote</q>',
            '<q cite="https://example.org/source">quote</q>',
        ),
        ('<q cite="data:text/html,x">quote</q>', "<q>quote</q>"),
        ('<p class="x" style="color:red" id="main">para</p>', "para"),
    ],
)
def test_sanitise_keeps_only_the_allowed_tags_and_safe_addresses(hostile, expected):
    assert sanitise(hostile) == expected


# Refusals keep what the person typed ----------------------------------------------------------


def test_a_reply_over_the_length_limit_is_refused_with_a_message_and_kept(client):
    too_long = "My back. " * 445  # 4,005 characters
    response = _send_reply(client, too_long.strip() + " end")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Please keep your reply to 4000 characters or fewer." in html
    assert too_long.strip() + " end</textarea>" in html
    assert _stored() == []


def test_a_long_name_and_a_wrong_email_are_refused(client):
    response = _send_reply(client, "Helpful.", name="N" * 81, email="not-an-address")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Your name must be 80 characters or fewer." in html
    assert "Enter an email address like name@example.com." in html
    assert 'value="not-an-address"' in html
    assert _stored() == []


def test_a_reply_with_nothing_left_after_cleaning_is_refused(client):
    response = _send_reply(client, "<script>only a script</script><img src=x>")
    assert response.status_code == 422
    assert "no text left once unsupported HTML is removed" in response.get_data(as_text=True)
    assert _stored() == []


def test_a_filled_honeypot_stores_nothing_and_keeps_the_reply_for_a_person(client):
    response = _send_reply(client, "A real experience.", website="https://spam.example")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "We could not send your reply." in html
    assert "A real experience.</textarea>" in html
    assert "spam.example" not in html  # cleared, so the person can simply send again
    assert _stored() == []


def test_the_honeypot_is_hidden_by_a_class_and_from_screen_readers(client):
    html = client.get("/sciatica").get_data(as_text=True)
    trap = re.search(r'<div class="honeypot" aria-hidden="true">(.*?)</div>', html, re.S)
    assert trap, "honeypot wrapper missing"
    assert 'tabindex="-1"' in trap.group(1) and 'name="website"' in trap.group(1)
    assert "style=" not in html  # CSP forbids inline styles


def test_a_reply_without_the_csrf_token_is_refused(client):
    response = client.post(
        "/sciatica/replies", data={"name": "Bot", "email": EMAIL, "reply": "Spam", "website": ""}
    )
    assert response.status_code == 400
    assert _stored() == []


def test_only_pages_that_take_replies_accept_them(client):
    assert client.post("/treatment/replies", data={}).status_code == 404
    assert 'id="replies"' not in client.get("/treatment").get_data(as_text=True)
    with pytest.raises(DomainError):
        submit_reply("treatment", name="Sam", email=EMAIL, reply="Hello")


def test_the_page_lists_the_tags_a_reply_may_use(client):
    html = client.get("/sciatica").get_data(as_text=True)
    for tag in ('&lt;a href="" title=""&gt;', "&lt;strong&gt;", "&lt;q cite="):
        assert tag in html
    assert "mailto:" in html


def test_the_form_does_not_let_the_browser_cut_a_long_reply_short(client):
    html = client.get("/sciatica").get_data(as_text=True)
    reply_box = re.search(r"<textarea[^>]*>", html).group(0)
    name_box = re.search(r'<input[^>]*name="name"[^>]*>', html).group(0)
    assert "maxlength" not in reply_box and "maxlength" not in name_box


# Rate limit --------------------------------------------------------------------------------


def test_the_sixth_reply_in_an_hour_is_refused_and_the_text_kept(rate_limited_client):
    client = rate_limited_client
    # Correcting a mistake does not use up the allowance.
    assert _send_reply(client, "x" * 4001).status_code == 422
    for number in range(5):
        assert _send_reply(client, f"Reply number {number}").status_code == 303
    response = _send_reply(client, "The sixth <em>reply</em> I wrote")
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert "You have sent several replies in a short time" in html
    assert "The sixth &lt;em&gt;reply&lt;/em&gt; I wrote</textarea>" in html
    assert 'value="Sam Patient"' in html
    assert len(_stored()) == 5


def test_the_limit_switched_off_again_for_the_other_tests(client):
    # Guards the fixture above: the next tests post freely again.
    for number in range(7):
        assert _send_reply(client, f"Reply {number}").status_code == 303


# Moderation --------------------------------------------------------------------------------


def test_approved_replies_show_oldest_first_with_the_local_date(client, make_staff):
    staff = make_staff("receptionist")
    # 23:30 UTC on 30 June is already 1 July in London (BST).
    later = submit_reply(
        "sciatica",
        name="Second",
        email=EMAIL,
        reply="Later",
        now=datetime(2026, 6, 30, 23, 30, tzinfo=UTC),
    )
    earlier = submit_reply(
        "sciatica",
        name="First",
        email=EMAIL,
        reply="Earlier",
        now=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
    )
    rejected = submit_reply("sciatica", name="Rejected", email=EMAIL, reply="Not this one")
    approve(later.id, staff_user=staff)
    approve(earlier.id, staff_user=staff)
    reject(rejected.id, staff_user=staff)

    page = client.get("/sciatica").get_data(as_text=True)
    shown = _replies_list(page)
    assert "2 replies<" in page
    assert shown.index("First") < shown.index("Second")
    assert "Wednesday 1 July 2026" in shown
    assert "Monday 2 March 2026" in shown
    assert "Not this one" not in page


def test_a_reply_can_be_decided_only_once(client, receptionist_client):
    _send_reply(client, "Decide me once.")
    [testimonial] = _stored()
    queue = receptionist_client.get("/diary/replies").get_data(as_text=True)
    token = csrf_token(queue)
    receptionist_client.post(f"/diary/replies/{testimonial.id}/reject", data={"csrf_token": token})
    again = receptionist_client.post(
        f"/diary/replies/{testimonial.id}/approve", data={"csrf_token": token}
    )
    assert again.status_code == 303
    html = receptionist_client.get("/diary/replies").get_data(as_text=True)
    assert "Someone has already decided on that reply." in html
    assert _stored()[0].status == Status.REJECTED.value
    assert "Decide me once." not in client.get("/sciatica").get_data(as_text=True)
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert actions == ["testimonial.rejected"]


def test_the_queue_is_for_the_front_desk_only(client, practitioner_client):
    anonymous = client.get("/diary/replies")
    assert anonymous.status_code == 302 and "/staff/sign-in" in anonymous.headers["Location"]
    assert practitioner_client.get("/diary/replies").status_code == 403


def test_moderating_without_the_csrf_token_changes_nothing(client, receptionist_client):
    _send_reply(client, "Keep me pending.")
    [testimonial] = _stored()
    response = receptionist_client.post(f"/diary/replies/{testimonial.id}/approve", data={})
    assert response.status_code == 400
    assert _stored()[0].status == Status.PENDING.value


def test_the_email_address_is_never_logged_or_shown(client, receptionist_client, caplog):
    caplog.set_level("DEBUG")
    _send_reply(client, "Private address.")
    _send_reply(client, "Trap.", website="filled")
    [testimonial] = _stored()
    _approve_through_the_queue(receptionist_client, testimonial)
    assert EMAIL not in caplog.text
    assert EMAIL not in client.get("/sciatica").get_data(as_text=True)


def test_the_list_of_formatting_tags_is_folded_away_under_the_reply_form(client, demo):
    html = client.get("/sciatica").get_data(as_text=True)
    folded = html[html.index('<details class="allowed-html"') :]
    folded = folded[: folded.index("</details>")]
    assert "<summary>Formatting (optional)</summary>" in folded
    assert "&lt;blockquote cite=" in folded
