"""Normalising personal values and the keys of their blind indexes (pure functions)."""

from __future__ import annotations

import datetime as dt

import jaconv
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kakin.customers.normalise import (
    ISO_3166_ALPHA_2,
    check_birth_date,
    index_key,
    normalise_email,
    normalise_kana,
    normalise_name,
    normalise_phone,
    normalise_postal_code,
)

HIRAGANA = st.text(
    alphabet=st.characters(min_codepoint=0x3041, max_codepoint=0x3094), min_size=1, max_size=20
)


@given(HIRAGANA)
def test_kana_in_hiragana_katakana_or_half_width_has_one_index_key(hiragana: str) -> None:
    katakana = jaconv.hira2kata(hiragana)
    half_width = jaconv.z2h(katakana, kana=True, ascii=False, digit=False)
    assert index_key("name_kana", hiragana) == index_key("name_kana", katakana)
    assert index_key("name_kana", half_width) == index_key("name_kana", katakana)


@given(HIRAGANA, HIRAGANA)
def test_normalised_kana_is_full_width_katakana_and_stable(family: str, given_name: str) -> None:
    kana = normalise_kana(f"{family} {given_name}")
    assert kana == f"{jaconv.hira2kata(family)}\u3000{jaconv.hira2kata(given_name)}"
    assert normalise_kana(kana) == kana
    assert index_key("name_kana", kana) == index_key("name_kana", f"{family}{given_name}")


@pytest.mark.parametrize("value", ["Yamada", "山田", "ヤマダ1", ""])
def test_kana_refuses_what_is_not_kana(value: str) -> None:
    with pytest.raises(ValueError, match=r"katakana|empty"):
        normalise_kana(value)


def test_name_is_nfkc_with_spaces_collapsed() -> None:
    assert normalise_name(" ｽｽﾞｷ\u3000\u3000Ｔａｒｏ ") == "スズキ Taro"
    assert index_key("name", "スズキ Taro") == index_key("name", "ｽｽﾞｷtaro")
    with pytest.raises(ValueError, match="empty"):
        normalise_name("\u3000 ")
    with pytest.raises(ValueError, match="control"):
        normalise_name("a\x00b")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("100-0001", "100-0001"), ("1000001", "100-0001"), ("〒１００－０００１", None)],
)
def test_postal_code_is_written_nnn_nnnn(value: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(ValueError, match="NNN-NNNN"):
            normalise_postal_code(value)
    else:
        assert normalise_postal_code(value) == expected


@pytest.mark.parametrize(
    "value",
    ["taro@example.com", "a.b+c@sub.example.co.jp", "taro..yamada.@docomo.ne.jp"],
)
def test_email_accepts_addresses_in_use(value: str) -> None:
    assert normalise_email(f" {value} ") == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "taro",
        "taro@",
        "@example.com",
        "taro@example",
        "ta ro@example.com",
        "taro@-x.com",
        "taro@example.123",
        "a@b@c.com",
        "山田@example.com",
        "x" * 65 + "@example.com",
    ],
)
def test_email_refuses_what_is_not_an_address(value: str) -> None:
    with pytest.raises(ValueError, match="e-mail"):
        normalise_email(value)


def test_phone_keys_on_digits_and_reads_plus_81_as_0() -> None:
    assert normalise_phone("０３－１２３４－５６７８") == "03-1234-5678"
    assert index_key("phone", "03-1234-5678") == "0312345678"
    assert index_key("phone", "+81 3 1234 5678") == "0312345678"
    assert index_key("phone", "(03) 1234-5678") == "0312345678"
    for bad in ("12345", "03-1234-5678 ext 9", "1" * 16):
        with pytest.raises(ValueError, match="phone"):
            normalise_phone(bad)


def test_email_key_ignores_case() -> None:
    assert index_key("email", " Taro@Example.COM") == "taro@example.com"


def test_birth_date_may_be_today_anywhere_but_not_later() -> None:
    latest = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=14)).date()
    assert check_birth_date(latest) == latest
    with pytest.raises(ValueError, match="future"):
        check_birth_date(latest + dt.timedelta(days=1))


def test_country_codes_are_the_249_assigned_ones() -> None:
    assert len(ISO_3166_ALPHA_2) == 249
    assert {"JP", "US", "KR", "TW", "CN", "VN", "PH", "GB"} <= ISO_3166_ALPHA_2
    assert not {"XX", "UK", "EU", "ZZ"} & ISO_3166_ALPHA_2
