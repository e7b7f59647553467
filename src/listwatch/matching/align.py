"""Token alignment of two analysed names: the core of listwatch-v1's name similarity.

`align` pairs the tokens of two `NameForm`s one to one, best similarity first: equal tokens, tokens
sharing a rigour symbol ("Ltd"/"LLC"), an initial and a name, spelling variants, tokens within an
edit budget for their length; then, for what is left over, runs of 2-3 tokens written together on
the other side ("Xi Jinping"/"XiJinping") and acronyms ("IRGC"). `aggregate` turns an alignment and
the tokens' weights into a score. `score.compare_names` uses both; `batch` computes the same on
arrays for many pairs at once and must stay in step with this module (tests/matching/test_batch.py).
"""

from __future__ import annotations

import math
from functools import lru_cache

from rapidfuzz.distance import OSA

from listwatch.matching.normalise import MAX_NAME_CHARS, MAX_NAME_TOKENS, NameForm

__all__ = ["LIMIT", "Pair", "aggregate", "align", "edit_sim"]

SYMBOL_SIM = 0.9  # two tokens with a rigour symbol in common: "Ltd"/"LLC", "Int'l"/"International"
INITIAL_SIM = 0.8  # an initial and a name starting with it
_KIND_MISMATCH = 0.25  # the part of two different legal forms or type words that still counts
ACRONYM_SIM = 0.85  # "IRGC" and "Islamic Revolutionary Guard Corps"
_SKELETON_SIM = 0.95  # spelling variants across transliteration schemes: "zelenskyy"/"zelensky"
SUBSTANTIVE = frozenset({"name", "common", "loc", "generic"})
NEVER_CONFLICT = frozenset({"legal", "type", "stop"})
TRANSLITERATES_WELL = frozenset({"Latin", "Cyrillic", "Greek", "Armenian", "Georgian"})
# Edit budget by token length: about log(length), so 1 edit in "tom", 2 in "sechin", 3 in "abdurrahman";
# similarity falls to 0 at budget + 1 edits. Indexed by length (tokens are at most MAX_NAME_CHARS).
LIMIT = [2.0] + [max(1.0, math.log(n) / math.log(2.35)) + 1.0 for n in range(1, MAX_NAME_CHARS + 1)]

_SINGLE = [(i,) for i in range(MAX_NAME_TOKENS + 1)]
Pair = tuple[tuple[int, ...], tuple[int, ...], float]  # query tokens, candidate tokens, similarity


def edit_sim(a: str, b: str) -> float:
    """1 for equal tokens, falling to 0 at about log(length) edits (transpositions count once)."""
    la, lb = len(a), len(b)
    limit = LIMIT[max(lb, la)]
    if abs(la - lb) >= limit:
        return 0.0
    distance = OSA.distance(a, b, score_cutoff=int(limit))
    if distance >= limit:
        return 0.0
    ratio = distance / limit
    return 1.0 - ratio * ratio


def _token_sim(
    a: str,
    b: str,
    ra: str,
    rb: str,
    sa: frozenset[str],
    sb: frozenset[str],
    ka: str,
    kb: str,
    person: bool,
) -> float:
    if a == b:
        return 1.0
    if sa and sb and not sa.isdisjoint(sb):
        return SYMBOL_SIM
    if ra == "num" or rb == "num":
        return 0.0
    if ra == "initial" or rb == "initial":
        if person and a[0] == b[0]:
            return INITIAL_SIM
        return 0.0
    return _fuzzy_sim(a, b, ka, kb)


@lru_cache(maxsize=1 << 16)
def _fuzzy_sim(a: str, b: str, ka: str, kb: str) -> float:
    """Edit similarity of two tokens, or of their spelling skeletons if that is higher; cached,
    since the same pairs of common name parts come back query after query."""
    sim = edit_sim(a, b)
    if sim < _SKELETON_SIM and (ka != a or kb != b):
        sim = max(sim, _spelling_sim(ka, kb))
    return sim


@lru_cache(maxsize=1 << 16)
def _spelling_sim(ka: str, kb: str) -> float:
    return _SKELETON_SIM if ka == kb else _SKELETON_SIM * edit_sim(ka, kb)


