"""Planted faults: a named defect makes a subclass; an unknown name or a class without faults is
refused; the production class is untouched."""

import pytest
from memgen.hdl.common.faults import with_fault
from memgen.hdl.engine.index_generator import IndexGenerator
from memgen.hdl.engine.lfsr import LFSR


def test_a_fault_is_a_subclass_and_leaves_the_class_alone():
    faulty = with_fault(LFSR, "zero_seed")
    assert issubclass(faulty, LFSR) and faulty.fault == "zero_seed"
    assert LFSR.fault is None and faulty.FAULTS is LFSR.FAULTS
    assert with_fault(LFSR, None) is LFSR


def test_unknown_faults_are_refused():
    with pytest.raises(ValueError, match="no fault 'zero_seed'.*keep_words"):
        with_fault(IndexGenerator, "zero_seed")
    with pytest.raises(TypeError, match="int offers no faults"):
        with_fault(int, "anything")
