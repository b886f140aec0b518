"""Every page and email a patient reads, scanned for the kinds of copy defect a patient in pain
was misled or put off by (issue 17): each kind is one check over all of them, so a new page
or email cannot bring one back."""

import html
import re

import pytest

from tests.patient_pages import patient_emails, patient_pages


def visible_text(markup: str) -> str:
    """What a reader sees of a page or an email: no tags, scripts, styles or link targets."""
    markup = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", " ", markup)
    markup = re.sub(r"(?s)<[^>]+>", " ", markup)
    text = html.unescape(markup)
    text = re.sub(r"https?://\S+", " ", text)  # links in plain-text emails carry tokens
    return re.sub(r"\s+", " ", text)


def _not_negated(pattern: str):
    """Matches of `pattern` not just after "not" or "no" ("not guaranteed" is honest)."""

    def find(text: str) -> list[str]:
        return [
            match[0]
            for match in re.finditer(pattern, text, re.IGNORECASE)
            if not re.search(r"\b(not|no)\s+$", text[max(0, match.start() - 5) : match.start()])
        ]

    return find


def _regex(pattern: str, flags=re.IGNORECASE):
    return lambda text: [match[0] for match in re.finditer(pattern, text, flags)]


# Each kind of defect: what it finds, and why a patient is let down by it.
DEFECTS = {
    # "appointment(s)": the site knows how many; it says one or the other.
    "(s) plural": _regex(r"\w\(s\)"),
    # "Your 1 sessions are booked": one of a thing is singular.
    "1 with a plural": _regex(
        r"(?<![\d.,:£])\b1 (sessions|appointments|times|minutes|hours|days|weeks|months|credits)\b"
    ),
    # "950.00 pounds", "95000": money is shown as £950.00, never in words or pence.
    "money not in £": _regex(r"\b(pounds?|pence|GBP)\b|(?<![£\d.,:])\d+\.\d\d\b"),
    # "To use within 183 days" beside "6 months": a long period reads in months.
    "a period in hundreds of days": _regex(r"\b\d{3,} days\b"),
    # No promise of a cure, of safety or of results.
    "a health claim": lambda text: (
        _regex(r"\bcur(e|es|ed|ing)\b|\brisk[- ]free\b|\bmiracle\w*|\b100 ?%")(text)
        + _not_negated(r"\bguarantee\w*")(text)
        + _not_negated(r"\bproven\b")(text)
        + _not_negated(r"\bfree (of|from) (risk|side[- ]effects)")(text)
    ),
    # A course holds sessions: "credits" is the ledger's word, not the patient's.
    "credits for sessions": _regex(r"\bcredits?\b(?! (card|note))"),
    # Replies under a page are replies, not "responses" in one place and replies in another.
    "responses for replies": _regex(r"\bresponses?\b"),
    # "Wording version 3": the record keeps which wording was agreed; the patient reads it.
    "record-keeping numbers": _regex(r"\bversion \d+"),
    # A time let go before it was ever booked is "not booked", never "cancelled" as well.
    "not booked yet cancelled": lambda text: (
        _regex(r"appointment is cancelled")(text) if "nothing is booked" in text else []
    ),
    # A template's insides showing through: "None", "{{ ... }}", "awaiting_payment".
    "template leftovers": _regex(r"\{\{|\}\}|\{%|%\}|\bNone\b|\bundefined\b|\b[a-z]+_[a-z_]+\b", 0),
}


# What the patient reads, gathered once per test process: the checks only read it, and
# gathering it (a demo clinic, every page rendered, every kind of email queued) was nearly
# all of each check's time.
_READ: dict[str, str] = {}


@pytest.fixture
def everything_a_patient_reads(request, app):
    if not _READ:
        client, make_course, make_staff = map(
            request.getfixturevalue, ("client", "make_course", "make_staff")
        )
        request.getfixturevalue("demo")
        pages = {
            f"page {label} ({path})": client.get(path).get_data(as_text=True)
            for label, path in patient_pages(make_course, make_staff).items()
        }
        emails = {f"email {label}": body for label, body in patient_emails(make_staff).items()}
        assert len(pages) > 30 and len(emails) >= 10, (sorted(pages), sorted(emails))
        _READ.update(pages, **emails)
    return dict(_READ)


def test_every_kind_of_patient_email_is_read(everything_a_patient_reads):
    kinds = {label.split()[1] for label in everything_a_patient_reads if label.startswith("email")}
    assert kinds >= {
        "confirmation",
        "moved",
        "cancelled",
        "restored",
        "reminder",
        "course_requested",
        "course_activated",
        "course_planned",
        "course_session",
        "waiting_list_joined",
        "waiting_list_offer",
        "my_bookings",
        "confirm_email",
        "hold_released",
    }


@pytest.mark.parametrize("defect", DEFECTS)
def test_no_page_or_email_a_patient_reads_has(everything_a_patient_reads, defect):
    find = DEFECTS[defect]
    found = {
        label: hits
        for label, markup in everything_a_patient_reads.items()
        if (hits := find(visible_text(markup)))
    }
    assert found == {}, f"{defect}: {found}"


@pytest.mark.parametrize(
    ("text", "defect"),
    [
        ("Cancel your appointment(s) here", "(s) plural"),
        ("Your 1 sessions are booked", "1 with a plural"),
        ("The course costs 950.00 pounds", "money not in £"),
        ("The course costs 950.00", "money not in £"),
        ("To use within 183 days", "a period in hundreds of days"),
        ("Acupuncture cures sciatica", "a health claim"),
        ("A risk-free treatment", "a health claim"),
        ("Results guaranteed", "a health claim"),
        ("Clinically proven to ease pain", "a health claim"),
        ("Uses 1 of your 10 remaining credits", "credits for sessions"),
        ("2 responses", "responses for replies"),
        ("Status: awaiting_payment", "template leftovers"),
        ("Practitioner: None", "template leftovers"),
        ("I agree. Wording version 2.", "record-keeping numbers"),
        (
            "The time was let go and nothing is booked. Price: this appointment is cancelled",
            "not booked yet cancelled",
        ),
    ],
)
def test_each_check_finds_what_it_is_for(text, defect):
    assert DEFECTS[defect](visible_text(f"<p>{text}</p>"))


@pytest.mark.parametrize(
    "text",
    [
        "£950.00 for 10 sessions, to use within 6 months",
        "These are goals, not guaranteed results; acupuncture is not free of risk.",
        "Cupping is not proven to treat any condition.",
        "Pay by credit card, or ask for a credit note.",
        "Open 09:00 to 18:00. Phone 020 7946 0000.",
    ],
)
def test_honest_copy_passes_every_check(text):
    assert {name: find(text) for name, find in DEFECTS.items() if find(text)} == {}


NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


def test_a_page_that_counts_its_questions_asks_that_many(everything_a_patient_reads):
    """ "Two safety questions" above three of them (issue 17): a count must be the count."""
    counted = 0
    for label, markup in everything_a_patient_reads.items():
        if not label.startswith("page"):
            continue
        said = re.findall(
            r"\b(one|two|three|four|five|six) (?:\w+ ){0,2}questions?\b",
            visible_text(markup),
            re.IGNORECASE,
        )
        radios = [tag for tag in re.findall(r"<input\b[^>]*>", markup) if 'type="radio"' in tag]
        asked = len({re.search(r'name="([^"]+)"', tag)[1] for tag in radios})
        for word in said:
            counted += 1
            assert NUMBERS[word.lower()] == asked, f"{label} says {word} questions, asks {asked}"
    assert counted, "no page counts its questions: the check above checked nothing"
