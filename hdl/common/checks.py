"""Properties shared by every component: the stream rules as in-design assertions.

An ``Assert`` placed in a design fires in the Amaranth simulator (as ``AssertionError``) and is a
proof obligation for SymbiYosys, so one set of properties serves every simulation and the formal
proofs.
"""

from amaranth.hdl import Assert, Signal, Value

__all__ = ["assert_stream_stable"]


def assert_stream_stable(m, stream, name, *, payload=None, statement=Assert):
    """Assert Amaranth's stream rule on an output: once valid, hold valid and payload until ready.

    ``payload``, when given, is the part of the payload the rule holds for (a value derived from
    it); ``statement=Assume`` makes the rule a formal harness's contract on a source instead.
    Adds two flip-flops plus a register of the payload width.
    """
    payload = stream.payload if payload is None else payload
    stalled = Signal(name=f"{name}_stalled")
    held_payload = Signal(payload.shape(), name=f"{name}_held_payload")
    m.d.sync += [
        stalled.eq(stream.valid & ~stream.ready),
        held_payload.eq(payload),
    ]
    m.d.sync += [
        statement(~stalled | stream.valid, f"{name}: valid withdrawn before the transfer"),
        statement(
            ~stalled | (Value.cast(payload) == Value.cast(held_payload)),
            f"{name}: payload changed while stalled",
        ),
    ]
    return stalled
