"""The seven tariff shapes and their validation — RATING.md §4."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kakin.rating.tariffs import (
    Band,
    GraduatedMode,
    Tariff,
    TariffProblem,
    TariffShape,
    tariff_amount,
    validate_tariff,
)

from .factories import D

GRADUATED = Tariff(
    TariffShape.GRADUATED,
    bands=(
        Band(D(10), unit_price=D(10), flat_fee=D(2)),
        Band(D(20), unit_price=D(5), flat_fee=D(3)),
        Band(None, unit_price=D(5), flat_fee=D(3)),
    ),
)
VOLUME = Tariff(
    TariffShape.GRADUATED,
    mode=GraduatedMode.VOLUME,
    bands=(
        Band(D(100), unit_price=D(2), flat_fee=D(10)),
        Band(D(200), unit_price=D(1), flat_fee=D(0)),
        Band(None, unit_price=D("0.5"), flat_fee=D(50)),
    ),
)
# RATING.md §4 lists the step bands as ≤1 GB, ≤3, ≤5, ≤7; a tariff's last band is
# unbounded (t1 < … < ∞), so the 5,980 band is the open one: 7 GB and beyond cost 5,980.
STEP = Tariff(
    TariffShape.STEP,
    bands=(
        Band(D(1), amount=D(2980)),
        Band(D(3), amount=D(3980)),
        Band(D(5), amount=D(4980)),
        Band(None, amount=D(5980)),
    ),
)
DOUBLE_FLAT = Tariff(TariffShape.DOUBLE_FLAT, lower=D(1029), unit_price=D("0.084"), upper=D(4410))


@pytest.mark.parametrize(
    ("q", "amount"), [(0, 2), (1, 12), (10, 102), (11, 110), (12, 115), (21, 163)]
)
def test_graduated_example_of_rating_md(q: int, amount: int) -> None:
    """RATING.md §4: "`graduated`, p = 10, 5, 5, f = 2, 3, 3: q=0 → 2; q=1 → 12; q=10 → 102;
    q=11 → 110; q=12 → 115; q=21 → 163." """
    assert tariff_amount(GRADUATED, D(q)) == D(amount)


@pytest.mark.parametrize(
    ("q", "amount"),
    [
        ("0", "10"),
        ("1", "12"),
        ("100", "210"),
        ("100.5", "100.5"),
        ("101", "101"),
        ("200", "200"),
        ("300", "200"),
    ],
)
def test_volume_example_of_rating_md(q: str, amount: str) -> None:
    """RATING.md §4: "`graduated` mode `volume`, bands ≤100, ≤200, ∞ with p = 2, 1, 0.5 and
    f = 10, 0, 50: q=0 → 10; q=1 → 12; q=100 → 210; q=100.5 → 100.5; q=101 → 101; q=200 →
    200; q=300 → 200." """
    assert tariff_amount(VOLUME, D(q)) == D(amount)


@pytest.mark.parametrize(
    ("q", "amount"), [("2.5", 3980), ("0", 2980), ("1", 2980), ("1.01", 3980), ("7", 5980)]
)
def test_step_example_of_rating_md(q: str, amount: int) -> None:
    """RATING.md §4: "`step`, bands ≤1 GB, ≤3, ≤5, ≤7 with 2,980 / 3,980 / 4,980 / 5,980:
    2.5 GB → 3,980; 0 GB → 2,980" ("the whole usage is billed at that band's amount")."""
    assert tariff_amount(STEP, D(q)) == D(amount)


@pytest.mark.parametrize(("q", "amount"), [(10_000, 1029), (20_000, 1680), (100_000, 4410)])
def test_double_flat_example_of_rating_md(q: int, amount: int) -> None:
    """RATING.md §4: "`double_flat`, L = 1,029, p = 0.084, U = 4,410: 10,000 packets →
    1,029; 20,000 → 1,680; 100,000 → 4,410." """
    assert tariff_amount(DOUBLE_FLAT, D(q)) == D(amount)


def test_flat_per_unit_base_plus_usage_and_capped_follow_their_formulas() -> None:
    """RATING.md §4: `flat` F; `per_unit` p·q; `base_plus_usage` F + p·max(0, q − A);
    `capped` min(U, p·q)."""
    assert tariff_amount(Tariff(TariffShape.FLAT, fixed_fee=D(500)), D(99)) == D(500)
    assert tariff_amount(Tariff(TariffShape.PER_UNIT, unit_price=D("0.05")), D(3)) == D("0.15")
    base = Tariff(TariffShape.BASE_PLUS_USAGE, fixed_fee=D(1000), unit_price=D(20), included=D(30))
    assert tariff_amount(base, D(10)) == D(1000)
    assert tariff_amount(base, D(35)) == D(1100)
    capped = Tariff(TariffShape.CAPPED, unit_price=D(10), upper=D(2000))
    assert tariff_amount(capped, D(150)) == D(1500)
    assert tariff_amount(capped, D(250)) == D(2000)


@given(st.decimals(min_value=0, max_value=100_000, places=2))
def test_base_plus_usage_with_a_equal_f_over_p_is_the_minimum_charge(q: Decimal) -> None:
    """RATING.md §4: "with `A = F/p` this is the minimum charge `max(F, p·q)`"."""
    fee, price = D(1000), D(8)
    tariff = Tariff(
        TariffShape.BASE_PLUS_USAGE, fixed_fee=fee, unit_price=price, included=fee / price
    )
    assert tariff_amount(tariff, q) == max(fee, price * q)


