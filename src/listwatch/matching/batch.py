"""listwatch-v1 name scores for many name pairs at once, by the compiled loops of `kernel`.

`score.compare_names` aligns two names token by token in Python: clear, and about 100 us a pair.
Screening compares every query name with every name of 20 candidates, so this module computes
the same scores for a whole batch of name pairs:

1. Names are compiled once into flat arrays (`CompiledNames`): token ids in a shared vocabulary,
   role codes, prior weights, rigour symbol sets as ids, IDF, the merged runs and acronyms each
   name can form. The index compiles its names when it is built; a batch of queries compiles its
   own against the same vocabulary.
2. The vocabulary gives the loops its strings as code points and its symbol sets as sorted ids
   (`Vocabulary.codepoints`, `Vocabulary.symbol_members`), converted once for the index's strings
   and per batch for the queries' few new ones; edit distances are computed in the loops.
3. `kernel` (numba) runs, per pair, the token similarity matrix, the greedy one-to-one alignment
   (best similarity first, ties to the earlier tokens), and the aggregation of `align.aggregate`;
   where tokens are left open, it aligns again with merged runs ("Xi Jinping"/"XiJinping") and
   acronyms ("IRGC") as items spanning several tokens, as `align.align` does; so are rigour
   symbols spanning several tokens ("SAVINGS BANK" against "Bank"). `ScoringBatch.alignments`
   asks it for the alignments of the hits a screener returns, which `score.explain_aligned` explains.

A name of alternatives ("AL-QA'IDA/ISLAMIC ARMY") is compiled as one row per alternative, and
scores as its best. What this does not compile is handed back to the Python scorer, pair by pair
(none of the 152,181 pairs of the screening bench), so that every score is `compare_names`'s: two
names in Han/Hangul, and person names across scripts (rigour's cross-script name symbols). Names
of up to `MAX_TOKENS` tokens, all that analysis keeps, are compiled.

`ScoringBatch` compiles a batch of queries once, scores their candidates, and then gives the
alignments of the hits a screener explains, in one pass over the vocabulary.
`tests/matching/test_batch.py` checks that the two agree on real list names.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from listwatch.matching.align import (
    ACRONYM_SIM,
    INITIAL_SIM,
    LIMIT,
    NEVER_CONFLICT,
    SUBSTANTIVE,
    TRANSLITERATES_WELL,
    Pair,
)
from listwatch.matching.features import EntityFeatures
from listwatch.matching.normalise import MAX_NAME_TOKENS, ROLE_WEIGHTS, NameForm
from listwatch.matching.score import (
    _COMPATIBLE,
    ALIAS_FACTOR,
    NAME_CEILING,
    ScoreOptions,
    compare_names,
    rank_score,
    schemas_compatible,
)

__all__ = [
    "MAX_TOKENS",
    "CompiledNames",
    "EntityScores",
    "ScoringBatch",
    "Vocabulary",
    "name_pair_scores",
    "score_entities",
    "scoring_batch",
]

# Analysis keeps at most MAX_NAME_TOKENS tokens, so every name fits the loops; a longer one (should
# analysis change) would go through the Python scorer.
MAX_TOKENS = MAX_NAME_TOKENS
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


def _codepoints(strings: Sequence[str], base: int) -> tuple[npt.NDArray[np.int32], IntArray]:
    chars = np.frombuffer("".join(strings).encode("utf-32-le", "surrogatepass"), dtype=np.int32)
    starts = np.empty(len(strings) + 1, dtype=np.int64)
    starts[0] = base
    np.cumsum(np.fromiter(map(len, strings), dtype=np.int64, count=len(strings)), out=starts[1:])
    starts[1:] += base
    return chars, starts


# what `Vocabulary` derives from its strings and symbol sets for the compiled loops
_CACHED = ("_chars", "_text_count", "_starts", "_signatures", "_symbol_ids", "_member_offsets", "_members")


class Vocabulary:
    """Strings (tokens, skeletons, merged runs, initials) as ids; symbol sets as ids."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.strings: list[str] = []
        self.symset_ids: dict[frozenset[str], int] = {frozenset(): 0}
        self.symsets: list[frozenset[str]] = [frozenset()]
        self._chars: npt.NDArray[np.int32] | None = None
        self._text_count = 0
        self._starts: IntArray = np.zeros(1, dtype=np.int64)
        self._signatures: npt.NDArray[np.uint64] = np.zeros(0, dtype=np.uint64)
        self._symbol_ids: dict[str, int] = {}
        self._member_offsets: IntArray = np.zeros(0, dtype=np.int64)
        self._members: IntArray = np.zeros(0, dtype=np.int64)
        self._permanent = 1 << 62  # strings below this id outlive the current batch
        self._cacheable = 1 << 62  # symbol sets below this id are permanent: their pairs are cached
        self._lock = threading.Lock()

    def codepoints(self) -> tuple[npt.NDArray[np.int32], IntArray, npt.NDArray[np.uint64]]:
        """Every string's code points, for the compiled loops' edit distances: string k is
        `chars[starts[k]:starts[k + 1]]`, with `signatures[k]` (`kernel.signatures`). The strings
        that outlive a batch are converted once; a batch's own are written after them into spare
        room, so the arrays returned are views, valid until the next call (inside `batch`)."""
        from listwatch.matching import kernel

        strings = self.strings
        permanent = min(self._permanent, len(strings))
        if self._chars is None or self._text_count != permanent:
            chars, starts = _codepoints(strings[:permanent], 0)
            self._chars = np.concatenate((chars, np.zeros(1 << 12, dtype=np.int32)))
            self._starts = np.concatenate((starts, np.zeros(1 << 10, dtype=np.int64)))
            # from the writable copy, as below: one compiled signature (`warm_up`), not two
            self._signatures = np.concatenate(
                (kernel.signatures(self._chars, starts), np.zeros(1 << 10, dtype=np.uint64))
            )
            self._text_count = permanent
        end = int(self._starts[permanent])
        if permanent < len(strings):
            chars, starts = _codepoints(strings[permanent:], end)
            size, count = len(chars), len(starts) - 1
            if end + size > len(self._chars):
                self._chars = np.concatenate(
                    (self._chars[:end], np.zeros(2 * size + (1 << 12), dtype=np.int32))
                )
            if permanent + count + 1 > len(self._starts):
                spare = 2 * count + (1 << 10)
                self._starts = np.concatenate(
                    (self._starts[: permanent + 1], np.zeros(spare, dtype=np.int64))
                )
                self._signatures = np.concatenate(
                    (self._signatures[:permanent], np.zeros(spare, dtype=np.uint64))
                )
            self._chars[end : end + size] = chars
            self._starts[permanent : permanent + count + 1] = starts
            self._signatures[permanent : permanent + count] = kernel.signatures(self._chars, starts)
            end += size
        total = len(strings)
        return self._chars[:end], self._starts[: total + 1], self._signatures[:total]

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
        for cached in _CACHED:  # the loops' arrays are remade on first use
            del state[cached]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        fresh = Vocabulary()
        self.__dict__.update({name: fresh.__dict__[name] for name in _CACHED})
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

    def symbol_members(self) -> tuple[IntArray, IntArray]:
        """Every symbol set as sorted symbol ids (CSR: set k is `members[offsets[k]:offsets[k + 1]]`),
        for the compiled loops' "a symbol in common". Sets that outlive a batch are converted once."""
        symsets = self.symsets
        permanent = min(self._cacheable, len(symsets))
        if len(self._member_offsets) != permanent + 1:
            self._member_offsets, self._members = self._symbol_csr(
                symsets[:permanent], 0, self._symbol_ids, None
            )
        if permanent == len(symsets):
            return self._member_offsets, self._members
        # a batch's own sets: symbols new to the vocabulary get ids for this call only
        offsets, members = self._symbol_csr(
            symsets[permanent:], int(self._member_offsets[-1]), self._symbol_ids, {}
        )
        return (
            np.concatenate((self._member_offsets, offsets[1:])),
            np.concatenate((self._members, members)),
        )

    @staticmethod
    def _symbol_csr(
        symsets: Sequence[frozenset[str]], base: int, ids: dict[str, int], extra: dict[str, int] | None
    ) -> tuple[IntArray, IntArray]:
        """CSR of sorted symbol ids; symbols not in `ids` are added to it, or to `extra` if given."""
        members: list[int] = []
        offsets = [base]
        for symbols in symsets:
            row = []
            for symbol in symbols:
                found = ids.get(symbol)
                if found is None:
                    if extra is None:
                        found = ids[symbol] = len(ids)
                    else:
                        found = extra.setdefault(symbol, len(ids) + len(extra))
                row.append(found)
            row.sort()
            members.extend(row)
            offsets.append(base + len(members))
        return np.asarray(offsets, dtype=np.int64), np.asarray(members, dtype=np.int64)


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
    def arrays(self) -> tuple[npt.NDArray[Any], ...]:
        """The arrays `kernel.pair_scores` reads, in its order."""
        return (
            self.offsets, self.token, self.skeleton, self.length, self.skeleton_length, self.first,
            self.symset, self.span_symset, self.role, self.weight, self.idf, self.short_alpha,
            self.run_offsets, self.runs, self.run_length, self.run_start, self.run_size,
            self.acronym_offsets, self.acronyms, self.acronym_start, self.acronym_end,
            self.span_offsets, self.span_start, self.span_end, self.span_symbol,
        )  # fmt: skip

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
    scores, python, _ = _scored_pairs(query, query_rows, cand, cand_rows, vocab, params, record=False)
    return scores, python


