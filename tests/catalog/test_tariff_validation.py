"""Property: every invalid tariff is refused with a 422 that names the bad field.

Hypothesis builds a valid definition of a random shape (RATING.md §4), then breaks it in
one way — a negative amount, a missing or an extra parameter, decreasing bands, a bounded
last band, an unbounded middle band, a unit price finer than 6 places, a field a band of
that shape does not have — and posts it through the API. The answer must be a 422 whose
errors include the JSON pointer of exactly the field that was broken, and nothing is saved.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import catalog
from tests.factories.api import Api

SCALARS = ("fixed_fee", "unit_price", "included", "lower", "upper")
REQUIRED = {
    "flat": ("fixed_fee",),
    "per_unit": ("unit_price",),
    "base_plus_usage": ("fixed_fee", "unit_price"),
    "capped": ("unit_price", "upper"),
    "step": ("bands",),
    "double_flat": ("lower", "unit_price", "upper"),
    "graduated": ("bands",),
}
"""RATING.md §4: the parameters each shape needs."""

OPTIONAL = {"base_plus_usage": ("included",), "graduated": ("mode",)}

amounts = st.decimals(min_value=0, max_value=100_000, places=0)
prices = st.decimals(min_value=0, max_value=1_000, places=6)
positive = st.decimals(min_value=Decimal("0.01"), max_value=1_000, places=2)


def text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


@st.composite
def bounds(draw: st.DrawFn, min_bands: int = 1) -> list[Decimal | None]:
    """Strictly increasing upper bounds, the last one unbounded."""
    steps = draw(st.lists(positive, min_size=min_bands - 1, max_size=5))
    result: list[Decimal | None] = []
    total = Decimal(0)
    for step in steps:
        total += step
        result.append(total)
    return [*result, None]


@st.composite
def valid_definitions(draw: st.DrawFn, min_bands: int = 1) -> dict[str, Any]:
    shape = draw(st.sampled_from(sorted(REQUIRED)))
    body: dict[str, Any] = {"shape": shape}
    if shape in ("step", "graduated"):
        bands = []
        for up_to in draw(bounds(min_bands)):
            if shape == "step":
                bands.append({"up_to": text(up_to), "amount": text(draw(amounts))})
            else:
                band = {"up_to": text(up_to), "unit_price": text(draw(prices))}
                if draw(st.booleans()):
                    band["flat_fee"] = text(draw(amounts))
                bands.append(band)
        body["bands"] = bands
        if shape == "graduated" and draw(st.booleans()):
            body["mode"] = draw(st.sampled_from(["graduated", "volume"]))
        return body
    for name in (*REQUIRED[shape], *OPTIONAL.get(shape, ())):
        body[name] = text(draw(prices if name == "unit_price" else amounts))
    if shape == "double_flat" and Decimal(body["lower"]) > Decimal(body["upper"]):
        body["lower"], body["upper"] = body["upper"], body["lower"]
    return body


def numeric_fields(body: dict[str, Any]) -> list[tuple[str | int, ...]]:
    """Paths of every number in a definition (band bounds included, but not ∞)."""
    paths: list[tuple[str | int, ...]] = [(n,) for n in SCALARS if n in body]
    for index, band in enumerate(body.get("bands", [])):
        paths += [("bands", index, name) for name, value in band.items() if value is not None]
    return paths


def set_at(body: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    target: Any = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


def pointer(path: tuple[str | int, ...]) -> str:
    return "/body/" + "/".join(str(p) for p in path)


@st.composite
def invalid_definitions(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """(an invalid definition, the pointer of the field that makes it invalid)."""
    body = draw(valid_definitions())
    shape = body["shape"]
    bands: list[dict[str, Any]] = body.get("bands", [])
    breaks = ["negative", "missing", "extra", "unknown"]
    if len(bands) >= 2:
        breaks += ["bounded_last", "unbounded_middle"]
    if len(bands) >= 3:
        breaks.append("decreasing")
    if "unit_price" in body or any("unit_price" in b for b in bands):
        breaks.append("too_fine")
    if bands:
        breaks.append("band_field")
    how = draw(st.sampled_from(breaks))

    if how == "negative":
        path = draw(st.sampled_from(numeric_fields(body)))
        set_at(body, path, text(-draw(positive)))
        return body, pointer(path)
    if how == "missing":
        name = draw(st.sampled_from(REQUIRED[shape]))
        del body[name]
        return body, pointer((name,))
    if how == "extra":
        used = {*REQUIRED[shape], *OPTIONAL.get(shape, ())}
        name = draw(st.sampled_from([n for n in (*SCALARS, "bands", "mode") if n not in used]))
        if name == "bands":
            body[name] = [{"up_to": None, "amount": "1"}]
        elif name == "mode":
            body[name] = "volume"
        else:
            body[name] = text(draw(amounts))
        return body, pointer((name,))
    if how == "unknown":
        name = draw(st.sampled_from(["F", "p", "cap", "price", "bands_"]))
        body[name] = "1"
        return body, pointer((name,))
    if how == "too_fine":
        price = text(draw(prices) + Decimal("0.0000001"))
        paths = [p for p in numeric_fields(body) if p[-1] == "unit_price"]
        path = draw(st.sampled_from(paths))
        set_at(body, path, price)
        return body, pointer(path)
    return break_bands(draw, body, how)


def break_bands(draw: st.DrawFn, body: dict[str, Any], how: str) -> tuple[dict[str, Any], str]:
    """The ways to break a definition's bands (RATING.md §4: `t1 < t2 < … < ∞`)."""
    bands: list[dict[str, Any]] = body["bands"]
    if how == "bounded_last":
        last = len(bands) - 1
        previous = Decimal(bands[last - 1]["up_to"])
        bands[last]["up_to"] = text(previous + draw(positive))
        return body, pointer(("bands", last, "up_to"))
    if how == "unbounded_middle":
        index = draw(st.integers(0, len(bands) - 2))
        bands[index]["up_to"] = None
        return body, pointer(("bands", index, "up_to"))
    if how == "decreasing":
        index = draw(st.integers(1, len(bands) - 2))
        previous = Decimal(bands[index - 1]["up_to"])
        lower = draw(st.decimals(min_value=0, max_value=previous, places=2))
        bands[index]["up_to"] = text(lower)
        return body, pointer(("bands", index, "up_to"))
    # band_field: a field bands of this shape do not have.
    index = draw(st.integers(0, len(bands) - 1))
    name = "unit_price" if body["shape"] == "step" else "amount"
    bands[index][name] = "1"
    return body, pointer(("bands", index, name))


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=invalid_definitions())
def test_every_invalid_tariff_is_a_422_naming_the_field(
    api: Api, case: tuple[dict[str, Any], str]
) -> None:
    definition, expected = case
    response = api.post("/v1/tariffs", json=catalog.tariff_body(definition))
    assert response.status_code == 422, (definition, response.text)
    pointers = [error["pointer"] for error in response.json()["errors"]]
    assert expected in pointers, (definition, pointers)
    assert all(p.startswith("/body/") for p in pointers)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(definition=valid_definitions())
