"""Working minutes of each practitioner over a run of the clinic's local days.

Weekly hours are kept as one pattern per practitioner (booking.clinic.working_hours),
replaced whole when an administrator edits them; every edit is in the audit log with the
pattern before and after. So the hours in force on a past day are read back from the log:
the pattern before the first change made after that day, or today's pattern when none has
been made since. A change counts from the local day it was made on.

Hours are wall-clock times, so each day's intervals are turned into UTC on that day:
a 09:00-17:00 day is eight hours either side of a clock change, and a shift across the
skipped hour in March is an hour shorter. Time off (holidays, training, the clinic
closed) is subtracted where it overlaps those intervals, overlapping blocks counted once.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from booking.clinic.localtime import local_day_bounds, local_to_utc, to_local
from booking.clinic.working_hours import WEEKDAY_NAMES
from booking.extensions import db
from booking.models import AuditEvent, TimeOff, WorkingHours

Span = tuple[datetime, datetime]
Pattern = dict[int, list[tuple[time, time]]]

CHANGE_ACTION = "working_hours.changed"


@dataclass(frozen=True)
class PatternChange:
    """An edit of a practitioner's hours: on this local day, the pattern before it."""

    day: date
    before: Pattern


def parse_described(described: dict[str, str]) -> Pattern:
    """The inverse of working_hours.describe: {"Monday": "09:00-13:00, 14:00-18:00"}."""
    pattern: Pattern = {}
    for weekday, name in enumerate(WEEKDAY_NAMES):
        text = (described or {}).get(name, "")
        for part in filter(None, (piece.strip() for piece in text.split(","))):
            start, _, end = part.partition("-")
            try:
                interval = (time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))
            except ValueError:
                continue  # an entry the log cannot give back is left out, not guessed
            pattern.setdefault(weekday, []).append(interval)
    return pattern


def current_patterns(practitioner_ids: Iterable[int]) -> dict[int, Pattern]:
    """Each practitioner's weekly hours as they stand now."""
    patterns: dict[int, Pattern] = {pid: {} for pid in practitioner_ids}
    rows = db.session.execute(
        select(
            WorkingHours.practitioner_id,
            WorkingHours.weekday,
            WorkingHours.starts_at,
            WorkingHours.ends_at,
        ).where(WorkingHours.practitioner_id.in_(list(patterns)))
    )
    for practitioner_id, weekday, starts_at, ends_at in rows:
        patterns[practitioner_id].setdefault(weekday, []).append((starts_at, ends_at))
    return patterns


def changes_since(
    practitioner_ids: Iterable[int], since: datetime, zone: ZoneInfo
) -> dict[int, list[PatternChange]]:
    """Edits of the hours made at or after `since`, oldest first, per practitioner."""
    ids = list(practitioner_ids)
    found: dict[int, list[PatternChange]] = {pid: [] for pid in ids}
    events = db.session.execute(
        select(AuditEvent.subject_id, AuditEvent.occurred_at, AuditEvent.details)
        .where(
            AuditEvent.action == CHANGE_ACTION,
            AuditEvent.subject_type == "Practitioner",
            AuditEvent.subject_id.in_(ids),
            AuditEvent.occurred_at >= since,
        )
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    )
    for subject_id, occurred_at, details in events:
        before = parse_described((details or {}).get("before") or {})
        found[subject_id].append(PatternChange(to_local(occurred_at, zone).date(), before))
    return found


def pattern_on(day: date, current: Pattern, changes: list[PatternChange]) -> Pattern:
    """The pattern in force on `day`: before the first change made after it, else today's."""
    for change in changes:
        if change.day > day:
            return change.before
    return current


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _minutes(span: Span) -> float:
    return (span[1] - span[0]).total_seconds() / 60


def _overlap(a: Span, b: Span) -> float:
    start, end = max(a[0], b[0]), min(a[1], b[1])
    return _minutes((start, end)) if end > start else 0.0


def time_off_spans(
    practitioner_ids: Iterable[int], starts_at: datetime, ends_at: datetime
) -> dict[int, list[Span]]:
    """Each practitioner's blocked time overlapping the span, merged."""
    ids = list(practitioner_ids)
    spans: dict[int, list[Span]] = {pid: [] for pid in ids}
    rows = db.session.execute(
        select(TimeOff.practitioner_id, TimeOff.starts_at, TimeOff.ends_at).where(
            TimeOff.practitioner_id.in_(ids),
            TimeOff.starts_at < ends_at,
            TimeOff.ends_at > starts_at,
        )
    )
    for practitioner_id, block_start, block_end in rows:
        spans[practitioner_id].append((block_start, block_end))
    return {pid: _merge(found) for pid, found in spans.items()}


def working_minutes(
    practitioner_ids: Iterable[int], first_day: date, last_day: date, zone: ZoneInfo
) -> dict[int, int]:
    """Minutes each practitioner was (or is) due to work over the local days, less time off."""
    ids = list(practitioner_ids)
    if not ids:
        return {}
    range_start = local_day_bounds(first_day, zone)[0]
    range_end = local_day_bounds(last_day, zone)[1]
    current = current_patterns(ids)
    changes = changes_since(ids, range_start, zone)
    blocked = time_off_spans(ids, range_start, range_end)
    totals: dict[int, int] = {}
    for practitioner_id in ids:
        blocks = blocked[practitioner_id]
        minutes, first_block = 0.0, 0
        day = first_day
        while day <= last_day:
            pattern = pattern_on(day, current[practitioner_id], changes[practitioner_id])
            for start, end in sorted(pattern.get(day.weekday(), [])):
                span = (local_to_utc(day, start, zone), local_to_utc(day, end, zone))
                if span[1] <= span[0]:
                    continue
                minutes += _minutes(span)
                # Days and blocks both run forwards: skip the blocks already behind.
                while first_block < len(blocks) and blocks[first_block][1] <= span[0]:
                    first_block += 1
                index = first_block
                while index < len(blocks) and blocks[index][0] < span[1]:
                    minutes -= _overlap(span, blocks[index])
                    index += 1
            day += timedelta(days=1)
        totals[practitioner_id] = round(minutes)
    return totals
