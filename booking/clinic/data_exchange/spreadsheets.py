"""CSV that opens correctly in a spreadsheet, and is safe to open.

- UTF-8 with a byte-order mark, which is how Excel knows the file is UTF-8 (without it
  "Zoë" arrives as "ZoÃ«").
- Times in the clinic's zone as "YYYY-MM-DD HH:MM" and dates as "YYYY-MM-DD", which Excel
  and LibreOffice read as dates; never UTC offsets a spreadsheet would show as text.
- Money as a plain number of pounds ("65.50"), so a column adds up.
- A cell that begins with = + - @ (or a tab or carriage return) is one a spreadsheet may
  run as a formula ("=HYPERLINK(...)" typed as a patient's name): it gets a leading
  apostrophe, which the spreadsheet shows as text and does not run.
"""

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from booking.clinic.money import price_as_typed

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(text: str) -> str:
    """The text as a cell a spreadsheet will not run as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def local_time(instant: datetime | None, zone: ZoneInfo) -> str:
    return "" if instant is None else instant.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def local_date(instant: datetime | None, zone: ZoneInfo) -> str:
    return "" if instant is None else instant.astimezone(zone).date().isoformat()


class Trusted(str):
    """Text this module formatted (an amount): written as it is, a minus sign and all."""

    __slots__ = ()


def pounds(pence: int | None) -> "Trusted":
    """65.50 for 6550 pence: a number a spreadsheet adds up (the £ sign would make it text)."""
    if pence is None:
        return Trusted("")
    sign = "-" if pence < 0 else ""
    return Trusted(sign + price_as_typed(abs(pence)))


Cell = str | int | date | None


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, Trusted):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return neutralised(value)


def csv_text(headings: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    """The whole file, BOM first, lines ended CRLF as RFC 4180 and Excel expect.

    Numbers, dates and amounts (pounds) pass through as written; other text is neutralised
    (a time written by local_time starts with a digit, so it is left alone anyway).
    """
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headings)
    for row in rows:
        writer.writerow(_cell(value) for value in row)
    return buffer.getvalue()
