"""Comparable forms of identifiers, so `ticker:0941.HK` finds OFAC's `Equity Ticker 941 HK`.

Validation (ISIN and LEI check digits, USCC) belongs to matching; here we only make keys.
"""

from __future__ import annotations

import re

from listwatch.errors import InvalidQuery
from listwatch.model import IDENTIFIER_SCHEMES

__all__ = ["FTM_IDENTIFIER_PROPS", "identifier_key", "market_of", "parse_identifier_query"]

_NON_ALNUM = re.compile(r"[^0-9A-Z]+")

# Exchange and market codes as publishers write them (Bloomberg country codes in OFAC's remarks,
# Yahoo suffixes, exchange names) mapped to one market code.
_MARKETS = {
    "HK": "HK",
    "HKEX": "HK",
    "SEHK": "HK",
    "HKG": "HK",
    "US": "US",
    "NASDAQ": "US",
    "NYSE": "US",
    "UN": "US",
    "UW": "US",
    "UQ": "US",
    "UA": "US",
    "AMEX": "US",
    "OTC": "US",
    "NYSEAMERICAN": "US",
    "SS": "CN-SH",
    "SH": "CN-SH",
    "SHA": "CN-SH",
    "SSE": "CN-SH",
    "CH": "CN",
    "SZ": "CN-SZ",
    "SHE": "CN-SZ",
    "SZSE": "CN-SZ",
    "DE": "DE",
    "GR": "DE",
    "F": "DE",
    "SG": "SG",
    "SI": "SG",
    "BR": "BR",
    "SA": "BR",
    "AR": "AR",
    "BA": "AR",
    "RU": "RU",
    "ME": "RU",
    "LN": "GB",
    "L": "GB",
    "LSE": "GB",
}


#: listwatch identifier scheme -> followthemoney property
FTM_IDENTIFIER_PROPS = {
    "isin": "isinCode",
    "lei": "leiCode",
    "ticker": "ticker",
    "imo": "imoNumber",
    "mmsi": "mmsi",
    "passport": "passportNumber",
    "national_id": "idNumber",
    "tax_id": "taxNumber",
    "registration": "registrationNumber",
    "uscc": "uscCode",
    "swift": "swiftBic",
    "duns": "dunsCode",
    "email": "email",
    "website": "website",
    "phone": "phone",
    "call_sign": "callSign",
    "aircraft_serial": "serialNumber",
    "cage": "cageCode",
}


def market_of(exchange: str | None) -> str | None:
    """One market code for an exchange or market code as published; unknown codes pass through."""
    if not exchange:
        return None
    code = _NON_ALNUM.sub("", exchange.upper())
    return _MARKETS.get(code, code) or None


def identifier_key(scheme: str, value: str) -> str:
    """Upper case, separators dropped; numeric tickers lose their leading zeros (941 == 0941)."""
    key = _NON_ALNUM.sub("", value.upper())
    if scheme == "ticker" and key.isdigit():
        key = key.lstrip("0") or "0"
    if scheme in ("email", "website"):
        key = value.strip().lower()
    return key


def parse_identifier_query(text: str) -> tuple[str, str, str | None] | None:
    """`isin:KYG9830T1067` -> ("isin", key, None); `ticker:1810.HK` -> ("ticker", "1810", "HK").

    Returns None when the text is not of the form `scheme:value` with a known scheme.
    """
    scheme, sep, value = text.partition(":")
    scheme = scheme.strip().lower()
    if not sep or scheme not in IDENTIFIER_SCHEMES:
        return None
    value = value.strip()
    if not value:
        raise InvalidQuery(f"{scheme}: needs a value, e.g. {scheme}:...")
    exchange = None
    if scheme == "ticker":
        match = re.fullmatch(r"(.+?)(?:[. ]([A-Za-z]{1,6})|\s*\(([^)]+)\))?", value)
        if match:
            value, exchange = match.group(1), match.group(2) or match.group(3)
    return scheme, identifier_key(scheme, value), market_of(exchange)
