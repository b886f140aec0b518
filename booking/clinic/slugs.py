"""Web addresses made from names: one rule for practitioners, session types and the rest."""

import re
import unicodedata
from collections.abc import Callable

SLUG_LENGTH = 80
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def slug_from_name(name: str) -> str:
    """ "Zoë O'Brien" -> "zoe-obrien"; 'Acupuncture & cupping (60 min)' ->
    'acupuncture-cupping-60-min': lower-case ASCII words joined by hyphens, apostrophes
    dropped, at most SLUG_LENGTH characters. Empty when the name has no letter or digit."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    plain = re.sub(r"['’]", "", plain.lower())
    slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")
    return slug[:SLUG_LENGTH].rstrip("-")


def free_slug(base: str, taken: Callable[[str], bool]) -> str:
    """`base`, or `base-2`, `base-3`... whichever `taken` says nobody uses yet."""
    candidate, number = base, 1
    while taken(candidate):
        number += 1
        suffix = f"-{number}"
        candidate = base[: SLUG_LENGTH - len(suffix)].rstrip("-") + suffix
    return candidate
