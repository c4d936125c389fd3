"""The MemGen core: append memory, index source and readout behind one command stream.

Commands and responses are packets of bytes, as :mod:`.protocol` defines them. The core
executes one command at a time, in order; its parts are joined by streams:

* the :class:`~.decoder.CommandDecoder` turns each command packet into an operation, its
  argument and (APPEND, RECALL) a body of bytes;
* the :class:`~.sequencer.Sequencer` runs it: APPEND's body goes to the :class:`AppendMemory`
  at one byte per clock (in a core of W-byte words, gathered into words by a
  :class:`~.widener.ByteWidener` for the :class:`~.wide_append.WideAppendMemory`); SAMPLE
  asks the :class:`~.index_source.IndexSource` for ``n`` indices and the :class:`Readout`
  streams the records, one word per clock with no bubble between records; INDICES diverts the
  same indices to a byte serialiser, 4 bytes each; RECITE has the index source count
  ``0 .. N-1``; RECALL (fixed-size records) hands its body to the
  :class:`~.recall_unit.RecallUnit`, recites every record into it, then reads its answers;
* STATUS, ERROR, INDICES' bytes and RECALL's headers leave through
  :class:`~memgen.hdl.common.serialiser.ByteSerialiser` s, and one
  :class:`~memgen.hdl.common.serialiser.StreamJoin` puts them and the records on ``responses``.

With ``append_port``, records from the design around the core reach the append memory on
``appends``, a word per clock, between commands (the sequencer gives the port and the commands
turns).

The record storage and the record table are backends behind
:class:`~memgen.hdl.engine.storage.StorageSignature`; a board passes its own (for example SPRAM),
the default is ``lib.memory``. Each backend's single port belongs to the append memory, or to
the readout while the sequencer is ``reading``.
"""

from amaranth.hdl import Assert, Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.narrower import WordNarrower, narrow_layout
from ..common.serialiser import ByteSerialiser, StreamJoin
from ..common.skid import SkidBuffer
from .append_memory import AppendMemory
from .decoder import CommandDecoder
from .index_generator import GENERATORS
from .index_source import IndexSource
from .lanes import LaneGather
from .protocol import (
    DEFAULT_SEED,
    INDEX_BYTES,
    STATUS_BYTES,
    STATUS_FIELDS,
    ResponseKind,
    status_flags,
)
from .readout import Readout
from .recall_unit import RecallUnit
from .records import RecordWord, append_layout, table_entry_layout
from .sequencer import Sequencer
from .storage import LibMemoryStorage, read_sides, share_storage_port, storage_latency
from .wide_append import WideAppendMemory
from .widener import ByteWidener

__all__ = ["MemGen", "byte_response_layout", "response_layout"]


def response_layout(record_format):
    """Response words: a record's word (with the record's ``length``), or a byte of a STATUS,
    ERROR, INDICES or RECALL header packet (``length`` 0). In a core of ``word_bytes`` W above
    1, ``data`` is W bytes (the first lowest) and ``count`` says how many are valid (1 in a
    header's); with W = 1 there is no ``count``. A core of L lanes above 1 sends beats of L
    such words (:func:`~.lanes.beat_layout`): ``slots`` marks the ones that carry a record (each
    a whole packet), or slot 0 alone for a header byte."""
    width, lanes = record_format.word_bytes, record_format.lanes
    fields = {
        "data": 8 * width * lanes,
        "first": 1,
        "last": 1,
        "kind": 2,
        "length": record_format.length_width,
    }
    if width > 1:
        fields["count"] = width.bit_length()
    if lanes > 1:
        fields["slots"] = lanes
    return data.StructLayout(fields)


def byte_response_layout(record_format):
    """:func:`response_layout` a byte at a time (no ``count``), as a byte-wide consumer such as
    the link takes it after a :class:`~memgen.hdl.common.narrower.WordNarrower`."""
    return narrow_layout(response_layout(record_format))


