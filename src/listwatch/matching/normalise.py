"""Names to comparable forms: transliterated to Latin, case- and accent-free, legal forms canonical.

A `NameForm` is computed once per distinct (name, kind of name) and compared many times (its
per-token steps once per distinct token in context), so everything the scorer needs is
precomputed here: one ASCII token per name part (a Chinese or Korean word without spaces stays
one token: 小米 -> "xiaomi"), each token's role and prior weight, and the rigour symbols a token
carries (ORGCLS:LLC for "Ltd" and "ООО", NUM:44 for "44" and "forty-four", LOC:us for "U.S." and
"United States"). Originals are kept for display.

    >>> form = name_form("Siemens Aktiengesellschaft", "Company")
    >>> form.tokens, form.roles
    (('siemens', 'ag'), ('name', 'legal'))

Limits: a name is cut to `MAX_NAME_CHARS` characters and `MAX_NAME_TOKENS` tokens before it is
analysed, so a 10,000-character paste costs the same as a long real name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = [
    "MAX_NAME_CHARS",
    "MAX_NAME_TOKENS",
    "ROLE_WEIGHTS",
    "NameForm",
    "name_class",
    "name_form",
    "person_symbols",
    "skeleton",
]

MAX_NAME_CHARS = 300  # longer input is cut before analysis (the longest real list names are ~250)
MAX_NAME_TOKENS = 24  # alignment is quadratic in tokens; real names have fewer than 15

# Prior weight of a token by its role: how much agreeing (or disagreeing) on it says about identity.
# An index can refine these per token with document frequencies (see `score.ScoreOptions`).
ROLE_WEIGHTS: dict[str, float] = {
    "name": 1.0,  # a distinctive name part: "siemens", "putin"
    "loc": 0.8,  # a place in an organisation name: "china", "mexico"
    "generic": 0.55,  # a common word of organisation names: "bank", "trust", "solutions"
    "common": 0.6,  # a very common given name: "mohammed", "abdullah"
    "initial": 0.5,  # a single letter of a person's name
    "num": 0.4,  # a number or ordinal: "44", "forty-four", "II"
    "type": 0.25,  # a word naming the kind of organisation: "group", "corporation", "holdings"
    "legal": 0.25,  # a legal form, canonical: "ag", "llc", "jsc"
    "stop": 0.2,  # a particle: "of", "al", "bin", "de"
}

# Words that only say what kind of organisation this is; they never conflict with each other.
_TYPE_SYMBOLS = frozenset({"SYMBOL:CO", "SYMBOL:CORP", "SYMBOL:GRP", "SYMBOL:HOLDING"})
# Particles of Arabic, Persian, Dutch, German... person names, beyond rigour's stopword list.
_PERSON_PARTICLES = frozenset(
    [
        "al",
        "el",
        "ul",
        "ur",
        "ud",
        "bin",
        "ibn",
        "ben",
        "bint",
        "binti",
        "abu",
        "abd",
        "abdel",
        "bou",
        "de",
        "da",
        "das",
        "dos",
        "del",
        "della",
        "di",
        "du",
        "der",
        "den",
        "van",
        "von",
        "ter",
        "ten",
        "la",
        "le",
    ]
)
# Chinese, Japanese and Korean legal forms and organisation-type words are written without spaces,
# so rigour's word-bounded legal-form table cannot see them: we set them apart first, and give the
# type words their English equivalent so that 小米集团 and "Xiaomi Group" align.
_CJK_ORG_WORDS: tuple[tuple[str, str], ...] = (
    ("股份有限公司", " 股份有限公司 "),
    ("有限责任公司", " 有限责任公司 "),
    ("有限責任公司", " 有限責任公司 "),
    ("有限公司", " 有限公司 "),
    ("株式会社", " 株式会社 "),
    ("有限会社", " 有限会社 "),
    ("合同会社", " 合同会社 "),
    ("주식회사", " 주식회사 "),
    ("유한회사", " 유한회사 "),
    ("㈜", " ㈜ "),
    ("(주)", " ㈜ "),
    ("集团", " group "),
    ("集團", " group "),
    ("控股", " holdings "),
    ("ホールディングス", " holdings "),
    ("グループ", " group "),
    ("홀딩스", " holdings "),
    ("그룹", " group "),
    ("公司", " company "),
)
_CJK_ORG_PATTERN = re.compile("|".join(re.escape(word) for word, _ in _CJK_ORG_WORDS))
_CJK_ORG_REPLACEMENT = dict(_CJK_ORG_WORDS)
_ROMAN = {
    numeral: value
    for value, numeral in enumerate(
        [
            "i",
            "ii",
            "iii",
            "iv",
            "v",
            "vi",
            "vii",
            "viii",
            "ix",
            "x",
            "xi",
            "xii",
            "xiii",
            "xiv",
            "xv",
            "xvi",
            "xvii",
            "xviii",
            "xix",
            "xx",
        ],
        start=1,
    )
}
_LEET = str.maketrans("013457890", "oieastbgo")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_SKELETON = str.maketrans("wqyj", "vkii")
_REPEATS = re.compile(r"(.)\1+")
# "AL-QA'IDA/ISLAMIC ARMY": a slash between words of three letters or more separates alternatives
# (not "A/S", "M/V", "c/o").
_ALTERNATIVES = re.compile(r"(?<=\w{3})\s*/\s*(?=\w{3})")
_CJK = re.compile("[\u4e00-\u9fff\u3400-\u4dbf\uac00-\ud7af\uf900-\ufaff]")  # as `_is_cjk`


@dataclass(frozen=True, slots=True)
class NameForm:
    original: str  # as published or typed, for display
    tokens: tuple[str, ...]  # comparable tokens, in order: ASCII, lower case, legal forms canonical
    kind: str = "primary"  # primary | alias | weak_alias | previous | abbreviation | query
    roles: tuple[str, ...] = ()  # per token, a key of ROLE_WEIGHTS
    weights: tuple[float, ...] = ()  # per token, the prior weight of its role
    symbols: tuple[frozenset[str], ...] = ()  # per token, rigour symbols ("ORGCLS:LLC", "NUM:44")
    spans: tuple[tuple[int, int, str], ...] = ()  # symbols covering several tokens: (start, end, symbol)
    glyphs: tuple[str, ...] = ()  # Han and Hangul characters, for comparing two CJK names as written
    name_class: str = "ENT"  # PER | ORG | OBJ | ENT: how the name was analysed
    script: str = "Latin"  # Unicode script(s) of the original letters, "+"-joined: "Han", "Cyrillic"
    skeletons: tuple[str, ...] = ()  # per token, a spelling-variant key: "zelenskyy"/"zelensky" -> "zelenski"
    alternatives: tuple[NameForm, ...] = ()  # the parts of "AL-QA'IDA/ISLAMIC ARMY", each a name

    @property
    def text(self) -> str:
        return " ".join(self.tokens)

    @property
    def joined(self) -> str:
        """All tokens without spaces: "xiaomi" for 小米 and for "Xiao Mi"."""
        return "".join(self.tokens)

    @property
    def core(self) -> tuple[str, ...]:
        """Tokens without legal forms, organisation-type words and particles."""
        return tuple(
            t for t, r in zip(self.tokens, self.roles, strict=True) if r not in ("legal", "type", "stop")
        )

    @property
    def core_joined(self) -> str:
        """The core without spaces: "xiaomi" for 小米集团, "Xiaomi Corp." and "XIAOMI GROUP"."""
        return "".join(self.core)


def name_class(schema: str) -> str:
    """How names of a schema are analysed: PER (people), ORG, OBJ (vessels, aircraft) or ENT."""
    if schema == "Person":
        return "PER"
    if schema in ("Company", "Organization", "PublicBody"):
        return "ORG"
    if schema in ("Vessel", "Airplane"):
        return "OBJ"
    return "ENT"


def name_form(text: str, schema: str = "LegalEntity", *, kind: str = "primary") -> NameForm:
    """Analyse one name of an entity of `schema`; cached per distinct text and kind of schema."""
    form = _analyse(text, name_class(schema))
    if kind == form.kind:
        return form
    return NameForm(
        original=form.original,
        tokens=form.tokens,
        kind=kind,
        roles=form.roles,
        weights=form.weights,
        symbols=form.symbols,
        spans=form.spans,
        glyphs=form.glyphs,
        name_class=form.name_class,
        script=form.script,
        skeletons=form.skeletons,
        alternatives=form.alternatives,
    )


def skeleton(token: str) -> str:
    """A key that spelling variants of one transliterated name share, for a second look.

    "ph"/"f", "kh"/"h", "w"/"v", "q"/"k", "y"/"j"/"i" are written interchangeably across
    transliteration schemes, and doubled letters come and go: Zelenskyy, Zelensky, Selenskyj;
    Arkadij, Arkadii; Hussein, Husein.

    >>> skeleton("zelenskyy"), skeleton("volodymyr"), skeleton("sergejs")
    ('zelenski', 'volodimir', 'sergeis')
    """
    key = token.replace("ph", "f").replace("kh", "h").replace("ck", "k").translate(_SKELETON)
    return _REPEATS.sub(_first_group, key)


def _first_group(match: re.Match[str]) -> str:
    return match.group(1)  # as the template r"\1", without expanding a template per match


def person_symbols(form: NameForm) -> tuple[frozenset[str], ...]:
    """Per token, rigour's person-name symbols: the same given name across scripts and spellings.

    贝拉克 and "Barack" share NAME:Q18643532, "Benjamin" and "Ben" NICK:BEN. Computed only on
    demand, because rigour's person-name tagger takes ~10 s and ~400 MB to build on first use.
    """
    if form.name_class != "PER" or not form.tokens:
        return form.symbols
    return _person_symbols(form.original)


@lru_cache(maxsize=50_000)
def _person_symbols(text: str) -> tuple[frozenset[str], ...]:
    form = _analyse(text, "PER", person_names=True)
    return form.symbols


@lru_cache(maxsize=1 << 16)
def _analyse(text: str, cls: str, person_names: bool = False) -> NameForm:
    # A new name costs one rigour `analyze_names` call (tagging spans several tokens, so it is made
    # per name); everything after it is per token and cached per token (`_token_info`): tokens
    # repeat across names far more than names do.
    rigour = _rigour()
    original = text
    text = unicodedata.normalize("NFKC", text[:MAX_NAME_CHARS]).strip()
    if not text or not rigour.is_name(text):
        return NameForm(original=original, tokens=(), name_class=cls)
    pieces = [p for p in _ALTERNATIVES.split(text) if p.strip()] if "/" in text else [text]
    if len(pieces) > 1:
        return _join_alternatives(original, [_analyse(p, cls, person_names) for p in pieces], cls)
    text = text.replace("%", " percent")  # "3%ers": "3 percenters"
    has_cjk = _CJK.search(text) is not None
    if has_cjk and cls != "PER":
        text = _CJK_ORG_PATTERN.sub(lambda m: _CJK_ORG_REPLACEMENT[m.group(0)], text)
    names = rigour.analyze_names(
        rigour.tags.get(cls, rigour.org_tag),
        [text],
        consolidate=False,
        symbols=cls != "PER" or person_names,
        phonetics=False,
    )
    if not names:
        return NameForm(original=original, tokens=(), name_class=cls)
    name = next(iter(names))
    parts = sorted(name.parts, key=_part_index)[:MAX_NAME_TOKENS]
    symbols: list[set[str]] = [set() for _ in parts]
    spans: list[tuple[int, int, str]] = []
    if name.spans:
        position = {part.index: i for i, part in enumerate(parts)}
        for span in name.spans:
            key = f"{span.symbol.category.value}:{span.symbol.id}"
            covered = sorted(position[p.index] for p in span.parts if p.index in position)
            if not covered:
                continue
            for i in covered:
                symbols[i].add(key)
            if len(covered) > 1 and covered[-1] - covered[0] == len(covered) - 1:
                spans.append((covered[0], covered[-1] + 1, key))
    tokens: list[str] = []
    roles: list[str] = []
    keep_symbols: list[frozenset[str]] = []
    skeletons: list[str] = []
    for i, part in enumerate(parts):
        info = _token_info(
            part.form, part.comparable, str(part.tag.value), frozenset(symbols[i]), cls, not tokens
        )
        if info is None:
            continue
        token, role, token_symbols, token_skeleton = info
        tokens.append(token)
        roles.append(role)
        keep_symbols.append(token_symbols)
        skeletons.append(token_skeleton)
    if len(tokens) < len(parts):  # a part without a usable form was dropped: re-index the spans
        spans = []
    if roles.count("num") > 1:
        _number_spans(tokens, roles, keep_symbols, spans)
    glyphs = _glyphs(text) if has_cjk else ()
    return NameForm(
        original=original,
        tokens=tuple(tokens),
        roles=tuple(roles),
        weights=tuple(map(ROLE_WEIGHTS.__getitem__, roles)),
        symbols=tuple(keep_symbols),
        spans=tuple(spans),
        glyphs=glyphs,
        name_class=cls,
        script="+".join(sorted(rigour.text_scripts(text))) or "Latin",
        skeletons=tuple(skeletons),
    )


def _part_index(part: Any) -> int:
    return int(part.index)


@dataclass(frozen=True, slots=True)
class _Rigour:
    """rigour's functions, imported on first use (it loads its tables when imported)."""

    analyze_names: Any
    is_name: Any
    text_scripts: Any
    tags: dict[str, Any]
    org_tag: Any