@dataclass(frozen=True)
class _Recorded:
    """The alignments the compiled loops recorded while scoring: pair k's is row `row[k]` of
    `steps`, `tokens` and `sims` (`kernel.pair_scores`), or none (-1: a pair left to the Python
    scorer, or a name without tokens)."""

    row: IntArray
    steps: IntArray
    tokens: IntArray
    sims: FloatArray

    def pairs(self, k: int) -> tuple[Pair, ...] | None:
        """Pair k's alignment as `align.align` gives it."""
        r = int(self.row[k])
        if r < 0:
            return None
        n = int(self.steps[r])
        return tuple(
            (tuple(range(a, b)), tuple(range(c, d)), sim)
            for (a, b, c, d), sim in zip(self.tokens[r, :n].tolist(), self.sims[r, :n].tolist(), strict=True)
        )


def _scored_pairs(
    query: CompiledNames,
    query_rows: IntArray,
    cand: CompiledNames,
    cand_rows: IntArray,
    vocab: Vocabulary,
    params: ScoreOptions,
    *,
    record: bool,
) -> tuple[FloatArray, BoolArray, _Recorded | None]:
    """`name_pair_scores`, and with `record` the alignments the loops made."""
    scores = np.zeros(len(query_rows), dtype=np.float64)
    python, empty, person = _kinds(query, query_rows, cand, cand_rows, params)
    todo = np.flatnonzero(~python & ~empty)
    recorded = None
    if len(todo):
        scores[todo], steps, tokens, sims = _aligned(
            query, query_rows[todo], cand, cand_rows[todo], person[todo], vocab, params, record=record
        )
        if record:
            row = np.full(len(query_rows), -1, dtype=np.int64)
            row[todo] = np.arange(len(todo), dtype=np.int64)
            recorded = _Recorded(row, steps, tokens, sims)
    scores[python] = 0.0
    return scores, python, recorded


