"""The vectorised scorer gives exactly the Python scorer's scores, on real list names."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date

import numpy as np
import pytest

from listwatch.matching.batch import score_entities
from listwatch.matching.features import EntityFeatures
from listwatch.matching.index import MatchIndex
from listwatch.matching.query import MatchQuery, build_query
from listwatch.matching.score import ScoreOptions, explain_pair, score_pair
from listwatch.registry.snapshots import ingest
from listwatch.store import Store, open_store
from tests.conftest import CCMC_1237, CONS_2025_04, DOD_1260H, SDN_2021


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('batch') / 'listwatch.db'}")
    ingest(store, [SDN_2021])
    ingest(store, [CONS_2025_04])
    ingest(store, [CCMC_1237], list_id="us_dod_1237_ccmc")
    ingest(store, [DOD_1260H], list_id="us_dod_1260h")
    yield store
    store.close()


@pytest.fixture(scope="module")
def index(store: Store) -> MatchIndex:
    return MatchIndex.build(store, as_of=date(2025, 6, 1))


def _damaged(name: str, rng: random.Random) -> str:
    words = name.split()
    kind = rng.randrange(5)
    if kind == 1 and words:  # a typo
        w = rng.randrange(len(words))
        word = words[w]
        if len(word) > 3:
            i = rng.randrange(1, len(word) - 1)
            words[w] = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    elif kind == 2 and len(words) > 2:  # a dropped word
        del words[rng.randrange(len(words))]
    elif kind == 3:  # reordered
        rng.shuffle(words)
    elif kind == 4 and len(words) > 1:  # written together
        i = rng.randrange(len(words) - 1)
        words[i : i + 2] = [words[i] + words[i + 1]]
    return " ".join(words)


def _queries(index: MatchIndex) -> list[EntityFeatures]:
    rng = random.Random(7)
    queries: list[MatchQuery] = []
    for position in rng.sample(range(len(index.entities)), 250):
        entity = index.entities[position]
        if not entity.names:
            continue
        name = rng.choice(entity.names).original
        queries.append(MatchQuery(names=(_damaged(name, rng),), schema=entity.schema))
    queries += [
        MatchQuery(names=("小米集团",), schema="Company"),
        MatchQuery(names=("XIAOMI CORP", "Xiaomi Group"), schema="Company", countries=("cn",)),
        MatchQuery(names=("IRGC",), schema="Organization"),
        MatchQuery(names=("Islamic Revolutionary Guard Corps",), schema="LegalEntity"),
        MatchQuery(names=("Владимир Путин",), schema="Person", birth_dates=("1952",)),
        MatchQuery(names=("محمد علي",), schema="Person"),
        MatchQuery(names=("AL-QA'IDA/ISLAMIC ARMY",), schema="Organization"),
        MatchQuery(names=("China Mobile Ltd",), schema="Company", identifiers={"isin": ("HK0941009539",)}),
        MatchQuery(names=("Xiaoming Zhang",), schema="Person"),
        MatchQuery(names=("Copperleaf Ceramics AB",), schema="Company"),
    ]
    return [build_query(q) for q in queries]


def test_batch_scores_equal_python_scores(index: MatchIndex) -> None:
    options = ScoreOptions(token_weights=index.token_weight, explain=False)
    queries = _queries(index)
    positions = [np.asarray(index.candidates(q, limit=20), dtype=np.int64) for q in queries]
    results = score_entities(queries, positions, index.indexed_names, index.entities, options)
    compared = 0
    for query, result in zip(queries, results, strict=True):
        for i, position in enumerate(result.positions.tolist()):
            entity = index.entities[position]
            expected = score_pair(query, entity, options=options).score
            assert result.scores[i] == pytest.approx(expected, abs=1e-9), (query.caption, entity.caption)
            if result.query_name[i] >= 0:
                # the best pair of names it reports explains the same score
                again = explain_pair(
                    query,
                    entity,
                    query_name=int(result.query_name[i]),
                    candidate_name=int(result.candidate_name[i]),
                    options=options,
                )
                assert again.score == pytest.approx(expected, abs=1e-9)
            compared += 1
    assert compared > 3000
    matches = sum(int((r.scores >= 0.7).sum()) for r in results)
    assert matches > 150  # the damaged names mostly still match: the comparison is not vacuous


def test_batch_leaves_the_vocabulary_as_it_was(index: MatchIndex) -> None:
    indexed = index.indexed_names
    before = (len(indexed.vocab.strings), len(indexed.vocab.symsets))
    query = build_query(MatchQuery(names=("Zyxwvut Qqqplorp Holdings",), schema="Company"))
    options = ScoreOptions(token_weights=index.token_weight, explain=False)
    score_entities([query], [np.arange(5, dtype=np.int64)], indexed, index.entities, options)
    assert (len(indexed.vocab.strings), len(indexed.vocab.symsets)) == before
    assert "zyxwvut" not in indexed.vocab.ids


def test_incompatible_schemas_score_zero(index: MatchIndex) -> None:
    options = ScoreOptions(token_weights=index.token_weight, explain=False)
    people = [p for p in range(len(index.entities)) if index.entities[p].schema == "Person"][:5]
    query = build_query(MatchQuery(names=(index.entities[people[0]].names[0].original,), schema="Vessel"))
    (result,) = score_entities([query], [np.asarray(people)], index.indexed_names, index.entities, options)
    assert not result.scores.any()


@pytest.mark.parametrize(
    ("left", "right", "schema"),
    [
        ("Xi Jinping", "XiJinping", "Person"),  # a merged run
        ("Plat Ono Vich Trading", "Platonovich Trading", "Company"),  # a run of three
        ("Bank Sepah KTC", "Bank Sepah Kish Trading Company", "Company"),  # an acronym
        ("NIOC", "National Iranian Oil Company", "Company"),  # the whole name
        ("Office of Foreign Assets Control", "OFAC", "Organization"),  # particles inside the run
        ("J C Smith", "JC Smith", "Person"),  # initials of a person
    ],
)
def test_merged_runs_and_acronyms_are_scored_without_python(
    index: MatchIndex, left: str, right: str, schema: str
) -> None:
    from listwatch.matching.batch import CompiledNames, name_pair_scores
    from listwatch.matching.score import compare_names

    options = ScoreOptions(token_weights=index.token_weight, explain=False)
    query = build_query(MatchQuery(names=(left,), schema=schema)).names[0]
    candidate = build_query(MatchQuery(names=(right,), schema=schema)).names[0]
    vocab = index.indexed_names.vocab
    with vocab.batch():
        compiled = CompiledNames.compile([query, candidate], vocab, index.token_weight)
        rows = np.asarray([0], dtype=np.int64)
        scores, python = name_pair_scores(compiled, rows, compiled, rows + 1, vocab, options)
    expected = compare_names(query, candidate, options=options)
    assert not python[0]
    assert scores[0] == pytest.approx(expected.score, abs=1e-9)
    assert any(len(qi) + len(ci) > 2 for qi, ci, _ in expected.pairs)  # the item took part


def test_names_of_the_most_tokens_analysis_keeps_are_scored_without_python(index: MatchIndex) -> None:
    # the longest real names (24 tokens after analysis) fit the compiled loops' scratch arrays
    from listwatch.matching.batch import MAX_TOKENS, CompiledNames, name_pair_scores
    from listwatch.matching.normalise import MAX_NAME_TOKENS
    from listwatch.matching.score import compare_names

    assert MAX_TOKENS == MAX_NAME_TOKENS
    longest = max((form for e in index.entities for form in e.names), key=lambda f: len(f.tokens))
    assert len(longest.tokens) > 16
    damaged = _damaged(longest.original, random.Random(3))
    options = ScoreOptions(token_weights=index.token_weight, explain=False)
    query = build_query(MatchQuery(names=(damaged,), schema="Organization")).names[0]
    vocab = index.indexed_names.vocab
    with vocab.batch():
        compiled = CompiledNames.compile([query, longest], vocab, index.token_weight)
        rows = np.asarray([0, 1], dtype=np.int64)
        scores, python = name_pair_scores(compiled, rows, compiled, np.asarray([1, 1]), vocab, options)
    assert not python.any()
    assert scores[0] == pytest.approx(compare_names(query, longest, options=options).score, abs=1e-9)
    assert scores[1] == pytest.approx(compare_names(longest, longest, options=options).score, abs=1e-9)
    assert scores[0] > 0.7


def test_threads_sharing_an_index_get_the_scores_of_one_thread(index: MatchIndex) -> None:
    from concurrent.futures import ThreadPoolExecutor

    options = ScoreOptions(token_weights=index.token_weight, explain=False)
    queries = _queries(index)[:40]
    positions = [np.asarray(index.candidates(q, limit=20), dtype=np.int64) for q in queries]

    def scores(k: int) -> list[float]:
        result = score_entities([queries[k]], [positions[k]], index.indexed_names, index.entities, options)
        return result[0].scores.tolist()

    alone = [scores(k) for k in range(len(queries))]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(scores, list(range(len(queries))) * 3))
    assert together == alone * 3


def test_the_vocabulary_pickles_without_its_lock(index: MatchIndex) -> None:
    import pickle

    vocab = pickle.loads(pickle.dumps(index.indexed_names.vocab))
    assert vocab.strings == index.indexed_names.vocab.strings
    with vocab.batch():
        vocab.string("zyxwvut")
    assert "zyxwvut" not in vocab.ids


def test_hits_explained_from_the_compiled_alignment_equal_the_python_explanations(index: MatchIndex) -> None:
    from listwatch.matching.batch import scoring_batch
    from listwatch.matching.score import explain_aligned

    options = ScoreOptions(token_weights=index.token_weight)
    rank = ScoreOptions(token_weights=index.token_weight, explain=False)
    queries = _queries(index)
    positions = [np.asarray(index.candidates(q, limit=20), dtype=np.int64) for q in queries]
    results = score_entities(queries, positions, index.indexed_names, index.entities, rank)
    compared = fallback = 0
    for query, result in zip(queries, results, strict=True):
        picks = [
            (int(p), int(qn), int(cn), float(n))
            for p, qn, cn, n, s in zip(
                result.positions,
                result.query_name,
                result.candidate_name,
                result.name_score,
                result.scores,
                strict=True,
            )
            if qn >= 0 and s > 0.0
        ][:8]
        with scoring_batch([query], index.indexed_names, index.entities, options) as batch:
            (aligned,) = batch.alignments([[p[:3] for p in picks]])
        for (position, qn, cn, name_score), pairs in zip(picks, aligned, strict=True):
            entity = index.entities[position]
            expected = explain_pair(query, entity, query_name=qn, candidate_name=cn, options=options)
            if pairs is None:  # alternatives, or a pair the Python scorer makes
                fallback += 1
                continue
            got = explain_aligned(
                query, entity, query_name=qn, candidate_name=cn, pairs=pairs, options=options
            )
            assert got == expected, (query.caption, entity.caption)  # every float, every token pair
            # with the compiled loops' name score (the screener's way): the same but for rounding
            fast = explain_aligned(
                query,
                entity,
                query_name=qn,
                candidate_name=cn,
                pairs=pairs,
                name_score=name_score,
                options=options,
            )
            assert fast.score == pytest.approx(expected.score, abs=1e-12)
            assert [(e.feature, e.detail, e.alignment) for e in fast.explanations] == [
                (e.feature, e.detail, e.alignment) for e in expected.explanations
            ]
            assert [e.value for e in fast.explanations] == pytest.approx(
                [e.value for e in expected.explanations], abs=1e-12
            )
            compared += 1
    assert compared > 1000
    assert fallback < compared / 20


def test_warm_up_compiles_every_signature_screening_uses(index: MatchIndex) -> None:
    # `make install` runs both warm-ups so that the first screening does not compile; a warm-up
    # whose argument types drift from production's would compile a second, unused signature.
    from listwatch.matching import candidates_kernel, kernel
    from listwatch.matching.batch import scoring_batch, warm_up

    warm_up()
    candidates_kernel.warm_up()
    compiled = {
        f: set(f.signatures) for f in (kernel.pair_scores, kernel.signatures, candidates_kernel.search)
    }
    assert all(compiled.values())
    queries = _queries(index)[:20]
    found = index.batch_candidates(queries, limit=20)
    positions = [np.asarray([p for p, _ in mine], dtype=np.int64) for mine in found]
    options = ScoreOptions(token_weights=index.token_weight)
    results = score_entities(queries, positions, index.indexed_names, index.entities, options)
    picks = [
        [
            (int(p), int(q), int(c))
            for p, q, c in zip(r.positions, r.query_name, r.candidate_name, strict=True)
            if q >= 0
        ][:3]
        for r in results
    ]
    with scoring_batch(queries, index.indexed_names, index.entities, options) as batch:
        aligned = batch.alignments(picks)
    assert any(pairs is not None for mine in aligned for pairs in mine)
    assert {f: set(f.signatures) for f in compiled} == compiled


def test_compiled_names_read_back_from_arrays_score_the_same(index: MatchIndex) -> None:
    from listwatch.matching.batch import IndexedNames

    indexed = index.indexed_names
    arrays = indexed.to_arrays()
    assert all(a.dtype != object for a in arrays.values())  # numeric only: no pickle in the cache
    again = IndexedNames.from_arrays(arrays)
    assert again.vocab.strings == indexed.vocab.strings
    assert again.vocab.symsets == indexed.vocab.symsets
    assert again.entity_ids == indexed.entity_ids
    options = ScoreOptions(token_weights=index.token_weight, explain=False)
    queries = _queries(index)[:120]
    positions = [np.asarray(index.candidates(q, limit=20), dtype=np.int64) for q in queries]
    for before, after in zip(
        score_entities(queries, positions, indexed, index.entities, options),
        score_entities(queries, positions, again, index.entities, options),
        strict=True,
    ):
        assert before.scores.tolist() == after.scores.tolist()
        assert before.candidate_name.tolist() == after.candidate_name.tolist()


def test_alignments_recorded_while_scoring_equal_those_aligned_again(
    index: MatchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `score(..., record=True)` keeps the loops' alignments for `alignments`; without it they are
    # made in a second pass. Both must give every pick the same alignment, or None alike (names of
    # alternatives, pairs the Python scorer makes), whichever of a query's candidates is picked.
    from listwatch.matching import batch as batch_module
    from listwatch.matching.batch import scoring_batch

    passes: list[int] = []  # the compiled loops' calls: pairs each

    def counted(*args: object, **kwargs: object) -> object:
        passes.append(len(args[1]))  # type: ignore[arg-type]
        return aligned(*args, **kwargs)

    aligned = batch_module._aligned
    monkeypatch.setattr(batch_module, "_aligned", counted)
    options = ScoreOptions(token_weights=index.token_weight, explain=False)
    queries = _queries(index)
    found = index.batch_candidates(queries, limit=20)
    positions = [np.asarray([p for p, _ in mine], dtype=np.int64) for mine in found]
    answers = []
    for record in (False, True):
        with scoring_batch(queries, index.indexed_names, index.entities, options) as batch:
            results = batch.score(positions, record=record)
            picks = [
                [
                    (int(p), int(q), int(c))
                    for p, q, c in zip(r.positions, r.query_name, r.candidate_name, strict=True)
                    if q >= 0
                ]
                for r in results
            ]
            passes.clear()
            answers.append((picks, batch.alignments(picks), list(passes)))
    (picks, again, second_pass), (recorded_picks, recorded, none) = answers
    assert recorded_picks == picks
    assert len(second_pass) == 1 and none == []  # recorded: no second pass
    assert recorded == again
    kinds = [pairs is None for mine in recorded for pairs in mine]
    assert kinds.count(False) > 1000 and kinds.count(True) > 0
    # a pick that is not a candidate's best pair of names is aligned in a second pass, as without
    # recording: the first candidate of the recorded results with a name besides its best
    other = next(
        (k, x, (p, qn, n))
        for k, mine in enumerate(picks)
        for x, (p, qn, cn) in enumerate(mine)
        for n in range(len(index.entities[p].names))
        if n != cn
        and recorded[k][x] is not None
        and index.entities[p].names[n].tokens
        and not index.entities[p].names[n].alternatives
    )
    k, _, pick = other
    with scoring_batch(queries, index.indexed_names, index.entities, options) as batch:
        batch.score(positions, record=True)
        mixed = batch.alignments([[pick] if q == k else [] for q in range(len(queries))])
    with scoring_batch(queries, index.indexed_names, index.entities, options) as batch:
        fresh = batch.alignments([[pick] if q == k else [] for q in range(len(queries))])
    assert mixed == fresh and fresh[k] != [None]
