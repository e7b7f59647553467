"""listwatch-v1 name scores for many name pairs at once: compiled loops and rapidfuzz's C++ loops.

`score.compare_names` aligns two names token by token in Python: clear, and about 100 us a pair.
Screening compares every query name with every name of 20 candidates, so this module computes
the same scores for a whole batch of name pairs:

1. Names are compiled once into flat arrays (`CompiledNames`): token ids in a shared vocabulary,
   role codes, prior weights, rigour symbol sets as ids, IDF, the merged runs and acronyms each
   name can form. The index compiles its names when it is built; a batch of queries compiles its
   own against the same vocabulary.
2. What needs strings is computed once per batch for the distinct keys the pairs ask for: shared
   symbols between symbol sets, and edit similarities of token pairs and of merged runs against
   tokens (one `rapidfuzz.process.cpdist` call each).
3. `kernel` (numba) runs, per pair, the token similarity matrix, the greedy one-to-one alignment
   (best similarity first, ties to the earlier tokens), and the aggregation of `align.aggregate`;
   where tokens are left open, it aligns again with merged runs ("Xi Jinping"/"XiJinping") and
   acronyms ("IRGC") as items spanning several tokens, as `align.align` does; so are rigour
   symbols spanning several tokens ("SAVINGS BANK" against "Bank").

A name of alternatives ("AL-QA'IDA/ISLAMIC ARMY") is compiled as one row per alternative, and
scores as its best. What this does not compile is handed back to the Python scorer, pair by pair
(0.07% of the pairs of the screening bench), so that every score is `compare_names`'s: two names
in Han/Hangul, person names across scripts (rigour's cross-script name symbols), and names of
more than `MAX_TOKENS` tokens.
`tests/matching/test_batch.py` checks that the two agree on real list names.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import OSA
from rapidfuzz.process import cpdist

from listwatch.matching.align import (
    ACRONYM_SIM,
    INITIAL_SIM,
    LIMIT,
    NEVER_CONFLICT,
    SUBSTANTIVE,
    TRANSLITERATES_WELL,
)
from listwatch.matching.features import EntityFeatures
from listwatch.matching.normalise import ROLE_WEIGHTS, NameForm
from listwatch.matching.score import (
    _COMPATIBLE,
    ALIAS_FACTOR,
    NAME_CEILING,
    ScoreOptions,
    compare_names,
    rank_score,
    schemas_compatible,
)

__all__ = ["MAX_TOKENS", "CompiledNames", "Vocabulary", "name_pair_scores"]

MAX_TOKENS = 16  # longer names (rare) go through the Python scorer
_ROLES = tuple(ROLE_WEIGHTS)
_ROLE_CODE = {role: i for i, role in enumerate(_ROLES)}
_SUBSTANTIVE_CODES = np.asarray([r in SUBSTANTIVE for r in _ROLES])
_NEVER_CONFLICT_CODES = np.asarray([r in NEVER_CONFLICT for r in _ROLES])
_NUM, _INITIAL = _ROLE_CODE["num"], _ROLE_CODE["initial"]
_CLASSES = ("PER", "ORG", "OBJ", "ENT")
_CLASS_CODE = {c: i for i, c in enumerate(_CLASSES)}
_PER, _ENT = _CLASS_CODE["PER"], _CLASS_CODE["ENT"]

# Flags of a compiled name.
_PYTHON = 1  # too many tokens or spans (or alternatives of alternatives): Python scores it
_GLYPHS = 2  # Han/Hangul glyphs: two such names are compared as written
_WELL = 4  # written in a script that transliterates well

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class Vocabulary:
    """Strings (tokens, skeletons, merged runs, initials) as ids; symbol sets as ids."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.strings: list[str] = []
        self.symset_ids: dict[frozenset[str], int] = {frozenset(): 0}
        self.symsets: list[frozenset[str]] = [frozenset()]
        self._share: dict[int, bool] = {}
        self._array: npt.NDArray[np.object_] | None = None
        self._permanent = 1 << 62  # strings below this id outlive the current batch
        self._cacheable = 1 << 62  # symbol sets below this id are permanent: their pairs are cached
        self._lock = threading.Lock()

    def gather(self, ids: IntArray) -> npt.NDArray[np.object_]:
        """The strings of many ids at once (an object array, as rapidfuzz's `cpdist` takes)."""
        permanent = min(self._permanent, len(self.strings))
        if self._array is None or len(self._array) != permanent:
            self._array = np.asarray([*self.strings[:permanent], ""], dtype=object)[:-1]
        base = self._array
        local = ids >= len(base)
        if not local.any():
            return base[ids]
        out = np.empty(len(ids), dtype=object)
        out[~local] = base[ids[~local]]
        strings = self.strings
        out[local] = [strings[k] for k in ids[local].tolist()]
        return out

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Strings and symbol sets added inside (a batch of queries) are dropped on leaving.

        One batch at a time: a screener shared by threads (the API's workers) takes turns here,
        since a batch's strings live in the shared vocabulary until it ends."""
        with self._lock:
            mark = self.checkpoint()
            try:
                yield
            finally:
                self.rollback(mark)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]  # a lock does not pickle (an index shipped to Dask workers)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def checkpoint(self) -> tuple[int, int]:
        """Where the vocabulary stands: strings a batch of queries adds are dropped at `rollback`,
        so that a long-running screener does not grow with every query it sees."""
        self._cacheable = len(self.symsets)
        self._permanent = len(self.strings)
        return len(self.strings), len(self.symsets)

    def rollback(self, mark: tuple[int, int]) -> None:
        strings, symsets = mark
        for text in self.strings[strings:]:
            del self.ids[text]
        del self.strings[strings:]
        for symbols in self.symsets[symsets:]:
            del self.symset_ids[symbols]
        del self.symsets[symsets:]
        self._cacheable = self._permanent = 1 << 62

    def string(self, text: str) -> int:
        found = self.ids.get(text)
        if found is None:
            found = self.ids[text] = len(self.strings)
            self.strings.append(text)
        return found

    def symset(self, symbols: frozenset[str]) -> int:
        found = self.symset_ids.get(symbols)
        if found is None:
            found = self.symset_ids[symbols] = len(self.symsets)
            self.symsets.append(symbols)
        return found

    def share(self, left: IntArray, right: IntArray) -> BoolArray:
        """Whether symbol sets `left[k]` and `right[k]` have a symbol in common (both non-empty)."""
        out = np.zeros(len(left), dtype=bool)
        both = np.flatnonzero((left > 0) & (right > 0))
        if not len(both):
            return out
        keys = left[both] * (1 << 32) + right[both]
        unique, inverse = np.unique(keys, return_inverse=True)
        cache, symsets = self._share, self.symsets
        values = np.empty(len(unique), dtype=bool)
        cacheable = self._cacheable
        for k, key in enumerate(unique.tolist()):
            value = cache.get(key)
            if value is None:
                a, b = key >> 32, key & 0xFFFFFFFF
                value = not symsets[a].isdisjoint(symsets[b])
                if a < cacheable and b < cacheable:
                    cache[key] = value
            values[k] = value
        out[both] = values[inverse]
        return out


