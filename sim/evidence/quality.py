"""Tests that look for what an engine's structure could leak, sized for ``make test`` (seconds)
and for ``make stats`` (larger): written here, in numpy, because a user's clone has no batteries.

Recurrence test
    Each engine has a linear part: the LFSR is linear; Trivium without its three AND terms is.
    Berlekamp-Massey finds the shortest linear recurrence that part's output obeys; the real
    output at the lags of that recurrence is XORed, per bit of the word, and every bit of the
    XOR must be a fair coin. An engine whose output stage only lightly hides its linear part
    (the retired LFSR-plus-scrambler) shows a bias there long before the general batteries do.

First-sample test
    For many consecutive seeds, the first 16 samples of each: at every position the samples of
    all the seeds must be uniform (chi-square per position, then a Kolmogorov-Smirnov test of the
    16 p-values). Raw seeding fails it at once: nearby seeds start in nearby states.

Top-bits test
    The index stream at ``N = 4096`` is the words' top 12 bits: the recurrence test on the indices
    a user reads, at the lags where the LFSR engine's recurrence lies.
"""

import functools
import subprocess

import numpy as np
from memgen.hdl.engine.index_generator import STATE_WIDTH, WORD_WIDTH
from memgen.hdl.engine.lfsr import LFSRModel
from memgen.hdl.engine.trivium import integer_steps, loaded_registers
from scipy import stats

from .fast_generator import first_words, reduce_words, stream_command

__all__ = [
    "berlekamp_massey",
    "first_sample_test",
    "recurrence_lags",
    "recurrence_test",
    "top_bits_test",
]


def berlekamp_massey(bits):
    """The shortest linear recurrence of a bit sequence over GF(2): its connection polynomial
    as a list of coefficients ``c[0..L]`` (``c[0] = 1``), so that
    ``XOR(c[j] & bits[i - j] for j in 0..L) == 0`` for every ``i >= L``."""
    n = len(bits)
    c, b = [0] * (n + 1), [0] * (n + 1)
    c[0] = b[0] = 1
    length, m = 0, -1
    for i in range(n):
        discrepancy = bits[i]
        for j in range(1, length + 1):
            discrepancy ^= c[j] & bits[i - j]
        if discrepancy:
            t = c[:]
            for j in range(n - i + m + 1):
                if i - m + j <= n:
                    c[i - m + j] ^= b[j]
            if 2 * length <= i:
                length, m, b = i + 1 - length, i, t
    return c[: length + 1]


def _linear_trivium_bits(count):
    """Keystream bits of Trivium without its AND terms, from a loaded key and IV."""
    registers = loaded_registers(0x1234_5678_9ABC_DEF1, 5)
    bits = []
    for _ in range(count):
        registers, z = integer_steps(registers, 1, nonlinear=False)
        bits.append(z)
    return bits


@functools.cache
def recurrence_lags(engine):
    """Lags, in bits of the output stream, of the recurrence the engine's linear part obeys.

    The LFSR engines give one word per state: their recurrence is found on one state bit over
    clocks, and a lag of one clock is one word (``WORD_WIDTH`` bits). Trivium gives one bit per
    step."""
    if engine == "trivium":
        polynomial, scale = berlekamp_massey(_linear_trivium_bits(2000)), 1
    else:
        model = LFSRModel(STATE_WIDTH, steps=STATE_WIDTH, seed=0x1234_5678_9ABC_DEF1)
        polynomial = berlekamp_massey([model.next() & 1 for _ in range(400)])
        scale = WORD_WIDTH
    degree = len(polynomial) - 1  # c[j] weighs the bit j before: the lag from the first is L - j
    return tuple(sorted(scale * (degree - j) for j, c in enumerate(polynomial) if c))