def _kinds(
    query: CompiledNames, query_rows: IntArray, cand: CompiledNames, cand_rows: IntArray, params: ScoreOptions
) -> tuple[BoolArray, BoolArray, BoolArray]:
    """Per pair: left to the Python scorer; a name without tokens (scores 0); compared as people."""
    qlen = query.offsets[query_rows + 1] - query.offsets[query_rows]
    clen = cand.offsets[cand_rows + 1] - cand.offsets[cand_rows]
    qflag, cflag = query.flags[query_rows], cand.flags[cand_rows]
    qcls, ccls = query.name_class[query_rows], cand.name_class[cand_rows]
    cls = np.where(qcls == ccls, qcls, _ENT)
    person = cls == _PER
    python = ((qflag | cflag) & _PYTHON) > 0
    python |= ((qflag & cflag) & _GLYPHS) > 0
    if params.person_symbols:
        cross = (query.script[query_rows] != cand.script[cand_rows]) & (((qflag & cflag) & _WELL) == 0)
        python |= person & cross
    return python, (qlen == 0) | (clen == 0), person


def _aligned(
    q: CompiledNames,
    qrows: IntArray,
    c: CompiledNames,
    crows: IntArray,
    person: BoolArray,
    vocab: Vocabulary,
    params: ScoreOptions,
    *,
    record: bool,
) -> tuple[FloatArray, IntArray, IntArray, FloatArray]:
    """Scores of name pairs by the compiled loops of `kernel`: `align.align` and
    `align.aggregate`, with symbol spans, merged runs and acronyms; with `record`, their
    alignments (`kernel.pair_scores`)."""
    from listwatch.matching import kernel  # numba: imported when scoring, not by every command

    sym_off, sym_mem = vocab.symbol_members()
    chars, starts, sigs = vocab.codepoints()
    qcls, ccls = q.name_class[qrows], c.name_class[crows]
    penalty = np.where(
        (qcls == ccls) & ((qcls == _CLASS_CODE["ORG"]) | (qcls == _CLASS_CODE["OBJ"])),
        params.extra_penalty_org,
        params.extra_penalty_person,
    ).astype(np.float64)
    return kernel.pair_scores(  # type: ignore[no-any-return]
        q.arrays, c.arrays, qrows, crows, person, penalty, float(params.conflict_decay),
        sym_off, sym_mem, chars, starts, sigs,
        _LIMITS, _SUBSTANTIVE_CODES, _NEVER_CONFLICT_CODES, _NUM, _INITIAL, INITIAL_SIM, ACRONYM_SIM,
        record, MAX_TOKENS,
    )  # fmt: skip


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

    def to_arrays(self) -> dict[str, npt.NDArray[Any]]:
        """Everything as numeric arrays (strings as UTF-8 bytes and offsets), for the index's
        cache file: loading them back (`from_arrays`) costs a fraction of compiling the names,
        and needs no entity unpickled."""
        vocab = self.vocab
        symbols = sorted({symbol for symbols in vocab.symsets for symbol in symbols})
        symbol_id = {symbol: i for i, symbol in enumerate(symbols)}
        members = [sorted(symbol_id[s] for s in symbols_) for symbols_ in vocab.symsets]
        member_offsets = np.zeros(len(members) + 1, dtype=np.int64)
        np.cumsum([len(m) for m in members], out=member_offsets[1:])
        arrays: dict[str, npt.NDArray[Any]] = {
            f"names_{field.name}": getattr(self.names, field.name) for field in fields(CompiledNames)
        }
        for name, strings in (("strings", vocab.strings), ("symbols", symbols), ("ids", self.entity_ids)):
            arrays[f"{name}_text"], arrays[f"{name}_offsets"] = _packed(strings)
        arrays["symset_offsets"] = member_offsets
        arrays["symset_members"] = np.asarray([i for m in members for i in m], dtype=np.int64)
        arrays["entity_names"] = self.entity_names
        arrays["entity_forms"] = self.entity_forms
        arrays["entity_schema"] = self.entity_schema
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, npt.NDArray[Any]]) -> IndexedNames:
        """`to_arrays` read back."""
        vocab = Vocabulary()
        vocab.strings = _unpacked(arrays["strings_text"], arrays["strings_offsets"])
        vocab.ids = {text: i for i, text in enumerate(vocab.strings)}
        symbols = _unpacked(arrays["symbols_text"], arrays["symbols_offsets"])
        bounds, members = arrays["symset_offsets"].tolist(), arrays["symset_members"].tolist()
        vocab.symsets = [frozenset(symbols[i] for i in members[a:b]) for a, b in pairwise(bounds)]
        vocab.symset_ids = {symbols_: i for i, symbols_ in enumerate(vocab.symsets)}
        names = CompiledNames(**{f.name: arrays[f"names_{f.name}"] for f in fields(CompiledNames)})
        return cls(
            vocab=vocab,
            names=names,
            entity_names=arrays["entity_names"],
            entity_forms=arrays["entity_forms"],
            entity_schema=arrays["entity_schema"],
            entity_ids=_unpacked(arrays["ids_text"], arrays["ids_offsets"]),
        )


