"""Candidate generation: from a query to the few live listed entities worth scoring.

`MatchIndex` holds the `EntityFeatures` of every entity live on one day (`registry.live`) and
inverted indexes over them. Each published name becomes a sparse vector of features: its
`name_form` tokens, the padded character 3-grams of each token (typos, order), a metaphone key per
token (transliteration: Mohammad, Muhammad) and its initials (IRGC). Features are weighted by
rarity among the live entities (IDF), so that "china", "group" or "ltd" add little. A query name
is compared with every name by cosine similarity, an entity counts by its best name, and shared
identifiers (ISIN, LEI, IMO, ...) and tickers add on top. Postings are CSR arrays (one int32 array
plus offsets) read by a compiled pass (`candidates_kernel`): a query name reads its rarer features'
postings to find names, and in a large index, where common words' postings run to many thousands,
the names found are scored over all its features (each name's feature list, made on first use).

Building reads and normalises every live record, so the index is cached on disk by
`load_or_build`, keyed by what the live set depends on (`registry.live.live_set_key`), the lists,
this format's version and the matching code (see `_cache_key`):

    index = MatchIndex.load_or_build(store, as_of=date(2021, 2, 1))
    hits = index.candidates(query_features, limit=50)  # positions into index.entities
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import pickle
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import date
from functools import cache, lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar, overload

import numpy as np
import numpy.typing as npt
from rigour.text import metaphone

from listwatch.matching.align import TRANSLITERATES_WELL
from listwatch.matching.batch import IndexedNames
from listwatch.matching.features import EntityFeatures, Listing
from listwatch.matching.normalise import NameForm, person_symbols
from listwatch.registry.live import live_entities, live_set_key
from listwatch.store import Store

__all__ = ["INDEX_FORMAT", "MatchIndex", "default_cache_dir"]

#: Bump when the cached layout or the meaning of its arrays changes.
INDEX_FORMAT = 2  # 2: the compiled names for the scorer kept too

# Feature families and their weight beside IDF. A token's 3-grams already carry its spelling, so
# a whole-token match counts extra; a sound key is a hint.
_FAMILY_WEIGHT = {"t": 2.0, "g": 1.0, "p": 2.0}
# The initials of a name of three or more tokens stand as one more name ("China National Offshore
# Oil Corp" also reads "cnooc"), on both sides, at this fraction of a real name's similarity.
_INITIALS_WEIGHT = 0.8
_IDENTIFIER_BONUS = 2.0  # above any name similarity (at most 1): an ISIN hit ranks first
_TICKER_BONUS = 1.0  # tickers are short and reused across markets
_KEEP_CACHE_FILES = 8
_PERSON_SYMBOL_WEIGHT = 0.7  # a shared cross-script name symbol counts like this share of a cosine
_PROBE_BUDGET = 2000  # postings a query name reads, rarest features first (`candidates_kernel`)
_PROBE_MIN_FEATURES = 1
# When the features a probe leaves unread hold more than this share of its squared norm, the rows
# found are scored over all its features (`candidates_kernel.search`): in a large index, where
# common names' postings are long, ranking them by their rarest letters alone loses the true one.
_COMPLETE_SHARE = 0.3
_TOKEN_CACHE_SIZE = 100_000  # query tokens whose feature ids an index keeps (then it starts again)
# Code whose change alters what the index holds; its digest is part of the cache key. Add a module
# here when `name_form` or `EntityFeatures.from_record` start to depend on it.
_HERE = Path(__file__).parent
_CODE = (
    *(_HERE / name for name in ("index.py", "features.py", "normalise.py", "countries.py")),
    # the scorer's compiled names are cached too (`batch.IndexedNames`): their code and constants
    *(_HERE / name for name in ("batch.py", "score.py", "align.py")),
    _HERE.parent / "registry" / "live.py",
    _HERE.parent / "registry" / "replay.py",
)
_DEPENDENCIES = ("normality", "rigour", "numpy")  # name_form's behaviour depends on the first two
# What reading a damaged or outdated cache file can raise; any of them means "build again".
_UNREADABLE: tuple[type[Exception], ...] = (OSError, EOFError, KeyError, ValueError, TypeError)
_UNREADABLE += (AttributeError, IndexError, ImportError, zipfile.BadZipFile, pickle.UnpicklingError)

_T = TypeVar("_T")
IntArray = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float32]


def default_cache_dir() -> Path:
    """The user cache directory (e.g. ~/.cache/listwatch/index on Linux)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("listwatch")) / "index"


