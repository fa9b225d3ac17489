"""The seven tariff shapes (料金表) — RATING.md §4.

A tariff maps a rated quantity `q` to an exact amount, a `Fraction` (line rounding happens
later, once per line). The amounts that do not depend on q (F, L, U, P_k, f_k) are scaled by the
segment's proration factor; unit prices and band bounds never are (RATING.md §4 "Partial
periods").
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Final, NamedTuple

from kakin.kit.money import UNIT_PRICE_PLACES
from kakin.rating.exact import exact_of
from kakin.rating.proration import FULL, NOTHING

ZERO: Final = Decimal(0)


class TariffShape(enum.StrEnum):
    """RATING.md §4: the seed's seven shapes."""

    FLAT = "flat"  # 定額
    PER_UNIT = "per_unit"  # 従量 (固定従量)
    BASE_PLUS_USAGE = "base_plus_usage"  # 定額+従量 (ミニマムチャージ)
    CAPPED = "capped"  # 上限付き従量 (キャップ制)
    STEP = "step"  # 階段定額
    DOUBLE_FLAT = "double_flat"  # 段階定額 (二段階定額 / ダブル定額)
    GRADUATED = "graduated"  # 変動従量 (逓増 / 逓減)


class GraduatedMode(enum.StrEnum):
    """RATING.md §4: `graduated` sums each band's part; `volume` prices all of q at the
    reached band."""

    GRADUATED = "graduated"
    VOLUME = "volume"


@dataclass(frozen=True, slots=True)
class Band:
    """One band of a `step` or `graduated` tariff: it covers `t(k−1) < q ≤ up_to`
    (`up_to=None` is ∞, the last band). `step` uses `amount` (P_k); `graduated` uses
    `unit_price` (p_k) and optionally `flat_fee` (f_k)."""

    up_to: Decimal | None
    amount: Decimal | None = None
    unit_price: Decimal | None = None
    flat_fee: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Tariff:
    """A tariff definition. Which fields a shape uses (and requires) is `SHAPE_FIELDS`."""

    shape: TariffShape
    fixed_fee: Decimal | None = None  # F
    unit_price: Decimal | None = None  # p
    included: Decimal | None = None  # A
    lower: Decimal | None = None  # L
    upper: Decimal | None = None  # U
    bands: tuple[Band, ...] = field(default=())
    mode: GraduatedMode | None = None


class TariffProblem(NamedTuple):
    """A reason a tariff definition is invalid, naming its field (`bands[1].up_to`)."""

    field: str
    reason: str


class ShapeFields(NamedTuple):
    required: frozenset[str]
    optional: frozenset[str]


SHAPE_FIELDS: Final[dict[TariffShape, ShapeFields]] = {
    TariffShape.FLAT: ShapeFields(frozenset({"fixed_fee"}), frozenset()),
    TariffShape.PER_UNIT: ShapeFields(frozenset({"unit_price"}), frozenset()),
    TariffShape.BASE_PLUS_USAGE: ShapeFields(
        frozenset({"fixed_fee", "unit_price"}), frozenset({"included"})
    ),
    TariffShape.CAPPED: ShapeFields(frozenset({"unit_price", "upper"}), frozenset()),
    TariffShape.STEP: ShapeFields(frozenset({"bands"}), frozenset()),
    TariffShape.DOUBLE_FLAT: ShapeFields(frozenset({"lower", "unit_price", "upper"}), frozenset()),
    TariffShape.GRADUATED: ShapeFields(frozenset({"bands"}), frozenset({"mode"})),
}
"""RATING.md §4 table: the parameters each shape needs (and may have); any other is refused."""

BAND_FIELDS: Final[dict[TariffShape, ShapeFields]] = {
    TariffShape.STEP: ShapeFields(frozenset({"amount"}), frozenset()),
    TariffShape.GRADUATED: ShapeFields(frozenset({"unit_price"}), frozenset({"flat_fee"})),
}
"""RATING.md §4: a `step` band has its amount P_k; a `graduated` band its p_k and f_k."""

_SCALAR_FIELDS: Final = ("fixed_fee", "unit_price", "included", "lower", "upper")
_PRICE_FIELDS: Final = frozenset({"unit_price"})