def test_every_valid_tariff_registers_and_reads_back(api: Api, definition: dict[str, Any]) -> None:
    created = catalog.create_tariff(api, definition)
    version = created["versions"][0]
    for name in SCALARS:
        if name in definition:
            assert Decimal(version[name]) == Decimal(definition[name])
    for sent, got in zip(definition.get("bands", []), version["bands"] or [], strict=True):
        for name, value in sent.items():
            assert (got[name] is None) if value is None else Decimal(got[name]) == Decimal(value)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=invalid_definitions())
def test_every_invalid_revision_is_a_422_naming_the_field(
    api: Api, case: tuple[dict[str, Any], str]
) -> None:
    definition, expected = case
    tariff = _shared_tariff(api)
    body = {"effective_from": "2027-01-01"} | definition
    response = api.post(f"/v1/tariffs/{tariff}/versions", json=body)
    assert response.status_code == 422, (definition, response.text)
    assert expected in [error["pointer"] for error in response.json()["errors"]]
    assert len(api.get(f"/v1/tariffs/{tariff}").json()["versions"]) == 1


_tariffs: dict[str, str] = {}


def _shared_tariff(api: Api) -> str:
    """One tariff per tenant for all examples of a test (examples share the fixture)."""
    if api.tenant_id not in _tariffs:
        _tariffs[api.tenant_id] = catalog.create_tariff(api)["id"]
    return _tariffs[api.tenant_id]
