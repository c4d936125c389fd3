"""SymbiYosys proofs (k-induction) of the in-design properties, covers, and caught mutants."""

import pytest
from memgen.sim.harness.formal import HARNESSES, run_sby

COVERED = [
    "index_generator",
    "append_memory",
    "append_memory_fixed",
    "wide_append_memory",
    "wide_append_memory_packed",
    "lane_gather",
    "readout",
    "readout_fixed",
    "deframer",
    "deframer_registered",
]


@pytest.mark.parametrize("name", HARNESSES)
def test_properties_proved(name, tmp_path):
    factory, _ = HARNESSES[name]
    passed, log = run_sby(factory(), tmp_path / name, "prove")
    assert passed, log[-4000:]


@pytest.mark.parametrize("name", HARNESSES)
def test_injected_fault_fails_the_proof(name, tmp_path):
    factory, fault = HARNESSES[name]
    passed, log = run_sby(factory(fault=fault), tmp_path / name, "prove")
    assert not passed
    assert "failed assertion" in log, log[-4000:]  # a counterexample, not a tool error


@pytest.mark.parametrize("name", COVERED)
def test_covers_reached(name, tmp_path):
    """Memory full, a stall of 8+ clocks, a record boundary under stall: all reachable."""
    factory, _ = HARNESSES[name]
    passed, log = run_sby(factory(), tmp_path / name, "cover")
    assert passed, log[-4000:]
