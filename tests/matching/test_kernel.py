"""The compiled edit similarity is align.edit_sim's, to the bit, on real list tokens."""

from __future__ import annotations

import random
from datetime import date

import numpy as np
import pytest
from rapidfuzz.distance import OSA

from listwatch.matching import kernel
from listwatch.matching.align import edit_sim
from listwatch.matching.batch import _LIMITS, Vocabulary
from listwatch.matching.index import MatchIndex
from listwatch.registry.snapshots import ingest
from listwatch.store import open_store
from tests.conftest import CONS_2025_04, SDN_2021


@pytest.fixture(scope="module")
def vocab(tmp_path_factory: pytest.TempPathFactory) -> Vocabulary:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('kernel') / 'listwatch.db'}")
    ingest(store, [SDN_2021])
    ingest(store, [CONS_2025_04])
    index = MatchIndex.build(store, as_of=date(2025, 6, 1))
    store.close()
    return index.indexed_names.vocab


def _sims(vocab: Vocabulary, pairs: np.ndarray) -> np.ndarray:
    chars, starts, sigs = vocab.codepoints()
    buf = np.zeros((3, len(_LIMITS) + 1), dtype=np.int64)
    masks = np.zeros(128, dtype=np.uint64)
    sims = [
        kernel.edit_sim(chars, starts, sigs, int(a), int(b), _LIMITS, buf, masks) for a, b in pairs.tolist()
    ]
    assert not masks.any()  # handed back zeroed, call after call
    return np.asarray(sims)


def _damaged(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randrange(1, 4)):
        if not chars:
            break
        i = rng.randrange(len(chars))
        kind = rng.randrange(4)
        if kind == 0 and i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif kind == 1:
            del chars[i]
        elif kind == 2:
            chars[i] = rng.choice("aeiouxyzлм")
        else:
            chars.insert(i, rng.choice(chars))
    return "".join(chars)


def test_edit_sim_is_bitwise_align_edit_sim_on_real_tokens(vocab: Vocabulary) -> None:
    rng = random.Random(3)
    strings = list(vocab.strings)
    with vocab.batch():
        pairs = []
        for _ in range(20000):
            a = rng.randrange(len(strings))
            pairs.append((a, vocab.string(_damaged(strings[a], rng))))  # typos, within the budget or not
            pairs.append((a, rng.randrange(len(strings))))  # unrelated
        got = _sims(vocab, np.asarray(pairs, dtype=np.int64))
        want = np.asarray([edit_sim(vocab.strings[a], vocab.strings[b]) for a, b in pairs])
    assert (got.view(np.int64) == want.view(np.int64)).all()
    assert (want > 0.0).sum() > 5000  # many similar pairs, not only zeros
    assert ((want > 0.0) & (want < 1.0)).sum() > 5000


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("ab", "ba"),  # one transposition
        ("abcdef", "badcfe"),
        ("ca", "abc"),  # OSA, not Damerau: 3
        ("", "abc"),
        ("x" * 70, "x" * 69 + "y"),  # past 64 characters: the plain table
        ("a" * 63 + "bc", "a" * 63 + "cb"),
        ("zelenskyy", "zelensky"),
        ("мухаммад", "мухамад"),
        ("𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢𝔰"),  # beyond the Basic Multilingual Plane
        ("müller", "muller"),  # ASCII code points take their masks from the table, others do not
        ("straße", "strasse"),
        ("abcм", "мabc"),
        ("aмaмa", "мaмaм"),
        ("\x7fz\x00", "z\x7f\x80"),  # the table's edges, and the first code point past it
    ],
)
def test_osa_distance_is_rapidfuzz(left: str, right: str) -> None:
    vocab = Vocabulary()
    a, b = vocab.string(left), vocab.string(right)
    chars, starts, _ = vocab.codepoints()
    buf = np.zeros((3, 400), dtype=np.int64)
    la, lb = len(left), len(right)
    expected = OSA.distance(left, right)
    assert kernel._osa(chars, starts[a], la, starts[b], lb, 1000, buf) == expected
    if 0 < la <= 64 and lb > 0:
        masks = np.zeros(128, dtype=np.uint64)
        assert kernel._osa_bits(chars, starts[a], la, starts[b], lb, masks) == expected
        assert not masks.any()


def test_codepoints_of_a_batch_follow_the_permanent_strings() -> None:
    vocab = Vocabulary()
    vocab.string("bank")
    vocab.string("sepah")
    with vocab.batch():
        vocab.string("kish")
        chars, starts, sigs = vocab.codepoints()
        assert "".join(chr(c) for c in chars[starts[2] : starts[3]]) == "kish"
        assert len(sigs) == 3
    chars, starts, _ = vocab.codepoints()
    assert len(starts) == 3
    assert "".join(chr(c) for c in chars[starts[1] : starts[2]]) == "sepah"
