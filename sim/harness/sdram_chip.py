"""The ULX3S's SDR SDRAM, clock by clock: a model that stores what is written, answers reads at
the CAS latency and fails on every timing rule a controller breaks.

Timings are the -7 grade of the Alliance Memory AS4C16M16SA / AS4C32M16SB datasheets (table 16,
A.C. operating conditions: tRC and tRFC 63 ns, tRCD and tRP 21 ns, tRRD, tMRD and tWR 14 ns,
tRAS 42 ns to 120 us, tCK at least 10 ns at CAS latency 2 and 7 ns at 3, an average refresh
interval of 7.8 us), the slowest of the 16-bit, 4-bank, 8,192-row parts ULX3S boards carry
(32 MB with 512 columns, 64 MB with 1,024), so a controller that passes here meets each of them.
The power-up sequence is the datasheets' too: 200 us of NOPs, PRECHARGE ALL, eight AUTO
REFRESHes and LOAD MODE REGISTER (refreshes and mode register in either order).

One call of :meth:`SDRAMChip.clock` is one rising edge: the pins as the chip samples them
(commands as asserted flags, the way amaranth-boards' ``SDRAMResource`` inverts ``cs_n``,
``ras_n``, ``cas_n`` and ``we_n``), and it returns what the chip drives on DQ until the next edge
(None while it does not drive). A READ at edge n is therefore returned by the call for edge
n + CL - 1 and sampled by the controller at edge n + CL.

Stricter than the datasheets where that keeps the model small: every refresh follows the one
before within tREFI (no postponed refreshes), read bursts ignore DQM (a write may not start while
read data is still on the bus), and CKE stays high (no power-down or self refresh).
"""

import math
from dataclasses import dataclass, field

__all__ = [
    "Geometry",
    "SDRAMChip",
    "Timing",
    "TimingViolation",
    "amaranth_process",
    "command_name",
]

NOP, ACTIVE, READ, WRITE, TERMINATE, PRECHARGE, REFRESH, MODE = (
    "NOP", "ACTIVE", "READ", "WRITE", "BURST TERMINATE", "PRECHARGE", "AUTO REFRESH",
    "LOAD MODE REGISTER",
)  # fmt: skip
_COMMANDS = {  # (ras, cas, we) asserted -> command, with cs asserted
    (0, 0, 0): NOP, (1, 0, 0): ACTIVE, (0, 1, 0): READ, (0, 1, 1): WRITE,
    (0, 0, 1): TERMINATE, (1, 0, 1): PRECHARGE, (1, 1, 0): REFRESH, (1, 1, 1): MODE,
}  # fmt: skip
_NEVER = -math.inf  # the cycle of an event that has not happened


def command_name(cs, ras, cas, we):
    """The command of one edge's control pins (asserted flags); NOP while ``cs`` is low."""
    return _COMMANDS[bool(ras), bool(cas), bool(we)] if cs else NOP


class TimingViolation(AssertionError):
    """A command the chip's datasheet forbids; ``rule`` names the rule (``"tRCD"``, ...)."""

    def __init__(self, rule, cycle, message):
        super().__init__(f"SDRAM {rule} at cycle {cycle}: {message}")
        self.rule, self.cycle = rule, cycle


@dataclass(frozen=True)
class Geometry:
    """Banks, rows, columns and DQ bits; ``rows`` smaller than 8,192 makes a scaled-down chip."""

    banks: int = 4
    rows: int = 8192
    columns: int = 512
    data_bits: int = 16

    @property
    def bytes(self):
        return self.banks * self.rows * self.columns * self.data_bits // 8


@dataclass(frozen=True)
class Timing:
    """The datasheet's minimum times in nanoseconds (``tras_max`` and ``trefi`` are maxima)."""

    trc: float = 63
    trfc: float = 63
    trcd: float = 21
    trp: float = 21
    trrd: float = 14
    tmrd: float = 14
    tras: float = 42
    tras_max: float = 120_000
    twr: float = 14
    tck_cl2: float = 10
    tck_cl3: float = 7
    trefi: float = 7_800
    power_up: float = 200_000
    init_refreshes: int = 8

    def clocks(self, name, clock_hz):
        """``name``'s time in whole clocks at ``clock_hz``: rounded up for a minimum, down for a
        maximum (``tras_max``, ``trefi``)."""
        ratio = getattr(self, name) * clock_hz / 1e9
        whole = round(ratio)
        if abs(ratio - whole) < 1e-9:  # 21 ns at 100 MHz is 3 clocks, not 4
            return whole
        return int(ratio) if name in ("tras_max", "trefi") else int(ratio) + 1