@dataclass
class CompiledNames:
    """Names as flat arrays, one row per name (per alternative of a name of alternatives); token
    arrays are indexed through `offsets` (CSR)."""

    row_form: IntArray  # per row, the index of its name in the names compiled
    form_rows: IntArray  # per name, its first row; len = names + 1
    offsets: IntArray  # per name, its first token; len = names + 1
    flags: npt.NDArray[np.uint8]
    name_class: npt.NDArray[np.int8]
    script: IntArray  # an id of the name's script string
    alias: FloatArray  # score factor of the kind of name (weak alias, abbreviation)
    span_symset: IntArray  # the symbols of its multi-token spans ("SAVINGS BANK": DOMAIN:BANK), or 0
    # per token
    token: IntArray
    skeleton: IntArray
    length: IntArray
    skeleton_length: IntArray
    first: IntArray  # first character's code point
    role: npt.NDArray[np.int8]
    weight: FloatArray
    idf: FloatArray  # NaN where the role is not substantive
    symset: IntArray
    short_alpha: BoolArray  # 2-6 letters: may be an acronym
    # per name, the acronyms its runs of initials spell (ids), and its merged runs of 2-3 tokens
    acronym_offsets: IntArray
    acronyms: IntArray
    acronym_start: IntArray  # the run of tokens an acronym's initials come from: first and last
    acronym_end: IntArray
    run_offsets: IntArray
    runs: IntArray  # string id of the merged run
    run_length: IntArray
    run_start: IntArray
    run_size: IntArray
    # per name, its multi-token symbol spans: tokens [start, end) and the symbol (as a one-symbol set)
    span_offsets: IntArray
    span_start: IntArray
    span_end: IntArray
    span_symbol: IntArray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> IntArray:
        return np.diff(self.offsets)

    @classmethod
    def compile(
        cls,
        forms: Sequence[NameForm],
        vocab: Vocabulary,
        token_weights: Callable[[str], float] | None = None,
    ) -> CompiledNames:
        string, symset = vocab.string, vocab.symset
        offsets, flags, classes, scripts, alias, span_symsets = [0], [], [], [], [], []
        token, skel, length, skel_length, first, role, weight, idf, symsets, short = (
            [],
            [],
            [],
            [],
            [],
            [],
            [],
            [],
            [],
            [],
        )
        acr_offsets, acronyms, acr_start, acr_end = [0], [], [], []
        run_offsets, runs, run_length, run_start, run_size = [0], [], [], [], []
        span_offsets, span_start, span_end, span_symbol = [0], [], [], []
        row_form: list[int] = []
        form_rows = [0]
        # A name of alternatives ("AL-QA'IDA/ISLAMIC ARMY") is one row per alternative: it scores as
        # its best alternative, which is the best of its rows.
        rows = (
            (n, parent, form) for n, parent in enumerate(forms) for form in parent.alternatives or (parent,)
        )
        for n, parent, form in rows:
            if n + 1 > len(form_rows):
                form_rows.append(len(row_form))
            row_form.append(n)
            tokens = form.tokens
            flag = 0
            if form.alternatives or len(tokens) > MAX_TOKENS or len(form.spans) > MAX_TOKENS:
                flag |= _PYTHON
                tokens = tokens[:MAX_TOKENS]
            span_symsets.append(symset(frozenset(symbol for _, _, symbol in form.spans)))
            for start, end, symbol in form.spans:
                span_start.append(start)
                span_end.append(end)
                span_symbol.append(symset(frozenset((symbol,))))
            span_offsets.append(len(span_start))
            if form.glyphs:
                flag |= _GLYPHS
            if form.script in TRANSLITERATES_WELL:
                flag |= _WELL
            flags.append(flag)
            classes.append(_CLASS_CODE[form.name_class])
            scripts.append(string("\0script:" + form.script))
            alias.append(ALIAS_FACTOR.get(parent.kind, 1.0))
            for k, tok in enumerate(tokens):
                r = form.roles[k]
                sk = form.skeletons[k]
                token.append(string(tok))
                skel.append(string(sk))
                length.append(len(tok))
                skel_length.append(len(sk))
                first.append(ord(tok[0]))
                role.append(_ROLE_CODE[r])
                weight.append(form.weights[k])
                if token_weights is not None and r in SUBSTANTIVE:
                    idf.append(float(token_weights(tok)))
                else:
                    idf.append(np.nan)
                symsets.append(symset(form.symbols[k]))
                short.append(2 <= len(tok) <= 6 and tok.isalpha())
            offsets.append(len(token))
            for key, first_token, last_token in _acronym_keys(tokens, form.roles):
                acronyms.append(string(key))
                acr_start.append(first_token)
                acr_end.append(last_token)
            acr_offsets.append(len(acronyms))
            for size in (2, 3):
                for start in range(len(tokens) - size + 1):
                    merged = "".join(tokens[start : start + size])
                    runs.append(string(merged))
                    run_length.append(len(merged))
                    run_start.append(start)
                    run_size.append(size)
            run_offsets.append(len(runs))
        form_rows.append(len(row_form))
        i64 = np.int64
        return cls(
            row_form=np.asarray(row_form, dtype=i64),
            form_rows=np.asarray(form_rows, dtype=i64),
            offsets=np.asarray(offsets, dtype=i64),
            flags=np.asarray(flags, dtype=np.uint8),
            name_class=np.asarray(classes, dtype=np.int8),
            script=np.asarray(scripts, dtype=i64),
            alias=np.asarray(alias, dtype=np.float64),
            span_symset=np.asarray(span_symsets, dtype=i64),
            token=np.asarray(token, dtype=i64),
            skeleton=np.asarray(skel, dtype=i64),
            length=np.asarray(length, dtype=i64),
            skeleton_length=np.asarray(skel_length, dtype=i64),
            first=np.asarray(first, dtype=i64),
            role=np.asarray(role, dtype=np.int8),
            weight=np.asarray(weight, dtype=np.float64),
            idf=np.asarray(idf, dtype=np.float64),
            symset=np.asarray(symsets, dtype=i64),
            short_alpha=np.asarray(short, dtype=bool),
            acronym_offsets=np.asarray(acr_offsets, dtype=i64),
            acronyms=np.asarray(acronyms, dtype=i64),
            acronym_start=np.asarray(acr_start, dtype=i64),
            acronym_end=np.asarray(acr_end, dtype=i64),
            run_offsets=np.asarray(run_offsets, dtype=i64),
            runs=np.asarray(runs, dtype=i64),
            run_length=np.asarray(run_length, dtype=i64),
            run_start=np.asarray(run_start, dtype=i64),
            run_size=np.asarray(run_size, dtype=i64),
            span_offsets=np.asarray(span_offsets, dtype=i64),
            span_start=np.asarray(span_start, dtype=i64),
            span_end=np.asarray(span_end, dtype=i64),
            span_symbol=np.asarray(span_symbol, dtype=i64),
        )


