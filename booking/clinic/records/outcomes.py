"""Outcomes across a course: pain and a patient-specific functional scale at checkpoints.

At the first, middle and last session of a course the patient scores their pain (0-10)
and up to three activities they named themselves at the start (0 = cannot do it, 10 =
can do it as before the problem). The course's size is `Course.sessions_total`, copied
from its product's `sessions_count` when the course was bought, so a product changed
later does not move the checkpoints of courses already sold. A session's place counts the
course's live sessions in time order.

The scores are the patient's own report: a chart shows how they changed during the
course, which is not proof of what caused the change, and the summary says so.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from booking.clinic import audit
from booking.clinic.errors import DomainError
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.database import utcnow
from booking.encryption import opened
from booking.extensions import db
from booking.models import (
    Appointment,
    AppointmentStatus,
    Course,
    OutcomeCheckpoint,
    OutcomeRecord,
    RecordMethod,
    StaffUser,
)

MOST_ACTIVITIES = 3
LONGEST_ACTIVITY = 80
OUTCOME_SALT = "outcome-scores"

CHECKPOINT_LABELS = {
    OutcomeCheckpoint.FIRST: "First session",
    OutcomeCheckpoint.MIDDLE: "Middle session",
    OutcomeCheckpoint.LAST: "Last session",
}


@dataclass(frozen=True)
class Activity:
    name: str
    score: int


@dataclass(frozen=True)
class OutcomePoint:
    checkpoint: OutcomeCheckpoint
    recorded_at: datetime
    session_starts_at: datetime
    pain: int
    activities: list[Activity]
    method: str


# Checkpoints --------------------------------------------------------------------------------


def checkpoint_positions(total: int) -> dict[int, OutcomeCheckpoint]:
    """Which session numbers (from 1) are checkpoints in a course of `total` sessions."""
    positions = {1: OutcomeCheckpoint.FIRST}
    if total >= 3:
        positions[(total + 1) // 2] = OutcomeCheckpoint.MIDDLE
    if total >= 2:
        positions[total] = OutcomeCheckpoint.LAST
    return positions


def live_sessions(course: Course) -> list[Appointment]:
    return list(
        db.session.scalars(
            select(Appointment)
            .where(Appointment.course_id == course.id, Appointment.is_live)
            .order_by(Appointment.starts_at, Appointment.id)
        )
    )


def checkpoint_of(appointment: Appointment) -> OutcomeCheckpoint | None:
    """The checkpoint this appointment is in its course, if any."""
    course = appointment.course
    if course is None or appointment.status == AppointmentStatus.CANCELLED:
        return None
    ids = [session.id for session in live_sessions(course)]
    if appointment.id not in ids:
        return None
    return checkpoint_positions(course.sessions_total).get(ids.index(appointment.id) + 1)


def record_of(course: Course, checkpoint: OutcomeCheckpoint) -> OutcomeRecord | None:
    return db.session.scalar(
        select(OutcomeRecord).where(
            OutcomeRecord.course_id == course.id, OutcomeRecord.checkpoint == checkpoint.value
        )
    )


def named_activities(course: Course) -> list[str]:
    """The activities the patient named at the first checkpoint (none yet: an empty list)."""
    first = record_of(course, OutcomeCheckpoint.FIRST)
    if first is None:
        return []
    return [activity["name"] for activity in json.loads(opened(first.answers))["activities"]]


# Signed links -------------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=OUTCOME_SALT)


def outcome_token(appointment: Appointment, method: RecordMethod = RecordMethod.ONLINE) -> str:
    return _serializer().dumps([appointment.uid, method.value])


def outcome_url(appointment: Appointment) -> str | None:
    """The patient's link to score this session, if it is a checkpoint of their course."""
    if checkpoint_of(appointment) is None:
        return None
    return f"{current_app.config['PUBLIC_BASE_URL']}/outcomes/{outcome_token(appointment)}"


def read_outcome_token(token: str) -> tuple[str, RecordMethod] | None:
    max_age = current_app.config["MANAGE_TOKEN_MAX_AGE_DAYS"] * 86400
    try:
        value = _serializer().loads(token, max_age=max_age)
    except BadSignature:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(part, str) for part in value)
        or value[1] not in {method.value for method in RecordMethod}
    ):
        return None
    return value[0], RecordMethod(value[1])


