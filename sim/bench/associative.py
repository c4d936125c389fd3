"""Associative memories of the Hopfield family in numpy, for the recall comparison (issue 6).

Patterns are rows of 0/1 bits (``uint8``); the models work on bipolar +-1 vectors internally. A
query is a stored pattern with some bits flipped, or with some bits unknown (``mask`` 0 where a
bit is unknown). Each model returns the pattern it retrieves:

* :class:`ClassicalHopfield`: Hebbian weights ``W = X^T X / n`` with a zero diagonal, asynchronous
  sign updates in random order until a fixed point (J. J. Hopfield, PNAS 79, 1982); unknown bits
  start at 0. Its capacity is about 0.14 patterns per neuron (Amit, Gutfreund and Sompolinsky,
  Phys. Rev. Lett. 55, 1985).
* :class:`SparseDistributedMemory`: Kanerva's SDM (P. Kanerva, *Sparse Distributed Memory*, MIT
  Press 1988): random hard locations, a pattern written into the counters of every location
  within the activation radius of its address (autoassociative: address = data), read as the sign
  of the summed counters, iterated.
* :class:`ModernHopfield`: the continuous modern Hopfield network / dense associative memory,
  ``xi <- X^T softmax(beta X xi)`` (Ramsauer et al., "Hopfield Networks is All You Need", ICLR
  2021), a few steps, for several ``beta``.
* :func:`nearest`: exact nearest stored pattern in Hamming distance over the known bits, ties to
  the lowest index, the top ``k`` in order: what memgen's RECALL command answers.
"""

import numpy as np

__all__ = ["ClassicalHopfield", "ModernHopfield", "SparseDistributedMemory", "nearest"]


def _bipolar(bits):
    return bits.astype(np.int32) * 2 - 1


def _bits(bipolar):
    return (bipolar > 0).astype(np.uint8)


def nearest(patterns, query, k=1, mask=None):
    """The ``k`` stored patterns nearest ``query`` in Hamming distance over the bits where
    ``mask`` is 1 (all bits without a mask): a list of (index, distance), by distance, then index.
    Fewer than ``k`` when fewer are stored."""
    differing = patterns != query
    if mask is not None:
        differing &= mask.astype(bool)
    distances = differing.sum(axis=1)
    order = np.lexsort((np.arange(len(patterns)), distances))[:k]
    return [(int(i), int(distances[i])) for i in order]


class ClassicalHopfield:
    def __init__(self, patterns, rng=None):
        x = _bipolar(patterns).astype(np.float64)
        self.n = x.shape[1]
        self.weights = x.T @ x / self.n
        np.fill_diagonal(self.weights, 0)
        self.rng = rng or np.random.default_rng(0)

    def recall(self, query, mask=None, sweeps=20):
        state = _bipolar(query).astype(np.float64)
        if mask is not None:
            state[mask == 0] = 0
        for _ in range(sweeps):
            changed = False
            for i in self.rng.permutation(self.n):
                field = self.weights[i] @ state
                new = 1.0 if field > 0 else -1.0 if field < 0 else state[i] or 1.0
                if new != state[i]:
                    state[i], changed = new, True
            if not changed:
                break
        return _bits(state)


class SparseDistributedMemory:
    """``locations`` hard locations; radius chosen so about ``activation`` of them respond."""

    def __init__(self, patterns, locations=2000, activation=0.02, rng=None):
        rng = rng or np.random.default_rng(0)
        n = patterns.shape[1]
        self.addresses = rng.integers(0, 2, (locations, n), dtype=np.uint8)
        # Hamming distance of a random address to a random point is Binomial(n, 1/2).
        distances = np.sort(rng.binomial(n, 0.5, 100_000))
        self.radius = int(distances[int(activation * len(distances))])
        self.counters = np.zeros((locations, n), dtype=np.int32)
        for pattern in patterns:
            self.counters[self._active(pattern)] += _bipolar(pattern)

    def _active(self, address):
        return (self.addresses != address).sum(axis=1) <= self.radius

    def recall(self, query, mask=None, iterations=5):
        address = query.copy()
        if mask is not None:  # unknown bits: a coin toss (the SDM has no 'unknown')
            unknown = mask == 0
            address[unknown] = np.random.default_rng(1).integers(0, 2, unknown.sum())
        for _ in range(iterations):
            active = self._active(address)
            if not active.any():
                break
            following = _bits(self.counters[active].sum(axis=0))
            if np.array_equal(following, address):
                break
            address = following
        return address


class ModernHopfield:
    def __init__(self, patterns, beta):
        self.x = _bipolar(patterns).astype(np.float64)
        self.beta = beta

    def recall(self, query, mask=None, steps=3):
        state = _bipolar(query).astype(np.float64)
        if mask is not None:
            state[mask == 0] = 0
        for _ in range(steps):
            scores = self.beta * (self.x @ state)
            weights = np.exp(scores - scores.max())
            state = self.x.T @ (weights / weights.sum())
        return _bits(np.where(state == 0, 1, state))
