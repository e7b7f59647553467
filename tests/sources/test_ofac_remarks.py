"""The remarks of OFAC entries, typed by `parse_remarks`. The remarks are quoted from the bundled files."""

from __future__ import annotations

from datetime import date

import pytest

from listwatch.model import Identifier, Name
from listwatch.sources.ofac_remarks import LinkedName, parse_remarks


def test_date_and_place_of_birth_nationality_passport_and_weak_alias_are_typed() -> None:
    facts = parse_remarks(  # SDN 6905, ABU ZUBAYDAH
        "DOB 12 Mar 1971; POB Riyadh, Saudi Arabia; nationality Palestinian; "
        "Passport 484824 (Egypt) issued 18 Jan 1984; a.k.a. 'TARIQ'."
    )
    assert facts.birth_dates == ["1971-03-12"]
    assert facts.properties == {"birth_place": ["Riyadh, Saudi Arabia"], "nationality": ["Palestinian"]}
    assert facts.countries == ["Palestinian"]
    assert facts.identifiers == [Identifier("passport", "484824", "Egypt", note="issued 18 Jan 1984")]
    assert facts.names == [Name("TARIQ", "weak_alias")]


@pytest.mark.parametrize(
    ("remarks", "birth_dates", "date_range"),
    [
        ("DOB Sep 1938.", ["1938-09"], None),  # SDN 6862
        ("DOB circa 1951; POB Foca, Bosnia-Herzegovina.", ["1951"], None),  # SDN 7782
        ("DOB circa 1946; alt. DOB 1949", ["1946", "1949"], None),  # SDN 7854
        ("DOB 1929 to 1930; Linked To: SUMIYOSHI-KAI.", ["1929", "1930"], ["1929/1930"]),  # SDN 15496
        ("DOB 01 Jan 1950 to 31 Dec 1952", ["1950", "1951", "1952"], ["1950-01-01/1952-12-31"]),
        ("DOB 1940 to 1960", ["1940", "1960"], ["1940/1960"]),  # over ten years: the two ends
        ("DOB 10 Mar 1950 to 1952", ["1950-03-10", "1952"], ["1950-03-10/1952"]),
    ],
)
def test_partial_approximate_and_ranged_dates_of_birth(
    remarks: str, birth_dates: list[str], date_range: list[str] | None
) -> None:
    facts = parse_remarks(remarks)
    assert facts.birth_dates == birth_dates
    assert facts.properties.get("birth_date_range") == date_range


def test_impossible_date_of_birth_is_left_unparsed() -> None:
    facts = parse_remarks("DOB 31 Feb 1960; nationality Iraq")
    assert facts.birth_dates == []
    assert facts.properties["unparsed"] == ["DOB 31 Feb 1960"]


def test_quoted_aliases_are_weak_aliases_even_when_they_start_with_an_apostrophe() -> None:
    assert parse_remarks("a.k.a. 'BNC'.").names == [Name("BNC", "weak_alias")]  # SDN 306
    facts = parse_remarks(  # SDN 7150
        "DOB 1966; alt. DOB 27 Oct 1969; nationality Libya; Passport 203037 (Libya); a.k.a. 'ABU ANAS'; "
        "a.k.a. ''ABD AL-MUHSI'; a.k.a. ''ABD AL-RAHMAN'."
    )
    assert facts.names == [
        Name("ABU ANAS", "weak_alias"),
        Name("'ABD AL-MUHSI", "weak_alias"),
        Name("'ABD AL-RAHMAN", "weak_alias"),
    ]


def test_facts_not_understood_are_listed_as_unparsed() -> None:
    facts = parse_remarks(  # SDN 7849
        "DOB circa 1962; POB al-Awja, near Tikrit, Iraq; nationality Iraq; #2 in Special Security Organization."
    )
    assert facts.properties["unparsed"] == ["#2 in Special Security Organization"]
    assert facts.birth_dates == ["1962"]


def test_semicolons_inside_parentheses_do_not_split_a_fact() -> None:
    facts = parse_remarks(  # SDN 11313, shortened
        "DOB 1969; (Following data derived from an Eritrean passport: Alt. DOB: 10 October 1969; "
        "Alt. POB: Keren Eritrea); nationality Somalia"
    )
    assert facts.properties["unparsed"] == [
        "(Following data derived from an Eritrean passport: Alt. DOB: 10 October 1969; Alt. POB: Keren Eritrea)"
    ]
    assert facts.countries == ["Somalia"]