def align(
    q: NameForm,
    qsym: tuple[frozenset[str], ...],
    c: NameForm,
    csym: tuple[frozenset[str], ...],
    person: bool,
) -> list[Pair]:
    """Greedy one-to-one alignment, best similarity first; runs of tokens may align with one."""
    qt, ct, qr, cr = q.tokens, c.tokens, q.roles, c.roles
    candidates: list[tuple[float, int, tuple[int, ...], tuple[int, ...]]] = []
    limits, single = LIMIT, _SINGLE
    right = [(j, b, csym[j], c.skeletons[j], cr[j], len(b), len(c.skeletons[j])) for j, b in enumerate(ct)]
    for i, a in enumerate(qt):
        ra, sa, ka = qr[i], qsym[i], q.skeletons[i]
        la, lka = len(a), len(ka)
        a_fixed = ra == "num" or ra == "initial"
        for j, b, sb, kb, rb, lb, lkb in right:
            if a == b:
                candidates.append((1.0, 2, single[i], single[j]))
            elif sa and sb and not sa.isdisjoint(sb):
                candidates.append((SYMBOL_SIM, 2, single[i], single[j]))
            elif a_fixed or rb == "num" or rb == "initial":
                sim = _token_sim(a, b, ra, rb, sa, sb, ka, kb, person)
                if sim > 0.0:
                    candidates.append((sim, 2, single[i], single[j]))
            elif (
                abs(la - lb) < limits[la if la > lb else lb]  # noqa: FURB136 (hot loop)
                or abs(lka - lkb) < limits[lka if lka > lkb else lkb]  # noqa: FURB136
            ):
                sim = _fuzzy_sim(a, b, ka, kb)
                if sim > 0.0:
                    candidates.append((sim, 2, single[i], single[j]))
    for start, end, symbol in q.spans:
        for j in range(len(ct)):
            if symbol in csym[j]:
                candidates.append((SYMBOL_SIM, end - start + 1, tuple(range(start, end)), (j,)))
    for start, end, symbol in c.spans:
        for i in range(len(qt)):
            if symbol in qsym[i]:
                candidates.append((SYMBOL_SIM, end - start + 1, (i,), tuple(range(start, end))))
    if len(candidates) > 1:
        candidates.sort(key=_by_similarity, reverse=True)
    pairs = _greedy(candidates, len(qt), len(ct))
    open_q = [True] * len(qt)
    open_c = [True] * len(ct)
    for qi, ci, sim in pairs:
        if sim == 1.0:
            for i in qi:
                open_q[i] = False
            for j in ci:
                open_c[j] = False
    if (len(qt) > 1 and True in open_q) or (len(ct) > 1 and True in open_c):
        # something is left over: perhaps tokens written together on one side and apart on the other
        before = len(candidates)
        _merged_candidates(qt, open_q, ct, open_c, candidates, flip=False)
        _merged_candidates(ct, open_c, qt, open_q, candidates, flip=True)
        _acronym_candidates(qt, qr, open_q, ct, open_c, candidates, flip=False, person=person)
        _acronym_candidates(ct, cr, open_c, qt, open_q, candidates, flip=True, person=person)
        if len(candidates) > before:
            candidates.sort(key=_by_similarity, reverse=True)
            pairs = _greedy(candidates, len(qt), len(ct))
    return pairs


def _by_similarity(item: tuple[float, int, tuple[int, ...], tuple[int, ...]]) -> tuple[float, int]:
    return item[0], item[1]


def _greedy(
    candidates: list[tuple[float, int, tuple[int, ...], tuple[int, ...]]], nq: int, nc: int
) -> list[Pair]:
    free_q = [True] * nq
    free_c = [True] * nc
    pairs: list[Pair] = []
    for sim, _, qi, ci in candidates:
        if len(qi) == 1 and len(ci) == 1:
            i, j = qi[0], ci[0]
            if free_q[i] and free_c[j]:
                free_q[i] = free_c[j] = False
                pairs.append((qi, ci, sim))
        elif all(free_q[i] for i in qi) and all(free_c[j] for j in ci):
            for i in qi:
                free_q[i] = False
            for j in ci:
                free_c[j] = False
            pairs.append((qi, ci, sim))
    return pairs