class _Postings:
    """A CSR inverted index: feature id -> positions, plus a weight per feature."""

    def __init__(
        self, vocab: list[str], offsets: npt.NDArray[np.int64], targets: IntArray, weights: FloatArray
    ):
        self.vocab = vocab
        self.ids = {feature: i for i, feature in enumerate(vocab)}
        self.offsets = offsets
        self.targets = targets
        self.weights = weights

    @classmethod
    def build(
        cls,
        features: list[str],
        rows: npt.NDArray[np.int64],
        groups: npt.NDArray[np.int64],
        factor: dict[str, float],
    ) -> _Postings:
        """From `features[i]` found at position `rows[i]` (distinct pairs, positions in order);
        `groups[position]` is the entity (non-decreasing with position), the unit IDF counts."""
        ids = {feature: i for i, feature in enumerate(dict.fromkeys(features))}
        feat = np.fromiter(map(ids.__getitem__, features), dtype=np.int64, count=len(features))
        order = np.argsort(feat, kind="stable")  # stable: positions stay in order within a feature
        feat = feat[order]
        targets = rows[order]
        offsets = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(np.bincount(feat, minlength=len(ids)), out=offsets[1:])
        # Document frequency counts entities, not names: aliases must not make a token look common.
        owner = groups[targets]
        first = np.ones(len(feat), dtype=bool)
        first[1:] = (feat[1:] != feat[:-1]) | (owner[1:] != owner[:-1])
        df = np.bincount(feat[first], minlength=len(ids))
        vocab = list(ids)
        family = np.asarray([factor.get(f[0], 1.0) for f in vocab], dtype=np.float64)
        n_groups = int(groups[-1]) + 1 if len(groups) else 0
        weights = (family * _idf(df, n_groups)).astype(np.float32)
        return cls(vocab, offsets, targets.astype(np.int32), weights)

    def lookup(self, features: Iterable[str]) -> npt.NDArray[np.int64]:
        found = [i for i in map(self.ids.get, features) if i is not None]
        return np.asarray(found, dtype=np.int64)

    def gather(self, feature_ids: npt.NDArray[np.int64]) -> tuple[IntArray, FloatArray]:
        """The postings of the features concatenated, each with its feature's weight."""
        starts = self.offsets[feature_ids]
        lengths = self.offsets[feature_ids + 1] - starts
        total = int(lengths.sum())
        if total == 0:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float32)
        # Index of every posting without a Python loop: each run starts at its feature's offset.
        run_starts = np.cumsum(lengths) - lengths
        positions = np.arange(total, dtype=np.int64) + np.repeat(starts - run_starts, lengths)
        return self.targets[positions], np.repeat(self.weights[feature_ids], lengths)


def _idf(df: npt.NDArray[np.int64], n: int) -> npt.NDArray[np.float64]:
    return np.log((n + 1) / (df + 1)) + 1.0


def _name_features(tokens: Sequence[str]) -> set[str]:
    """The features of one name: its tokens, their padded 3-grams and sound keys."""
    features: set[str] = set()
    for token in tokens:
        features.update(_token_features(token))
    return features


@lru_cache(maxsize=100_000)
def _token_features(token: str) -> tuple[str, ...]:
    padded = f" {token} "
    features = ["t:" + token, *("g:" + padded[i : i + 3] for i in range(len(padded) - 2))]
    if len(token) >= 3 and token.isalpha():
        key = metaphone(token)
        if key:
            features.append("p:" + key)
    return tuple(features)


def _name_variants(tokens: tuple[str, ...], schema: str) -> list[tuple[tuple[str, ...], float]]:
    """A name's token sequences to index or query, with their weight: itself, and its initials."""
    variants = [(tokens, 1.0)]
    if len(tokens) >= 3 and schema != "Person":
        variants.append((("".join(token[0] for token in tokens),), _INITIALS_WEIGHT))
    return variants