def test_proration_scales_fixed_amounts_but_never_unit_prices_or_bands() -> None:
    """RATING.md §4 "Partial periods": "the tariff's amounts that do not depend on q (`F`,
    `L`, `U`, `P_k`, `f_k`) are prorated … Unit prices and band bounds are never prorated." """
    half = Fraction(1, 2)
    assert tariff_amount(DOUBLE_FLAT, D(5_000), half) == D("514.5")  # L/2 > p·q = 420
    assert tariff_amount(DOUBLE_FLAT, D(20_000), half) == D(1680)  # p·q unchanged
    assert tariff_amount(DOUBLE_FLAT, D(100_000), half) == D(2205)  # U/2
    assert tariff_amount(STEP, D("2.5"), half) == D(1990)  # P_2/2, same band
    assert tariff_amount(GRADUATED, D(11), half) == D("107.5")  # 1 + 100 + 1.5 + 5
    assert tariff_amount(VOLUME, D(300), half) == D(175)  # 25 + 0.5·300
    capped = Tariff(TariffShape.CAPPED, unit_price=D(10), upper=D(2000))
    assert tariff_amount(capped, D(150), half) == D(1000)


def test_a_tariff_amount_of_a_negative_quantity_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        tariff_amount(GRADUATED, D(-1))


def test_the_examples_of_rating_md_are_valid_definitions() -> None:
    """RATING.md §4: the worked examples are tariffs the API accepts."""
    for tariff in (GRADUATED, VOLUME, STEP, DOUBLE_FLAT):
        assert validate_tariff(tariff) == []


def test_validation_names_missing_and_foreign_fields() -> None:
    """Each shape needs its parameters and no others (RATING.md §4 table)."""
    problems = validate_tariff(Tariff(TariffShape.CAPPED, unit_price=D(1), fixed_fee=D(5)))
    assert TariffProblem("upper", "is required by capped") in problems
    assert TariffProblem("fixed_fee", "is not used by capped") in problems
    problems = validate_tariff(
        Tariff(TariffShape.PER_UNIT, unit_price=D(1), mode=GraduatedMode.VOLUME)
    )
    assert [p.field for p in problems] == ["mode"]


def test_validation_requires_strictly_increasing_bands_ending_unbounded() -> None:
    """RATING.md §4: "bands with upper bounds `t1 < t2 < … < ∞`"."""
    tariff = Tariff(
        TariffShape.STEP,
        bands=(
            Band(D(5), amount=D(1)),
            Band(D(5), amount=D(2)),
            Band(None, amount=D(3)),
            Band(D(9), amount=D(4)),
        ),
    )
    fields = {p.field for p in validate_tariff(tariff)}
    assert fields == {"bands[1].up_to", "bands[2].up_to", "bands[3].up_to"}
    assert validate_tariff(Tariff(TariffShape.STEP, bands=(Band(D(0), amount=D(1)),))) != []


def test_validation_refuses_negative_amounts_and_over_precise_prices() -> None:
    """RATING.md §1: "Unit prices may carry up to 6 decimal places"; amounts are >= 0."""
    problems = validate_tariff(
        Tariff(TariffShape.DOUBLE_FLAT, lower=D(-1), unit_price=D("0.0000001"), upper=D(5))
    )
    assert {p.field for p in problems} == {"lower", "unit_price"}
    bad_band = Tariff(
        TariffShape.GRADUATED, bands=(Band(None, unit_price=D(1), flat_fee=D(-2), amount=D(1)),)
    )
    assert {p.field for p in validate_tariff(bad_band)} == {
        "bands[0].flat_fee",
        "bands[0].amount",
    }


def test_validation_refuses_a_double_flat_whose_lower_exceeds_its_upper() -> None:
    tariff = Tariff(TariffShape.DOUBLE_FLAT, lower=D(10), unit_price=D(1), upper=D(5))
    assert validate_tariff(tariff) == [TariffProblem("upper", "must not be below lower")]


def test_validation_requires_bands_for_banded_shapes() -> None:
    assert validate_tariff(Tariff(TariffShape.GRADUATED)) == [
        TariffProblem("bands", "is required by graduated")
    ]


@given(
    st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=4, unique=True),
    st.lists(st.decimals(min_value=0, max_value=100, places=2), min_size=5, max_size=5),
    st.decimals(min_value=0, max_value=300, places=1),
)
def test_graduated_amount_never_decreases_with_quantity(
    bounds: list[int], prices: list[Decimal], q: Decimal
) -> None:
    """RATING.md §4 #7: each unit of q adds its band's non-negative price (and a reached
    band its flat), so more usage never costs less."""
    ordered = sorted(bounds)
    bands = (
        *tuple(Band(D(b), unit_price=prices[i]) for i, b in enumerate(ordered)),
        Band(None, unit_price=prices[-1]),
    )
    tariff = Tariff(TariffShape.GRADUATED, bands=bands)
    assert validate_tariff(tariff) == []
    assert tariff_amount(tariff, q + 1) >= tariff_amount(tariff, q)


def test_prorated_amounts_are_exact_fractions_not_rounded_decimals() -> None:
    """RATING.md §1: rounding happens only at line rounding, so a tariff's amount is exact:
    band flats 100/100/100 prorated 1/3 are 100, and 100 prorated 1/3 is 100/3 (three of
    them make 100, which no 28- or 60-digit 33.33… can)."""
    flats = Tariff(
        TariffShape.GRADUATED,
        bands=(
            Band(D(10), unit_price=D(0), flat_fee=D(100)),
            Band(D(20), unit_price=D(0), flat_fee=D(100)),
            Band(None, unit_price=D(0), flat_fee=D(100)),
        ),
    )
    third = Fraction(1, 3)
    assert tariff_amount(flats, D(25), third) == 100
    flat = Tariff(TariffShape.FLAT, fixed_fee=D(100))
    assert tariff_amount(flat, D(1), third) == Fraction(100, 3)
    assert sum(tariff_amount(flat, D(1), third) for _ in range(3)) == 100