# Recording ----------------------------------------------------------------------------------


def _score(value: int | None, label: str) -> int:
    if value is None or not 0 <= value <= 10:
        raise DomainError(f"{label}: choose a score from 0 to 10.")
    return value


def record_outcome(
    appointment: Appointment,
    *,
    pain: int | None,
    activities: list[tuple[str, int | None]],
    method: RecordMethod,
    staff_user: StaffUser | None = None,
    now: datetime | None = None,
) -> OutcomeRecord:
    """Keep the patient's scores for this checkpoint session (once per checkpoint).

    At the first checkpoint the patient names up to three activities; later checkpoints
    score the same activities, by name, in the same order.
    """
    now = now or utcnow()
    pain = _score(pain, "Pain")
    with unit_of_work() as session:
        appointment = lock_or_refuse(
            Appointment, appointment.id, "This appointment no longer exists."
        )
        course = appointment.course
        if course is None:
            raise DomainError("This appointment is not part of a course.")
        lock_or_refuse(Course, course.id, "This course no longer exists.")
        checkpoint = checkpoint_of(appointment)
        if checkpoint is None:
            raise DomainError("This session is not one where the course asks for scores.")
        if record_of(course, checkpoint) is not None:
            raise DomainError("Scores for this session have already been recorded. Thank you.")
        names = named_activities(course)
        kept = _activities(activities, names)
        record = OutcomeRecord(
            course_id=course.id,
            patient_id=appointment.patient_id,
            appointment_id=appointment.id,
            checkpoint=checkpoint.value,
            method=method.value,
            answers=json.dumps(
                {"pain": pain, "activities": [{"name": a.name, "score": a.score} for a in kept]}
            ),
            recorded_at=now,
            recorded_by_id=staff_user.id if staff_user is not None else None,
        )
        session.add(record)
        session.flush()
        audit.record(
            staff_user, "outcome.recorded", record, checkpoint=checkpoint.value, method=method.value
        )
    return record


def _activities(given: list[tuple[str, int | None]], names: list[str]) -> list[Activity]:
    if names:
        scores = [score for _, score in given]
        if len(scores) != len(names):
            raise DomainError("Score each of the activities you named at the start.")
        return [
            Activity(name, _score(score, name)) for name, score in zip(names, scores, strict=True)
        ]
    kept = []
    for name, score in given:
        name = " ".join((name or "").split())
        if not name and score is None:
            continue
        if not name:
            raise DomainError("Name the activity you scored, or leave both empty.")
        if len(name) > LONGEST_ACTIVITY:
            raise DomainError(
                f"Please describe each activity in {LONGEST_ACTIVITY} characters or fewer."
            )
        kept.append(Activity(name, _score(score, name)))
    if len(kept) > MOST_ACTIVITIES:
        raise DomainError(f"Name up to {MOST_ACTIVITIES} activities.")
    return kept


# Reading ------------------------------------------------------------------------------------


def course_outcomes(course: Course) -> list[OutcomePoint]:
    """The course's scores, first checkpoint first (no access check: domain use only)."""
    order = list(OutcomeCheckpoint)
    records = sorted(
        db.session.scalars(select(OutcomeRecord).where(OutcomeRecord.course_id == course.id)),
        key=lambda record: order.index(OutcomeCheckpoint(record.checkpoint)),
    )
    points = []
    for record in records:
        answers = json.loads(opened(record.answers))
        points.append(
            OutcomePoint(
                checkpoint=OutcomeCheckpoint(record.checkpoint),
                recorded_at=record.recorded_at,
                session_starts_at=record.appointment.starts_at,
                pain=int(answers["pain"]),
                activities=[Activity(a["name"], int(a["score"])) for a in answers["activities"]],
                method=record.method,
            )
        )
    return points