def _acronym_keys(tokens: Sequence[str], roles: Sequence[str]) -> list[tuple[str, int, int]]:
    """What `align._acronym_candidates` can spell from this name's runs: initials of 2-6 tokens from
    each start, particles inside a run skipped; each with the first and last token of its run."""
    keys: list[tuple[str, int, int]] = []
    n = len(tokens)
    for start in range(n - 1):
        if roles[start] == "stop":
            continue
        initials = ""
        for i in range(start, n):
            if roles[i] == "stop" and initials:
                continue
            initials += tokens[i][0]
            if len(initials) >= 2:
                keys.append((initials, start, i))
            if len(initials) == 6:
                break
    return keys


# -- scoring -------------------------------------------------------------------------------------

_LIMITS = np.asarray(LIMIT, dtype=np.float64)  # align.LIMIT, indexed by token length


def name_pair_scores(
    query: CompiledNames,
    query_rows: IntArray,
    cand: CompiledNames,
    cand_rows: IntArray,
    vocab: Vocabulary,
    params: ScoreOptions,
) -> tuple[FloatArray, BoolArray]:
    """Scores of the name pairs (`query_rows[k]`, `cand_rows[k]`), and a mask of the pairs this
    module leaves to `score.compare_names` (their score here is 0)."""
    n = len(query_rows)
    scores = np.zeros(n, dtype=np.float64)
    qlen = query.lengths[query_rows]
    clen = cand.lengths[cand_rows]
    qflag, cflag = query.flags[query_rows], cand.flags[cand_rows]
    qcls, ccls = query.name_class[query_rows], cand.name_class[cand_rows]
    cls = np.where(qcls == ccls, qcls, _ENT)
    person = cls == _PER
    python = ((qflag | cflag) & _PYTHON) > 0
    python |= ((qflag & cflag) & _GLYPHS) > 0
    if params.person_symbols:
        cross = (query.script[query_rows] != cand.script[cand_rows]) & (((qflag & cflag) & _WELL) == 0)
        python |= person & cross
    empty = (qlen == 0) | (clen == 0)
    todo = np.flatnonzero(~python & ~empty)
    if len(todo):
        scores[todo] = _aligned(query, query_rows[todo], cand, cand_rows[todo], person[todo], vocab, params)
    scores[python] = 0.0
    return scores, python


