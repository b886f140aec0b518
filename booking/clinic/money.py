"""Money as the clinic writes and reads it: integer pence inside, "£65.50" outside.

The one home for turning pence into words and typed prices into pence, so a receipt, a
price list, an email and a form never disagree.
"""

import re

from booking.clinic.errors import DomainError

HIGHEST_PRICE_PENCE = 1_000_000  # £10,000: anything above is a slip of the keyboard
_PRICE = re.compile(r"(?P<pounds>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]*)(?:\.(?P<pence>[0-9]{1,2}))?")


def parse_price_pence(text: str | None) -> int:
    """A price as a person types it ("65", "65.50", "£65.50", "1,250") in pence.

    DomainError for anything else: negative amounts, letters, a third decimal place.
    """
    return _parse_pence(text, "price")


def parse_amount_pence(text: str | None) -> int:
    """An amount paid, refunded or counted, typed as a price is; the messages say "amount"."""
    return _parse_pence(text, "amount")


def _parse_pence(text: str | None, noun: str) -> int:
    article = "An" if noun[:1] in "aeiou" else "A"
    cleaned = (text or "").strip()
    if cleaned.startswith("-") or cleaned.startswith("£-") or cleaned.startswith("£ -"):
        raise DomainError(f"{article} {noun} cannot be negative.")
    cleaned = cleaned.removeprefix("£").strip()
    match = _PRICE.fullmatch(cleaned)
    if not cleaned or match is None or not (match["pounds"] or match["pence"]):
        raise DomainError(
            f"“{(text or '').strip()[:40]}” is not {article.lower()} {noun} we can read. "
            "Write pounds and pence like 65 or 65.50."
        )
    pounds = int(match["pounds"].replace(",", "") or 0)
    pence = int((match["pence"] or "0").ljust(2, "0"))
    total = pounds * 100 + pence
    if total > HIGHEST_PRICE_PENCE:
        raise DomainError(f"That {noun} is more than £10,000; please check it.")
    return total


def price_as_typed(pence: int) -> str:
    """How the price form shows a stored price: 6550 -> "65.50", 6500 -> "65.00"."""
    return f"{pence // 100}.{pence % 100:02d}"


def format_money(pence: int) -> str:
    """£65 for whole pounds, £65.50 otherwise; thousands separated (£1,250)."""
    sign = "-" if pence < 0 else ""
    pounds, remainder = divmod(abs(pence), 100)
    amount = f"£{pounds:,}" if remainder == 0 else f"£{pounds:,}.{remainder:02d}"
    return sign + amount


def format_money_exact(pence: int) -> str:
    """Always two decimal places (£65.00), as receipts and ledgers show amounts."""
    sign = "-" if pence < 0 else ""
    pounds, remainder = divmod(abs(pence), 100)
    return f"{sign}£{pounds:,}.{remainder:02d}"
