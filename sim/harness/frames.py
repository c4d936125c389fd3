"""The host's frame numbering, as the test harnesses of the link play it."""

from memgen.hdl.engine.protocol import Opcode
from memgen.host.codec import encode_frame

__all__ = ["FrameNumbers"]


class FrameNumbers:
    """``sequence``: the number the next frame carries; a STATUS frame does not use one up."""

    sequence = 0

    def frame(self, payload, sequence=None):
        """``payload`` as a frame, with ``sequence`` or the next number."""
        if sequence is None:
            sequence = self.sequence
            if payload[:1] != bytes([Opcode.STATUS]):
                self.sequence = (self.sequence + 1) & 0xFF
        return encode_frame(sequence, payload)