class MemGen(wiring.Component):
    """MemGEN in hardware: learn records by heart, sample them uniformly.

    Parameters
    ----------
    record_format : RecordFormat
        Capacity and mode.
    generator : str
        Index generator engine, ``"trivium"`` (default) or ``"lfsr"``.
    reset_seed : int
        Engine seed after reset.
    append_port : bool
        Give the core a port of appends: records streamed in by the design around it, up to a
        word per clock (members ``appends`` and ``rejected``).
    data_storage, table_storage : Elaboratable or None
        Storage backends (see :mod:`~memgen.hdl.engine.storage`). ``None`` builds a
        :class:`LibMemoryStorage` of the right size (one per lane). A core of L lanes takes a
        list of copies of the records whose read sides number L in all: lane i reads the i-th,
        in the order of the list and, within a copy, ``reads`` before ``reads_b``.

    Members
    -------
    commands : In(stream.Signature(RecordWord))
        Command packets.
    responses : Out(stream.Signature(response_layout(record_format)))
        Response packets.
    idle : Out(1)
        The core has finished every command it took (all its responses taken) and waits for the
        next one.
    appends : In(stream.Signature(append_layout(record_format)))
        With ``append_port``: records, a byte (W = 1) or a word of W bytes per clock, every word
        full but a record's last (``count`` its bytes); a record smaller than a word is one
        word. Taken between commands, a record at a time; a record started holds the commands
        off until its last word. No response: a refused record is a strobe on ``rejected``.
    rejected : Out(stream.Signature(3, always_ready=True))
        With ``append_port``: a record from ``appends`` was refused, with its
        :class:`~.protocol.ErrorCode` (one clock after its last word).
    """

    def __init__(
        self,
        record_format,
        generator="trivium",
        reset_seed=DEFAULT_SEED,
        *,
        append_port=False,
        data_storage=None,
        table_storage=None,
    ):
        if generator not in GENERATORS:
            raise ValueError(f"Generator must be one of {GENERATORS}, not {generator!r}")
        self.format = record_format
        self.generator = generator
        self.reset_seed = reset_seed
        if data_storage is not None:
            if not isinstance(data_storage, list | tuple):
                data_storage = [data_storage]
            sides = sum(len(read_sides(copy)) for copy in data_storage)
            if sides != record_format.lanes:
                raise ValueError(
                    f"{record_format.lanes} lane(s) need data storage with "
                    f"{record_format.lanes} read side(s) in all, not {sides}"
                )
        # the records on a storage of variable latency (SDRAM): the append memory waits for it
        self.waits = data_storage is not None and any(
            storage_latency(copy) is None for copy in data_storage
        )
        if self.waits and (record_format.lanes != 1 or record_format.word_bytes == 1):
            raise ValueError(
                "Storage of variable latency (SDRAM) takes one lane of words of more than one byte"
            )
        self.data_storage = data_storage
        self.table_storage = table_storage
        self.append_port = append_port
        port = {}
        if append_port:
            port = {
                "appends": In(stream.Signature(append_layout(record_format))),
                "rejected": Out(stream.Signature(3, always_ready=True)),
            }
        super().__init__(
            {
                **port,
                "commands": In(stream.Signature(RecordWord)),
                "responses": Out(stream.Signature(response_layout(record_format))),
                "idle": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        fmt = self.format
        recall = fmt.fixed
        m.submodules.decoder = decoder = CommandDecoder(recall)
        m.submodules.sequencer = sequencer = Sequencer(fmt, self.append_port)
        appender, commanded = self._appender(m, sequencer)
        m.submodules.index_source = source = IndexSource(fmt, self.generator, self.reset_seed)
        wiring.connect(m, wiring.flipped(self.commands), decoder.commands)
        wiring.connect(m, decoder.decoded, sequencer.decoded)
        wiring.connect(m, decoder.body, sequencer.body)
        if not self.append_port:
            wiring.connect(m, commanded, appender.records)
        wiring.connect(m, sequencer.seed, source.seed)
        wiring.connect(m, sequencer.request, source.request)
        taken = appender.records.valid & appender.records.ready
        m.d.comb += [
            sequencer.appended.eq(taken & appender.records.payload.last),
            sequencer.count.eq(appender.count),
            sequencer.refused.eq(appender.refused),
            sequencer.refusal_code.eq(appender.refusal_code),
            appender.clear.eq(sequencer.clear),
            source.count.eq(appender.count),
            source.recite.eq(sequencer.recite),
            source.divert.eq(sequencer.divert),
            self.idle.eq(decoder.idle & sequencer.idle),
        ]
        readouts = self._storage(m, appender, sequencer.reading)
        readout = readouts[0]  # lane 0: recitation and RECALL too
        wiring.connect(m, source.indices, readout.indices)
        words, gathering = readout.words, Const(0)
        if fmt.lanes > 1:  # the lanes' records side by side, a SAMPLE's in beats
            m.submodules.gather = gather = LaneGather(readout.words.payload.shape(), fmt.lanes)
            for lane, unit in enumerate(readouts):
                if lane:
                    wiring.connect(m, source.lane_indices[lane - 1], unit.indices)
                wiring.connect(m, unit.words, gather.words[lane])
            wiring.connect(m, source.plan, gather.plan)
            # A slice: the beat's ready enables every lane's queue, so it is a flop's, not the
            # end of the link's logic on the beat (which reaches back through the join).
            m.submodules.beat_slice = beats = SkidBuffer(gather.beats.payload.shape())
            wiring.connect(m, gather.beats, beats.input)
            words, gathering = beats.output, gather.busy | beats.output.valid

        # Response sources, never two valid at once: the readout's records (not while RECALL
        # scans them), STATUS and ERROR, INDICES' bytes, RECALL's headers.
        serialisers = [self._status(m, sequencer.status, appender)]
        # A copy in the serialiser: the index slice's ready stays a flop (its enables fan out).
        m.submodules.index_bytes = index_bytes = ByteSerialiser(INDEX_BYTES, 2, copy=True)
        vector = index_bytes.vectors.payload
        m.d.comb += [
            index_bytes.vectors.valid.eq(source.diverted.valid),
            vector.data.eq(source.diverted.payload),
            vector.first.eq(1),
            vector.last.eq(1),
            vector.tag.eq(ResponseKind.INDEX),
            source.diverted.ready.eq(index_bytes.vectors.ready),
        ]
        serialisers.append(index_bytes.bytes)
        scanning = sequencer.scanning
        scan_ready = scanning  # the recall unit takes a byte every clock
        if recall:
            m.submodules.recall = unit = RecallUnit(fmt)
            wiring.connect(m, sequencer.recall_body, unit.body)
            wiring.connect(m, unit.checked, sequencer.checked)
            wiring.connect(m, unit.matches, source.match)
            scanned = {"valid": words.valid & scanning, "payload": words.payload}
            if fmt.word_bytes > 1:  # the matcher compares a byte per clock
                # RECALL reads lane 0 alone: slot 0's word, not a byte chosen from every slot
                layout = readout.words.payload.shape()
                m.submodules.scan_bytes = narrow = WordNarrower(layout)
                scan_ready = scanning & narrow.words.ready
                m.d.comb += [
                    narrow.words.valid.eq(scanned["valid"]),
                    narrow.bytes.ready.eq(1),
                ]
                for name, _ in layout:
                    field = getattr(words.payload, name)
                    width = len(getattr(narrow.words.payload, name))
                    m.d.comb += getattr(narrow.words.payload, name).eq(field[:width])
                scanned = {"valid": narrow.bytes.valid, "payload": narrow.bytes.payload}
            m.d.comb += [
                unit.count.eq(appender.count),
                unit.words.valid.eq(scanned["valid"]),
                unit.words.payload.data.eq(scanned["payload"].data),
                unit.words.payload.first.eq(scanned["payload"].first),
                unit.words.payload.last.eq(scanned["payload"].last),
                unit.answer.eq(sequencer.answer),
                unit.record_sent.eq(words.valid & words.ready & words.payload.last),
                sequencer.answered.eq(unit.done),
            ]
            serialisers.append(unit.headers)

        m.submodules.response_join = join = StreamJoin(response_layout(fmt), 1 + len(serialisers))
        records = join.input0
        m.d.comb += [
            records.valid.eq(words.valid & ~scanning),
            records.payload.kind.eq(ResponseKind.RECORD),
            records.payload.data.eq(words.payload.data),
            records.payload.first.eq(words.payload.first & ~sequencer.answering),
            records.payload.last.eq(words.payload.last),
            records.payload.length.eq(readout.length),
            words.ready.eq((records.ready & ~scanning) | scan_ready),
        ]
        wide = fmt.word_bytes > 1
        if wide:
            m.d.comb += records.payload.count.eq(words.payload.count)
        if fmt.lanes > 1:
            m.d.comb += records.payload.slots.eq(words.payload.slots)
        for port, serialised in zip(join.inputs()[1:], serialisers, strict=True):
            byte = serialised.payload
            m.d.comb += [
                port.valid.eq(serialised.valid),
                port.payload.data.eq(byte.data),
                port.payload.first.eq(byte.first),
                port.payload.last.eq(byte.last),
                port.payload.kind.eq(byte.tag),
                serialised.ready.eq(port.ready),
            ]
            if wide:
                m.d.comb += port.payload.count.eq(1)
            if fmt.lanes > 1:
                m.d.comb += port.payload.slots.eq(1)
        wiring.connect(m, join.output, wiring.flipped(self.responses))
        reading = Cat(unit.busy for unit in readouts).any() | gathering
        m.d.comb += sequencer.busy.eq(source.busy | reading | index_bytes.busy)
        m.d.sync += Assert(
            ~self.idle | ~(reading | source.busy), "records in flight after a command ended"
        )
        return m

    def _appender(self, m, sequencer):
        """The append memory, fed by APPEND's bytes (gathered into words in a wide core) or,
        while the sequencer lets it, by the port of appends; returns the memory and the stream
        of APPEND's bytes or words (which, without a port, the caller connects)."""
        fmt = self.format
        if fmt.word_bytes == 1:
            m.submodules.append_memory = appender = AppendMemory(fmt)
            commanded = sequencer.records
        else:  # APPEND's bytes gathered into words for a word per clock
            m.submodules.append_memory = appender = WideAppendMemory(fmt, waits=self.waits)
            m.submodules.append_words = widener = ByteWidener(fmt.word_bytes)
            wiring.connect(m, sequencer.records, widener.bytes)
            commanded = widener.words
        if not self.append_port:
            return appender, commanded
        port, taking = self.appends, sequencer.intake
        words = appender.records
        m.d.comb += [
            sequencer.offered.eq(port.valid),
            sequencer.offered_last.eq(port.payload.last),
            words.valid.eq(Mux(taking, port.valid, commanded.valid)),
            words.payload.eq(Mux(taking, port.payload, commanded.payload)),
            port.ready.eq(taking & words.ready),
            commanded.ready.eq(~taking & words.ready),
        ]
        from_port = Signal()  # the last word the memory took came from the port
        with m.If(words.valid & words.ready):
            m.d.sync += from_port.eq(taking)
        m.d.comb += [
            self.rejected.valid.eq(appender.refused & from_port),
            self.rejected.payload.eq(appender.refusal_code),
        ]
        m.d.sync += Assert(~(taking & commanded.valid), "APPEND's bytes while the port's flow")
        return appender, commanded

    def _storage(self, m, appender, reading):
        """The storage backends, and a readout per lane that shares its copy's read side with
        the append memory (the readout's while ``reading``); returns the readouts."""
        fmt = self.format
        copies = self.data_storage
        if copies is None:
            copies = [LibMemoryStorage(fmt.words, 8 * fmt.word_bytes) for _ in range(fmt.lanes)]
        for number, copy in enumerate(copies):  # the first keeps the names of a one-lane core
            m.submodules[f"data_storage{number or ''}"] = copy
        table_storage = None
        if not fmt.fixed:  # one lane only
            entry_width = table_entry_layout(fmt).size
            table_storage = self.table_storage or LibMemoryStorage(fmt.max_records, entry_width)
            m.submodules.table_storage = table_storage
        table_latency = storage_latency(table_storage) if table_storage is not None else 1
        # every copy takes every write; only the first copy's read data reaches the append memory
        readouts = []  # lane i reads the i-th read side, copy by copy
        for copy in copies:
            readers = []
            for _ in read_sides(copy):
                readout = Readout(
                    fmt,
                    read_latency=storage_latency(copy),
                    table_latency=table_latency,
                    late_credits=fmt.lanes > 1,  # the gather's ready joins every lane's word
                    in_flight=getattr(copy, "in_flight", None),  # a storage of variable latency
                )
                m.submodules[f"readout{len(readouts) or ''}"] = readout
                readouts.append(readout)
                readers.append(readout.data_port)
            share_storage_port(m, copy, appender.data_port, readers, reading)
        if table_storage is not None:
            table_ports = (appender.table_port, readouts[0].table_port)
            share_storage_port(m, table_storage, *table_ports, reading)
        return readouts

    def _status(self, m, request, appender):
        """STATUS (the fields) and ERROR (the code, then the fields) as bytes; returns their
        stream. The core waits while they are sent, so nothing moves the counts."""
        fmt = self.format
        values = {
            "records": appender.count,
            "bytes_used": appender.bytes_used,
            "record_capacity": Const(fmt.max_records, 32),
            "byte_capacity": Const(fmt.byte_capacity, 32),
            "max_length": Const(fmt.max_length, 32),
            "flags": Const(status_flags(fmt.fixed, self.generator, fmt.word_bytes, fmt.lanes), 16),
        }
        fields = []
        for name, size in STATUS_FIELDS:
            field = Signal(8 * size, name=f"status_{name}")
            m.d.comb += field.eq(values[name])
            fields.append(field)
        m.submodules.status_bytes = serialiser = ByteSerialiser(STATUS_BYTES + 1, tag_width=2)
        vector, error = serialiser.vectors.payload, request.payload.error
        m.d.comb += [
            serialiser.vectors.valid.eq(request.valid),
            vector.data.eq(Cat(request.payload.code, *fields)),
            vector.start.eq(~error),
            vector.first.eq(1),
            vector.last.eq(1),
            vector.tag.eq(Mux(error, ResponseKind.ERROR, ResponseKind.STATUS)),
            request.ready.eq(serialiser.vectors.ready),
        ]
        return serialiser.bytes