def _packed(strings: Sequence[str]) -> tuple[npt.NDArray[np.uint8], IntArray]:
    encoded = [text.encode("utf-8", "surrogatepass") for text in strings]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


def _unpacked(text: npt.NDArray[np.uint8], offsets: IntArray) -> list[str]:
    data, bounds = text.tobytes(), offsets.tolist()
    return [data[a:b].decode("utf-8", "surrogatepass") for a, b in pairwise(bounds)]


@dataclass(frozen=True)
class EntityScores:
    """One query's candidates scored: positions in the index, scores, and the best names' indexes
    (into the query's and the candidate's `names`; -1 where no names compare)."""

    positions: IntArray
    scores: FloatArray
    query_name: IntArray
    candidate_name: IntArray
    name_score: FloatArray  # the best names' score, alias factors applied (-1: none compare)


SCHEMA_CODES = {schema: i for i, schema in enumerate(sorted(_COMPATIBLE))}
# query schema code x candidate schema code: whether they can be the same thing
_ALLOWED_CODES = np.asarray([[s in _COMPATIBLE[q] for s in SCHEMA_CODES] for q in SCHEMA_CODES], dtype=bool)


def score_entities(
    queries: Sequence[EntityFeatures],
    candidates: Sequence[IntArray],
    indexed: IndexedNames,
    entities: Sequence[EntityFeatures],
    options: ScoreOptions,
) -> list[EntityScores]:
    """listwatch-v1 scores (`score.score_pair(...).score`) of each query's candidates, at once."""
    with scoring_batch(queries, indexed, entities, options) as batch:
        return batch.score(candidates)