@lru_cache(maxsize=1)
def _rigour() -> _Rigour:
    from rigour._core import text_scripts
    from rigour.names import NameTypeTag, analyze_names, is_name

    return _Rigour(
        analyze_names=analyze_names,
        is_name=is_name,
        text_scripts=text_scripts,
        tags={"PER": NameTypeTag.PER, "OBJ": NameTypeTag.OBJ},
        org_tag=NameTypeTag.ORG,
    )


@lru_cache(maxsize=1 << 16)
def _token_info(
    form: str, comparable: str, tag: str, symbols: frozenset[str], cls: str, first: bool
) -> tuple[str, str, frozenset[str], str] | None:
    """One name part's token, role, symbols and skeleton (None: the part has no usable form)."""
    token = _ascii_token(form, comparable, cls)
    if not token:
        return None
    role = _role(token, tag, symbols, cls, first=first)
    if role == "num" and token in _ROMAN:
        symbols = symbols | {f"NUM:{_ROMAN[token]}"}
    return token, role, symbols, skeleton(token)


def _join_alternatives(original: str, forms: list[NameForm], cls: str) -> NameForm:
    """One form holding all tokens (for the index), and each alternative on its own (for scoring)."""
    forms = [f for f in forms if f.tokens]
    spans: list[tuple[int, int, str]] = []
    offset = 0
    for form in forms:
        spans.extend((start + offset, end + offset, symbol) for start, end, symbol in form.spans)
        offset += len(form.tokens)
    return NameForm(
        original=original,
        tokens=tuple(t for f in forms for t in f.tokens),
        roles=tuple(r for f in forms for r in f.roles),
        weights=tuple(w for f in forms for w in f.weights),
        symbols=tuple(s for f in forms for s in f.symbols),
        spans=tuple(spans),
        glyphs=tuple(g for f in forms for g in f.glyphs),
        name_class=cls,
        script="+".join(sorted({f.script for f in forms})) or "Latin",
        skeletons=tuple(k for f in forms for k in f.skeletons),
        alternatives=tuple(forms),
    )


