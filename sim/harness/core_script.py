"""Drive the MemGen core with command packets in the Amaranth simulator.

:func:`send_packet` and :func:`receive_packet` move whole packets through the core's streams
(with :class:`~memgen.sim.harness.amaranth_sim.Stalls` on either side); :func:`run_script`
plays a list of command packets and checks every response against
:class:`~memgen.host.reference.MemGenReference`.
"""

import types
import weakref

from amaranth.hdl import Shape
from memgen.hdl.engine.protocol import ResponseKind

from .amaranth_sim import stream_get, stream_put

__all__ = ["offer_back_to_back", "receive_packet", "record_words", "run_script", "send_packet"]


#: Clocks the core may take a byte or answer nothing before a script calls it hung: far more
#: than any command of the tests' memories needs, far less than a hang costs a mutation run.
PATIENCE = 20_000


def record_words(record, width):
    """A record as an append memory or the core's port of appends takes it: its bytes one by
    one (``width`` 1), or in words of ``width`` bytes, the last one short (``count``)."""
    chunks = [record[start : start + width] for start in range(0, len(record), width)]
    for position, chunk in enumerate(chunks):
        payload = {"first": position == 0, "last": position == len(chunks) - 1}
        if width == 1:
            yield {**payload, "data": chunk[0]}
        else:
            yield {**payload, "data": int.from_bytes(chunk, "little"), "count": len(chunk)}


async def offer_back_to_back(ctx, appends, records, width):
    """The records' words on a core's port of appends, each offered in the clock after the one
    before was taken; returns the clocks from the first offer to the last word taken."""
    ctx.set(appends.valid, 1)
    clocks = 0
    for payload in (word for record in records for word in record_words(record, width)):
        ctx.set(appends.payload, payload)
        while True:
            clocks += 1
            _, _, ready = await ctx.tick().sample(appends.ready)
            if ready:
                break
    ctx.set(appends.valid, 0)
    return clocks


async def send_packet(ctx, commands, packet, stalls=None, patience=PATIENCE):
    for position, byte in enumerate(packet):
        payload = {"data": byte, "first": position == 0, "last": position == len(packet) - 1}
        await stream_put(ctx, commands, payload, stalls, patience)


#: A core of lanes' words taken in a beat and not yet read, per response stream.
_beat_words = weakref.WeakKeyDictionary()


async def _next_word(ctx, responses, stalls, patience):
    """The next response word; a beat of a core of lanes gives the words of its slots in
    order (checked to be whole records, or a header byte alone in slot 0)."""
    fields = {name: Shape.cast(field.shape).width for name, field in responses.payload.shape()}
    if "slots" not in fields:
        return await stream_get(ctx, responses, stalls, patience)
    pending = _beat_words.setdefault(responses, [])
    if not pending:
        beat = await stream_get(ctx, responses, stalls, patience)
        lanes, size = fields["slots"], fields["data"] // fields["slots"]
        slots = [k for k in range(lanes) if beat.slots >> k & 1]
        assert slots, "a beat without a slot"
        assert len(slots) == 1 or (beat.first and beat.last), "a beat of partial records"
        assert beat.kind == ResponseKind.RECORD or slots == [0], "a header byte beside others"
        for k in slots:
            word = {name: getattr(beat, name) for name in fields if name not in ("data", "slots")}
            pending.append(types.SimpleNamespace(data=beat.data >> (k * size) & ((1 << size) - 1),
                                                 **word))  # fmt: skip
    return pending.pop(0)


async def receive_packet(ctx, responses, stalls=None, patience=PATIENCE):
    """One response packet as ``(ResponseKind, bytes)``; checks first/last and a uniform kind.
    A wide core's words give their ``count`` bytes each, a beat of lanes its slots' records."""
    layout = responses.payload.shape()
    width = Shape.cast(layout["data"].shape).width // 8
    wide = any(name == "count" for name, _ in layout)
    if any(name == "slots" for name, _ in layout):
        width //= Shape.cast(layout["slots"].shape).width
    body, kind = bytearray(), None
    while True:
        word = await _next_word(ctx, responses, stalls, patience)
        assert word.first == (len(body) == 0), f"first flag wrong at byte {len(body)}"
        assert kind is None or word.kind == kind, "kind changed inside a packet"
        kind = word.kind
        if wide:
            assert 1 <= word.count <= width, f"count {word.count} in a word of {width} bytes"
            body += word.data.to_bytes(width, "little")[: word.count]
        else:
            body.append(word.data)
        if word.last:
            return ResponseKind(kind), bytes(body)


async def run_script(ctx, dut, reference, packets, stalls_in=None, stalls_out=None):
    """Send each packet; the responses must equal the reference's, packet for packet.

    Returns the responses, a list of ``(ResponseKind, bytes)`` packets per command.
    """
    responses = []
    for number, packet in enumerate(packets):
        expected = reference.respond(packet)
        await send_packet(ctx, dut.commands, packet, stalls_in)
        for position, want in enumerate(expected):
            got = await receive_packet(ctx, dut.responses, stalls_out)
            assert got == want, (
                f"command {number} (opcode {packet[0]:#x}) response {position}: "
                f"got {got[0].name} {got[1][:16].hex()}..., "
                f"want {want[0].name} {want[1][:16].hex()}..."
            )
        responses.append(expected)
    return responses