@contextmanager
def scoring_batch(
    queries: Sequence[EntityFeatures],
    indexed: IndexedNames,
    entities: Sequence[EntityFeatures],
    options: ScoreOptions,
) -> Iterator[ScoringBatch]:
    """A batch of queries compiled once against an index's names, for its `score` and then its
    `alignments`. The queries' strings live in the index's vocabulary until the `with` ends
    (`Vocabulary.batch`: one batch at a time per index)."""
    with indexed.vocab.batch():
        yield ScoringBatch(queries, indexed, entities, options)


class ScoringBatch:
    """Queries compiled against an index's names (made by `scoring_batch`): `score` their
    candidates, then ask for the `alignments` of the hits to explain, without compiling the
    queries again."""

    def __init__(
        self,
        queries: Sequence[EntityFeatures],
        indexed: IndexedNames,
        entities: Sequence[EntityFeatures],
        options: ScoreOptions,
    ) -> None:
        for query in queries:
            schemas_compatible(query.schema, query.schema)  # an unknown query schema fails here
        self.queries = queries
        self.indexed = indexed
        self.entities = entities
        self.options = options
        self.forms = [form for query in queries for form in query.names]
        self.compiled = CompiledNames.compile(self.forms, indexed.vocab, _weight_function(options))
        self.query_forms = np.zeros(len(queries) + 1, dtype=np.int64)  # query -> its first name
        np.cumsum([len(q.names) for q in queries], out=self.query_forms[1:])
        # what `score(..., record=True)` kept for `alignments`: each query's first slot (a slot is
        # one candidate of one query), the slots' positions and best names, and each slot's best
        # pair of names among the alignments recorded
        self._recorded: _Recorded | None = None
        self._slots: tuple[IntArray, IntArray, IntArray, IntArray, IntArray] | None = None

    def score(self, candidates: Sequence[IntArray], *, record: bool = False) -> list[EntityScores]:
        """listwatch-v1 scores (`score.score_pair(...).score`) of each query's candidates
        (positions in the index), with the best pair of names of each.

        With `record`, the compiled loops also keep every alignment they make, so that
        `alignments` then needs no second pass: worth it when most candidates' best names are
        explained (a match API's best five), not when only the few above a threshold are."""
        queries, indexed, entities, options = self.queries, self.indexed, self.entities, self.options
        compiled, query_forms = self.compiled, self.query_forms
        entity_names = indexed.entity_names
        query_rows = compiled.form_rows[query_forms]
        cands = [np.asarray(positions, dtype=np.int64) for positions in candidates]
        sizes = np.fromiter(map(len, cands), dtype=np.int64, count=len(cands))
        all_positions = np.concatenate(cands) if cands else np.empty(0, dtype=np.int64)
        slot_base = len(all_positions)
        # every (query row, candidate row) pair of every slot (a query's candidate), all queries at
        # once: a slot's pairs are its query's rows times its entity's rows, query row first
        owner = np.repeat(np.arange(len(queries), dtype=np.int64), sizes)
        schema = np.asarray([SCHEMA_CODES[q.schema] for q in queries], dtype=np.int64)
        ok = _ALLOWED_CODES[schema[owner], indexed.entity_schema[all_positions]]
        starts = entity_names[all_positions]
        nq = (query_rows[1:] - query_rows[:-1])[owner]
        per_name = np.where(ok, entity_names[all_positions + 1] - starts, 0)
        counts = per_name * nq
        total = int(counts.sum())
        slot = np.repeat(np.arange(slot_base, dtype=np.int64), counts)
        within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        qrow = query_rows[owner[slot]] + within // per_name[slot] if total else slot
        crow = starts[slot] + within % per_name[slot] if total else slot
        best = np.full(slot_base, -1.0)
        best_q = np.full(slot_base, -1, dtype=np.int64)
        best_c = np.full(slot_base, -1, dtype=np.int64)
        recorded = None
        best_pair = np.full(slot_base, -1, dtype=np.int64)
        if total:
            names = indexed.names
            scores, python, recorded = _scored_pairs(
                compiled, qrow, names, crow, indexed.vocab, options, record=record
            )
            for k in np.flatnonzero(python).tolist():
                position = int(all_positions[slot[k]])
                form = entities[position].names[int(names.row_form[crow[k]] - indexed.entity_forms[position])]
                scores[k] = compare_names(
                    self.forms[int(compiled.row_form[qrow[k]])], form, options=options
                ).score
            # as score._alias_factor multiplies: the candidate's factor times the query's
            scores = scores * (names.alias[crow] * compiled.alias[qrow])
            # the best pair of each slot, the first one in (query name, candidate name) order on ties
            firsts = np.flatnonzero(np.r_[True, slot[1:] != slot[:-1]])
            present = slot[firsts]
            top = np.maximum.reduceat(scores, firsts)
            best[present] = top
            at_top = np.flatnonzero(scores == best[slot])
            _, first = np.unique(slot[at_top], return_index=True)
            chosen = at_top[first]
            best_q[slot[chosen]] = compiled.row_form[qrow[chosen]] - query_forms[owner[slot[chosen]]]
            best_c[slot[chosen]] = (
                names.row_form[crow[chosen]] - indexed.entity_forms[all_positions[slot[chosen]]]
            )
            best_pair[slot[chosen]] = chosen
        if record:
            first_slot = np.zeros(len(queries) + 1, dtype=np.int64)
            np.cumsum(sizes, out=first_slot[1:])
            self._recorded = recorded
            self._slots = (first_slot, all_positions, best_q, best_c, best_pair)
        # names alone: the final score of all slots at once; facts: score.rank_score per slot
        final = np.where(ok & (best > 0.0), NAME_CEILING * np.maximum(best, 0.0) ** options.calibration, 0.0)
        final = np.clip(final, 0.0, 1.0)
        out: list[EntityScores] = []
        start = 0
        for query, positions in zip(queries, cands, strict=True):
            end = start + len(positions)
            mine = final[start:end]
            if query.identifiers or query.tickers or query.birth_years or query.countries:
                mine = np.zeros(len(positions))
                for i in np.flatnonzero(ok[start:end]).tolist():
                    value = float(best[start + i])
                    mine[i] = rank_score(
                        value if value >= 0.0 else None, query, entities[int(positions[i])], options
                    )
            out.append(EntityScores(positions, mine, best_q[start:end], best_c[start:end], best[start:end]))
            start = end
        return out

    def alignments(
        self, picks: Sequence[Sequence[tuple[int, int, int]]]
    ) -> list[list[tuple[Pair, ...] | None]]:
        """For each query, and each (candidate position, query name, candidate name) of its `picks`
        (the best names `score` found), the token alignment `score.compare_names` makes of the two
        names, from the compiled loops: so that a hit is explained without aligning again in
        Python (`score.explain_aligned`). None where the Python scorer must do it: names of
        alternatives, names without tokens, and the pairs `name_pair_scores` leaves to it."""
        out: list[list[tuple[Pair, ...] | None]] = [[None] * len(mine) for mine in picks]
        indexed, compiled, options = self.indexed, self.compiled, self.options
        names = indexed.names
        qrows, crows, slots = [], [], []
        form_rows, name_rows, entity_forms = compiled.form_rows, names.form_rows, indexed.entity_forms
        for k, mine in enumerate(picks):
            base = int(self.query_forms[k])
            slot_of = self._slot_finder(k) if mine else None
            for x, (position, qn, cn) in enumerate(mine):
                form = int(entity_forms[position]) + cn
                q0, q1 = int(form_rows[base + qn]), int(form_rows[base + qn + 1])
                c0, c1 = int(name_rows[form]), int(name_rows[form + 1])
                if q1 - q0 != 1 or c1 - c0 != 1:
                    continue
                pair = slot_of(position, qn, cn) if slot_of is not None else -1
                if pair >= 0:  # the pair `score` recorded: the same two rows
                    out[k][x] = self._recorded.pairs(pair) if self._recorded is not None else None
                else:
                    qrows.append(q0)
                    crows.append(c0)
                    slots.append((k, x))
        if not slots:
            return out
        qrow, crow = np.asarray(qrows, dtype=np.int64), np.asarray(crows, dtype=np.int64)
        _, _, again = _scored_pairs(compiled, qrow, names, crow, indexed.vocab, options, record=True)
        if again is not None:
            for at, (k, x) in enumerate(slots):
                out[k][x] = again.pairs(at)
        return out

    def _slot_finder(self, k: int) -> Callable[[int, int, int], int] | None:
        """For query k, when `score` recorded its alignments: a function of (candidate position,
        query name, candidate name) giving the scored pair of those names (-1: not recorded)."""
        if self._slots is None:
            return None
        first_slot, positions, best_q, best_c, best_pair = self._slots
        begin = int(first_slot[k])
        where = {p: begin + i for i, p in enumerate(positions[begin : first_slot[k + 1]].tolist())}

        def slot_pair(position: int, qn: int, cn: int) -> int:
            slot = where.get(position)
            if slot is None or best_q[slot] != qn or best_c[slot] != cn:
                return -1
            return int(best_pair[slot])

        return slot_pair


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