def _number_spans(
    tokens: list[str], roles: list[str], symbols: list[frozenset[str]], spans: list[tuple[int, int, str]]
) -> None:
    """Tens then units make one number: "Forty 4", "twenty-one" -> NUM:44, NUM:21."""
    for i in range(len(tokens) - 1):
        if roles[i] != "num" or roles[i + 1] != "num":
            continue
        tens = [int(s[4:]) for s in symbols[i] if s.startswith("NUM:") and s[4:].isdigit()]
        units = [int(s[4:]) for s in symbols[i + 1] if s.startswith("NUM:") and s[4:].isdigit()]
        for t in tens:
            for u in units:
                if 20 <= t <= 90 and t % 10 == 0 and 1 <= u <= 9:
                    key = f"NUM:{t + u}"
                    symbols[i] = symbols[i] | {key}
                    symbols[i + 1] = symbols[i + 1] | {key}
                    spans.append((i, i + 2, key))


def _ascii_token(form: str, comparable: str, cls: str) -> str:
    """One token per name part: ASCII where ICU can transliterate the script, else as written."""
    if comparable.isascii():
        token = _NON_ALNUM.sub("", comparable.lower())
    else:
        from normality import ascii_text

        token = _NON_ALNUM.sub("", (ascii_text(form) or "").lower())
    if not token:  # a script ICU cannot transliterate (Khmer, Ge'ez...): compare it as written
        return "".join(ch for ch in comparable if ch.isalnum())
    if cls == "PER" and not token.isdigit() and not token.isalpha():
        token = token.translate(_LEET)  # "Ig0r Sech1n"
    return token