@dataclass
class _Bank:
    row: int | None = None
    activated: float = _NEVER
    precharged: float = _NEVER  # when its precharge began (a command, or auto precharge)
    last_write: float = _NEVER  # the edge of its last write data
    auto_precharge: int | None = None  # the edge its pending auto precharge begins


@dataclass
class _Burst:
    """A read or write burst: ``first`` is the edge of element 0 on the bus."""

    bank: int
    row: int
    column: int
    first: int
    length: int  # elements; the row's columns for a full-page burst
    page: bool = False
    stop: float = math.inf  # elements at edges from here on are cut off

    def element_at(self, edge):
        i = edge - self.first
        return i if 0 <= i < self.length and edge < self.stop else None


def _cut(bursts, edge, bank=None):
    """Cut ``bursts`` (of ``bank``, or all) off at ``edge``: no element from it on."""
    for burst in bursts:
        if bank is None or burst.bank == bank:
            burst.stop = min(burst.stop, edge)


@dataclass
class SDRAMChip:
    """One SDRAM chip of ``geometry`` and ``timing``, clocked at ``clock_hz``.

    ``memory`` maps (bank, row, column) to the 16-bit word written there; a word never written
    reads as a pattern of its address, so reading the wrong place shows. ``log`` keeps each
    command with its edge when ``keep_log`` is set.
    """

    clock_hz: float = 100e6
    geometry: Geometry = field(default_factory=Geometry)
    timing: Timing = field(default_factory=Timing)
    keep_log: bool = False

    def __post_init__(self):
        self.t = {name: self.timing.clocks(name, self.clock_hz)
                  for name in ("trc", "trfc", "trcd", "trp", "trrd", "tmrd", "tras", "tras_max",
                               "twr", "trefi", "power_up")}  # fmt: skip
        self.memory, self.log, self.cycle = {}, [], -1
        self.banks = [_Bank() for _ in range(self.geometry.banks)]
        self.reads, self.writes = [], []
        self.cas_latency = self.burst_length = None
        self.interleaved = self.single_writes = False
        self.init = "power-up"  # then "precharged", then "ready"
        self.refreshes = 0
        self.last_refresh = self.last_mode = self.last_active = _NEVER

    # -- one edge ------------------------------------------------------------------------------

    def clock(self, cs=0, ras=0, cas=0, we=0, ba=0, a=0, dq=0, dqm=0, cke=1):
        """Sample the pins at one rising edge; return what the chip drives until the next.
        ``dq`` is None where the controller does not drive DQ (a write beat then fails)."""
        self.cycle += 1
        n, command = self.cycle, command_name(cs, ras, cas, we)
        if self.keep_log and command != NOP:
            self.log.append((n, command, ba, a))
        self._background(n)
        if command != NOP:
            self._check_command(n, command, ba, a, cke)
        getattr(self, "_" + command.lower().replace(" ", "_"))(n, ba, a)
        self._take_write_data(n, dq, dqm)
        return self._read_data(n + 1)

    def _background(self, n):
        for b, bank in enumerate(self.banks):
            if bank.auto_precharge is not None and n >= bank.auto_precharge:
                bank.row, bank.precharged, bank.auto_precharge = None, bank.auto_precharge, None
            if bank.row is not None and n - bank.activated > self.t["tras_max"]:
                self._fail("tRAS max", n, f"bank {b}'s row open longer than tRAS max")
        if self.init == "ready" and n - self.last_refresh > self.t["trefi"]:
            self._fail("tREFI", n, f"no AUTO REFRESH for {n - self.last_refresh} clocks")

    def _check_command(self, n, command, ba, a, cke):
        if not cke:
            self._fail("CKE", n, f"{command} with CKE low (power-down is not modelled)")
        if n < self.t["power_up"]:
            self._fail("power-up", n, f"{command} before {self.timing.power_up} ns of NOPs")
        if n - self.last_refresh < self.t["trfc"]:
            self._fail("tRFC", n, f"{command} {n - self.last_refresh} clocks after REFRESH")
        if n - self.last_mode < self.t["tmrd"]:
            self._fail("tMRD", n, f"{command} {n - self.last_mode} clocks after the mode register")
        if self.init == "power-up" and not (command == PRECHARGE and a >> 10 & 1):
            self._fail("initialisation", n, f"{command} before PRECHARGE ALL")
        if self.init != "ready" and command in (ACTIVE, READ, WRITE, TERMINATE):
            self._fail("initialisation", n, f"{command} before {self.timing.init_refreshes} "
                       "refreshes and the mode register")  # fmt: skip

    def _fail(self, rule, n, message):
        raise TimingViolation(rule, n, message)

    # -- commands ------------------------------------------------------------------------------

    def _nop(self, n, ba, a):
        pass

    def _active(self, n, ba, a):
        bank, row = self.banks[ba], a
        if row >= self.geometry.rows:
            self._fail("address", n, f"row {row} of {self.geometry.rows}")
        if bank.row is not None:
            self._fail("open row", n, f"ACTIVE to bank {ba}, whose row {bank.row} is open")
        self._since(n, bank.precharged, "trp", f"ACTIVE to bank {ba} after its precharge")
        self._since(n, bank.activated, "trc", f"ACTIVE to bank {ba} after its last ACTIVE")
        self._since(n, self.last_active, "trrd", "ACTIVE after an ACTIVE to another bank")
        bank.row, bank.activated, self.last_active = row, n, n

    def _read(self, n, ba, a):
        burst = self._column_command(n, ba, a, "READ", n + self.cas_latency, self.burst_length)
        _cut(self.reads, burst.first)  # a new READ cuts the last one's data off
        self.reads.append(burst)
        _cut(self.writes, n)
        if a >> 10 & 1:
            self._auto_precharge(n, ba, n + burst.length, "READ")

    def _write(self, n, ba, a):
        if any(
            b.element_at(e) is not None for b in self.reads for e in range(n, n + self.cas_latency)
        ):
            self._fail("bus contention", n, "WRITE data while read data is still to come")
        length = 1 if self.single_writes else self.burst_length
        burst = self._column_command(n, ba, a, "WRITE", n, length)
        _cut(self.writes, n)
        _cut(self.reads, n)
        self.writes.append(burst)
        if a >> 10 & 1:
            self._auto_precharge(n, ba, n + burst.length - 1 + self.t["twr"], "WRITE")

    def _column_command(self, n, ba, a, name, first, length):
        bank = self.banks[ba]
        column = a & (self.geometry.columns - 1)  # A0-A8 for 512 columns, A0-A9 for 1,024
        if bank.row is None or bank.auto_precharge is not None:
            self._fail("no open row", n, f"{name} to bank {ba}, which has no open row")
        self._since(n, bank.activated, "trcd", f"{name} to bank {ba} after its ACTIVE")
        page = length == 0  # a full page: the row's columns, round and round
        if page and a >> 10 & 1:
            self._fail("auto precharge", n, f"{name} with auto precharge of a full page")
        return _Burst(ba, bank.row, column, first, length or self.geometry.columns, page)

    def _auto_precharge(self, n, ba, begins, name):
        bank = self.banks[ba]
        if begins - bank.activated < self.t["tras"]:
            self._fail("tRAS", n, f"{name} with auto precharge ends bank {ba}'s row before tRAS")
        bank.auto_precharge = begins

    def _burst_terminate(self, n, ba, a):
        _cut(self.reads, n + self.cas_latency)
        _cut(self.writes, n)

    def _precharge(self, n, ba, a):
        targets = range(self.geometry.banks) if a >> 10 & 1 else [ba]
        for b in targets:
            bank = self.banks[b]
            if bank.auto_precharge is not None:
                self._fail("auto precharge", n, f"PRECHARGE of bank {b} during auto precharge")
            if bank.row is None:
                continue  # precharging an idle bank does nothing
            self._since(n, bank.activated, "tras", f"PRECHARGE of bank {b} after its ACTIVE")
            self._since(n, bank.last_write, "twr", f"PRECHARGE of bank {b} after write data")
            bank.row, bank.precharged = None, n
            _cut(self.reads, n + self.cas_latency, bank=b)
            _cut(self.writes, n, bank=b)
        if self.init == "power-up":
            self.init = "precharged"

    def _auto_refresh(self, n, ba, a):
        self._all_idle(n, "AUTO REFRESH")
        self.last_refresh = n
        self.refreshes += 1
        self._maybe_ready()

    def _load_mode_register(self, n, ba, a):
        self._all_idle(n, "LOAD MODE REGISTER")
        lengths = {0: 1, 1: 2, 2: 4, 3: 8, 7: 0}  # 0: a full page
        latency = a >> 4 & 7
        period = 1e9 / self.clock_hz
        if a & 7 not in lengths or latency not in (2, 3) or a >> 7 & 3 or a >> 10 or ba:
            self._fail("mode register", n, f"mode {a:#x} (bank bits {ba}) is reserved")
        if period < (self.timing.tck_cl2 if latency == 2 else self.timing.tck_cl3) - 1e-9:
            self._fail("mode register", n, f"CAS latency {latency} at a {period:.4g} ns clock")
        if a & 7 == 7 and a >> 3 & 1:
            self._fail("mode register", n, "a full-page burst must be sequential")
        self.burst_length, self.cas_latency = lengths[a & 7], latency
        self.interleaved, self.single_writes = bool(a >> 3 & 1), bool(a >> 9 & 1)
        self.last_mode = n
        self._maybe_ready()

    # -- helpers -------------------------------------------------------------------------------

    def _since(self, n, then, name, what):
        if n - then < self.t[name]:
            self._fail(
                name[0] + name[1:].upper(), n, f"{what}: {n - then} clocks, at least {self.t[name]}"
            )

    def _all_idle(self, n, name):
        for b, bank in enumerate(self.banks):
            if bank.row is not None:
                self._fail("open row", n, f"{name} while bank {b}'s row is open")
            self._since(n, bank.precharged, "trp", f"{name} after bank {b}'s precharge")

    def _maybe_ready(self):
        if self.refreshes >= self.timing.init_refreshes and self.cas_latency:
            if self.init == "precharged":
                self.init = "ready"

    def _column(self, burst, i):
        if burst.page:  # wraps round the row
            return (burst.column + i) % self.geometry.columns
        base = burst.column & ~(burst.length - 1)
        offset = burst.column % burst.length
        step = offset ^ i if self.interleaved else (offset + i) % burst.length
        return base + step

    def _take_write_data(self, n, dq, dqm):
        self.writes = [b for b in self.writes if b.first + b.length > n]  # bursts not yet ended
        for burst in self.writes:
            i = burst.element_at(n)
            if i is None:
                continue
            if dq is None:
                self._fail("write data", n, "a write beat with DQ not driven")
            key = (burst.bank, burst.row, self._column(burst, i))
            old = self.memory.get(key, self.unwritten(*key))
            keep = (0xFF if dqm & 1 else 0) | (0xFF00 if dqm & 2 else 0)
            self.memory[key] = (old & keep) | (dq & ~keep & 0xFFFF)
            self.banks[burst.bank].last_write = n

    def _read_data(self, edge):
        self.reads = [b for b in self.reads if b.first + b.length > edge]
        for burst in self.reads:
            i = burst.element_at(edge)
            if i is not None:
                key = (burst.bank, burst.row, self._column(burst, i))
                return self.memory.get(key, self.unwritten(*key))
        return None

    @staticmethod
    def unwritten(bank, row, column):
        """What a word never written reads as: a pattern of its address."""
        return (bank * 0x4B1D ^ row * 0x9E37 ^ column * 0x2F6B ^ 0xA5A5) & 0xFFFF


def amaranth_process(chip, pins):
    """An Amaranth-simulator process that plays ``chip`` on a controller's ``pins`` (an
    ``SDRAMPins`` interface): each clock it samples the pins at the edge, clocks the chip and
    puts what the chip drives on ``dq_i``; it fails when both sides drive DQ at once."""
    names = ("cs", "ras", "cas", "we", "ba", "a", "dq_o", "dq_oe", "dqm", "cke")

    async def process(ctx):
        driving = None
        async for sampled in ctx.tick().sample(*(getattr(pins, name) for name in names)):
            cs, ras, cas, we, ba, a, dq_o, dq_oe, dqm, cke = sampled[2:]
            if dq_oe and driving is not None:
                raise TimingViolation("bus contention", chip.cycle + 1, "both sides drive DQ")
            driving = chip.clock(cs, ras, cas, we, ba, a, dq_o if dq_oe else None, dqm, cke)
            ctx.set(pins.dq_i, 0 if driving is None else driving)

    return process
