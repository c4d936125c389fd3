"""Properties shared by every component: the stream rules as in-design assertions.

An ``Assert`` placed in a design fires in the Amaranth simulator (as ``AssertionError``) and is a
proof obligation for SymbiYosys, so one set of properties serves every simulation and the formal
proofs.
"""

from amaranth.hdl import Assert, Signal, Value

__all__ = ["assert_stream_stable"]


def assert_stream_stable(m, stream, name):
    """Assert Amaranth's stream rule on an output: once valid, hold valid and payload until ready.

    Adds two flip-flops plus a register of the payload width.
    """
    stalled = Signal(name=f"{name}_stalled")
    held_payload = Signal(stream.payload.shape(), name=f"{name}_held_payload")
    m.d.sync += [
        stalled.eq(stream.valid & ~stream.ready),
        held_payload.eq(stream.payload),
    ]
    m.d.sync += [
        Assert(~stalled | stream.valid, f"{name}: valid withdrawn before the transfer"),
        Assert(
            ~stalled | (Value.cast(stream.payload) == Value.cast(held_payload)),
            f"{name}: payload changed while stalled",
        ),
    ]
    return stalled