class LaggedParity:
    """Counts, per position ``t mod period`` of a bit stream, the ones of
    ``XOR(bits[t + lag] for lag in lags)``; fed in pieces (each a multiple of ``period`` bits)."""

    def __init__(self, lags, period):
        self.lags, self.period = tuple(lags), period
        self.span = max(self.lags)
        self.tail = np.zeros(0, dtype=np.uint8)
        self.ones = np.zeros(period, dtype=np.int64)
        self.count = 0  # XORs counted per position

    def feed(self, bits):
        if len(bits) % self.period:
            raise ValueError(f"feed whole periods of {self.period} bits")
        bits = np.concatenate([self.tail, bits])
        # positions whose lags all fall inside what has been fed, a whole number of periods
        usable = max(0, (len(bits) - self.span) // self.period * self.period)
        combined = np.zeros(usable, dtype=np.uint8)
        for lag in self.lags:
            combined ^= bits[lag : lag + usable]
        self.ones += combined.reshape(-1, self.period).sum(axis=0, dtype=np.int64)
        self.count += usable // self.period
        self.tail = bits[usable:]

    def result(self):
        n = self.count
        z = (self.ones - n / 2) / np.sqrt(n / 4)
        return {
            "lags": list(self.lags),
            "samples": int(n),
            "max_abs_z": float(np.abs(z).max()),
            "pvalue": float(stats.chi2.sf(float((z**2).sum()), self.period)),
        }


def _word_bits(words):
    return np.unpackbits(np.asarray(words, dtype="<u4").view(np.uint8), bitorder="little")


def recurrence_test(engine, words, lags=None):
    """The XOR of the output bits at the recurrence's lags: per bit position of the word, the
    z-score of its ones, and the chi-square p-value of the ``WORD_WIDTH`` z-scores."""
    parity = LaggedParity(recurrence_lags(engine) if lags is None else lags, WORD_WIDTH)
    parity.feed(_word_bits(words))
    return parity.result()


def recurrence_run(generator, seed, total, piece=1 << 22):
    """:func:`recurrence_test` on ``total`` words of a seed's stream, read from the stream
    program a piece at a time (10**8 words would not fit in memory as bits)."""
    engine = "trivium" if generator == "trivium" else "lfsr"
    parity = LaggedParity(recurrence_lags(engine), WORD_WIDTH)
    with subprocess.Popen(
        stream_command(generator, (seed,), 4 * total), stdout=subprocess.PIPE
    ) as feed:
        while data := feed.stdout.read(4 * piece):
            parity.feed(_word_bits(np.frombuffer(data, dtype="<u4")))
    return {"generator": generator, "seed": seed, **parity.result()}


def first_sample_test(generator, seeds, positions=16, count=1000, bins=20):
    """Indices ``0..positions-1`` of each seed's stream (``count`` records), binned into
    ``bins`` equal bins: a chi-square p-value per position across the seeds, and the KS p-value
    of those p-values against uniform."""
    if count % bins:
        raise ValueError(f"{bins} bins do not split {count} records evenly")
    words = first_words(seeds, positions + 8, generator)
    indices, accepted = reduce_words(words, count, count)
    rank = np.cumsum(accepted, axis=0) - 1  # which sample each accepted word gives
    if (rank[-1] < positions - 1).any():
        raise AssertionError("a seed rejected more than 8 of its first words")
    pvalues = []
    for position in range(positions):
        taken = indices[(rank == position) & accepted]
        histogram = np.bincount(
            (taken * np.uint64(bins) // np.uint64(count)).astype(np.int64), minlength=bins
        )
        pvalues.append(float(stats.chisquare(histogram, np.full(bins, len(seeds) / bins)).pvalue))
    return {
        "seeds": [seeds.start, seeds.stop - 1],
        "pvalues": pvalues,
        "min_pvalue": min(pvalues),
        "ks_pvalue": float(stats.kstest(pvalues, "uniform").pvalue),
    }


def top_bits_test(generator, seed, amount, count=4096, piece=3 << 20):
    """The index stream at ``count = 4096`` records (the words' top 12 bits) XORed at the lags of
    the LFSR engine's recurrence, counted in indices: the recurrence test on what a user reads.
    Per index bit the z-score of its ones, and the chi-square p-value over the bits.

    Read from the stream program, whose index stream for a power-of-two ``count`` is each
    index's bits, first bit lowest (``amount`` even, so that it fills whole bytes)."""
    width = (count - 1).bit_length()
    if count != 1 << width or (amount * width) % 8:
        raise ValueError(f"count must be a power of two and {amount} indices fill whole bytes")
    lags = [lag // WORD_WIDTH * width for lag in recurrence_lags("lfsr")]
    parity = LaggedParity(lags, width)
    command = stream_command(generator, (seed,), amount * width // 8, count)
    with subprocess.Popen(command, stdout=subprocess.PIPE) as feed:
        while data := feed.stdout.read(piece):  # a multiple of 3 bytes: whole 12-bit indices
            parity.feed(np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little"))
    return {"generator": generator, "seed": seed, "count": count, **parity.result()}