def test_final_period_of_a_link_is_kept_as_an_alternative_only_after_an_abbreviation() -> None:
    # "LAZARUS GROUP." ends with OFAC's full stop; "R D I S.A." may end with the name's own period
    assert parse_remarks("nationality China; Linked To: LAZARUS GROUP.").links == [
        LinkedName("LAZARUS GROUP")
    ]
    assert parse_remarks("Linked To: PROMO RAIZ S.A.S.; Linked To: R D I S.A.").links == [
        LinkedName("PROMO RAIZ S.A.S."),
        LinkedName("R D I S.A.", without_final_period="R D I S.A"),
    ]


def test_ns_cmic_securities_dates_and_tickers() -> None:
    facts = parse_remarks(  # consolidated 30923, CHINA MOBILE LIMITED, shortened
        "Equity Ticker CHL US; alt. Equity Ticker 941 HK; Issuer Name China Mobile Limited; "
        "alt. Issuer Name China Mobile Ltd; ISIN US16941M1099; alt. ISIN HK0941009539; "
        "Target Type Public Company; Effective Date (CMIC) 02 Aug 2021; "
        "Purchase/Sales For Divestment Date (CMIC) 03 Jun 2022; Listing Date (CMIC) 03 Jun 2021; "
        "Linked To: CHINA MOBILE COMMUNICATIONS GROUP CO., LTD."
    )
    assert facts.identifiers == [
        Identifier("ticker", "CHL", exchange="US"),
        Identifier("ticker", "941", exchange="HK"),
        Identifier("isin", "US16941M1099"),
        Identifier("isin", "HK0941009539"),
    ]
    assert facts.listed_on == date(2021, 6, 3)
    assert facts.properties == {
        "issuer_name": ["China Mobile Limited", "China Mobile Ltd"],
        "target_type": ["Public Company"],
        "effective_on": ["2021-08-02"],
        "divestment_until": ["2022-06-03"],
    }
    # "LTD." is an abbreviation: the name may keep its period
    assert facts.links == [
        LinkedName(
            "CHINA MOBILE COMMUNICATIONS GROUP CO., LTD.",
            without_final_period="CHINA MOBILE COMMUNICATIONS GROUP CO., LTD",
        )
    ]


def test_the_earliest_of_several_listing_dates_is_listed_on() -> None:
    facts = parse_remarks(
        "Listing Date (EO 14024 Directive 3): 24 Feb 2022; alt. Listing Date (CMIC) 03 Jun 2021"
    )
    assert facts.listed_on == date(2021, 6, 3)


def test_listing_date_cut_short_is_left_unparsed() -> None:
    # consolidated 17018 fills the 1,000-character field and stops here
    facts = parse_remarks("Target Type State-Owned Enterprise; Listing Date (EO 14024 Direct")
    assert facts.listed_on is None
    assert facts.properties["unparsed"] == ["Listing Date (EO 14024 Direct"]


def test_labelled_identifiers_keep_their_label_and_issuing_country() -> None:
    facts = parse_remarks(  # SDN 3754 and 28264
        "SSN 523-33-8386 (United States); Identification Number 210302198701102136 (China); "
        "Phone Number 8613314257947; Digital Currency Address - XBT 1EfMVkxQQuZfBdocpJu6RUsCJvenQWbQyE"
    )
    assert facts.identifiers == [
        Identifier("national_id", "523-33-8386", "United States", note="SSN"),
        Identifier("national_id", "210302198701102136", "China", note="Identification Number"),
        Identifier("phone", "8613314257947"),
        Identifier("crypto", "1EfMVkxQQuZfBdocpJu6RUsCJvenQWbQyE", note="XBT"),
    ]


def test_unknown_label_with_a_number_and_a_country_is_another_identifier() -> None:
    facts = parse_remarks("Stateless Person Passport C000375 (Moldova) issued 09 Sep 2000")  # SDN 13061
    assert facts.identifiers == [
        Identifier("other", "C000375", "Moldova", note="Stateless Person Passport, issued 09 Sep 2000")
    ]


def test_to_dict_is_json_ready() -> None:
    data = parse_remarks("Listing Date (CMIC) 03 Jun 2021; Linked To: R D I S.A.").to_dict()
    assert data["listed_on"] == "2021-06-03"
    assert data["links"] == [{"name": "R D I S.A.", "without_final_period": "R D I S.A"}]


def test_a_letter_prefix_of_an_unknown_identifier_stays_with_its_number() -> None:
    facts = parse_remarks("Moroccan Personal ID No. E 427689 (Morocco).")
    (ident,) = facts.identifiers
    assert (ident.scheme, ident.value, ident.country, ident.note) == (
        "other",
        "E 427689",
        "Morocco",
        "Moroccan Personal ID No.",
    )
