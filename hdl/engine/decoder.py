"""Command packets into decoded commands: the operation and its argument, checked for length,
then (APPEND, RECALL) the packet's remaining bytes as a body stream."""

import enum

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .protocol import ARGUMENT_BYTES, Opcode
from .records import RecordWord

__all__ = ["CommandDecoder", "Operation"]


class Operation(enum.IntEnum):
    """What the core is asked to do; BAD: an unknown opcode or a wrong argument length."""

    BAD = 0
    APPEND = 1
    SAMPLE = 2
    INDICES = 3
    RECITE = 4
    CLEAR = 5
    SEED = 6
    STATUS = 7
    RECALL = 8


Decoded = data.StructLayout({"operation": 4, "argument": 64})


class CommandDecoder(wiring.Component):
    """``commands`` in, one ``decoded`` word per command out, then its ``body`` if it has one.

    Parameters
    ----------
    recall : bool
        RECALL is known (fixed-size records).

    Members
    -------
    commands : In(stream.Signature(RecordWord))
        Command packets.
    decoded : Out(stream.Signature(Decoded))
        The :class:`Operation` and, for SAMPLE, INDICES and SEED, the little-endian argument.
    body : Out(stream.Signature(RecordWord))
        After APPEND's or RECALL's decoded word: the packet's other bytes, the first marked.
    idle : Out(1)
        No part of a command is taken in and not passed on.
    """

    def __init__(self, recall):
        self.recall = recall
        super().__init__(
            {
                "commands": In(stream.Signature(RecordWord)),
                "decoded": Out(stream.Signature(Decoded)),
                "body": Out(stream.Signature(RecordWord)),
                "idle": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        byte = self.commands.payload
        opcode = Signal(8)
        argument_count = Signal(range(10))  # saturates at 9: too many for any command
        operation = self.decoded.payload.operation
        argument = self.decoded.payload.argument
        body_first = Signal()
        # The first byte's comparisons are registered; DISPATCH acts on flops.
        single, has_body = Signal(), Signal()
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += [self.commands.ready.eq(1), self.idle.eq(1)]
                with m.If(self.commands.valid):
                    simple = {Opcode.RECITE: Operation.RECITE, Opcode.CLEAR: Operation.CLEAR,
                              Opcode.STATUS: Operation.STATUS}  # fmt: skip
                    with_body = {Opcode.APPEND: Operation.APPEND}
                    if self.recall:
                        with_body[Opcode.RECALL] = Operation.RECALL
                    m.d.sync += [
                        opcode.eq(byte.data),
                        argument_count.eq(0),
                        single.eq(byte.last),
                        has_body.eq(0),
                        operation.eq(Operation.BAD),
                    ]
                    with m.Switch(byte.data):
                        for code, name in simple.items():
                            with m.Case(code):
                                m.d.sync += operation.eq(name)  # with arguments: CHECK
                        for code, name in with_body.items():
                            with m.Case(code):
                                with m.If(~byte.last):  # alone: BAD
                                    m.d.sync += [operation.eq(name), has_body.eq(1)]
                    m.next = "DISPATCH"

            with m.State("DISPATCH"):
                with m.If(single | has_body):
                    m.next = "OFFER"
                with m.Else():
                    m.next = "ARGUMENTS"

            with m.State("ARGUMENTS"):
                m.d.comb += self.commands.ready.eq(1)
                with m.If(self.commands.valid):
                    m.d.sync += argument.eq(Cat(argument[8:], byte.data))
                    with m.If(argument_count != 9):
                        m.d.sync += argument_count.eq(argument_count + 1)
                    with m.If(byte.last):
                        m.next = "CHECK"

            with m.State("CHECK"):
                arguments = {Opcode.SAMPLE: Operation.SAMPLE, Opcode.INDICES: Operation.INDICES,
                             Opcode.SEED: Operation.SEED}  # fmt: skip
                m.d.sync += operation.eq(Operation.BAD)
                with m.Switch(opcode):
                    for code, name in arguments.items():
                        with m.Case(code):
                            with m.If(argument_count == ARGUMENT_BYTES[code]):
                                m.d.sync += operation.eq(name)
                m.next = "OFFER"

            with m.State("OFFER"):
                m.d.comb += self.decoded.valid.eq(1)
                with m.If(self.decoded.ready):
                    m.d.sync += body_first.eq(1)
                    m.next = "IDLE"
                    with m.If(has_body):
                        m.next = "BODY"

            with m.State("BODY"):
                m.d.comb += [
                    self.body.valid.eq(self.commands.valid),
                    self.body.payload.data.eq(byte.data),
                    self.body.payload.first.eq(body_first),
                    self.body.payload.last.eq(byte.last),
                    self.commands.ready.eq(self.body.ready),
                ]
                with m.If(self.commands.valid & self.body.ready):
                    m.d.sync += body_first.eq(0)
                    with m.If(byte.last):
                        m.next = "IDLE"
        return m
