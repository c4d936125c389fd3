"""The reply side's ports, and the link counters: each rejection code counts where DONE reports
it, and every counter saturates at 0xFFFF (checked at 0xFFFE, 0xFFFF and one event past)."""

from amaranth.lib import data, stream
from amaranth.lib.wiring import In, Out
from memgen.hdl.engine.core import response_layout
from memgen.hdl.engine.records import RecordFormat
from memgen.hdl.link.frame_checker import rejection_signature
from memgen.hdl.link.framing import PacketByte
from memgen.hdl.link.protocol import LINK_COUNTERS, FrameError
from memgen.hdl.link.replies import LinkCounters, ReplyRequest, ReplySide
from memgen.sim.harness.amaranth_sim import run_simulation, unused

#: Where each event must be counted.
WHERE = {
    FrameError.BAD_ESCAPE: "malformed_frames",
    FrameError.SHORT: "malformed_frames",
    FrameError.BAD_LENGTH: "malformed_frames",
    FrameError.BAD_CRC: "crc_errors",
    FrameError.TOO_LONG: "malformed_frames",
    FrameError.OVERFLOW: "overflows",
    FrameError.TIMEOUT: "timeouts",
}


def counts_of(value):
    return {name: value >> (16 * i) & 0xFFFF for i, name in enumerate(LINK_COUNTERS)}


def test_ports_are_as_documented():
    """Six 16-bit counters side by side; the reply side takes the core's responses and the
    reply requests, with DONE's fields (a sequence and an expected number, a 64-bit seed)."""
    assert len(LINK_COUNTERS) == 6
    assert dict(unused(LinkCounters()).signature.members) == {
        "rejections": In(rejection_signature()),
        "sequence_error": In(1),
        "uart_error": In(1),
        "counts": Out(96),
    }
    response = response_layout(RecordFormat(64, record_size=4))
    assert response == data.StructLayout({"data": 8, "first": 1, "last": 1, "kind": 2, "length": 3})
    assert dict(unused(ReplySide(RecordFormat(64, record_size=4), response)).signature.members) == {
        "responses": In(stream.Signature(response)),
        "core_idle": In(1),
        "replies": In(stream.Signature(ReplyRequest)),
        "sequence": In(8),
        "expected": In(8),
        "seed": In(64),
        "counts": In(96),
        "packets": Out(stream.Signature(PacketByte)),
        "idle": Out(1),
        "core_failed": Out(1),
    }


def test_each_event_is_counted_where_done_reports_it():
    dut = LinkCounters()

    async def testbench(ctx):
        want = dict.fromkeys(LINK_COUNTERS, 0)
        events = [*((code, None) for code in WHERE), (None, "sequence_error"), (None, "uart_error")]
        for code, strobe in events:
            if code is not None:
                ctx.set(dut.rejections.valid, 1)
                ctx.set(dut.rejections.payload, code)
                want[WHERE[code]] += 1
            else:
                ctx.set(getattr(dut, strobe), 1)
                want[f"{strobe}s"] += 1
            await ctx.tick()
            ctx.set(dut.rejections.valid, 0)
            ctx.set(dut.sequence_error, 0)
            ctx.set(dut.uart_error, 0)
            assert counts_of(ctx.get(dut.counts)) == want
        ctx.set(dut.rejections.payload, FrameError.BAD_CRC)  # not valid: not counted
        await ctx.tick().repeat(3)
        assert counts_of(ctx.get(dut.counts)) == want

    run_simulation(dut, testbench, name="link_counters")


def test_counters_saturate():
    dut = LinkCounters()

    async def testbench(ctx):
        ctx.set(dut.uart_error, 1)
        await ctx.tick().repeat(0xFFFE)
        assert counts_of(ctx.get(dut.counts))["uart_errors"] == 0xFFFE
        await ctx.tick()
        assert counts_of(ctx.get(dut.counts))["uart_errors"] == 0xFFFF
        await ctx.tick().repeat(2)
        counts = counts_of(ctx.get(dut.counts))
        assert counts["uart_errors"] == 0xFFFF  # held, not wrapped
        assert sum(counts.values()) == 0xFFFF  # and no other counter moved

    run_simulation(dut, testbench, name="link_counters_saturate")