def _entity_keys(features: EntityFeatures) -> set[str]:
    keys = {f"i:{scheme}:{key}" for scheme, key in features.identifiers}
    keys.update(f"k:{symbol}" for symbol, _market in features.tickers)
    return keys


class MatchIndex:
    """The live entities of one day and the inverted indexes that find candidates among them."""

    def __init__(
        self,
        *,
        as_of: date,
        lists: tuple[str, ...] | None,
        entities: Sequence[EntityFeatures],
        names: _Postings,
        keys: _Postings,
        name_entity: IntArray,
        name_norm: FloatArray,
        name_weight: FloatArray,
        key: str = "",
    ) -> None:
        self.as_of = as_of
        self.lists = lists
        self.entities = entities
        self.key = key  # the cache key, when built through load_or_build
        self.from_cache = False
        self.cache_path: Path | None = None
        self._names = names
        self._keys = keys
        self._name_entity = name_entity
        self._name_norm = name_norm
        self._name_weight = name_weight
        self._max_weight = float(_idf(np.zeros(1, dtype=np.int64), len(entities))[0])
        self._indexed: IndexedNames | None = None
        self._indexed_arrays: dict[str, npt.NDArray[Any]] | None = None  # from the cache, unread
        self._token_cache: dict[str, tuple[tuple[int, ...], tuple[str, ...], float]] = {}
        self._person_symbols: dict[str, list[int]] | None = None
        self._forward: tuple[npt.NDArray[np.int64], IntArray] | None = None
        self._work = threading.local()  # `candidates_kernel.work_arrays`, one set per thread

    def __getstate__(self) -> dict[str, Any]:
        # Shipped to Dask workers: the per-thread work arrays cannot travel (nor need to), and the
        # rows' feature lists are made again on first use rather than sent (4 bytes a posting).
        state = self.__dict__.copy()
        state["_work"] = None
        state["_forward"] = None
        if self._indexed is not None:  # the compiled names travel as arrays, as in the cache file
            state["_indexed_arrays"], state["_indexed"] = self._indexed.to_arrays(), None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._work = threading.local()

    @property
    def indexed_names(self) -> IndexedNames:
        """Every entity's names compiled for `batch.score_entities`: read from the cache file
        when the index came from one (no entity unpickled), else compiled on first use."""
        if self._indexed is None:
            if self._indexed_arrays is not None:
                self._indexed = IndexedNames.from_arrays(self._indexed_arrays)
                self._indexed_arrays = None
            else:
                self._indexed = IndexedNames.build(self.entities, self.token_weight)
        return self._indexed

    def __len__(self) -> int:
        return len(self.entities)

    # -- building ---------------------------------------------------------------------------------

    @classmethod
    def build(cls, store: Store, *, as_of: date, lists: Sequence[str] | None = None) -> MatchIndex:
        """Read the entities live on `as_of` from the store and index them (no cache)."""
        entities = [
            EntityFeatures.from_record(
                live.entity_id,
                live.record,
                Listing(live.list_id, live.state, live.since, live.programs),
            )
            for live in live_entities(store, as_of=as_of, lists=lists)
        ]
        return cls.from_features(entities, as_of=as_of, lists=lists)

    @classmethod
    def from_features(
        cls, entities: Sequence[EntityFeatures], *, as_of: date, lists: Sequence[str] | None = None
    ) -> MatchIndex:
        """Index features made elsewhere (`build` makes them from the store)."""
        name_features: list[str] = []
        name_counts: list[int] = []  # features per name row
        name_entity: list[int] = []
        name_weight: list[float] = []
        for position, entity in enumerate(entities):
            seen: set[tuple[str, ...]] = set()
            for form in entity.names:
                for tokens, weight in _name_variants(form.tokens, entity.schema):
                    if tokens in seen:
                        continue
                    seen.add(tokens)
                    # sorted: feature ids break ties in rarity, so they must not follow string hashes
                    found = sorted(_name_features(tokens))
                    name_features.extend(found)
                    name_counts.append(len(found))
                    name_entity.append(position)
                    name_weight.append(weight)
        rows_entity = np.asarray(name_entity, dtype=np.int64)
        name_rows = np.repeat(np.arange(len(name_counts), dtype=np.int64), name_counts)
        names = _Postings.build(name_features, name_rows, rows_entity, _FAMILY_WEIGHT)
        key_sets = [sorted(_entity_keys(entity)) for entity in entities]
        key_rows = np.repeat(np.arange(len(entities), dtype=np.int64), [len(k) for k in key_sets])
        everyone = np.arange(len(entities), dtype=np.int64)
        keys = _Postings.build([k for ks in key_sets for k in ks], key_rows, everyone, {})
        squared = names.weights.astype(np.float64) ** 2
        feature_of = np.repeat(np.arange(len(names.vocab)), np.diff(names.offsets))
        norm = np.sqrt(np.bincount(names.targets, weights=squared[feature_of], minlength=len(name_entity)))
        return cls(
            as_of=as_of,
            lists=tuple(sorted(set(lists))) if lists is not None else None,
            entities=entities,
            names=names,
            keys=keys,
            name_entity=rows_entity.astype(np.int32),
            name_norm=np.maximum(norm, 1e-9).astype(np.float32),
            name_weight=np.asarray(name_weight, dtype=np.float32),
        )

    # -- querying ---------------------------------------------------------------------------------

    def token_weight(self, token: str) -> float:
        """The IDF of a `name_form` token among the live entities: ln((N+1)/(df+1)) + 1.

        A token no live entity has gets the highest weight (df = 0).
        """
        feature = self._names.ids.get("t:" + token)
        if feature is None:
            return self._max_weight
        return float(self._names.weights[feature]) / _FAMILY_WEIGHT["t"]

    def candidates(self, query: EntityFeatures, *, limit: int = 50) -> list[int]:
        """Positions into `entities` of the best candidates for `query`, best first."""
        return [position for position, _ in self.scored_candidates(query, limit=limit)]

    def scored_candidates(self, query: EntityFeatures, *, limit: int = 50) -> list[tuple[int, float]]:
        """`candidates` with each one's retrieval score: the best name cosine (0..1), plus 2 per
        shared identifier and 1 per shared ticker symbol."""
        return self.batch_candidates([query], limit=limit)[0]

    def batch_candidates(
        self, queries: Sequence[EntityFeatures], *, limit: int = 50
    ) -> list[list[tuple[int, float]]]:
        """`scored_candidates` of many queries, searched together in one compiled pass
        (`batch_positions`: the positions alone, as arrays)."""
        return [
            list(zip(found.tolist(), values.tolist(), strict=True))
            for found, values in self._search(queries, limit)
        ]

    def batch_positions(
        self, queries: Sequence[EntityFeatures], *, limit: int = 50
    ) -> list[npt.NDArray[np.int64]]:
        """The positions `batch_candidates` finds for each query, best first, as arrays: what the
        batch scorer takes, without a Python object per candidate on the way."""
        return [found for found, _ in self._search(queries, limit)]

    def _search(
        self, queries: Sequence[EntityFeatures], limit: int
    ) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]:
        """Each query's candidates (positions and retrieval scores, best first), searched together.

        Each query name (and its initials) is a probe: its features' ids, looked up once per
        token (`_token_ids`), go to `candidates_kernel.search`, which reads their postings rarest
        first up to `_PROBE_BUDGET` (at least `_PROBE_MIN_FEATURES` features), scores cosines
        (over all the probe's features when those left unread weigh more than `_COMPLETE_SHARE`)
        and ranks each query's entities."""
        nothing = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))
        if limit < 1:
            return [nothing for _ in queries]
        probe_ids: list[int] = []
        probe_off = [0]
        probe_query: list[int] = []
        probe_factor: list[float] = []
        probe_unknown: list[float] = []
        token_ids, cached = self._token_ids, self._token_cache.get
        for k, query in enumerate(queries):
            for form in query.names:
                for variant, weight in _name_variants(form.tokens, query.schema):
                    size = len(probe_ids)
                    # unknown features count at the highest weight: a query of mostly unknown
                    # words is a weak match for the one word it shares
                    unknown: tuple[str, ...] = ()
                    squares = 0.0
                    merged: set[str] | None = None
                    for token in variant:
                        known, missing, missing_squares = cached(token) or token_ids(token)
                        probe_ids += known
                        if not missing:
                            continue
                        if not unknown:
                            unknown, squares = missing, missing_squares
                        else:  # features shared by two tokens count once, as in a listed name
                            merged = (merged or set(unknown)) | set(missing)
                    if len(probe_ids) == size:  # no feature any listed name has
                        continue
                    probe_off.append(len(probe_ids))
                    probe_query.append(k)
                    probe_factor.append(weight)
                    probe_unknown.append(squares if merged is None else self._unknown_squares(merged))
        keys_of = [self._key_hits(query) for query in queries]
        found_entity, found_value = nothing
        bounds = [0] * (len(queries) + 1)
        if probe_query and len(self._name_norm):
            from listwatch.matching import candidates_kernel  # numba: imported when screening

            wanted_off = np.zeros(len(queries) + 1, dtype=np.int64)
            np.cumsum([len(keys) for keys in keys_of], out=wanted_off[1:])
            row_off, row_features = self._rows_forward()
            query_off, found_entity, found_value = candidates_kernel.search(
                np.asarray(probe_off, dtype=np.int64),
                np.asarray(probe_ids, dtype=np.int64),
                np.asarray(probe_query, dtype=np.int64),
                np.asarray(probe_factor, dtype=np.float64),
                np.asarray(probe_unknown, dtype=np.float64),
                self._names.offsets,
                self._names.targets,
                self._names.weights,
                row_off,
                row_features,
                self._name_norm,
                self._name_weight,
                self._name_entity,
                len(self.entities),
                len(queries),
                limit,
                _PROBE_BUDGET,
                _PROBE_MIN_FEATURES,
                _COMPLETE_SHARE,
                wanted_off,
                np.asarray([e for keys in keys_of for e in keys], dtype=np.int64),
                *self._work_arrays(),
            )
            bounds = query_off.tolist()
        out: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]] = []
        for k, query in enumerate(queries):
            entities = found_entity[bounds[k] : bounds[k + 1]]
            values = found_value[bounds[k] : bounds[k + 1]]
            poorly_transliterated = (
                [f for f in query.names if f.name_class == "PER" and f.script not in TRANSLITERATES_WELL]
                if query.schema in ("Person", "LegalEntity")
                else []
            )
            if not poorly_transliterated and not keys_of[k]:  # most queries: ranked by the search
                out.append((entities[:limit], values[:limit]))
                continue
            extra = dict(zip(entities.tolist(), values.tolist(), strict=True))
            for form in poorly_transliterated:
                self._add_person_symbol_hits(form, extra)
            for e, bonus in keys_of[k].items():
                extra[e] = extra.get(e, 0.0) + bonus
            ranked = sorted((e for e, v in extra.items() if v > 0), key=lambda e: (-extra[e], e))[:limit]
            out.append(
                (np.asarray(ranked, dtype=np.int64), np.asarray([extra[e] for e in ranked], dtype=np.float64))
            )
        return out

    def _token_ids(self, token: str) -> tuple[tuple[int, ...], tuple[str, ...], float]:
        """A query token's feature ids in this index, its features no listed name has, and their
        squared weight (`_unknown_squares`)."""
        found = self._token_cache.get(token)
        if found is None:
            if len(self._token_cache) >= _TOKEN_CACHE_SIZE:
                self._token_cache.clear()
            known: list[int] = []
            missing: list[str] = []
            get = self._names.ids.get
            for feature in _token_features(token):
                i = get(feature)
                if i is None:
                    missing.append(feature)
                else:
                    known.append(i)
            squares = self._unknown_squares(set(missing))
            found = self._token_cache[token] = (tuple(known), tuple(missing), squares)
        return found

    def _unknown_squares(self, unknown: set[str]) -> float:
        """The squared norm of features no listed name has, each at the highest weight; summed in
        sorted order, so that a probe's norm does not depend on string hashes."""
        return sum((_FAMILY_WEIGHT[f[0]] * self._max_weight) ** 2 for f in sorted(unknown))

    def _work_arrays(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        """This thread's zeroed scratch arrays for `candidates_kernel.search`, kept between calls."""
        work: tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.bool_]] | None
        work = getattr(self._work, "arrays", None)
        if work is None:
            from listwatch.matching import candidates_kernel

            sizes = (len(self._name_norm), len(self._names.vocab), len(self.entities))
            work = self._work.arrays = candidates_kernel.work_arrays(*sizes)
        return work

    def _rows_forward(self) -> tuple[npt.NDArray[np.int64], IntArray]:
        """Each name row's feature ids (`candidates_kernel.forward`), made on first use: 1.4 s of
        CPU and 4 bytes a posting (~110 MB) at a million entities, cheaper than a bigger cache
        file to read and ship."""
        if self._forward is None:
            from listwatch.matching import candidates_kernel

            self._forward = candidates_kernel.forward(
                self._names.offsets, self._names.targets, len(self._name_norm)
            )
        return self._forward

    def _add_person_symbol_hits(self, form: NameForm, found: dict[int, float]) -> None:
        """A person's name in a script that transliterates poorly (贝拉克·奥巴马, ماري تيريز) shares few
        letters with its Latin spelling, but rigour knows many given and family names across
        scripts (NAME:Q18643532 is Barack in any script). Entities whose names share such symbols
        score the fraction of the query's name parts that do (at most 1, like a cosine)."""
        query_symbols = [{s for s in symbols if s.startswith("NAME:")} for symbols in person_symbols(form)]
        parts = [symbols for symbols in query_symbols if symbols]
        if not parts:
            return
        postings = self._person_symbol_postings()
        counts: dict[int, int] = {}
        for symbols in parts:
            hit: set[int] = set()
            for symbol in symbols:
                hit.update(postings.get(symbol, ()))
            for e in hit:
                counts[e] = counts.get(e, 0) + 1
        total = len(form.tokens)
        for e, n in counts.items():
            value = _PERSON_SYMBOL_WEIGHT * n / max(total, 1)
            if value > found.get(e, 0.0):
                found[e] = value

    def _person_symbol_postings(self) -> dict[str, list[int]]:
        """NAME: symbol -> positions of the people carrying it; made on first use (it loads
        rigour's person-name tagger, ~10 s once, so only queries that need it pay for it)."""
        if self._person_symbols is None:
            postings: dict[str, set[int]] = {}
            for position, entity in enumerate(self.entities):
                if entity.schema not in ("Person", "LegalEntity"):
                    continue
                for form in entity.names:
                    if form.name_class != "PER":
                        continue
                    for symbols in person_symbols(form):
                        for symbol in symbols:
                            if symbol.startswith("NAME:"):
                                postings.setdefault(symbol, set()).add(position)
            self._person_symbols = {symbol: sorted(found) for symbol, found in postings.items()}
        return self._person_symbols

    def _key_hits(self, query: EntityFeatures) -> dict[int, float]:
        """Entities sharing an identifier (2 each) or a ticker symbol (1 each) with the query."""
        if not query.identifiers and not query.tickers:
            return {}
        keys = self._keys.lookup(_entity_keys(query))
        hits: dict[int, float] = {}
        for key in keys.tolist():
            bonus = _IDENTIFIER_BONUS if self._keys.vocab[key][0] == "i" else _TICKER_BONUS
            for e in self._keys.targets[self._keys.offsets[key] : self._keys.offsets[key + 1]].tolist():
                hits[e] = hits.get(e, 0.0) + bonus
        return hits

    # -- the disk cache ---------------------------------------------------------------------------

    @classmethod
    def load_or_build(
        cls,
        store: Store,
        *,
        as_of: date,
        lists: Sequence[str] | None = None,
        cache_dir: Path | None = None,
    ) -> MatchIndex:
        """The index for `as_of` from the cache when it is current, else built and cached.

        `from_cache` on the result says which. A missing, damaged or outdated file is built again;
        a cache folder that cannot be written only costs the saving.
        """
        folder = cache_dir if cache_dir is not None else default_cache_dir()
        key = _cache_key(store, as_of=as_of, lists=lists)
        path = folder / f"{key}.npz"
        if path.exists():
            try:
                index = cls._load(path, key=key, as_of=as_of)
            except _UNREADABLE:
                pass
            else:
                index.from_cache, index.cache_path = True, path
                return index
        index = cls.build(store, as_of=as_of, lists=lists)
        index.key = key
        with contextlib.suppress(OSError):
            index._save(path)
            index.cache_path = path
            _prune(folder, keep=_KEEP_CACHE_FILES)
        return index

    def _save(self, path: Path) -> None:
        """Write atomically: a temporary file in the same folder, then a rename over `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"format": INDEX_FORMAT, "key": self.key, "lists": self.lists, "fields": _FIELDS}
        if isinstance(self.entities, _LazyEntities):
            data, offsets = self.entities.data, self.entities.offsets
        else:
            data, offsets = _entity_bytes(self.entities)
        blob = pickle.dumps((self._names.vocab, self._keys.vocab), protocol=pickle.HIGHEST_PROTOCOL)
        arrays = {
            "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            "blob": np.frombuffer(blob, dtype=np.uint8),
            "entity_bytes": data,
            "entity_offsets": offsets,
            "name_offsets": self._names.offsets,
            "name_targets": self._names.targets,
            "name_weights": self._names.weights,
            "key_offsets": self._keys.offsets,
            "key_targets": self._keys.targets,
            "key_weights": self._keys.weights,
            "name_entity": self._name_entity,
            "name_norm": self._name_norm,
            "name_weight": self._name_weight,
        }
        # the scorer's compiled names: a worker that loads the file need not unpickle every entity
        # to compile them (at 1,000,000 entities, 75 s and gigabytes per worker)
        arrays.update({f"compiled_{k}": v for k, v in self.indexed_names.to_arrays().items()})
        handle, temp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                # Numeric arrays only, so numpy pickles nothing. (The stub types **kwds against
                # savez's own `allow_pickle: bool`, hence the ignore.)
                np.savez(out, **arrays)  # type: ignore[arg-type]
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    @classmethod
    def _load(cls, path: Path, *, key: str, as_of: date) -> MatchIndex:
        # Reading a whole member checks its CRC-32, so a damaged file fails here, before unpickling.
        data = path.read_bytes()
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        meta = json.loads(arrays["meta"].tobytes())
        if meta["format"] != INDEX_FORMAT or meta["key"] != key or meta["fields"] != _FIELDS:
            raise ValueError(f"{path} is an index of another format, key or feature layout")
        name_vocab, key_vocab = pickle.loads(arrays["blob"].tobytes())
        entities = _LazyEntities(arrays["entity_bytes"], arrays["entity_offsets"])
        if len(entities):
            entities[0]  # a row that no longer fits the classes fails here, not later
        index = cls(
            as_of=as_of,
            lists=tuple(meta["lists"]) if meta["lists"] is not None else None,
            entities=entities,
            names=_Postings(
                name_vocab, arrays["name_offsets"], arrays["name_targets"], arrays["name_weights"]
            ),
            keys=_Postings(key_vocab, arrays["key_offsets"], arrays["key_targets"], arrays["key_weights"]),
            name_entity=arrays["name_entity"],
            name_norm=arrays["name_norm"],
            name_weight=arrays["name_weight"],
            key=key,
        )
        index._indexed_arrays = {
            k.removeprefix("compiled_"): v for k, v in arrays.items() if k.startswith("compiled_")
        }
        if len(index._indexed_arrays.get("entity_forms", ())) != len(entities) + 1:
            raise ValueError(f"{path} has no compiled names for its entities")
        lengths = {len(index._name_entity), len(index._name_norm), len(index._name_weight)}
        if len(lengths) != 1 or len(name_vocab) + 1 != len(index._names.offsets):
            raise ValueError(f"{path} is inconsistent")
        return index


class _LazyEntities(Sequence[EntityFeatures]):
    """Entity features kept as one pickled row each and made on first access.

    A query touches a few dozen entities: unpickling all ~10k of them (~30 objects each) would
    be most of a load's time and memory.
    """

    def __init__(self, data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64]) -> None:
        self.data = data
        self.offsets = offsets
        self._made: list[EntityFeatures | None] = [None] * (len(offsets) - 1)

    def __len__(self) -> int:
        return len(self._made)

    @overload
    def __getitem__(self, index: int) -> EntityFeatures: ...
    @overload
    def __getitem__(self, index: slice) -> list[EntityFeatures]: ...
    def __getitem__(self, index: int | slice) -> EntityFeatures | list[EntityFeatures]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        made = self._made[index]
        if made is None:
            position = range(len(self._made))[index]  # negative indexes, and IndexError
            row = pickle.loads(self.data[self.offsets[position] : self.offsets[position + 1]].tobytes())
            made = self._made[index] = _entity_from_row(row)
        return made


# Features are cached as plain tuples, which unpickle several times faster than dataclasses.
_FIELDS = {cls.__name__: [f.name for f in fields(cls)] for cls in (EntityFeatures, NameForm, Listing)}


def _entity_bytes(entities: Sequence[EntityFeatures]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Each entity's row pickled on its own, concatenated, with the offsets of each."""
    pieces = [pickle.dumps(_entity_row(entity), protocol=pickle.HIGHEST_PROTOCOL) for entity in entities]
    offsets = np.zeros(len(pieces) + 1, dtype=np.int64)
    np.cumsum([len(piece) for piece in pieces], out=offsets[1:])
    return np.frombuffer(b"".join(pieces), dtype=np.uint8), offsets


