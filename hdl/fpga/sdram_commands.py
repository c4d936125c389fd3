"""The SDRAM controller's command scheduler: one command a clock from the chip's timing rules.

It brings the chip up (power-up wait, PRECHARGE ALL, eight AUTO REFRESHes, LOAD MODE REGISTER),
then serves ``requests``, each a burst to a bank, row and column, from a window of the next
``lookahead`` of them: any request whose bank no older request waits for gets its PRECHARGE
and ACTIVE while others move data, and a READ may pass older requests to other banks (each
READ carries its request's ``tag``, so the data path can put the data back in order). Writes
go in order, and requests to one bank in order, so a read never passes a write to its address.
A row stays open while a request in the window wants it, and closes behind its last burst
(auto precharge) otherwise. Well inside each refresh interval it stops, precharges all banks
and refreshes, so a refresh is never late however the requests arrive.

Each rule is a down-counter that a command loads with the clocks its successor must wait (the
larger of what it holds and the new wait), with flip-flops saying "at most k" beside it. The
next command is chosen a clock before it goes out, from those flags and a flag per window entry
saying its row is open, so the choice reads flip-flops and compares nothing wide. Rates and
timing, and how they were reached: docs/design.md and results/sdram.json.
"""

from dataclasses import dataclass
from functools import partial
from types import SimpleNamespace

from amaranth.hdl import Array, Assert, Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..common.lookahead import LookaheadQueue

__all__ = ["Command", "CommandScheduler", "SDRAMTiming"]


class Command(data.Struct):
    """One clock's command on the chip's pins, as asserted flags."""

    cs: 1
    ras: 1
    cas: 1
    we: 1
    ba: 2
    a: 13


#: A planned command's kind.
_COLUMN, _PRECHARGE, _ACTIVE = 0, 1, 2
#: (ras, cas, we) of each command (cs asserted); a WRITE is a READ with ``we`` set.
ACTIVE, READ, PRECHARGE, REFRESH, MODE = (1, 0, 0), (0, 1, 0), (1, 0, 1), (1, 1, 0), (1, 1, 1)


@dataclass(frozen=True)
class SDRAMTiming:
    """The chip's times in ns (AS4C16M16SA / AS4C32M16SB datasheets, -7 grade, table 16).

    ``clocks(name, clock_hz)``: a minimum in whole clocks, rounded up; ``trefi`` (a maximum)
    rounded down. The chip model that judges the controller (``sim/harness/sdram_chip.py``)
    keeps its own copy of the table: a judge does not take the judged's numbers.
    """

    trc: float = 63
    trfc: float = 63
    trcd: float = 21
    trp: float = 21
    trrd: float = 14
    tmrd: float = 14
    tras: float = 42
    twr: float = 14
    trefi: float = 7_800
    power_up: float = 200_000
    tck_cl2: float = 10  # the shortest clock period at CAS latency 2
    tck_cl3: float = 7

    def cas_latency(self, cas_latency, clock_hz):
        """``cas_latency`` checked against the chip's shortest clock period for it at
        ``clock_hz`` (None: the lowest the chip keeps at that clock)."""
        period = 1e9 / clock_hz
        shortest = {2: self.tck_cl2, 3: self.tck_cl3}
        kept = [cl for cl, tck in shortest.items() if period >= tck - 1e-9]
        if cas_latency is None:
            if not kept:
                raise ValueError(f"A {period:.4g} ns clock is too fast for the chip: CAS "
                                 f"latency 3 needs {self.tck_cl3:g} ns or more")  # fmt: skip
            return kept[0]
        if cas_latency not in shortest:
            raise ValueError(f"CAS latency must be 2 or 3, not {cas_latency!r}")
        if cas_latency not in kept:
            raise ValueError(f"CAS latency {cas_latency} needs a clock period of "
                             f"{shortest[cas_latency]:g} ns or more, "
                             f"not {period:.4g} ns")  # fmt: skip
        return cas_latency

    def clocks(self, name, clock_hz):
        ratio = getattr(self, name) * clock_hz / 1e9
        if abs(ratio - round(ratio)) < 1e-9:
            return max(1, round(ratio))
        return int(ratio) if name == "trefi" else int(ratio) + 1


