"""The demo's side-by-side check of a device against the reference."""

import pytest
from memgen.hdl.engine.records import RecordFormat
from memgen.sim.demo.session import Session, VerificationError


def test_verification_catches_a_differing_device():
    """The demo's check is real: a device seeded differently from the reference is caught."""
    session = Session("reference", RecordFormat(64, record_size=1), seed=1)
    session.device.seed(2)
    session.train([bytes([n]) for n in range(64)])
    with pytest.raises(VerificationError, match="sample record"):
        session.ask("sample", 100)
    assert len(session.ask("recite")) == 64  # reciting does not depend on the seed
