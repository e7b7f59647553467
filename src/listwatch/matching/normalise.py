"""Names to comparable forms: transliterated to Latin, case- and accent-free, legal forms canonical.

First version: a placeholder that the scoring work refines. The contract (`NameForm`, `name_form`)
is what the index and the scorer rely on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

__all__ = ["NameForm", "name_form"]


@dataclass(frozen=True, slots=True)
class NameForm:
    original: str  # as published or typed, for display
    tokens: tuple[str, ...]  # comparable tokens, in order
    kind: str = "primary"  # primary | alias | weak_alias | previous | abbreviation | query

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


@lru_cache(maxsize=200_000)
def _tokens(text: str) -> tuple[str, ...]:
    from normality import ascii_text
    from rigour.names import replace_org_types_compare

    latin = ascii_text(replace_org_types_compare(text)) or ""
    return tuple(t for t in "".join(c if c.isalnum() else " " for c in latin.lower()).split() if t)


def name_form(text: str, schema: str = "LegalEntity", *, kind: str = "primary") -> NameForm:
    return NameForm(original=text, tokens=_tokens(text), kind=kind)