def _by_bank(countdowns, mark):
    """The four banks' ``at_most[mark]`` flags, to index by a bank's number."""
    return Array(countdown.at_most[mark] for countdown in countdowns)


def _none(countdowns):
    """No countdown of the four banks still counts."""
    return (
        countdowns[0].count | countdowns[1].count | countdowns[2].count | countdowns[3].count
    ) == 0


class CommandScheduler(wiring.Component):
    """Commands for ``requests`` of ``{bank, row, column, write, tag}``, one burst each.

    Parameters
    ----------
    burst_length : int
        Words a READ or WRITE moves (1, 2, 4 or 8): column commands are this many clocks apart.
    cas_latency : int or None
        2 or 3 (None: the lowest the chip keeps at ``clock_hz``): a WRITE waits for the last
        READ's data to leave the bus, and one clock more.
    clock_hz : float
    timing : SDRAMTiming or None
        The chip's times (None: the datasheet's).
    rows, columns : int
        The chip's geometry (a scaled-down chip has fewer rows).
    init_refreshes : int
        AUTO REFRESHes of the power-up sequence.
    lookahead : int
        Requests the scheduler sees at once.
    tag_bits : int
        Width of a request's tag.

    Members
    -------
    requests : In(stream.Signature(...))
        Into the window while it has room.
    command : Out(Command)
        This clock's command (``cs`` low: none).
    reading, writing : Out(1)
        The command is a READ or WRITE (for the data path).
    tag : Out(tag_bits)
        The tag of the request whose READ or WRITE goes out.
    initialised : Out(1)
        The power-up sequence is done.
    """

    def __init__(self, *, burst_length=8, cas_latency=None, clock_hz=100e6, timing=None,
                 rows=8192, columns=512, init_refreshes=8, lookahead=3, tag_bits=1):  # fmt: skip
        if burst_length not in (1, 2, 4, 8):
            raise ValueError(f"Burst length must be 1, 2, 4 or 8, not {burst_length!r}")
        timing = timing or SDRAMTiming()
        self.burst_length = burst_length
        self.cas_latency = timing.cas_latency(cas_latency, clock_hz)
        self.rows, self.columns, self.init_refreshes = rows, columns, init_refreshes
        self.lookahead = lookahead
        self.t = {name: timing.clocks(name, clock_hz) for name in
                  ("trc", "trfc", "trcd", "trp", "trrd", "tmrd", "tras", "twr", "trefi",
                   "power_up")}  # fmt: skip
        # due to REFRESH at worst: a row held (tRAS, or a burst and tWR), tRP, the plan's clocks
        self.refresh_margin = burst_length + self.t["twr"] + self.t["tras"] + self.t["trp"] + 6
        if self.t["trefi"] <= 2 * self.refresh_margin:
            raise ValueError(f"A refresh interval of {self.t['trefi']} clocks is too short")
        request = data.StructLayout({
            "bank": 2, "row": range(rows), "column": range(columns), "write": 1,
            "tag": tag_bits,
        })  # fmt: skip
        super().__init__({
            "requests": In(stream.Signature(request)),
            "command": Out(Command),
            "reading": Out(1),
            "writing": Out(1),
            "tag": Out(tag_bits),
            "initialised": Out(1),
        })  # fmt: skip

    @property
    def mode_register(self):
        """Burst length, sequential bursts, the CAS latency; programmed write bursts."""
        return {1: 0, 2: 1, 4: 2, 8: 3}[self.burst_length] | self.cas_latency << 4

    def elaborate(self, platform):
        m = Module()
        t, bl = self.t, self.burst_length
        m.submodules.window = window = LookaheadQueue(self.requests.payload.shape(),
                                                      self.lookahead)  # fmt: skip
        wiring.connect(m, wiring.flipped(self.requests), window.push)

        def counter(name, limit, marks=(1,)):
            return _Countdown(m, name, limit, marks)

        # the longest wait a command sets (not tREFI's or power-up's: they have counters of their
        # own), so the counters and their comparisons are a few bits wide
        waits = [t[name] for name in ("trc", "trfc", "trcd", "trp", "trrd", "tras")]
        longest = max(*waits, t["twr"] + t["trp"]) + bl + self.cas_latency + 2
        closing = (bl + 1, bl + t["twr"])  # tRAS met a READ's or a WRITE's recovery later
        banks = SimpleNamespace(
            to_column=[counter(f"to_column_{b}", longest) for b in range(4)],  # tRCD
            to_precharge=[
                counter(f"to_precharge_{b}", longest, (1,) + closing) for b in range(4)
            ],  # tRAS, a burst's end, tWR  # fmt: skip
            to_active=[counter(f"to_active_{b}", longest) for b in range(4)],  # tRP, tRC
            to_next_active=counter("to_next_active", longest),  # tRRD
            to_read=counter("to_read", longest),  # a burst's length
            to_write=counter("to_write", longest),  # the bus free of read data
            open_row=Array(Signal(range(self.rows), name=f"row_{b}") for b in range(4)),
            is_open=Signal(4),
            closing_all=Signal(),  # the refresh's PRECHARGE ALL goes out
        )
        refresh_timer = Signal(range(t["trefi"] + 1))
        refresh_due = Signal()
        wait = Signal(range(max(t["power_up"], t["trfc"], t["tmrd"], t["trp"]) + 1))
        with m.If(wait != 0):
            m.d.sync += wait.eq(wait - 1)
        refreshes = Signal(range(self.init_refreshes + 1))
        issue = partial(_issue, m, self.command)
        hold = partial(_hold, m)

        m.d.sync += refresh_timer.eq(refresh_timer + 1)
        m.d.comb += refresh_due.eq(refresh_timer >= t["trefi"] - self.refresh_margin)

        plan, planned = Signal(self._plan_layout), Signal(self._plan_layout)
        m.d.sync += plan.eq(planned)  # decided this clock, carried out the next
        self._carry_out(m, issue, hold, plan, window, banks)
        banks.hits = self._hits(m, plan, window, banks)

        # "No bank's counter counts", a clock old for the refresh (compared from the counts, it
        # reached their own loads in one clock): a command this clock may load them, so it
        # clears the flag; without one, counts at zero stay there.
        precharged, activatable = Signal(), Signal()
        m.d.sync += [
            precharged.eq(_none(banks.to_precharge) & ~self.command.cs),
            activatable.eq(_none(banks.to_active) & ~self.command.cs),
            Assert(~precharged | _none(banks.to_precharge), "precharged flag out of step"),
            Assert(~activatable | _none(banks.to_active), "activatable flag out of step"),
        ]

        with m.FSM():
            with m.State("POWER-UP"):
                with m.If(wait == 0):
                    m.d.sync += wait.eq(t["power_up"] - 1)
                    m.next = "POWER-UP WAIT"
            with m.State("POWER-UP WAIT"):
                with m.If(wait == 0):
                    issue(PRECHARGE, a=1 << 10)
                    m.d.sync += wait.eq(t["trp"] - 1)
                    m.next = "INIT REFRESH"
            with m.State("INIT REFRESH"):
                with m.If(wait == 0):
                    with m.If(refreshes == self.init_refreshes):
                        issue(MODE, a=self.mode_register)
                        m.d.sync += wait.eq(t["tmrd"] - 1)
                        m.next = "INIT MODE"
                    with m.Else():
                        issue(REFRESH)
                        m.d.sync += [wait.eq(t["trfc"] - 1), refreshes.eq(refreshes + 1),
                                     refresh_timer.eq(0)]  # fmt: skip
            with m.State("INIT MODE"):
                with m.If(wait == 0):
                    m.next = "RUN"
            with m.State("RUN"):
                m.d.comb += self.initialised.eq(1)
                with m.If(~refresh_due):
                    self._plan(m, plan, planned, window, banks)
                with m.Else():
                    m.next = "REFRESH"
            with m.State("REFRESH"):
                m.d.comb += self.initialised.eq(1)
                with m.If(plan.valid):
                    pass  # the last planned command goes out first
                with m.Elif(banks.is_open.any()):
                    with m.If(precharged):
                        issue(PRECHARGE, a=1 << 10)
                        m.d.comb += banks.closing_all.eq(1)
                        m.d.sync += banks.is_open.eq(0)
                        for b in range(4):
                            hold(banks.to_active[b], t["trp"])
                with m.Elif(activatable):
                    issue(REFRESH)
                    m.d.sync += refresh_timer.eq(0)
                    for b in range(4):
                        hold(banks.to_active[b], t["trfc"])
                    m.next = "RUN"
        return m

    @property
    def _plan_layout(self):
        return data.StructLayout({
            "valid": 1, "kind": 2, "write": 1, "bank": 2, "address": 13,
            "slot": range(self.lookahead), "tag": len(self.tag), "close": 1,
        })  # fmt: skip

    def _plan(self, m, plan, planned, window, banks):
        """Next clock's command, decided from this clock's state less what ``plan`` (going out
        this clock) changes: nothing to its bank, no ACTIVE after an ACTIVE (tRRD), no column
        command after one (but a READ after a READ of single words). In order of preference:
        the oldest READ or WRITE that can go, a READ passing older requests of other banks (a
        WRITE goes only as the oldest, so writes keep their order); the ACTIVE or PRECHARGE of
        the oldest request whose bank no older one waits for; the PRECHARGE of a row no request
        in the window wants. A READ or WRITE closes its row behind it (auto precharge) unless a
        younger request in the window (or at its door) wants it. A counter at 1 now is at 0
        when it goes out."""
        t, bl, depth = self.t, self.burst_length, self.lookahead
        slots, valid = [window.entries[j] for j in range(depth)], window.valid
        door = window.push
        busy = Mux(plan.valid, Const(1, 4) << plan.bank, 0)  # the bank the plan is changing
        opened = [banks.is_open.bit_select(slot.bank, 1) for slot in slots]
        hit = banks.hits
        free = [valid[j] & ~busy.bit_select(slot.bank, 1) & ~Cat(
            valid[k] & (slots[k].bank == slot.bank) for k in range(j)).any()
            for j, slot in enumerate(slots)]  # fmt: skip
        after_column = plan.valid & (plan.kind == _COLUMN)
        after_active = plan.valid & (plan.kind == _ACTIVE)

        def choose(j, kind, slot, address, close=0):
            popped = after_column & (plan.slot < j)  # the window closes up over it
            m.d.comb += [planned.valid.eq(1), planned.kind.eq(kind), planned.bank.eq(slot.bank),
                         planned.address.eq(address), planned.write.eq(slot.write),
                         planned.tag.eq(slot.tag), planned.close.eq(close),
                         planned.slot.eq(j - popped)]  # fmt: skip

        for j, slot in enumerate(slots):
            bank = slot.bank
            if j:  # only the oldest writes
                bus = ~slot.write & banks.to_read.at_most[1]
            else:
                bus = Mux(slot.write, banks.to_write.at_most[1], banks.to_read.at_most[1])
            if bl > 1:
                bus &= ~after_column
            else:
                bus &= ~after_column | ~plan.write & ~slot.write
            # a younger request wants the row: in the window, or at its door (it enters as the
            # command goes out, so a window of three keeps two banks' rows open in turn)
            wanted = Cat(*(valid[k] & (slots[k].bank == bank) & (slots[k].row == slot.row)
                           for k in range(j + 1, depth)),
                         door.valid & (door.payload.bank == bank) & (door.payload.row == slot.row),
                         ).any()  # fmt: skip
            by_write = _by_bank(banks.to_precharge, bl + t["twr"])[bank]
            by_read = _by_bank(banks.to_precharge, bl + 1)[bank]
            close = ~wanted & Mux(slot.write, by_write, by_read)  # tRAS met by its precharge
            with (m.If if j == 0 else m.Elif)(free[j] & hit[j] & _by_bank(banks.to_column, 1)[bank]
                                              & bus):  # fmt: skip
                choose(j, _COLUMN, slot, slot.column | close << 10, close)
        for j, slot in enumerate(slots):
            with m.Elif(free[j] & opened[j] & ~hit[j]
                        & _by_bank(banks.to_precharge, 1)[slot.bank]):  # fmt: skip
                choose(j, _PRECHARGE, slot, 0)
            with m.Elif(free[j] & ~opened[j] & _by_bank(banks.to_active, 1)[slot.bank]
                        & banks.to_next_active.at_most[1] & ~after_active):  # fmt: skip
                choose(j, _ACTIVE, slot, slot.row)
        for b in range(4):  # a row no request in the window wants closes while the bus is free
            wanted = Cat(valid[j] & (slot.bank == b) for j, slot in enumerate(slots)).any()
            with m.Elif(banks.is_open[b] & ~wanted & ~busy[b]
                        & banks.to_precharge[b].at_most[1]):  # fmt: skip
                m.d.comb += [planned.valid.eq(1), planned.kind.eq(_PRECHARGE),
                             planned.bank.eq(b)]  # fmt: skip

    def _hits(self, m, plan, window, banks):
        """For each window entry, a flip-flop saying its row is open, kept a clock ahead from
        the command going out (an ACTIVE of its bank compares its row with the ACTIVE's; a
        PRECHARGE or auto precharge of its bank, or PRECHARGE ALL, clears it) and moved with
        the entries as they close up; a new entry compares its row with its bank's open row.
        So the choice reads a flip-flop where it compared rows (asserted equal)."""
        depth, window_in = self.lookahead, window.push
        slots, valid = [window.entries[j] for j in range(depth)], window.valid
        hits = [Signal(name=f"hit_{j}") for j in range(depth)]
        to_bank = plan.valid & ~banks.closing_all

        def after(bank, row, now):
            activates = to_bank & (plan.kind == _ACTIVE) & (plan.bank == bank)
            closes = banks.closing_all | to_bank & (plan.bank == bank) & (
                (plan.kind == _PRECHARGE) | (plan.kind == _COLUMN) & plan.close
            )
            return Mux(activates, plan.address == row, now & ~closes)

        count = sum(valid[j] for j in range(depth))  # entries now
        back = count - window.pop
        incoming = window_in.payload
        arriving = after(incoming.bank, incoming.row,
                         banks.is_open.bit_select(incoming.bank, 1)
                         & (banks.open_row[incoming.bank] == incoming.row))  # fmt: skip
        for j, slot in enumerate(slots):
            with m.If(window_in.valid & window_in.ready & (back == j)):
                m.d.sync += hits[j].eq(arriving)
            if j + 1 < depth:
                with m.Elif(window.pop & (window.pop_index <= j)):
                    nxt = slots[j + 1]
                    m.d.sync += hits[j].eq(after(nxt.bank, nxt.row, hits[j + 1]))
            with m.Else():
                m.d.sync += hits[j].eq(after(slot.bank, slot.row, hits[j]))
            actual = banks.is_open.bit_select(slot.bank, 1) & (
                banks.open_row[slot.bank] == slot.row
            )
            m.d.comb += Assert(~valid[j] | (hits[j] == actual), f"SDRAM hit flag {j} wrong")
        return hits

    def _carry_out(self, m, issue, hold, plan, window, banks):
        """The command planned last clock: its pins, the window, the bank's state. Each wait
        is a constant per case, and each bank's counters are loaded on their own, so no adder
        or bank-indexed choice sits in front of a counter."""
        t, bl, cl = self.t, self.burst_length, self.cas_latency
        bit = Const(1, 4) << plan.bank

        def per_bank(counters, clocks):
            for b in range(4):
                with m.If(plan.bank == b):
                    hold(counters[b], clocks)

        with m.If(plan.valid & (plan.kind == _COLUMN)):
            issue(READ, ba=plan.bank, a=plan.address)  # a WRITE when ``we`` is set
            m.d.comb += [self.command.we.eq(plan.write), window.pop.eq(1),
                         window.pop_index.eq(plan.slot), self.tag.eq(plan.tag),
                         self.reading.eq(~plan.write), self.writing.eq(plan.write)]  # fmt: skip
            hold(banks.to_read, bl)
            for write, recovery, to_write in ((1, bl - 1 + t["twr"], bl), (0, bl, bl + cl + 1)):
                with m.If(plan.write == write):
                    hold(banks.to_write, to_write)
                    per_bank(banks.to_precharge, recovery)
                    with m.If(plan.close):
                        per_bank(banks.to_active, recovery + t["trp"])
            with m.If(plan.close):
                m.d.sync += banks.is_open.eq(banks.is_open & ~bit)
        with m.Elif(plan.valid & (plan.kind == _PRECHARGE)):
            issue(PRECHARGE, ba=plan.bank)
            m.d.sync += banks.is_open.eq(banks.is_open & ~bit)
            per_bank(banks.to_active, t["trp"])
        with m.Elif(plan.valid & (plan.kind == _ACTIVE)):
            issue(ACTIVE, ba=plan.bank, a=plan.address)
            m.d.sync += [banks.is_open.eq(banks.is_open | bit),
                         banks.open_row[plan.bank].eq(plan.address)]  # fmt: skip
            per_bank(banks.to_column, t["trcd"])
            per_bank(banks.to_precharge, t["tras"])
            per_bank(banks.to_active, t["trc"])
            hold(banks.to_next_active, t["trrd"])


