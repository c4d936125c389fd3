"""Generator quality: the default passes binary-rank and linear-complexity tests, plain LFSR fails.

Run on the model, which the gateware tests show to be bit-exact.
"""

import pytest
from memgen.hdl.index_generator import IndexGeneratorModel
from scipy import stats


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


def berlekamp_massey(bits):
    """Linear complexity of a bit sequence over GF(2)."""
    n = len(bits)
    c, b = [0] * n, [0] * n
    c[0] = b[0] = 1
    length, m = 0, -1
    for i in range(n):
        discrepancy = bits[i]
        for j in range(1, length + 1):
            discrepancy ^= c[j] & bits[i - j]
        if discrepancy:
            t = c[:]
            for j in range(n - i + m):
                c[i - m + j] ^= b[j]
            if 2 * length <= i:
                length, m, b = i + 1 - length, i, t
    return length


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
    return {name: words(name, 32 * 600) for name in ("scrambled", "lfsr")}


def test_rank_32x32(streams):
    assert rank_32x32_pvalue(streams["scrambled"]) > 1e-3


def test_rank_128x128(streams):
    assert wide_rank(streams["scrambled"]) >= 120  # a random matrix: P(rank < 120) < 1e-30
    assert wide_rank(streams["lfsr"]) <= 64  # every row is linear in the 64-bit state


@pytest.mark.parametrize("bit", [0, 7, 25, 31])
def test_linear_complexity(streams, bit):
    n = 1000
    scrambled = [(w >> bit) & 1 for w in streams["scrambled"][:n]]
    plain = [(w >> bit) & 1 for w in streams["lfsr"][:n]]
    # a random sequence has linear complexity n/2 +- a few
    assert abs(berlekamp_massey(scrambled) - n / 2) <= 10
    assert berlekamp_massey(plain) <= 64


def test_berlekamp_massey_known_answers():
    assert berlekamp_massey([0] * 20) == 0
    assert berlekamp_massey([1] * 20) == 1
    assert berlekamp_massey([0] * 9 + [1]) == 10
