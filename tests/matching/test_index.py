"""Candidate generation over the real bundled lists, and the index's disk cache."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from listwatch.matching import candidates_kernel
from listwatch.matching.features import EntityFeatures
from listwatch.matching.index import (
    _COMPLETE_SHARE,
    _FAMILY_WEIGHT,
    _PROBE_BUDGET,
    _PROBE_MIN_FEATURES,
    MatchIndex,
    _name_variants,
    _token_features,
)
from listwatch.matching.normalise import name_form
from listwatch.model import name_key
from listwatch.registry.live import live_entities
from listwatch.registry.snapshots import ingest
from listwatch.store import Store, open_store
from tests.conftest import CCMC_1237, CONS_2025_03, CONS_2025_04, DOD_1260H, SDN_2019, SDN_2021

XIAOMI = "us-dod-1237-ccmc-xiaomi-corporation"
DOD = ["us_dod_1237_ccmc", "us_dod_1260h"]


@pytest.fixture(scope="module")
def all_lists(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """Every bundled list, ingested once for the module."""
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('index') / 'listwatch.db'}")
    for path in (SDN_2019, SDN_2021, CONS_2025_03, CONS_2025_04):
        ingest(store, [path])
    ingest(store, [CCMC_1237], list_id="us_dod_1237_ccmc")
    ingest(store, [DOD_1260H], list_id="us_dod_1260h")
    yield store
    store.close()


@pytest.fixture(scope="module")
def index_feb(all_lists: Store) -> MatchIndex:
    return MatchIndex.build(all_lists, as_of=date(2021, 2, 1))


@pytest.fixture(scope="module")
def index_aug(all_lists: Store) -> MatchIndex:
    return MatchIndex.build(all_lists, as_of=date(2021, 8, 1))


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"  # apart from the store's files


@pytest.fixture
def dod_store(store: Store) -> Store:
    ingest(store, [CCMC_1237], list_id="us_dod_1237_ccmc")
    ingest(store, [DOD_1260H], list_id="us_dod_1260h")
    return store


def _query(*names: str, isin: str | None = None) -> EntityFeatures:
    return EntityFeatures(
        entity_id=None,
        schema="LegalEntity",
        names=tuple(name_form(n, "LegalEntity", kind="query") for n in names),
        identifiers=frozenset({("isin", isin)} if isin else set()),
    )


def _ids(index: MatchIndex, query: EntityFeatures, limit: int = 50) -> list[str | None]:
    return [index.entities[i].entity_id for i in index.candidates(query, limit=limit)]


def test_index_holds_the_live_entities_with_their_listing(all_lists: Store, index_feb: MatchIndex) -> None:
    live = live_entities(all_lists, as_of=date(2021, 2, 1))
    assert [e.entity_id for e in index_feb.entities] == [e.entity_id for e in live]
    xiaomi = next(e for e in index_feb.entities if e.entity_id == XIAOMI)
    assert xiaomi.listing is not None
    assert (xiaomi.listing.list_id, xiaomi.listing.state) == ("us_dod_1237_ccmc", "listed")


@pytest.mark.parametrize("name", ["XIAOMI CORP", "小米集团", "Xiaomi Corporatoin"])
def test_xiaomi_is_a_candidate_by_name_other_script_and_typo(index_feb: MatchIndex, name: str) -> None:
    assert XIAOMI in _ids(index_feb, _query(name), limit=5)


def test_abbreviations_and_transliterations_find_the_entity(index_aug: MatchIndex) -> None:
    irgc = _ids(index_aug, _query("IRGC"), limit=3)
    assert "us-ofac-sdn-10391" in irgc  # ISLAMIC REVOLUTIONARY GUARD CORPS, published without "IRGC"
    assert _ids(index_aug, _query("Роснефть Трейдинг"), limit=1) == ["us-ofac-sdn-18299"]  # ROSNEFT TRADING
    assert "us-ofac-sdn-306" in _ids(index_aug, _query("Banco Nac. de Cuba"), limit=1)


def test_china_mobile_limited_ranks_above_other_china_companies(index_aug: MatchIndex) -> None:
    ranked = [index_aug.entities[i] for i in index_aug.candidates(_query("China Mobile Limited"))]
    exact = [
        i
        for i, e in enumerate(ranked)
        if any(name_key(n.original) == "china mobile limited" for n in e.names)
    ]
    assert len(exact) == 2  # on the NS-CMIC list and the DoD 1260H list
    assert exact == [0, 1]
    assert any("china" in name_key(e.caption) for e in ranked[2:])


def test_an_isin_query_finds_its_entity_first(index_feb: MatchIndex, index_aug: MatchIndex) -> None:
    assert _ids(index_feb, _query(isin="KYG9830T1067"))[0] == XIAOMI
    first = index_aug.entities[index_aug.candidates(_query("China Mobile", isin="HK0941009539"))[0]]
    assert ("isin", "HK0941009539") in first.identifiers


def test_candidates_are_ranked_and_limited(index_aug: MatchIndex) -> None:
    scored = index_aug.scored_candidates(_query("Banco Nacional de Cuba"), limit=10)
    assert len(scored) == 10
    assert [s for _, s in scored] == sorted((s for _, s in scored), reverse=True)
    assert name_key(index_aug.entities[scored[0][0]].caption) == name_key("Banco Nacional de Cuba")
    assert scored[0][1] > scored[1][1]  # the same name ranks first, on its own
    assert 0.5 < scored[0][1] <= 1.0  # a cosine over the name's rarer features (`_rare_first`)
    assert index_aug.candidates(_query()) == []  # nothing to go on


def test_common_words_weigh_less_than_rare_ones(index_aug: MatchIndex) -> None:
    (ltd,) = name_form("Limited", "Company").tokens
    (china,) = name_form("China").tokens
    (rosneft,) = name_form("Rosneft").tokens
    weight = index_aug.token_weight
    assert weight(ltd) < weight(china) < weight(rosneft) < weight("zzzzqqqq")
    assert weight(ltd) < weight(rosneft) / 2


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 3:
        return word
    at = rng.randrange(1, len(word) - 1)
    edit = rng.choice("sdit")
    if edit == "s":
        return word[:at] + rng.choice("abcdefghijklmnopqrstuvwxyz") + word[at + 1 :]
    if edit == "d":
        return word[:at] + word[at + 1 :]
    if edit == "i":
        return word[:at] + rng.choice("abcdefghijklmnopqrstuvwxyz") + word[at:]
    return word[: at - 1] + word[at] + word[at - 1] + word[at + 1 :]


def _damage(name: str, rng: random.Random) -> str:
    """One seeded damage: drop a word (names of 3+ words), swap two words, or one typo."""
    words = name.split()
    damage = rng.choice(["typo", "drop", "swap"])
    if damage == "drop" and len(words) >= 3:
        del words[rng.randrange(len(words))]
    elif damage == "swap" and len(words) >= 2:
        i, j = rng.sample(range(len(words)), 2)
        words[i], words[j] = words[j], words[i]
    else:
        k = rng.choice([k for k, w in enumerate(words) if len(w) >= 3] or [0])
        words[k] = _typo(words[k], rng)
    return " ".join(words)


def test_damaged_sdn_names_find_their_entity_in_the_top_50(index_aug: MatchIndex) -> None:
    rng = random.Random(20210801)
    sdn = [
        i for i, e in enumerate(index_aug.entities) if e.entity_id and e.entity_id.startswith("us-ofac-sdn-")
    ]
    sample = rng.sample(sdn, 300)
    found = sum(
        position in index_aug.candidates(_query(_damage(index_aug.entities[position].caption, rng)), limit=50)
        for position in sample
    )
    recall = found / len(sample)
    assert recall >= 0.97, f"recall@50 {recall:.3f}"


def _reference_candidates(index: MatchIndex, query: EntityFeatures, limit: int) -> list[tuple[int, float]]:
    """What `batch_candidates` computes, written out plainly: per probe, the distinct features
    rarest first up to the postings budget find the name rows; a row's value is its cosine over
    the features read (sum(w^2) shared, rarest first) times the row's weight and the probe's
    factor; when the unread features hold more than `_COMPLETE_SHARE` of the probe's squared
    norm, over all the probe's features instead (summed in feature id order). Then each
    entity's best row, the probe's best `limit` entities (ties to the lower position) and the
    wanted ones; the query's best per entity."""
    names = index._names
    offsets, targets, weights = names.offsets.tolist(), names.targets.tolist(), names.weights.tolist()
    row_features: dict[int, list[int]] = {}
    for f in range(len(offsets) - 1):
        for row in targets[offsets[f] : offsets[f + 1]]:
            row_features.setdefault(row, []).append(f)
    wanted = index._key_hits(query)
    best: dict[int, float] = {}
    for form in query.names:
        for variant, factor in _name_variants(form.tokens, query.schema):
            features = {f for token in variant for f in _token_features(token)}
            known = [names.ids[f] for f in features if f in names.ids]
            if not known:
                continue
            unknown = sum(
                (_FAMILY_WEIGHT[f[0]] * index._max_weight) ** 2 for f in sorted(features - set(names.ids))
            )
            order = sorted(known, key=lambda f: (offsets[f + 1] - offsets[f], f))
            squares = sum(weights[f] ** 2 for f in order)
            norm = math.sqrt(squares + unknown)
            total, within = 0, 0
            for f in order:
                total += offsets[f + 1] - offsets[f]
                if total > _PROBE_BUDGET:
                    break
                within += 1
            used = order[: max(within, _PROBE_MIN_FEATURES)]
            complete = sum(weights[f] ** 2 for f in order[len(used) :]) > _COMPLETE_SHARE * squares
            sums: dict[int, float] = {}
            for f in used:
                for row in targets[offsets[f] : offsets[f + 1]]:
                    sums[row] = sums.get(row, 0.0) + weights[f] * weights[f]
            if complete:
                mine = set(known)
                sums = {row: sum(weights[f] ** 2 for f in row_features[row] if f in mine) for row in sums}
            probe: dict[int, float] = {}
            for row, shared in sums.items():
                row_weight = float(index._name_weight[row])
                if factor < 1.0 and row_weight < 1.0:
                    row_weight = 0.0
                value = shared / (float(index._name_norm[row]) * norm) * row_weight * factor
                entity = int(index._name_entity[row])
                if value > 0:
                    probe[entity] = max(probe.get(entity, 0.0), value)
            ranked = sorted(probe, key=lambda e: (-probe[e], e))
            for entity in ranked[:limit] + [e for e in ranked[limit:] if e in wanted]:
                best[entity] = max(best.get(entity, 0.0), probe[entity])
    for entity, bonus in wanted.items():
        best[entity] = best.get(entity, 0.0) + bonus
    return [(e, best[e]) for e in sorted(best, key=lambda e: (-best[e], e))[:limit]]


