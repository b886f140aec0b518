"""One home for money and for web addresses made from names."""

import ast
from pathlib import Path

import pytest

from booking.clinic.errors import DomainError
from booking.clinic.money import format_money, format_money_exact, parse_price_pence
from booking.clinic.slugs import free_slug, slug_from_name
from tests import source_tree


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


# One home: nothing but money.py turns pence into pounds ------------------------------------

ROOT = Path(__file__).resolve().parent.parent
MONEY = "booking/clinic/money.py"


def _pence_to_pounds(source: str) -> list[int]:
    """Lines that divide an amount in pence by 100 (p / 100, p // 100, p % 100,
    divmod(p, 100)): the arithmetic of formatting money by hand."""
    found = []
    for node in source_tree.walk(source):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod):
            amount, by = node.left, node.right
        elif (
            isinstance(node, ast.Call)
            and ast.unparse(node.func) == "divmod"
            and len(node.args) == 2
        ):
            amount, by = node.args
        else:
            continue
        if isinstance(by, ast.Constant) and by.value == 100 and "pence" in ast.unparse(amount):
            found.append(node.lineno)
    return found


def test_only_money_py_turns_pence_into_pounds():
    offences = []
    for path in source_tree.python_files():
        name = str(path.relative_to(ROOT))
        if name != MONEY:
            offences += [f"{name}:{line}" for line in _pence_to_pounds(path.read_text())]
    assert offences == []
    assert _pence_to_pounds((ROOT / MONEY).read_text())  # the check sees money.py's own


def test_the_pence_check_can_fail():
    source = (
        "a = f'{price_pence / 100:.2f}'\n"
        "b = divmod(abs(pence), 100)\n"
        "c = rate_basis_points // 100\n"
        "d = visit.price_pence // 2\n"
    )
    assert sorted(_pence_to_pounds(source)) == [1, 2]