def _role(token: str, tag: str, symbols: frozenset[str], cls: str, *, first: bool) -> str:
    if any(s.startswith("NUM:") for s in symbols) or token.isdigit():
        return "num"
    if cls != "PER" and not first and token in _ROMAN:
        return "num"
    if cls == "PER" and len(token) == 1 and token.isalpha():
        return "initial"  # before particles: "A." in "A. Khamenei" is Ali, not the article
    if tag == "LEGAL" or any(s.startswith("ORGCLS:") for s in symbols):
        return "legal"
    if tag == "STOP":
        return "stop"
    if cls == "PER":
        if token in _PERSON_PARTICLES:
            return "stop"
        if _is_common_given_name(token):
            return "common"
        return "name"
    if symbols & _TYPE_SYMBOLS:
        return "type"
    if any(s.startswith(("SYMBOL:", "DOMAIN:")) for s in symbols):
        return "generic"
    if any(s.startswith("LOC:") for s in symbols):
        return "loc"
    return "name"


@lru_cache(maxsize=1)
def _common_given_names() -> frozenset[str]:
    from rigour._core import generic_person_names_list

    return frozenset(n for n in generic_person_names_list() if n.isascii() and " " not in n)


def _is_common_given_name(token: str) -> bool:
    return token in _common_given_names()


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0xAC00 <= code <= 0xD7AF
        or 0xF900 <= code <= 0xFAFF
    )


def _glyphs(text: str) -> tuple[str, ...]:
    """Han and Hangul characters of a name written (mostly) in them, legal forms and type words aside.

    One such character is a syllable: two names that differ in one differ in a whole name part,
    which transliteration blurs (习近平 and 习近朋 both come out near "xi jin ping").
    """
    words = [w for w in text.split() if not _is_org_word(w)]
    letters = [ch for w in words for ch in w if ch.isalpha() and not ch.isascii()]
    glyphs = tuple(ch for ch in letters if _is_cjk(ch))
    if not glyphs or len(glyphs) * 2 < len(letters):
        return ()
    return glyphs


def _is_org_word(word: str) -> bool:
    return any(word == org.strip() for org, _ in _CJK_ORG_WORDS)


def _debug(form: NameForm) -> dict[str, Any]:
    """The analysis of a name as a table, for explanations and for people tuning the scorer."""
    return {
        "original": form.original,
        "tokens": [
            {"token": t, "role": r, "weight": w, "symbols": sorted(s)}
            for t, r, w, s in zip(form.tokens, form.roles, form.weights, form.symbols, strict=True)
        ],
        "spans": [list(s) for s in form.spans],
        "glyphs": "".join(form.glyphs),
    }