def _aligned(
    q: CompiledNames,
    qrows: IntArray,
    c: CompiledNames,
    crows: IntArray,
    person: BoolArray,
    vocab: Vocabulary,
    params: ScoreOptions,
) -> FloatArray:
    """Scores of name pairs by the compiled loops of `kernel`: `align.align` and
    `align.aggregate`, with symbol spans, merged runs and acronyms."""
    from listwatch.matching import kernel  # numba: imported when scoring, not by every command

    asked = kernel.symbol_keys(
        q.offsets, q.token, q.symset, q.span_symset, q.span_offsets, q.span_symbol, qrows,
        c.offsets, c.token, c.symset, c.span_symset, c.span_offsets, c.span_symbol, crows,
    )  # fmt: skip
    share_keys = np.unique(asked)
    share_values = vocab.share(share_keys >> 32, share_keys & 0xFFFFFFFF)
    rows = kernel.fuzzy_keys(
        q.offsets, q.token, q.skeleton, q.length, q.skeleton_length, q.symset, q.role, qrows,
        c.offsets, c.token, c.skeleton, c.length, c.skeleton_length, c.symset, c.role, crows,
        share_keys, share_values, _LIMITS, _NUM, _INITIAL,
    )  # fmt: skip
    # one edit similarity per distinct token pair (skeletons follow from tokens)
    fuzzy_keys, first = np.unique(rows[:, 0] * (1 << 32) + rows[:, 1], return_index=True)
    fuzzy_values = _fuzzy(rows[first, :4], rows[first, 4:], vocab) if len(first) else np.zeros(0)
    qcls, ccls = q.name_class[qrows], c.name_class[crows]
    penalty = np.where(
        (qcls == ccls) & np.isin(qcls, (_CLASS_CODE["ORG"], _CLASS_CODE["OBJ"])),
        params.extra_penalty_org,
        params.extra_penalty_person,
    ).astype(np.float64)
    score, spans, leftover, open_q, open_c = kernel.pair_scores(
        q.offsets, q.token, q.length, q.skeleton_length, q.first, q.symset, q.span_symset,
        q.role, q.weight, q.idf, qrows,
        c.offsets, c.token, c.length, c.skeleton_length, c.first, c.symset, c.span_symset,
        c.role, c.weight, c.idf, crows,
        person, penalty, float(params.conflict_decay),
        share_keys, share_values, fuzzy_keys, fuzzy_values,
        _LIMITS, _SUBSTANTIVE_CODES, _NEVER_CONFLICT_CODES, _NUM, _INITIAL,
    )  # fmt: skip
    # Align again, with items spanning several tokens, the pairs where a multi-token symbol span
    # takes part, and those where tokens are left open (merged runs and acronyms may join).
    rest = np.flatnonzero(leftover | spans)
    if len(rest):
        with_spans = spans[rest]
        # a span pair's open tokens are known only once its first alignment (with the spans) is
        # made: its merged-run similarities are looked up for all of its tokens
        open_q[rest[with_spans]] = True
        open_c[rest[with_spans]] = True
        rows = kernel.merged_keys(
            q.offsets, q.token, q.length, q.run_offsets, q.runs, q.run_length, q.run_start, q.run_size, qrows,
            c.offsets, c.token, c.length, c.run_offsets, c.runs, c.run_length, c.run_start, c.run_size, crows,
            rest, open_q, open_c, _LIMITS,
        )  # fmt: skip
        merged_keys, first = np.unique(rows[:, 0] * (1 << 32) + rows[:, 1], return_index=True)
        merged_values = (
            _edit_sims(rows[first, 0], rows[first, 1], vocab, rows[first, 2], rows[first, 3])
            if len(first)
            else np.zeros(0)
        )
        again = kernel.item_scores(
            q.offsets, q.token, q.length, q.skeleton_length, q.first, q.symset, q.role, q.weight, q.idf,
            q.short_alpha, q.run_offsets, q.runs, q.run_length, q.run_start, q.run_size,
            q.acronym_offsets, q.acronyms, q.acronym_start, q.acronym_end,
            q.span_offsets, q.span_start, q.span_end, q.span_symbol, qrows,
            c.offsets, c.token, c.length, c.skeleton_length, c.first, c.symset, c.role, c.weight, c.idf,
            c.short_alpha, c.run_offsets, c.runs, c.run_length, c.run_start, c.run_size,
            c.acronym_offsets, c.acronyms, c.acronym_start, c.acronym_end,
            c.span_offsets, c.span_start, c.span_end, c.span_symbol, crows,
            rest, with_spans, open_q, open_c, person, penalty, float(params.conflict_decay),
            share_keys, share_values, fuzzy_keys, fuzzy_values, merged_keys, merged_values,
            _LIMITS, _SUBSTANTIVE_CODES, _NEVER_CONFLICT_CODES, _NUM, _INITIAL, INITIAL_SIM, ACRONYM_SIM,
        )  # fmt: skip
        score[rest] = np.where(np.isnan(again), score[rest], again)
    return score  # type: ignore[no-any-return]


