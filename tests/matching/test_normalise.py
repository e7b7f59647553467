"""Names to comparable forms: scripts, legal forms, honorifics, initials, bad input."""

from __future__ import annotations

from listwatch.matching import normalise
from listwatch.matching.normalise import MAX_NAME_CHARS, MAX_NAME_TOKENS, name_form, skeleton


def test_case_accents_and_punctuation_do_not_matter() -> None:
    assert (
        name_form("Société Générale, S.A.", "Company").tokens
        == name_form("SOCIETE GENERALE SA", "Company").tokens
    )


def test_spelt_out_and_abbreviated_legal_forms_are_one_form() -> None:
    for long, short in [
        ("Siemens Aktiengesellschaft", "Siemens AG"),
        ("Vodafone Limited", "Vodafone Ltd."),
        ("Volkswagen Gesellschaft mit beschränkter Haftung", "Volkswagen G.m.b.H."),
        ("Open Joint Stock Company Gazprom", "OJSC Gazprom"),
    ]:
        assert name_form(long, "Company").tokens == name_form(short, "Company").tokens


def test_legal_forms_and_type_words_are_marked_and_left_out_of_the_core() -> None:
    form = name_form("Siemens Aktiengesellschaft", "Company")
    assert form.tokens == ("siemens", "ag")
    assert form.roles == ("name", "legal")
    assert name_form("Xiaomi Corporation", "Company").core == ("xiaomi",)


def test_chinese_company_name_has_the_same_core_as_its_english_name() -> None:
    chinese = name_form("小米集团", "Company")
    assert chinese.tokens == ("xiaomi", "group")  # one token per word, not per syllable
    assert chinese.original == "小米集团"
    for english in ("Xiaomi Corporation", "XIAOMI CORP", "Xiaomi Group"):
        assert name_form(english, "Company").core_joined == chinese.core_joined == "xiaomi"


def test_chinese_legal_forms_written_without_spaces_are_recognised() -> None:
    form = name_form("小米科技有限责任公司", "Company")
    assert form.roles[-1] == "legal"
    assert form.glyphs == ("小", "米", "科", "技")


def test_every_script_comes_out_in_ascii() -> None:
    for text in (
        "Владимир Путин",
        "Κυριάκος Μητσοτάκης",
        "محمد بن سلمان",
        "김정은",
        "バラク・オバマ",
        "习近平",
    ):
        form = name_form(text, "Person")
        assert form.tokens, text
        assert all(token.isascii() and token.isalnum() for token in form.tokens), (text, form.tokens)


def test_a_script_icu_cannot_transliterate_is_kept_as_written() -> None:
    form = name_form("ហ៊ុន ម៉ាណែត", "Person")
    assert len(form.tokens) == 2
    assert form.script == "Khmer"


def test_honorifics_are_dropped_from_person_names() -> None:
    assert name_form("Mr. Recep Tayyip Erdoğan", "Person").tokens == ("recep", "tayyip", "erdogan")
    assert name_form("Dr. Rami Makhlouf", "Person").tokens == ("rami", "makhlouf")


def test_single_letters_of_person_names_are_initials_even_when_they_are_stopwords() -> None:
    assert name_form("A. Khamenei", "Person").roles == ("initial", "name")
    assert name_form("Hans J Friedrich", "Person").roles == ("name", "initial", "name")


def test_digits_inside_person_names_are_read_as_letters() -> None:
    assert name_form("Ig0r Sech1n", "Person").tokens == ("igor", "sechin")


def test_numbers_in_words_and_digits_share_a_symbol() -> None:
    words, digits = name_form("Brigade Forty-Four", "Organization"), name_form("Brigade 44", "Organization")
    assert "NUM:44" in words.symbols[1] and "NUM:44" in digits.symbols[1]
    assert (1, 3, "NUM:44") in name_form("Brigade Forty 4", "Organization").spans


def test_roman_numerals_in_organisation_names_are_numbers() -> None:
    form = name_form("Citigroup Capital Trust XV", "Company")
    assert form.roles[-1] == "num"
    assert "NUM:15" in form.symbols[-1]


def test_spelling_variants_share_a_skeleton() -> None:
    assert skeleton("zelenskyy") == skeleton("zelensky") == "zelenski"
    assert skeleton("volodymyr") == skeleton("wolodymyr")
    assert skeleton("arkadij") == skeleton("arkadii")


def test_slash_separates_alternative_names_but_not_legal_forms() -> None:
    form = name_form("Al-Qa'ida/Islamic Army", "Organization")
    assert [alt.tokens for alt in form.alternatives] == [("al", "qaida"), ("islamic", "army")]
    assert form.tokens == ("al", "qaida", "islamic", "army")
    assert name_form("Mendez A/S", "Company").alternatives == ()


def test_names_without_letters_have_no_tokens() -> None:
    for text in ("", "   ", "!!!", "---", "12345", "0941"):
        assert name_form(text, "Company").tokens == (), text


def test_a_ten_thousand_character_name_is_cut_before_analysis() -> None:
    # what keeps a huge name cheap is the cut, so the test checks the cut (no timed assertion)
    text = "Abcdefgh " * 1111
    form = name_form(text, "Company")
    assert 0 < len(form.tokens) <= MAX_NAME_TOKENS
    assert form.original == text  # kept whole for display
    far = "Abc" + " " * (MAX_NAME_CHARS + 100) + "Zebra"
    assert name_form(far, "Company").tokens == name_form("Abc", "Company").tokens  # past the cut: unseen


def test_the_kind_of_name_is_kept_and_the_analysis_cached() -> None:
    alias = name_form("Gazprom Neft", "Company", kind="weak_alias")
    assert alias.kind == "weak_alias"
    assert name_form("Gazprom Neft", "Company") is name_form("Gazprom Neft", "Company")
    assert alias.tokens == name_form("Gazprom Neft", "Company").tokens


def test_a_name_analysed_from_cached_tokens_equals_its_first_analysis() -> None:
    # Tokens are analysed once and cached (`_token_info`); a token's role depends on its place
    # ("X" first is a name, later a number) and on the symbols the whole name gives it.
    names = [
        ("Louis X Holdings", "Company"),
        ("X Louis Holdings", "Company"),
        ("Forty Four Trading LLC", "Company"),
        ("Trading Forty Four LLC", "Company"),
        ("Bank of China", "Company"),
        ("China Bank Limited", "Company"),
        ("A. Khamenei", "Person"),
        ("Ali Khamenei", "Person"),
        ("Ig0r Sech1n", "Person"),
        ("Сбербанк России ПАО", "Company"),
        ("小米集团", "Company"),
        ("AL-QA'IDA/ISLAMIC ARMY", "Organization"),
    ]
    normalise._analyse.cache_clear()
    normalise._token_info.cache_clear()
    first = [name_form(text, schema) for text, schema in names]
    normalise._analyse.cache_clear()  # the tokens stay cached: analyse again, in reverse order
    again = [name_form(text, schema) for text, schema in reversed(names)]
    assert list(reversed(again)) == first
    louis_x, x_louis = first[0], first[1]
    assert (louis_x.roles[1], louis_x.symbols[1]) == ("num", frozenset({"NUM:10"}))
    assert (x_louis.roles[0], x_louis.symbols[0]) == ("name", frozenset())