def _check_number(path: str, value: Decimal, *, is_price: bool) -> list[TariffProblem]:
    if not value.is_finite():
        return [TariffProblem(path, "must be a finite number")]
    if value < 0:
        return [TariffProblem(path, "must be zero or more")]
    exponent = value.as_tuple().exponent
    if is_price and isinstance(exponent, int) and exponent < -UNIT_PRICE_PLACES:
        return [TariffProblem(path, f"has more than {UNIT_PRICE_PLACES} decimal places")]
    return []


def _present_fields(tariff: Tariff) -> set[str]:
    present = {name for name in _SCALAR_FIELDS if getattr(tariff, name) is not None}
    if tariff.bands:
        present.add("bands")
    if tariff.mode is not None:
        present.add("mode")
    return present


def _validate_bands(shape: TariffShape, bands: Sequence[Band]) -> list[TariffProblem]:
    # RATING.md §4: "bands with upper bounds t1 < t2 < … < ∞".
    problems: list[TariffProblem] = []
    wanted = BAND_FIELDS[shape]
    previous: Decimal = ZERO
    for index, band in enumerate(bands):
        path = f"bands[{index}]"
        is_last = index == len(bands) - 1
        if band.up_to is None:
            if not is_last:
                problems.append(TariffProblem(f"{path}.up_to", "only the last band is unbounded"))
        elif is_last:
            problems.append(TariffProblem(f"{path}.up_to", "the last band must be unbounded"))
        elif not band.up_to.is_finite():
            problems.append(TariffProblem(f"{path}.up_to", "must be a finite number"))
        elif band.up_to <= previous:
            reason = "must be above zero" if index == 0 else "must be above the previous band's"
            problems.append(TariffProblem(f"{path}.up_to", reason))
        else:
            previous = band.up_to
        for name in ("amount", "unit_price", "flat_fee"):
            value: Decimal | None = getattr(band, name)
            if value is None:
                if name in wanted.required:
                    problems.append(TariffProblem(f"{path}.{name}", f"is required by {shape}"))
            elif name not in wanted.required | wanted.optional:
                problems.append(TariffProblem(f"{path}.{name}", f"is not used by {shape}"))
            else:
                problems.extend(
                    _check_number(f"{path}.{name}", value, is_price=name == "unit_price")
                )
    return problems


def validate_tariff(tariff: Tariff) -> list[TariffProblem]:
    """Every problem of a tariff definition as (field path, reason); empty when valid.

    RATING.md §4: each shape takes the parameters of its formula and no others; amounts
    and prices are zero or more; unit prices have at most 6 decimal places (§1); bands are
    strictly increasing and the last one is unbounded.
    """
    try:
        shape = TariffShape(tariff.shape)
    except ValueError:
        return [TariffProblem("shape", f"must be one of {', '.join(TariffShape)}")]
    wanted = SHAPE_FIELDS[shape]
    present = _present_fields(tariff)
    problems = [
        TariffProblem(name, f"is required by {shape}") for name in sorted(wanted.required - present)
    ]
    problems += [
        TariffProblem(name, f"is not used by {shape}")
        for name in sorted(present - wanted.required - wanted.optional)
    ]
    for name in _SCALAR_FIELDS:
        value: Decimal | None = getattr(tariff, name)
        if value is not None:
            problems += _check_number(name, value, is_price=name in _PRICE_FIELDS)
    if shape in BAND_FIELDS and tariff.bands:
        problems += _validate_bands(shape, tariff.bands)
    if (
        shape is TariffShape.DOUBLE_FLAT
        and tariff.lower is not None
        and tariff.upper is not None
        and tariff.lower.is_finite()
        and tariff.upper.is_finite()
        and tariff.lower > tariff.upper
    ):
        problems.append(TariffProblem("upper", "must not be below lower"))
    return problems