def test_compiled_search_finds_what_the_plain_definition_finds(index_aug: MatchIndex) -> None:
    rng = random.Random(20261126)
    sample = rng.sample(range(len(index_aug.entities)), 150)
    queries = [_query(_damage(index_aug.entities[p].caption, rng)) for p in sample]
    queries += [
        _query("China Mobile", isin="HK0941009539"),  # an identifier hit is kept beyond the limit
        _query("Rosneft Trading", "Banco Nacional de Cuba"),  # two names, two probes
        _query("China National Offshore Oil Corporation"),  # initials probe
        _query("Zzyzx Qqqq"),  # no feature any listed name has
    ]
    for limit in (5, 20):
        found = index_aug.batch_candidates(queries, limit=limit)
        for query, got in zip(queries, found, strict=True):
            expected = _reference_candidates(index_aug, query, limit)
            assert [e for e, _ in got] == [e for e, _ in expected], query.names[0].original
            assert [v for _, v in got] == pytest.approx([v for _, v in expected], rel=1e-12, abs=1e-15)
        assert found == [index_aug.scored_candidates(q, limit=limit) for q in queries]  # batch = one by one
    assert index_aug.batch_candidates(queries[:2], limit=0) == [[], []]


def test_ties_at_the_limit_keep_the_lower_positions_and_the_wanted_entities() -> None:
    from listwatch.matching.candidates_kernel import _best

    best = np.zeros(10, dtype=np.float64)
    best[[2, 3, 5, 7, 9]] = [0.5, 0.9, 0.5, 0.5, 0.1]
    touched = np.asarray([9, 7, 5, 3, 2], dtype=np.int64)
    wanted = np.zeros(10, dtype=np.bool_)
    top = np.empty(4, dtype=np.int64)
    assert sorted(_best(touched, best, 3, wanted, top).tolist()) == [2, 3, 5]
    wanted[9] = True
    assert sorted(_best(touched, best, 2, wanted, top).tolist()) == [2, 3, 9]


