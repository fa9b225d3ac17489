"""Normalising and checking personal values, and the keys their blind indexes are built from.

Pure functions: a value is normalised once on input (so the stored, encrypted value is
canonical), and a search term goes through the same `index_key` as the stored value, so
"やまだ", "ﾔﾏﾀﾞ" and "ヤマダ" find the same customer. Error messages never quote the
value: they end up in problem documents and logs.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import jaconv

NAME_MAX = 200
ADDRESS_MAX = 400
EMAIL_MAX = 254
"""RFC 5321 §4.5.3.1.3: a forward path is at most 256 octets including the angle brackets."""
EMAIL_LOCAL_MAX = 64
PHONE_DIGITS_MIN = 6
PHONE_DIGITS_MAX = 15
"""ITU-T E.164: at most 15 digits including the country code."""
LATEST_UTC_OFFSET = dt.timedelta(hours=14)
"""UTC+14 (Line Islands): the first place where a new day begins."""

BLIND_INDEXED = ("name", "name_kana", "phone", "email")
"""The personal fields that can be searched exactly (through a blind index)."""

ISO_3166_ALPHA_2 = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
    BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
    DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET
    FI FJ FK FM FO FR
    GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
    HK HM HN HR HT HU
    ID IE IL IM IN IO IQ IR IS IT
    JE JM JO JP
    KE KG KH KI KM KN KP KR KW KY KZ
    LA LB LC LI LK LR LS LT LU LV LY
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
    NA NC NE NF NG NI NL NO NP NR NU NZ
    OM
    PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA
    RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
    TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
    UA UG UM US UY UZ
    VA VC VE VG VI VN VU
    WF WS
    YE YT
    ZA ZM ZW
    """.split()  # noqa: SIM905 - one line per initial letter reads and checks easier
)
"""The 249 officially assigned ISO 3166-1 alpha-2 country codes."""

_SPACES = re.compile(r"\s+")
_KATAKANA = re.compile(r"[\u30a1-\u30fa\u30fc\u30fb\u30fd\u30fe\u3000 ]+")
"""Full-width katakana (ァ … ヺ), ー, ・, the iteration marks ヽヾ, and spaces."""
_PHONE = re.compile(r"\+?[0-9()\- ]+")
_POSTAL_CODE = re.compile(r"([0-9]{3})-?([0-9]{4})")
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+")
_EMAIL_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _text(value: str) -> str:
    """NFKC (full-width ASCII and half-width kana folded) with whitespace collapsed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", value)).strip()


def _no_controls(value: str) -> str:
    # str.isprintable (in C) is False for every Cc and Cf character: most values need no
    # walk in Python (those with other non-printables, e.g. U+3000, take the exact one)
    if value.isprintable():
        return value
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in value):
        raise ValueError("must not contain control characters")
    return value


def normalise_name(value: str) -> str:
    name = _no_controls(_text(value))
    if not name:
        raise ValueError("must not be empty")
    if len(name) > NAME_MAX:
        raise ValueError(f"must be at most {NAME_MAX} characters")
    return name


def normalise_kana(value: str) -> str:
    """BRIEF.md: `name_kana` is full-width katakana; hiragana and half-width kana are folded.

    Spaces (of either width) become one full-width space, as Japanese forms write them.
    """
    kana = jaconv.hira2kata(jaconv.h2z(value, kana=True, ascii=False, digit=False))
    kana = _SPACES.sub("\u3000", kana.replace("\u3000", " ")).strip()
    if not kana:
        raise ValueError("must not be empty")
    if not _KATAKANA.fullmatch(kana):
        raise ValueError("must be katakana (hiragana and half-width kana are converted)")
    if len(kana) > NAME_MAX:
        raise ValueError(f"must be at most {NAME_MAX} characters")
    return kana


def normalise_nationality(value: str) -> str:
    code = value.strip().upper()
    if code not in ISO_3166_ALPHA_2:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code")
    return code


def check_birth_date(value: dt.date) -> dt.date:
    """A birth date may not be later than today anywhere on earth."""
    latest = (dt.datetime.now(dt.UTC) + LATEST_UTC_OFFSET).date()
    if value > latest:
        raise ValueError("must not be in the future")
    return value


def normalise_postal_code(value: str) -> str:
    """A Japanese postal code, `NNN-NNNN` or seven digits, stored as `NNN-NNNN`."""
    match = _POSTAL_CODE.fullmatch(_text(value))
    if match is None:
        raise ValueError("must be a postal code written NNN-NNNN or as 7 digits")
    return f"{match[1]}-{match[2]}"


def normalise_address(value: str) -> str:
    address = _no_controls(_text(value))
    if len(address) > ADDRESS_MAX:
        raise ValueError(f"must be at most {ADDRESS_MAX} characters")
    return address


def normalise_phone(value: str) -> str:
    phone = _text(value)
    digits = sum(c.isdigit() for c in phone)
    if not _PHONE.fullmatch(phone) or not PHONE_DIGITS_MIN <= digits <= PHONE_DIGITS_MAX:
        raise ValueError(
            f"must be a phone number of {PHONE_DIGITS_MIN} to {PHONE_DIGITS_MAX} digits "
            "(with optional +, spaces, hyphens, parentheses)"
        )
    return phone


def normalise_email(value: str) -> str:
    """A simple, sound check of `local@domain`: no IDN, no quoted local parts.

    Dots are allowed anywhere in the local part: Japanese mobile carriers issued
    addresses such as `taro..yamada.@docomo.ne.jp` that RFC 5322 forbids but that are
    in use.
    """
    email = value.strip()
    local, at, domain = email.rpartition("@")
    labels = domain.split(".")
    if (
        not at
        or len(email) > EMAIL_MAX
        or not 0 < len(local) <= EMAIL_LOCAL_MAX
        or not _EMAIL_LOCAL.fullmatch(local)
        or len(labels) < 2
        or not all(_EMAIL_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValueError("must be an e-mail address such as name@example.com")
    return email


def index_key(field: str, value: str) -> str:
    """The string a blind index is computed from: equal for values a person calls equal.

    name: NFKC, case-folded, without spaces ("山田 太郎" = "山田太郎"); name_kana:
    full-width katakana without spaces; phone: digits only (+81 read as 0); email: lower
    case.
    """
    if field == "name":
        return _SPACES.sub("", unicodedata.normalize("NFKC", value)).casefold()
    if field == "name_kana":
        kana = jaconv.hira2kata(jaconv.h2z(value, kana=True, ascii=False, digit=False))
        return _SPACES.sub("", kana.replace("\u3000", " "))
    if field == "phone":
        phone = unicodedata.normalize("NFKC", value).strip()
        digits = "".join(c for c in phone if c.isdigit())
        # +81 3-1234-5678 is 03-1234-5678: the Japanese trunk prefix 0 replaces +81.
        return "0" + digits[2:] if phone.startswith("+81") else digits
    if field == "email":
        return value.strip().lower()
    raise ValueError(f"{field} has no blind index")