def _edit_sims(
    left: IntArray, right: IntArray, vocab: Vocabulary, llen: IntArray, rlen: IntArray
) -> FloatArray:
    """align.edit_sim for string id pairs."""
    limits = _LIMITS
    limit = limits[np.maximum(llen, rlen)]
    out = np.zeros(len(left), dtype=np.float64)
    near = np.abs(llen - rlen) < limit
    idx = np.flatnonzero(near)
    if len(idx):
        a, b = vocab.gather(left[idx]), vocab.gather(right[idx])
        distance = cpdist(a, b, scorer=OSA.distance, workers=1).astype(np.float64)
        ratio = distance / limit[idx]
        out[idx] = np.where(distance >= limit[idx], 0.0, 1.0 - ratio * ratio)
    return out


def _fuzzy(keys: IntArray, lengths: IntArray, vocab: Vocabulary) -> FloatArray:
    """align._fuzzy_sim for rows of (token, token, skeleton, skeleton) ids and their lengths."""
    sim = _edit_sims(keys[:, 0], keys[:, 1], vocab, lengths[:, 0], lengths[:, 1])
    second = (sim < 0.95) & ((keys[:, 2] != keys[:, 0]) | (keys[:, 3] != keys[:, 1]))
    idx = np.flatnonzero(second)
    if len(idx):
        spelled = 0.95 * _edit_sims(keys[idx, 2], keys[idx, 3], vocab, lengths[idx, 2], lengths[idx, 3])
        spelled = np.where(keys[idx, 2] == keys[idx, 3], 0.95, spelled)
        sim[idx] = np.maximum(sim[idx], spelled)
    return sim