# -- the disk cache -------------------------------------------------------------------------------


def test_second_load_reads_the_cache(dod_store: Store, cache_dir: Path) -> None:
    first = MatchIndex.load_or_build(dod_store, as_of=date(2021, 3, 13), lists=DOD, cache_dir=cache_dir)
    assert not first.from_cache
    assert first.cache_path is not None and first.cache_path.exists()
    written = first.cache_path.stat().st_mtime_ns
    second = MatchIndex.load_or_build(dod_store, as_of=date(2021, 3, 13), lists=DOD, cache_dir=cache_dir)
    assert second.from_cache
    assert second.cache_path == first.cache_path
    assert first.cache_path.stat().st_mtime_ns == written
    assert list(cache_dir.iterdir()) == [first.cache_path]  # no temporary file left behind
    assert [e.entity_id for e in second.entities] == [e.entity_id for e in first.entities]
    assert list(second.entities) == list(first.entities)
    query = _query("Xiaomi Corporatoin", isin="KYG9830T1067")
    assert second.scored_candidates(query) == first.scored_candidates(query)
    xiaomi = second.entities[second.candidates(query)[0]]
    assert xiaomi.listing is not None and xiaomi.listing.state == "suspended"


def test_the_cache_keeps_the_compiled_names_so_loading_unpickles_no_entity(
    dod_store: Store, cache_dir: Path
) -> None:
    import pickle

    first = MatchIndex.load_or_build(dod_store, as_of=date(2021, 3, 13), lists=DOD, cache_dir=cache_dir)
    second = MatchIndex.load_or_build(dod_store, as_of=date(2021, 3, 13), lists=DOD, cache_dir=cache_dir)
    assert second.from_cache
    compiled = second.indexed_names  # read from the file...
    # ...with no entity made but the first, which loading checks
    assert not any(second.entities._made[1:])  # type: ignore[attr-defined]
    built = first.indexed_names
    assert compiled.vocab.strings == built.vocab.strings
    assert compiled.entity_ids == built.entity_ids
    assert compiled.names.token.tolist() == built.names.token.tolist()
    # shipped to a Dask worker, the compiled names travel as arrays and come back the same
    shipped = pickle.loads(pickle.dumps(second, protocol=pickle.HIGHEST_PROTOCOL))
    assert shipped._indexed is None and shipped.indexed_names.vocab.strings == built.vocab.strings