def _merged_candidates(
    run_side: tuple[str, ...],
    run_open: list[bool],
    token_side: tuple[str, ...],
    token_open: list[bool],
    candidates: list[tuple[float, int, tuple[int, ...], tuple[int, ...]]],
    *,
    flip: bool,
) -> None:
    """Runs of 2-3 adjacent tokens against one token: "Xi Jinping"/"XiJinping", "Plat Ono Vich".

    Only runs and tokens not already aligned exactly are tried."""
    n = len(run_side)
    if n < 2:
        return
    for j, token in enumerate(token_side):
        if len(token) < 4 or not token_open[j]:
            continue
        slack = LIMIT[len(token)]
        for size in (2, 3):
            for start in range(n - size + 1):
                if not any(run_open[start : start + size]):
                    continue
                merged = "".join(run_side[start : start + size])
                if abs(len(merged) - len(token)) >= slack:
                    continue
                sim = edit_sim(merged, token)
                if sim >= 0.5:
                    run = tuple(range(start, start + size))
                    candidates.append((sim, size + 1, (j,), run) if flip else (sim, size + 1, run, (j,)))


def _acronym_candidates(
    run_side: tuple[str, ...],
    run_roles: tuple[str, ...],
    run_open: list[bool],
    token_side: tuple[str, ...],
    token_open: list[bool],
    candidates: list[tuple[float, int, tuple[int, ...], tuple[int, ...]]],
    *,
    flip: bool,
    person: bool,
) -> None:
    """A short token spelling the initials of a run on the other side: "IRGC" / "Islamic Revolutionary
    Guard Corps", "OFAC" / "Office of Foreign Assets Control" (particles skipped), "JSC"."""
    n = len(run_side)
    for j, token in enumerate(token_side):
        size = len(token)
        if not 2 <= size <= 6 or not token_open[j] or not token.isalpha() or size > n:
            continue
        for start in range(n - 1):
            if run_side[start][0] != token[0] or run_roles[start] == "stop":
                continue
            run: list[int] = []
            initials = ""
            for i in range(start, n):
                if run_roles[i] == "stop" and run:
                    run.append(i)
                    continue
                initials += run_side[i][0]
                run.append(i)
                if len(initials) == size:
                    break
            if initials == token and any(run_open[i] for i in run):
                sim = INITIAL_SIM if person else ACRONYM_SIM
                item = (sim, len(run) + 1, (j,), tuple(run))
                candidates.append(item if flip else (item[0], item[1], item[3], item[2]))


def aggregate(
    pairs: list[Pair],
    qroles: tuple[str, ...],
    qw: tuple[float, ...],
    croles: tuple[str, ...],
    cw: tuple[float, ...],
    extra_penalty: float,
    conflict_decay: float,
) -> float:
    matched = mismatch = 0.0
    substantive = False
    free_q = [True] * len(qw)
    free_c = [True] * len(cw)
    for qi, ci, sim in pairs:
        weight = 0.0
        for i in qi:
            weight += qw[i]
            free_q[i] = False
            if sim >= 0.5 and qroles[i] in SUBSTANTIVE:
                substantive = True
        for j in ci:
            weight += cw[j]
            free_c[j] = False
            if sim >= 0.5 and croles[j] in SUBSTANTIVE:
                substantive = True
        matched += weight * sim
        mismatch += weight * (1.0 - sim)
    if substantive and any(len(qi) + len(ci) > 2 and sim == INITIAL_SIM for qi, ci, sim in pairs):
        # an acronym of a person's initials ("JC", "N.N.") is not a name: something else must agree
        substantive = any(
            sim >= 0.5 and (qroles[qi[0]] in SUBSTANTIVE or croles[ci[0]] in SUBSTANTIVE)
            for qi, ci, sim in pairs
            if len(qi) + len(ci) == 2
        )
    left_q = left_c = kind_q = kind_c = 0.0
    for i, free in enumerate(free_q):
        if free:
            if qroles[i] in NEVER_CONFLICT:
                kind_q += qw[i]
            else:
                left_q += qw[i]
    for j, free in enumerate(free_c):
        if free:
            if croles[j] in NEVER_CONFLICT:
                kind_c += cw[j]
            else:
                left_c += cw[j]
    matched /= 2.0
    conflict = mismatch / 2.0 + min(left_c, left_q)
    # Legal forms and type words on both sides ("Group" / "Corp.", "AG" / "GmbH") say what kind of
    # organisation each name writes down, not which one: they mostly cancel out.
    extra = abs(left_q - left_c) + abs(kind_q - kind_c) + _KIND_MISMATCH * min(kind_q, kind_c)
    total = matched + conflict + extra_penalty * extra
    if total <= 0.0:
        return 0.0
    score: float = matched / total * conflict_decay**conflict
    return score if substantive else score * 0.5
