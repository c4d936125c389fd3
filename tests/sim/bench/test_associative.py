"""The associative memories of the recall comparison: exact nearest neighbour (memgen's answer)
against a brute-force count, and the Hopfield family where the literature puts its limits."""

import numpy as np
import pytest
from memgen.sim.bench.associative import (
    ClassicalHopfield,
    ModernHopfield,
    SparseDistributedMemory,
    nearest,
)


def test_nearest_ties_mask_and_k():
    patterns = np.array([[0, 0, 0, 0], [1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0]], dtype=np.uint8)
    query = np.array([1, 1, 1, 1], dtype=np.uint8)
    assert nearest(patterns, query) == [(1, 2)]
    assert nearest(patterns, query, k=3) == [(1, 2), (2, 3), (3, 3)]  # ties: lowest index
    assert nearest(patterns, query, k=9) == [(1, 2), (2, 3), (3, 3), (0, 4)]  # k > N
    mask = np.array([0, 0, 1, 1], dtype=np.uint8)  # only the bits where all agree: all tie
    assert nearest(patterns, query, k=4, mask=mask) == [(0, 2), (1, 2), (2, 2), (3, 2)]


def test_nearest_is_brute_force():
    rng = np.random.default_rng(1)
    patterns = rng.integers(0, 2, (300, 64), dtype=np.uint8)
    for _ in range(50):
        query = rng.integers(0, 2, 64, dtype=np.uint8)
        mask = rng.integers(0, 2, 64, dtype=np.uint8)
        counted = sorted(
            (sum(int(p[j] != query[j]) for j in range(64) if mask[j]), i)
            for i, p in enumerate(patterns)
        )
        assert nearest(patterns, query, 8, mask) == [(i, d) for d, i in counted[:8]]


def _accuracy(model, patterns, flips, rng, trials=30):
    hits = 0
    for _ in range(trials):
        target = rng.integers(len(patterns))
        query = patterns[target].copy()
        query[rng.random(patterns.shape[1]) < flips] ^= 1
        hits += np.array_equal(model.recall(query), patterns[target])
    return hits / trials


@pytest.mark.parametrize(("load", "low", "high"), [(0.05, 0.9, 1.0), (0.4, 0.0, 0.1)])
def test_classical_hopfield_breaks_down_above_its_capacity(load, low, high):
    rng = np.random.default_rng(2)
    patterns = rng.integers(0, 2, (int(load * 100), 100), dtype=np.uint8)
    assert low <= _accuracy(ClassicalHopfield(patterns), patterns, 0.1, rng) <= high


def test_modern_hopfield_and_sdm_store_more():
    rng = np.random.default_rng(3)
    patterns = rng.integers(0, 2, (40, 100), dtype=np.uint8)
    assert _accuracy(ModernHopfield(patterns, beta=1.0), patterns, 0.1, rng) == 1.0
    assert _accuracy(ModernHopfield(patterns, beta=0.05), patterns, 0.1, rng) < 0.5
    assert _accuracy(SparseDistributedMemory(patterns), patterns, 0.05, rng) >= 0.7


def test_recall_bench_on_the_verilator_device():
    """The comparison on the full top level (small): every memgen answer is brute-force nearest
    neighbour, memgen retrieves where the classical Hopfield network is past its capacity, and
    the recall latency is one clock per record byte."""
    from memgen.sim.bench.recall import recall_latency, run

    report = run("verilator", trials=4, counts=(8, 64), flips=(0.1, 0.3))
    experiments = report["experiments"]
    queries = sum(len(rows) for rows in experiments.values()) * 4
    assert report["memgen_equals_nearest_neighbour"] == queries
    past_capacity = experiments["random_vs_patterns"][1]  # 64 patterns of 256 bits: 0.25 / bit
    assert past_capacity["memgen"] == 1.0 and past_capacity["classical Hopfield"] == 0.0
    assert recall_latency(counts=(1, 4))["fit"]["per_record"] == 32.0
