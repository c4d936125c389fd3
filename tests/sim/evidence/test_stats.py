"""The statistical battery (``make stats``): its fast streams are the model's, bit for bit; the
generator options pass; two deliberately broken samplers fail, in the same run."""

import subprocess
import sys

import numpy as np
import pytest
from memgen.hdl.engine.index_generator import GENERATORS, IndexGeneratorModel
from memgen.sim.evidence.fast_generator import engine_words, index_stream
from memgen.sim.evidence.stats import EXPECTED, SAMPLERS, run


@pytest.mark.parametrize("generator", GENERATORS)
@pytest.mark.parametrize("seed", [0, 1, 0x5EED, (1 << 64) - 1])
def test_fast_streams_match_the_model(generator, seed):
    model = IndexGeneratorModel(2048, generator, seed)
    assert [int(w) for w in engine_words(seed, 700, generator)] == [
        model.next_word() for _ in range(700)
    ]
    for count in (1, 3, 1500, 2048):
        model = IndexGeneratorModel(2048, generator, seed)
        expected = model.request(2000, count)
        indices = index_stream(2048, count, 2000, seed, generator)
        assert [int(i) for i in indices] == expected


def test_battery_passes_memgen_and_catches_broken_samplers():
    report = run()
    verdicts = {name: result["passes"] for name, result in report["samplers"].items()}
    assert verdicts == {name: EXPECTED.get(name, False) for name in SAMPLERS}
    assert set(EXPECTED) < set(SAMPLERS)  # at least one broken sampler ran
    stuck = report["samplers"]["broken-stuck5%"]["sample_tests"]
    assert stuck["classifier"]["n_test"] >= 20_000 and stuck["classifier"]["verdict"] == "FAIL"
    good = report["samplers"]["memgen-trivium"]["sample_tests"]["classifier"]
    assert good["n_test"] >= 20_000 and good["verdict"] == "pass"


@pytest.mark.parametrize("generator", GENERATORS)
def test_raw_word_stream_is_the_model(generator):
    """``python -m memgen.sim.evidence.fast_generator`` (the compiled dieharder feed) writes the
    model's words, past its 65,536-word output block too."""
    count = 3 * 65536 + 300
    raw = subprocess.run(
        [sys.executable, "-m", "memgen.sim.evidence.fast_generator", "--generator", generator]
        + ["--seed", "9", "--bytes", str(4 * count)],
        check=True,
        capture_output=True,
    ).stdout
    words = np.frombuffer(raw, dtype="<u4")
    assert len(words) == count
    model = IndexGeneratorModel(2048, generator, 9)
    assert [int(w) for w in words[:200]] == [model.next_word() for _ in range(200)]
    assert np.array_equal(words, engine_words(9, count, generator).astype(np.uint32))


def test_the_battery_table_is_refilled_in_place():
    """--write-battery-table: the document's batteries table is replaced, the text around it
    kept byte for byte; a document without one is refused."""
    from memgen.sim.evidence import batteries
    from memgen.sim.evidence.stats import refill_battery_table

    stale = batteries.table([]) + "\n| old | row | x | y |"
    document = f"Before:\n\n{stale}\n\nAfter.\n"
    table = batteries.table([]) + "\n| new | row | x | y |"
    assert refill_battery_table(document, table) == f"Before:\n\n{table}\n\nAfter.\n"
    assert refill_battery_table(f"end:\n{stale}", table) == f"end:\n{table}\n"
    with pytest.raises(ValueError, match="no batteries table"):
        refill_battery_table("no table here\n", table)
