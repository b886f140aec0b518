"""VAT on the clinic's documents: exempt by default, or a registered number and a rate.

Most health treatments by registered practitioners are exempt from VAT, so a clinic
starts exempt and its documents say so. A VAT-registered clinic sets its VAT number and
rate; prices stay what the patient pays (VAT included), and each document then shows
the net amount, the rate, the VAT and the gross amount, with the clinic's VAT number,
as a UK VAT invoice must.
"""

import re
from dataclasses import dataclass

from booking.clinic import audit
from booking.clinic.errors import DomainError
from booking.clinic.settings import clinic_settings
from booking.clinic.transaction import lock_or_refuse, unit_of_work
from booking.models import ClinicSettings, StaffUser

# GB or XI, then 9 digits (or 12 for a group member), or GD/HA and 3 digits
# (government departments and health authorities).
_VAT_NUMBER = re.compile(r"(GB|XI)([0-9]{9}|[0-9]{12}|GD[0-9]{3}|HA[0-9]{3})")
_RATE = re.compile(r"(?P<whole>[0-9]{1,3})(?:\.(?P<fraction>[0-9]{1,2}))?")


@dataclass(frozen=True)
class VatSplit:
    net_pence: int
    vat_pence: int
    gross_pence: int


def split_gross(gross_pence: int, rate_basis_points: int | None) -> VatSplit:
    """The VAT inside a VAT-inclusive amount, rounded to the nearest penny (half up)."""
    if not rate_basis_points:
        return VatSplit(net_pence=gross_pence, vat_pence=0, gross_pence=gross_pence)
    whole = 10_000 + rate_basis_points
    vat = (2 * gross_pence * rate_basis_points + whole) // (2 * whole)
    return VatSplit(net_pence=gross_pence - vat, vat_pence=vat, gross_pence=gross_pence)


def format_rate(rate_basis_points: int) -> str:
    """2000 -> "20%", 1750 -> "17.5%"."""
    whole, fraction = divmod(rate_basis_points, 100)
    if not fraction:
        return f"{whole}%"
    return f"{whole}.{fraction:02d}".rstrip("0") + "%"


def parse_vat_number(text: str | None) -> str:
    """A UK VAT number as typed ("GB 123 4567 89", "123456789") in its stored form."""
    cleaned = re.sub(r"[\s.\-]", "", text or "").upper()
    if cleaned.isdigit():
        cleaned = f"GB{cleaned}"
    if not _VAT_NUMBER.fullmatch(cleaned):
        raise DomainError(
            "That does not look like a UK VAT number: GB followed by 9 digits, "
            "for example GB 123 4567 89."
        )
    return cleaned


def parse_rate(text: str | None) -> int:
    """A VAT rate as typed ("20", "20%", "17.5") in basis points."""
    cleaned = (text or "").strip().removesuffix("%").strip()
    match = _RATE.fullmatch(cleaned)
    if not match:
        raise DomainError("Enter the VAT rate as a percentage, for example 20.")
    points = int(match["whole"]) * 100 + int((match["fraction"] or "0").ljust(2, "0"))
    if not 1 <= points <= 10_000:
        raise DomainError("The VAT rate must be more than 0% and at most 100%.")
    return points


def save_vat_setting(
    *, registered: bool, number: str | None, rate: str | None, staff_user: StaffUser
) -> bool:
    """Make the clinic exempt (`registered` False) or VAT-registered with `number` at `rate`.

    Returns whether anything changed; a change is audited. Documents already issued keep
    the VAT they were issued with.
    """
    if registered:
        new_number: str | None = parse_vat_number(number)
        new_rate: int | None = parse_rate(rate)
    else:
        new_number, new_rate = None, None
    with unit_of_work():
        clinic_settings()  # the row exists from here on
        settings = lock_or_refuse(ClinicSettings, 1, "The clinic's settings are missing.")
        before = (settings.vat_number, settings.vat_rate_basis_points)
        if before == (new_number, new_rate):
            return False
        settings.vat_number, settings.vat_rate_basis_points = new_number, new_rate
        audit.record(
            staff_user,
            "clinic_settings.vat_changed",
            settings,
            changes={"vat_number": [before[0], new_number], "vat_rate": [before[1], new_rate]},
        )
    return True
