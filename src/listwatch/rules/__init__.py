"""Programs and the legal effect of being listed, by date.

`programs.yaml` says, for each program (regime), what a listing does and from when, every rule
cited; `engine` applies it to an entity's history (`listings`); `effects.legal_effect` answers for a QUERY on a
day, and `effects.legal_effect_timeline` over a range of days; `parents` follows the parent links the
lists publish. See docs/rules.md.
"""

from __future__ import annotations

from listwatch.rules.effects import EffectReport, legal_effect, legal_effect_timeline
from listwatch.rules.engine import Effect, EffectInterval, effect_timeline, effects_on
from listwatch.rules.listings import Listing
from listwatch.rules.programs import ProgramBook, load_programs

__all__ = [
    "Effect",
    "EffectInterval",
    "EffectReport",
    "Listing",
    "ProgramBook",
    "effect_timeline",
    "effects_on",
    "legal_effect",
    "legal_effect_timeline",
    "load_programs",
]