def _entity_row(entity: EntityFeatures) -> tuple[Any, ...]:
    values = {name: _shared(getattr(entity, name)) for name in _FIELDS["EntityFeatures"]}
    values["names"] = tuple(
        tuple(_shared(getattr(form, f)) for f in _FIELDS["NameForm"]) for form in entity.names
    )
    if entity.listing is not None:
        values["listing"] = tuple(_shared(getattr(entity.listing, f)) for f in _FIELDS["Listing"])
    return tuple(values.values())


def _shared(value: Any) -> Any:
    """Interned strings: a token shared by several aliases of an entity is pickled once."""
    if isinstance(value, str):
        return sys.intern(value)
    if isinstance(value, tuple) and all(isinstance(item, str) for item in value):
        return tuple(sys.intern(item) for item in value)
    return value


def _entity_from_row(row: tuple[Any, ...]) -> EntityFeatures:
    values = list(row)
    names, listing = _FIELDS["EntityFeatures"].index("names"), _FIELDS["EntityFeatures"].index("listing")
    values[names] = tuple(_made(NameForm, form) for form in values[names])
    if values[listing] is not None:
        values[listing] = _made(Listing, values[listing])
    return _made(EntityFeatures, values)


def _made(cls: type[_T], values: Sequence[Any]) -> _T:
    """A frozen dataclass from its field values, as unpickling makes it: no __init__ involved."""
    obj = object.__new__(cls)
    for name, value in zip(_FIELDS[cls.__name__], values, strict=True):
        object.__setattr__(obj, name, value)
    return obj