def test_days_without_events_between_them_share_a_cache_file(dod_store: Store, cache_dir: Path) -> None:
    feb_1 = MatchIndex.load_or_build(dod_store, as_of=date(2021, 2, 1), lists=DOD, cache_dir=cache_dir)
    feb_2 = MatchIndex.load_or_build(dod_store, as_of=date(2021, 2, 2), lists=DOD, cache_dir=cache_dir)
    assert feb_2.from_cache and feb_2.cache_path == feb_1.cache_path
    assert feb_2.as_of == date(2021, 2, 2)
    enjoined = MatchIndex.load_or_build(dod_store, as_of=date(2021, 3, 13), lists=DOD, cache_dir=cache_dir)
    assert not enjoined.from_cache and enjoined.key != feb_1.key


def test_a_new_ingest_changes_the_cache_key(dod_store: Store, cache_dir: Path) -> None:
    before = MatchIndex.load_or_build(dod_store, as_of=date(2025, 6, 1), cache_dir=cache_dir)
    ingest(dod_store, [CONS_2025_03])
    after = MatchIndex.load_or_build(dod_store, as_of=date(2025, 6, 1), cache_dir=cache_dir)
    assert after.key != before.key
    assert not after.from_cache
    assert len(after) > len(before)
    assert {e.listing.list_id for e in after.entities if e.listing} == {"us_ofac_cons", "us_dod_1260h"}


def test_a_cache_file_without_the_compiled_names_is_rebuilt(dod_store: Store, cache_dir: Path) -> None:
    import io

    import numpy as np

    built = MatchIndex.load_or_build(dod_store, as_of=date(2021, 2, 1), lists=DOD, cache_dir=cache_dir)
    assert built.cache_path is not None
    with np.load(built.cache_path) as npz:
        kept = {name: npz[name] for name in npz.files if not name.startswith("compiled_")}
    out = io.BytesIO()
    np.savez(out, **kept)  # type: ignore[arg-type]
    built.cache_path.write_bytes(out.getvalue())
    rebuilt = MatchIndex.load_or_build(dod_store, as_of=date(2021, 2, 1), lists=DOD, cache_dir=cache_dir)
    assert not rebuilt.from_cache
    assert rebuilt.indexed_names.entity_ids == built.indexed_names.entity_ids


