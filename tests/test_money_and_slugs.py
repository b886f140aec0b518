"""One home for money and for web addresses made from names."""

import pytest

from booking.clinic.errors import DomainError
from booking.clinic.money import format_money, format_money_exact, parse_price_pence
from booking.clinic.slugs import free_slug, slug_from_name


@pytest.mark.parametrize(
    ("pence", "short", "exact"),
    [
        (6500, "£65", "£65.00"),
        (6550, "£65.50", "£65.50"),
        (5, "£0.05", "£0.05"),
        (125000, "£1,250", "£1,250.00"),
        (-6550, "-£65.50", "-£65.50"),
    ],
)
def test_money_reads_the_same_everywhere(pence, short, exact):
    assert format_money(pence) == short
    assert format_money_exact(pence) == exact


def test_a_typed_price_and_its_display_round_trip():
    for pence in (0, 5, 6550, 95000, 123456):
        assert parse_price_pence(format_money_exact(pence)) == pence
    with pytest.raises(DomainError):
        parse_price_pence("65.505")


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Zoë O'Brien", "zoe-obrien"),
        ("Acupuncture & cupping (60 min)", "acupuncture-cupping-60-min"),
        ("Sam’s stretching", "sams-stretching"),
        ("***", ""),
    ],
)
def test_one_slug_rule_for_every_name(name, slug):
    assert slug_from_name(name) == slug


def test_a_taken_slug_gets_the_next_number_within_the_length_limit():
    taken = {"sam", "sam-2"}
    assert free_slug("sam", taken.__contains__) == "sam-3"
    long = "a" * 80
    assert len(free_slug(long, {long}.__contains__)) == 80
