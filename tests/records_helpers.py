"""Helpers for the clinical record's tests: answers to the questionnaire, as a form sends them."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.clinic.records.intake import (
    HistoryAnswer,
    IntakeAnswers,
    current_questionnaire,
)

# Clinical text the tests type, to look for in the database afterwards.
PROBLEM = "Shooting pain down my left leg since gardening"
PACEMAKER_DETAILS = "Pacemaker fitted in 2019 after palpitations"


def ten_oclock(days_ahead: int) -> datetime:
    """10:00 in London, `days_ahead` days from today: inside any grid's hours whatever the
    hour the test runs at, and never across midnight or a clock change's missing hour."""
    london = ZoneInfo("Europe/London")
    day = datetime.now(UTC).astimezone(london).date() + timedelta(days=days_ahead)
    return datetime.combine(day, time(10), tzinfo=london).astimezone(UTC)


def answers(**yes: str) -> IntakeAnswers:
    """Every history question answered no, except those given as key="details" (yes)."""
    return IntakeAnswers(
        date_of_birth=date(1970, 5, 17),
        gp_name="Dr Quentin Blake",
        gp_practice="Harrow Road Surgery, London",
        problem=PROBLEM,
        history={
            question.key: HistoryAnswer("yes", yes[question.key])
            if question.key in yes
            else HistoryAnswer("no")
            for question in current_questionnaire().history
        },
    )


def form_data(**yes: str) -> dict[str, str]:
    """The questionnaire as the browser posts it (without the CSRF token)."""
    data = {
        "date_of_birth": "1970-05-17",
        "gp_name": "Dr Quentin Blake",
        "gp_practice": "Harrow Road Surgery, London",
        "problem": PROBLEM,
    }
    for question in current_questionnaire().history:
        data[question.key] = "yes" if question.key in yes else "no"
        data[f"{question.key}_details"] = yes.get(question.key, "")
    return data


__all__ = ["PACEMAKER_DETAILS", "PROBLEM", "answers", "date", "form_data", "ten_oclock"]
