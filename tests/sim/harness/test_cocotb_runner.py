"""The Verilog the cocotb runner gives Icarus: every combinational block settles at time 0, so a
signal whose inputs never change after reset is not left X (the full top level once waited
forever for a SLIP decoder's ``bad_escape``, stuck at X)."""

import shutil
import subprocess

import pytest
from amaranth.back import verilog
from amaranth.hdl import Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out
from memgen.sim.harness.cocotb_runner import wake_for_icarus

BENCH = """
module bench;
  reg clk = 0, rst = 0, choose = 0;
  reg [3:0] value = 4'h5;
  wire [4:0] out;
  part dut(.clk(clk), .rst(rst), .choose(choose), .value(value), .out(out));
  initial begin #1 $display("%b", out); $finish; end
endmodule
"""


class Part(wiring.Component):
    """A vector driven by a process (``low``) and, for its other bit, by one statement of a
    register that keeps its reset value: Yosys writes a bare ``always @*`` for that bit."""

    choose: In(1)
    value: In(4)
    out: Out(data.StructLayout({"low": 4, "high": 1}))

    def elaborate(self, platform):
        m = Module()
        held = Signal()
        m.d.sync += held.eq(held)
        m.d.comb += [self.out.low.eq(self.value), self.out.high.eq(~held)]
        with m.If(self.choose):
            m.d.comb += self.out.low.eq(0)
        return m


def _settled(source, tmp_path):
    """``out`` one nanosecond into an Icarus run of ``source``."""
    (tmp_path / "part.v").write_text(source)
    (tmp_path / "bench.v").write_text(BENCH)
    iverilog = shutil.which("iverilog")
    assert iverilog, "Icarus Verilog is not installed: apt-get install iverilog"
    subprocess.run(
        [iverilog, "-g2012", "-s", "bench", "-o", "bench.vvp", "bench.v", "part.v"],
        cwd=tmp_path,
        check=True,
    )
    run = subprocess.run(
        ["vvp", "-n", "bench.vvp"], cwd=tmp_path, check=True, capture_output=True, text=True
    )
    return run.stdout.split()[0]


def test_every_block_settles_at_time_zero(tmp_path):
    source = verilog.convert(Part(), name="part")
    assert "  always @*\n    out[4]" in source, "Yosys no longer writes the bare block"
    assert _settled(wake_for_icarus(source), tmp_path) == "10101"  # high = ~0, low = 5


def test_yosys_verilog_alone_leaves_x(tmp_path):
    """Without the wake-up the same design is X at time 1: the test above can fail."""
    assert "x" in _settled(verilog.convert(Part(), name="part"), tmp_path)


def test_module_without_wake_up_register_refused():
    module = "module m(a, b);\n  always @*\n    b[0] = a;\nendmodule\n"
    with pytest.raises(RuntimeError, match="no wake-up register"):
        wake_for_icarus(module)