def _issue(m, command, kind, ba=0, a=0):
    ras, cas, we = kind
    m.d.comb += [command.cs.eq(1), command.ras.eq(ras), command.cas.eq(cas), command.we.eq(we),
                 command.ba.eq(ba), command.a.eq(a)]  # fmt: skip


class _Countdown:
    """A down-counter of the clocks a command must still wait, with a flag in a register for
    each of ``marks``: ``at_most[k]`` is whether the count is ``k`` or less (so a decision
    reads one flip-flop, not a comparison)."""

    def __init__(self, m, name, limit, marks):
        self.count = Signal(range(limit + 1), name=name)
        self.at_most = {k: Signal(name=f"{name}_at_most_{k}") for k in marks}
        with m.If(self.count != 0):
            m.d.sync += self.count.eq(self.count - 1)
        m.d.sync += [flag.eq(self.count <= k + 1) for k, flag in self.at_most.items()]


def _hold(m, countdown, clocks):
    """Successors wait ``clocks`` from this command's clock (or longer, if the count says)."""
    count = countdown.count  # the larger of count - 1 and clocks - 1, count compared first
    if clocks - 1 >= 1 << len(count):
        raise ValueError(f"A wait of {clocks} clocks does not fit {count.name}")
    m.d.sync += count.eq(Mux(count > clocks, count - 1, clocks - 1))
    m.d.sync += [flag.eq((count <= k + 1) & (clocks - 1 <= k))
                 for k, flag in countdown.at_most.items()]  # fmt: skip