def test_the_cache_key_covers_the_code_of_what_the_file_holds() -> None:
    from listwatch.matching import batch, index

    # the file keeps the scorer's compiled names: a change to how they are made must rebuild it
    assert {Path(batch.__file__).resolve()} <= {p.resolve() for p in index._CODE}


@pytest.mark.parametrize("damage", ["flip_bytes", "truncate", "garbage", "empty"])
def test_a_corrupted_cache_file_is_rebuilt(dod_store: Store, cache_dir: Path, damage: str) -> None:
    built = MatchIndex.load_or_build(dod_store, as_of=date(2021, 2, 1), lists=DOD, cache_dir=cache_dir)
    assert built.cache_path is not None
    data = built.cache_path.read_bytes()
    middle = len(data) // 2
    damaged = {
        "flip_bytes": data[:middle]
        + bytes(255 - b for b in data[middle : middle + 64])
        + data[middle + 64 :],
        "truncate": data[: len(data) // 3],
        "garbage": b"not an index",
        "empty": b"",
    }[damage]
    built.cache_path.write_bytes(damaged)
    rebuilt = MatchIndex.load_or_build(dod_store, as_of=date(2021, 2, 1), lists=DOD, cache_dir=cache_dir)
    assert not rebuilt.from_cache
    assert [e.entity_id for e in rebuilt.entities] == [e.entity_id for e in built.entities]
    again = MatchIndex.load_or_build(dod_store, as_of=date(2021, 2, 1), lists=DOD, cache_dir=cache_dir)
    assert again.from_cache


def test_an_unwritable_cache_folder_only_costs_the_saving(dod_store: Store, cache_dir: Path) -> None:
    not_a_folder = cache_dir.parent / "file"
    not_a_folder.write_text("")
    index = MatchIndex.load_or_build(dod_store, as_of=date(2021, 2, 1), lists=DOD, cache_dir=not_a_folder)
    assert not index.from_cache and index.cache_path is None
    assert XIAOMI in _ids(index, _query("Xiaomi"))


def test_a_person_written_in_another_script_is_found_by_rigour_name_symbols(index_aug: MatchIndex) -> None:
    # 贝拉克·奥巴马 transliterates to "beilake aobama": few letters in common with "Barack Obama"
    people = [e for e in index_aug.entities[:3000] if e.schema == "Person"]
    obama = EntityFeatures("obama", "Person", (name_form("Barack Obama", "Person"),))
    index = MatchIndex.from_features([*people, obama], as_of=date(2021, 8, 1))
    query = EntityFeatures(None, "Person", (name_form("贝拉克·奥巴马", "Person", kind="query"),))
    assert index.entities[index.candidates(query, limit=5)[0]].entity_id == "obama"


def test_forward_lists_each_rows_features_in_ascending_order(index_aug: MatchIndex) -> None:
    names = index_aug._names
    row_off, row_features = candidates_kernel.forward(names.offsets, names.targets, len(index_aug._name_norm))
    feature_of = np.repeat(np.arange(len(names.vocab), dtype=np.int64), np.diff(names.offsets))
    order = np.lexsort((feature_of, names.targets))  # by row, then feature
    assert row_off.tolist() == [0, *np.cumsum(np.bincount(names.targets, minlength=len(row_off) - 1))]
    assert row_features.tolist() == feature_of[order].tolist()


def _common_name_index(index_aug: MatchIndex) -> tuple[MatchIndex, EntityFeatures]:
    """People named Maria, more than a probe's budget of them, half as many again named a real
    word + Gonzalez, and one Maria Gonzalez: every feature of her name has more postings than the
    budget, those of "maria" the fewest."""
    words = sorted({t for e in index_aug.entities for n in e.names for t in n.tokens if t.isalpha()})
    marias = _PROBE_BUDGET + 200
    others = [f"{w} Gonzalez" for w in words if len(w) >= 5][: marias * 3 // 2]
    assert len(others) == marias * 3 // 2
    names = ["Maria"] * marias + others + ["Maria Gonzalez"]
    people = [EntityFeatures(f"p{i}", "Person", (name_form(n, "Person"),)) for i, n in enumerate(names)]
    index = MatchIndex.from_features(people, as_of=date(2021, 8, 1))
    query = EntityFeatures(None, "Person", (name_form("Maria Gonzalez", "Person", kind="query"),))
    return index, query


def test_a_common_name_ranks_by_its_whole_name_beyond_the_budget(index_aug: MatchIndex) -> None:
    index, query = _common_name_index(index_aug)
    features = {f for token in query.names[0].tokens for f in _token_features(token)}
    postings = np.diff(index._names.offsets)[[index._names.ids[f] for f in features]]
    assert postings.min() > _PROBE_BUDGET  # the probe reads its one rarest feature only
    (first, value), *_ = index.scored_candidates(query, limit=5)
    assert index.entities[first].entity_id == f"p{len(index.entities) - 1}"
    assert value == pytest.approx(1.0)


def test_without_completion_the_common_name_loses_to_shorter_names(
    index_aug: MatchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    import listwatch.matching.index as index_module

    index, query = _common_name_index(index_aug)
    monkeypatch.setattr(index_module, "_COMPLETE_SHARE", math.inf)  # rarest features only
    assert f"p{len(index.entities) - 1}" not in [
        index.entities[e].entity_id for e in index.candidates(query, limit=5)
    ]


def test_a_pickled_index_finds_the_same_candidates(index_aug: MatchIndex) -> None:
    import pickle

    query = _query("Banco Nacional de Cuba")
    before = index_aug.scored_candidates(query, limit=10)  # work arrays and row lists made
    copy = pickle.loads(pickle.dumps(index_aug, protocol=pickle.HIGHEST_PROTOCOL))
    assert copy._forward is None
    assert copy.scored_candidates(query, limit=10) == before


def test_threads_searching_one_index_at_once_find_what_one_finds(index_aug: MatchIndex) -> None:
    from concurrent.futures import ThreadPoolExecutor

    rng = random.Random(8)
    queries = [
        _query(_damage(index_aug.entities[p].caption, rng)) for p in rng.sample(range(len(index_aug)), 64)
    ]
    alone = index_aug.batch_candidates(queries, limit=20)
    with ThreadPoolExecutor(max_workers=4) as pool:
        chunks = list(
            pool.map(lambda k: index_aug.batch_candidates(queries[k : k + 8], limit=20), range(0, 64, 8))
        )
    assert [found for chunk in chunks for found in chunk] == alone


def test_warm_up_compiles_what_a_cached_index_searches_with(dod_store: Store, cache_dir: Path) -> None:
    candidates_kernel.warm_up()
    compiled = {f: set(f.signatures) for f in (candidates_kernel.search, candidates_kernel.forward)}
    assert all(compiled.values())
    MatchIndex.load_or_build(dod_store, as_of=date(2021, 2, 1), lists=DOD, cache_dir=cache_dir)
    cached = MatchIndex.load_or_build(dod_store, as_of=date(2021, 2, 1), lists=DOD, cache_dir=cache_dir)
    assert cached.from_cache
    assert XIAOMI in _ids(cached, _query("Xiaomi Corporatoin", isin="KYG9830T1067"))
    assert {f: set(f.signatures) for f in compiled} == compiled  # nothing compiled again


def test_batch_positions_are_the_positions_of_batch_candidates(index_aug: MatchIndex) -> None:
    rng = random.Random(20261127)
    sample = rng.sample(range(len(index_aug.entities)), 60)
    queries = [_query(_damage(index_aug.entities[p].caption, rng)) for p in sample]
    queries += [
        _query("China Mobile", isin="HK0941009539"),  # identifier hits reorder the candidates
        EntityFeatures(  # a person's name in a script transliterated poorly: person-symbol hits
            entity_id=None, schema="Person", names=(name_form("محمد علي", "Person", kind="query"),)
        ),
    ]
    for limit in (1, 5, 20):
        found = index_aug.batch_candidates(queries, limit=limit)
        positions = index_aug.batch_positions(queries, limit=limit)
        assert [p.tolist() for p in positions] == [[e for e, _ in f] for f in found]
        assert all(p.dtype == np.int64 for p in positions)
    assert found[-1]  # the person-symbol query finds some
    assert [p.size for p in index_aug.batch_positions(queries[:2], limit=0)] == [0, 0]