# -- entities ------------------------------------------------------------------------------------


@dataclass
class IndexedNames:
    """The compiled names of an index's entities, in entity order, and what scoring needs besides."""

    vocab: Vocabulary
    names: CompiledNames
    entity_names: IntArray  # entity position -> its first row of `names`; len = entities + 1
    entity_forms: IntArray  # entity position -> the index of its first name among all; len = entities + 1
    entity_schema: npt.NDArray[np.int8]
    entity_ids: list[str]

    @classmethod
    def build(cls, entities: Sequence[EntityFeatures], token_weights: Callable[[str], float]) -> IndexedNames:
        vocab = Vocabulary()
        forms = [form for entity in entities for form in entity.names]
        counts = [len(entity.names) for entity in entities]
        offsets = np.zeros(len(entities) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        names = CompiledNames.compile(forms, vocab, token_weights)
        return cls(
            vocab=vocab,
            names=names,
            entity_names=names.form_rows[offsets],
            entity_forms=offsets,
            entity_schema=np.asarray([SCHEMA_CODES[e.schema] for e in entities], dtype=np.int8),
            entity_ids=[e.entity_id or "" for e in entities],
        )


@dataclass(frozen=True)
class EntityScores:
    """One query's candidates scored: positions in the index, scores, and the best names' indexes
    (into the query's and the candidate's `names`; -1 where no names compare)."""

    positions: IntArray
    scores: FloatArray
    query_name: IntArray
    candidate_name: IntArray


SCHEMA_CODES = {schema: i for i, schema in enumerate(sorted(_COMPATIBLE))}
# per query schema, a mask over candidate schema codes
_ALLOWED = {
    schema: np.asarray([s in allowed for s in SCHEMA_CODES], dtype=bool)
    for schema, allowed in _COMPATIBLE.items()
}


def score_entities(
    queries: Sequence[EntityFeatures],
    candidates: Sequence[IntArray],
    indexed: IndexedNames,
    entities: Sequence[EntityFeatures],
    options: ScoreOptions,
) -> list[EntityScores]:
    """listwatch-v1 scores (`score.score_pair(...).score`) of each query's candidates, at once."""
    vocab = indexed.vocab
    with vocab.batch():
        forms = [form for query in queries for form in query.names]
        compiled = CompiledNames.compile(forms, vocab, _weight_function(options))
        entity_names = indexed.entity_names
        qrows, crows, slots, cands, slot_query = [], [], [], [], []
        query_forms = np.zeros(len(queries) + 1, dtype=np.int64)
        np.cumsum([len(q.names) for q in queries], out=query_forms[1:])
        query_rows = compiled.form_rows[query_forms]
        slot_base = 0
        for k, (query, positions) in enumerate(zip(queries, candidates, strict=True)):
            schemas_compatible(query.schema, query.schema)  # an unknown query schema fails here
            positions = np.asarray(positions, dtype=np.int64)
            cands.append(positions)
            slot_query.append(np.full(len(positions), k, dtype=np.int64))
            qbase = int(query_rows[k])
            nq = int(query_rows[k + 1]) - qbase
            ok = _ALLOWED[query.schema][indexed.entity_schema[positions]]
            starts = entity_names[positions]
            counts = np.where(ok, entity_names[positions + 1] - starts, 0) * nq
            total = int(counts.sum())
            if total:
                slot = np.repeat(np.arange(len(positions), dtype=np.int64), counts)
                within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
                per_name = counts[slot] // nq
                qrows.append(qbase + within // per_name)
                crows.append(starts[slot] + within % per_name)
                slots.append(slot_base + slot)
            slot_base += len(positions)
        all_positions = np.concatenate(cands) if cands else np.empty(0, dtype=np.int64)
        owner = np.concatenate(slot_query) if slot_query else np.empty(0, dtype=np.int64)
        best = np.full(slot_base, -1.0)
        best_q = np.full(slot_base, -1, dtype=np.int64)
        best_c = np.full(slot_base, -1, dtype=np.int64)
        if qrows:
            qrow, crow, slot = np.concatenate(qrows), np.concatenate(crows), np.concatenate(slots)
            names = indexed.names
            scores, python = name_pair_scores(compiled, qrow, names, crow, vocab, options)
            for k in np.flatnonzero(python).tolist():
                position = int(all_positions[slot[k]])
                form = entities[position].names[int(names.row_form[crow[k]] - indexed.entity_forms[position])]
                scores[k] = compare_names(forms[int(compiled.row_form[qrow[k]])], form, options=options).score
            scores = scores * compiled.alias[qrow] * names.alias[crow]
            # the best pair of each slot, the first one in (query name, candidate name) order on ties
            starts = np.flatnonzero(np.r_[True, slot[1:] != slot[:-1]])
            present = slot[starts]
            top = np.maximum.reduceat(scores, starts)
            best[present] = top
            at_top = np.flatnonzero(scores == best[slot])
            _, first = np.unique(slot[at_top], return_index=True)
            chosen = at_top[first]
            best_q[slot[chosen]] = compiled.row_form[qrow[chosen]] - query_forms[owner[slot[chosen]]]
            best_c[slot[chosen]] = (
                names.row_form[crow[chosen]] - indexed.entity_forms[all_positions[slot[chosen]]]
            )
        out: list[EntityScores] = []
        start = 0
        calibration = options.calibration
        for query, positions in zip(queries, cands, strict=True):
            end = start + len(positions)
            name_best = best[start:end]
            ok = _ALLOWED[query.schema][indexed.entity_schema[positions]]
            if query.identifiers or query.tickers or query.birth_years or query.countries:
                final = np.zeros(len(positions))
                for i in np.flatnonzero(ok).tolist():
                    value = float(name_best[i])
                    final[i] = rank_score(
                        value if value >= 0.0 else None, query, entities[int(positions[i])], options
                    )
            else:
                final = np.where(
                    ok & (name_best > 0.0), NAME_CEILING * np.maximum(name_best, 0.0) ** calibration, 0.0
                )
                final = np.clip(final, 0.0, 1.0)
            out.append(EntityScores(positions, final, best_q[start:end], best_c[start:end]))
            start = end
        return out


def _weight_function(options: ScoreOptions) -> Callable[[str], float] | None:
    weights = options.token_weights
    if weights is None or callable(weights):
        return weights
    mapping = weights
    return lambda token: float(mapping.get(token, 1.0))


def warm_up() -> None:
    """Compile `kernel`'s loops now (numba caches them beside the module, once per machine):
    `make install` calls this, so that the first screening does not pause to compile."""
    from listwatch.matching.normalise import name_form

    vocab = Vocabulary()
    forms = [
        name_form(text, "Company") for text in ("Bank Sepah KTC Savings Bank", "Bank Sepah Kish Trading Co")
    ]
    compiled = CompiledNames.compile(forms, vocab)
    rows = np.asarray([0], dtype=np.int64)
    name_pair_scores(compiled, rows, compiled, rows + 1, vocab, ScoreOptions())
