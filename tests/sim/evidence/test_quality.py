"""Generator quality: the default passes binary-rank, linear-complexity, recurrence,
first-sample and top-bits tests; the plain LFSR fails them, and so does the retired default (the
LFSR behind the xoshiro128++ scrambler, raw seeds), kept in the stream program for this purpose.

Rank and linear complexity run on the model; the guards on the compiled streams, which
tests/sim/evidence/test_stats.py shows to be the model's bit for bit. Sizes: seconds each.
"""

import pytest
from memgen.hdl.engine.index_generator import IndexGeneratorModel
from memgen.sim.evidence.fast_generator import engine_words
from memgen.sim.evidence.quality import (
    berlekamp_massey,
    first_sample_test,
    recurrence_lags,
    recurrence_test,
    top_bits_test,
)
from scipy import stats

#: A guard fails below this p-value (each is a deterministic run: a fixed seed and size).
GUARD_P = 1e-6


def words(generator, count, seed=2024):
    model = IndexGeneratorModel(1000, generator=generator, seed=seed)
    return [model.next_word() for _ in range(count)]


def gf2_rank(rows):
    rank, rows = 0, list(rows)
    while rows:
        pivot = rows.pop()
        if pivot:
            rank += 1
            low = pivot & -pivot
            rows = [row ^ pivot if row & low else row for row in rows]
    return rank


def linear_complexity(bits):
    return len(berlekamp_massey(bits)) - 1


def rank_32x32_pvalue(stream):
    """Marsaglia's 32x32 binary-rank test: ranks 32, 31, 30, <=29 against their probabilities."""
    expected = [0.2887880951, 0.5775761902, 0.1283502644, 0.0052854503]
    counts = [0, 0, 0, 0]
    for start in range(0, len(stream) - 31, 32):
        rank = gf2_rank(stream[start : start + 32])
        counts[min(32 - rank, 3)] += 1
    total = sum(counts)
    return stats.chisquare(counts, [p * total for p in expected]).pvalue


def wide_rank(stream, words_per_row=4):
    """Rank of a 128x128 matrix whose rows are 4 consecutive 32-bit words."""
    rows = []
    for r in range(128):
        chunk = stream[r * words_per_row : (r + 1) * words_per_row]
        rows.append(sum(word << (32 * k) for k, word in enumerate(chunk)))
    return gf2_rank(rows)


@pytest.fixture(scope="module")
def streams():
    return {name: words(name, 32 * 600) for name in ("trivium", "lfsr")}


def test_rank_32x32(streams):
    assert rank_32x32_pvalue(streams["trivium"]) > 1e-3


def test_rank_128x128(streams):
    assert wide_rank(streams["trivium"]) >= 120  # a random matrix: P(rank < 120) < 1e-30
    assert wide_rank(streams["lfsr"]) <= 64  # every row is linear in the 64-bit state


@pytest.mark.parametrize("bit", [0, 7, 25, 31])
def test_linear_complexity(streams, bit):
    n = 1000
    default = [(w >> bit) & 1 for w in streams["trivium"][:n]]
    plain = [(w >> bit) & 1 for w in streams["lfsr"][:n]]
    # a random sequence has linear complexity n/2 +- a few
    assert abs(linear_complexity(default) - n / 2) <= 10
    assert linear_complexity(plain) <= 64


def test_berlekamp_massey_known_answers():
    assert linear_complexity([0] * 20) == 0
    assert berlekamp_massey([1] * 20) == [1, 1]  # s[i] = s[i - 1]
    assert linear_complexity([0] * 9 + [1]) == 10
    fibonacci = [1, 1]  # s[i] = s[i - 1] ^ s[i - 2] mod 2
    for _ in range(30):
        fibonacci.append(fibonacci[-1] ^ fibonacci[-2])
    assert berlekamp_massey(fibonacci) == [1, 1, 1]


def test_recurrence_lags_are_the_engines_polynomials():
    """The LFSR's is its characteristic polynomial x**64 + x**11 + x**2 + x + 1 (the 64-step leap
    keeps it), one clock a word; Trivium's linear part is one recurrence of degree at most 288."""
    assert recurrence_lags("lfsr") == (0, 32, 64, 352, 2048)
    lags = recurrence_lags("trivium")
    assert lags[0] == 0 and max(lags) <= 288 and len(lags) > 20


@pytest.mark.parametrize(
    "generator, passes", [("trivium", True), ("scrambled", False), ("lfsr", False)]
)
def test_recurrence_guard(generator, passes):
    """The output XORed at the lags of the engine's linear recurrence, 10**6 words of seed 1:
    no bias for Trivium; the retired scrambler leaves z of about 60 on bit 0."""
    engine = "trivium" if generator == "trivium" else "lfsr"
    result = recurrence_test(engine, engine_words(1, 1_000_000, generator))
    assert (result["pvalue"] > GUARD_P) == passes, result


@pytest.mark.parametrize(
    "generator, passes", [("trivium", True), ("scrambled", False), ("lfsr", False)]
)
def test_first_sample_guard(generator, passes):
    """The first 16 samples (N = 1000) of seeds 0 to 1999: uniform across the seeds at every
    position. Raw seeds start small and so sample record 0 first."""
    result = first_sample_test(generator, range(0, 2000))
    verdict = min(result["min_pvalue"] * 16, result["ks_pvalue"]) > GUARD_P
    assert verdict == passes, result


@pytest.mark.parametrize(
    "generator, passes", [("trivium", True), ("scrambled", False), ("lfsr", False)]
)
def test_top_bits_guard(generator, passes):
    """10**6 indices at N = 4096 (the words' top 12 bits): the retired scrambler's bias reaches
    them (z of about 10 per bit)."""
    result = top_bits_test(generator, 1, 1_000_000)
    assert (result["pvalue"] > GUARD_P) == passes, result
