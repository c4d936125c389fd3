"""Reference model of the whole link device: wire bytes in, wire bytes out.

:class:`LinkReference` is the software twin of :class:`memgen.hdl.link.top.LinkDevice`: the frame
decoder, the command processor of :mod:`memgen.hdl.link.command_processor` and
:class:`~memgen.host.reference.MemGenReference`. Given the same bytes it answers the same bytes
(DATA frames split at the same places, the same DONE fields), so the ``reference`` device of the
driver and the gateware can be compared byte for byte. Two differences are timing, not logic: it
never overflows or times out, and it answers every rejected frame in wire order, where the
gateware, busy with a command, counts further rejections and answers only the latest, right after
the command's DONE (ahead of good frames queued behind the command), and its DONE's counters
already count the frames rejected while it ran.
"""

from memgen.hdl.engine.protocol import DEFAULT_SEED, ErrorCode, Opcode, ResponseKind
from memgen.hdl.link.protocol import LINK_COUNTERS, MAX_PAYLOAD, FrameError, Reply

from .codec import FrameDecoder, decode_status, encode_done, encode_frame, varint
from .reference import MemGenReference

__all__ = ["LinkReference"]

_COUNTER_OF = {
    FrameError.BAD_CRC: "crc_errors",
    FrameError.BAD_ESCAPE: "malformed_frames",
    FrameError.SHORT: "malformed_frames",
    FrameError.BAD_LENGTH: "malformed_frames",
    FrameError.TOO_LONG: "malformed_frames",
    FrameError.OVERFLOW: "overflows",
    FrameError.TIMEOUT: "timeouts",
    FrameError.SEQUENCE: "sequence_errors",
}


class LinkReference:
    """The device as software. :meth:`receive` takes wire bytes and returns the wire bytes sent.

    Parameters
    ----------
    record_format : RecordFormat
    generator : str
    seed : int
        Engine seed at reset.
    """

    def __init__(self, record_format, generator="trivium", seed=DEFAULT_SEED):
        self.format = record_format
        self.core = MemGenReference(record_format, generator, seed)
        self.decoder = FrameDecoder()
        self.expected = 0
        self.seed = seed
        self.counters = dict.fromkeys(LINK_COUNTERS, 0)

    def receive(self, data):
        out = bytearray()
        for result in self.decoder.feed(data):
            if isinstance(result, FrameError):
                out += self._reject(result)
            else:
                out += self._execute(*result)
        return bytes(out)

    def _count(self, name):
        self.counters[name] = min(self.counters[name] + 1, 0xFFFF)

    def _reject(self, code):
        self._count(_COUNTER_OF[code])
        return encode_frame(self.expected, bytes([Reply.REJECTED, code]))

    def _execute(self, sequence, payload):
        is_status = payload[:1] == bytes([Opcode.STATUS])
        if not is_status and sequence != self.expected:
            return self._reject(FrameError.SEQUENCE)
        if not is_status:
            self.expected = (self.expected + 1) & 0xFF
        if not payload:
            return self._done(sequence, ErrorCode.MALFORMED, 0)
        if payload[0] == Opcode.APPEND:
            return self._append(sequence, payload[1:])
        responses = self.core.respond(payload)
        records = [body for kind, body in responses if kind == ResponseKind.RECORD]
        indices = b"".join(body for kind, body in responses if kind == ResponseKind.INDEX)
        out = self._data(sequence, records) + self._frames(sequence, indices)
        if responses and responses[-1][0] == ResponseKind.ERROR:
            return out + self._done(sequence, responses[-1][1][0], 0)
        if payload[0] == Opcode.SEED:
            self.seed = int.from_bytes(payload[1:], "little")
        return out + self._done(sequence, 0, 0)

    def _append(self, sequence, batch):
        stored, position, size = 0, 0, self.format.record_size
        while position < len(batch):
            if size is not None:
                record = batch[position : position + size]
                position += len(record)
            else:
                length, position = batch[position], position + 1
                if length & 0x80:
                    if position == len(batch):
                        return self._done(sequence, ErrorCode.MALFORMED, stored)
                    length, position = (length & 0x7F) | (batch[position] << 7), position + 1
                if length == 0 or length > len(batch) - position:
                    return self._done(sequence, ErrorCode.MALFORMED, stored)
                record = batch[position : position + length]
                position += length
            code = self.core.append(record)
            if code is not None:
                return self._done(sequence, code, stored)
            stored += 1
        return self._done(sequence, 0, stored)

    def _data(self, sequence, records):
        if self.format.fixed:
            stream = b"".join(records)
        else:
            stream = b"".join(varint(len(record)) + record for record in records)
        return self._frames(sequence, stream)

    @staticmethod
    def _frames(sequence, stream):
        """DATA frames carrying ``stream``."""
        chunk = MAX_PAYLOAD - 1
        return b"".join(
            encode_frame(sequence, bytes([Reply.DATA]) + stream[start : start + chunk])
            for start in range(0, len(stream), chunk)
        )

    def _done(self, sequence, code, stored):
        status = decode_status(self.core.respond(bytes([Opcode.STATUS]))[0][1])
        fields = {
            "code": code,
            "stored": stored,
            **status,
            "expected": self.expected,
            "seed": self.seed,
            **self.counters,
        }
        return encode_frame(sequence, encode_done(fields))