class InvalidTariff(ValueError):
    """A tariff that `validate_tariff` refuses was used for rating."""

    def __init__(self, problems: Sequence[TariffProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.field}: {p.reason}" for p in problems))


def _need(value: Decimal | None, name: str) -> Fraction:
    if value is None:
        raise InvalidTariff([TariffProblem(name, "is required")])
    return exact_of(value)


def _optional(value: Decimal | None) -> Fraction:
    return exact_of(value) if value is not None else NOTHING


def _band_index(bands: Sequence[Band], q: Decimal) -> int:
    """RATING.md §4: band k covers `t(k−1) < q ≤ tk`, `t0 = 0`; q = 0 is band 1."""
    for index, band in enumerate(bands):
        if band.up_to is None or q <= band.up_to:
            return index
    raise InvalidTariff([TariffProblem(f"bands[{len(bands) - 1}].up_to", "must be unbounded")])


def _graduated_sum(bands: Sequence[Band], q: Fraction, factor: Fraction) -> Fraction:
    # RATING.md §4 #7: "Σk (f_k + p_k · units of q in band k) over the bands q reaches; band
    # 1 is always reached (its flat f_1 is due even at q = 0)".
    total = NOTHING
    lower = NOTHING
    for index, band in enumerate(bands):
        if index > 0 and q <= lower:
            break
        top = q if band.up_to is None else min(q, exact_of(band.up_to))
        units = max(NOTHING, top - lower)
        total += _optional(band.flat_fee) * factor + _need(band.unit_price, "unit_price") * units
        if band.up_to is None:
            break
        lower = exact_of(band.up_to)
    return total


def tariff_amount(tariff: Tariff, q: Decimal, proration_factor: Fraction = FULL) -> Fraction:
    """RATING.md §4: the exact amount C(q) of `tariff` for rated quantity `q`, with F, L, U,
    P_k and f_k scaled by `proration_factor` (unit prices and band bounds never are).

    Exact means a `Fraction`: RATING.md §1 rounds a line once, and a line may sum many
    tariff amounts (records rated one by one), so none of them may be rounded."""
    if q < 0:
        raise ValueError("a rated quantity is never negative")
    f = proration_factor
    units = Fraction(q)
    match tariff.shape:
        case TariffShape.FLAT:  # 1: F
            return _need(tariff.fixed_fee, "fixed_fee") * f
        case TariffShape.PER_UNIT:  # 2: p·q
            return _need(tariff.unit_price, "unit_price") * units
        case TariffShape.BASE_PLUS_USAGE:  # 3: F + p·max(0, q − A)
            extra = max(NOTHING, units - _optional(tariff.included))
            fixed = _need(tariff.fixed_fee, "fixed_fee") * f
            return fixed + _need(tariff.unit_price, "unit_price") * extra
        case TariffShape.CAPPED:  # 4: min(U, p·q)
            cap = _need(tariff.upper, "upper") * f
            return min(cap, _need(tariff.unit_price, "unit_price") * units)
        case TariffShape.STEP:  # 5: P_k of the band that contains q
            band = tariff.bands[_band_index(tariff.bands, q)]
            return _need(band.amount, "amount") * f
        case TariffShape.DOUBLE_FLAT:  # 6: min(U, max(L, p·q))
            lower = _need(tariff.lower, "lower") * f
            upper = _need(tariff.upper, "upper") * f
            return min(upper, max(lower, _need(tariff.unit_price, "unit_price") * units))
        case TariffShape.GRADUATED:  # 7
            if tariff.mode is GraduatedMode.VOLUME:
                # "Mode `volume` instead prices all of q at the reached band: f_k + p_k·q"
                band = tariff.bands[_band_index(tariff.bands, q)]
                unit_price = _need(band.unit_price, "unit_price")
                return _optional(band.flat_fee) * f + unit_price * units
            return _graduated_sum(tariff.bands, units, f)
    raise InvalidTariff([TariffProblem("shape", f"unknown shape {tariff.shape!r}")])


def single_unit_price(tariff: Tariff) -> Decimal | None:
    """The one unit price a line can show, for shapes that have one."""
    if tariff.shape in (TariffShape.GRADUATED, TariffShape.STEP, TariffShape.FLAT):
        return None
    return tariff.unit_price


NEGOTIABLE_AMOUNT: Final[dict[TariffShape, str]] = {
    TariffShape.FLAT: "fixed_fee",
    TariffShape.PER_UNIT: "unit_price",
}
"""RATING.md §3: "A subscription may override any amount of its plan (相対価格)". The amount
of a usage charge is its tariff's one amount: `F` of `flat`, `p` of `per_unit`. The other
shapes have several (a base and a unit price, a cap, bands): no single negotiated amount
can stand for them, so an override of such a charge is refused when it is registered."""


def negotiated_tariff(tariff: Tariff, amount: Decimal) -> Tariff | None:
    """`tariff` with its one amount replaced by the negotiated `amount` (None: it has no
    single amount, see `NEGOTIABLE_AMOUNT`)."""
    name = NEGOTIABLE_AMOUNT.get(tariff.shape)
    if name == "fixed_fee":
        return dataclasses.replace(tariff, fixed_fee=amount)
    if name == "unit_price":
        return dataclasses.replace(tariff, unit_price=amount)
    return None