def summary(points: list[OutcomePoint]) -> str:
    """The change in words, for screen readers and the GP letter; no claim about cause."""
    if not points:
        return "No scores have been recorded for this course yet."
    first, latest = points[0], points[-1]
    if len(points) == 1:
        return f"Pain was {first.pain} out of 10 at the first session; no later scores yet."
    where = CHECKPOINT_LABELS[latest.checkpoint].lower()
    sentences = [
        f"Pain went from {first.pain} out of 10 at the first session to {latest.pain} "
        f"at the {where} ({_change(latest.pain - first.pain)})."
    ]
    latest_scores = {activity.name: activity.score for activity in latest.activities}
    for activity in first.activities:
        if activity.name in latest_scores:
            later = latest_scores[activity.name]
            sentences.append(
                f"{activity.name}: from {activity.score} to {later} out of 10, where 10 is "
                f"managing it as before the problem ({_change(later - activity.score)})."
            )
    sentences.append(
        "These are the patient's own scores; they show change during the course, not its cause."
    )
    return " ".join(sentences)


def _change(difference: int) -> str:
    if difference == 0:
        return "no change"
    points = "point" if abs(difference) == 1 else "points"
    return f"{'up' if difference > 0 else 'down'} {abs(difference)} {points}"


# The chart ----------------------------------------------------------------------------------

WIDTH, HEIGHT = 560, 300
LEFT, RIGHT, TOP, BOTTOM = 48, 170, 20, 40
COLOURS = ["#b3261e", "#1f5f99", "#2e7d32", "#6a1b9a"]
DASHES = ["", "6 3", "2 3", "8 3 2 3"]


def chart_svg(points: list[OutcomePoint], *, title_id: str = "outcome-chart-title") -> str:
    """A line chart of the scores, as SVG drawn on the server (no JavaScript).

    Each series is also distinguished by its dash pattern, not only by colour. Every
    point carries data-series, data-checkpoint and data-score: the figures it draws.
    """
    order = list(OutcomeCheckpoint)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(checkpoint: OutcomeCheckpoint) -> float:
        return LEFT + plot_w * order.index(checkpoint) / (len(order) - 1)

    def y(score: int) -> float:
        return TOP + plot_h * (10 - score) / 10

    series: dict[str, list[tuple[OutcomeCheckpoint, int]]] = {"Pain (0-10)": []}
    for point in points:
        series["Pain (0-10)"].append((point.checkpoint, point.pain))
        for activity in point.activities:
            series.setdefault(activity.name, []).append((point.checkpoint, activity.score))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="{title_id}" '
        'class="outcome-chart">',
        f'<title id="{title_id}">Scores at the first, middle and last session</title>',
    ]
    for score in range(0, 11, 2):
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(score):.1f}" y2="{y(score):.1f}" '
            'stroke="#d5d9dd" stroke-width="1"/>'
            f'<text x="{LEFT - 8}" y="{y(score) + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="#333">{score}</text>'
        )
    for checkpoint in order:
        parts.append(
            f'<text x="{x(checkpoint):.1f}" y="{HEIGHT - 14}" text-anchor="middle" font-size="12" '
            f'fill="#333">{CHECKPOINT_LABELS[checkpoint]}</text>'
        )
    for index, (name, values) in enumerate(series.items()):
        colour, dash = COLOURS[index % len(COLOURS)], DASHES[index % len(DASHES)]
        label = escape(name)
        if len(values) > 1:
            coordinates = " ".join(f"{x(c):.1f},{y(s):.1f}" for c, s in values)
            dashed = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(
                f'<polyline points="{coordinates}" fill="none" stroke="{colour}" '
                f'stroke-width="2.5"{dashed}/>'
            )
        for checkpoint, score in values:
            parts.append(
                f'<circle cx="{x(checkpoint):.1f}" cy="{y(score):.1f}" r="4.5" fill="{colour}" '
                f'data-series="{label}" data-checkpoint="{checkpoint.value}" '
                f'data-score="{score}"/>'
            )
        legend_y = TOP + 16 + index * 22
        parts.append(
            f'<line x1="{WIDTH - RIGHT + 14}" x2="{WIDTH - RIGHT + 40}" y1="{legend_y - 4}" '
            f'y2="{legend_y - 4}" stroke="{colour}" stroke-width="2.5"'
            + (f' stroke-dasharray="{dash}"' if dash else "")
            + f'/><text x="{WIDTH - RIGHT + 46}" y="{legend_y}" font-size="12" fill="#333">'
            f"{escape(name[:22])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
