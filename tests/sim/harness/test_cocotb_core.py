"""cocotb on the exported Verilog: at least 100,000 sampled bytes bit-exact on byte-wide cores and
25,000 on wide ones and one of four lanes (their paths in Amaranth's simulator too), on both
simulators."""

import pytest
from cocotb_tools.runner import get_results
from memgen.sim.harness.cocotb_runner import SIMULATORS, run_cocotb

CONFIGS = {
    # mixed record lengths, N = 2**8 + 1 records
    "variable": {
        "format": {"byte_capacity": 4096, "max_records": 400, "max_length": 24},
        "records": 257,
        "batch": 2000,
    },
    # 1-byte records: one record per sampled word
    "fixed1": {"format": {"byte_capacity": 1000, "record_size": 1}, "records": 1000, "batch": 5000},
    # words of 4 bytes, records padded to them; 1-byte records packed eight to a word of 8
    "wide4": {
        "format": {"byte_capacity": 4096, "max_records": 400, "max_length": 24, "word_bytes": 4},
        "records": 257,
        "batch": 2000,
        "words": 25_000,
    },
    "packed8": {
        "format": {"byte_capacity": 1000, "record_size": 1, "word_bytes": 8},
        "records": 1000,
        "batch": 5000,
        "words": 25_000,
    },
    # four lanes of 2-byte records in 2-byte words: beats of four samples
    "lanes4": {
        "format": {"byte_capacity": 2000, "record_size": 2, "word_bytes": 2, "lanes": 4},
        "records": 1000,
        "batch": 4999,
        "words": 25_000,
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("config_name", CONFIGS)
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_cocotb_core(simulator, config_name, tmp_path):
    config = {"words": 100_000, **CONFIGS[config_name], "seed": 11, "ready_probability": 0.6}
    results, _ = run_cocotb(
        simulator, config, tmp_path / f"{simulator}_{config_name}", testcase="sample_100k_words"
    )
    tests, failed = get_results(results)
    assert (tests, failed) == (1, 0)


@pytest.mark.slow
@pytest.mark.parametrize("simulator", SIMULATORS)
def test_cocotb_recall(simulator, tmp_path):
    """RECALL on the exported core, on both simulators, against the reference model."""
    config = {
        "format": {"byte_capacity": 12 * 40, "record_size": 12},
        "sweep": [1, 2, 3, 8, 9, 17, 40],
        "seed": 5,
        "ready_probability": 0.6,
    }
    results, _ = run_cocotb(
        simulator, config, tmp_path / f"{simulator}_recall", testcase="recall_matches_reference"
    )
    assert get_results(results) == (1, 0)