def _cache_key(store: Store, *, as_of: date, lists: Sequence[str] | None) -> str:
    """What the index depends on: the live set's inputs, the lists, the format and the code.

    Two days with no event of the lists between them share a key (and a file): the live set, the
    versions in force and the listing states are the same, only `as_of` differs, and that is set
    on load. The matching code counts by the digest of its source files and the versions of the
    libraries `name_form` uses, so a better normaliser never reads features an older one made.
    """
    digest = hashlib.sha256()
    digest.update(f"listwatch-index-{INDEX_FORMAT}\0".encode())
    digest.update(live_set_key(store, as_of=as_of, lists=lists).encode())  # the lists included
    digest.update(_code_digest().encode())
    return digest.hexdigest()[:40]


@cache
def _code_digest() -> str:
    digest = hashlib.sha256()
    for file in _CODE:
        digest.update(file.name.encode() + b"\0")
        with contextlib.suppress(OSError):
            digest.update(file.read_bytes())
    for name in _DEPENDENCIES:
        try:
            digest.update(f"{name}={metadata.version(name)}\0".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=?\0".encode())
    return digest.hexdigest()


def _prune(folder: Path, *, keep: int) -> None:
    """Keep the newest `keep` index files; old days and old store states are rarely asked again."""
    files = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[keep:]:
        with contextlib.suppress(OSError):
            old.unlink()
