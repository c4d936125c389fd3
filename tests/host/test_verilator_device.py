"""How simulation models are built: zero memory initialisers written as loops, and compiled
Verilator models found again by a description of the design without converting it."""

import subprocess
from pathlib import Path

import pytest
from memgen.host import verilator_device as verilator_link
from memgen.host.verilator_device import collapse_zero_initialisers


def initialiser(name, words, width=8, value=0):
    lines = "".join(
        f"    {name}[{i}] = {width}'h{value:0{(width + 3) // 4}x};\n" for i in range(words)
    )
    return f"  initial begin\n{lines}  end\n"


def test_zero_initialisers_become_loops():
    text = (
        "module m;\n"
        + initialiser("memory", 2048)
        + initialiser("table$3", 16, width=28)
        + "endmodule\n"
    )
    assert collapse_zero_initialisers(text) == (
        "module m;\n"
        "  initial begin\n    for (integer i = 0; i < 2048; i = i + 1) memory[i] = 8'h0;\n  end\n"
        "  initial begin\n    for (integer i = 0; i < 16; i = i + 1) table$3[i] = 28'h0;\n  end\n"
        "endmodule\n"
    )


@pytest.mark.parametrize(
    "block",
    [
        initialiser("memory", 8, value=0x5A),  # not zero
        initialiser("memory", 8).replace("memory[3]", "memory[9]"),  # not words 0 to N-1
        initialiser("memory", 8).replace("    memory[5]", "    other[5]"),  # two memories
        initialiser("memory", 8).replace("memory[2] = 8'h00", "memory[2] = 8'h10"),  # one word set
    ],
    ids=["nonzero", "gap", "two-memories", "one-word-set"],
)
def test_other_initialisers_are_left_alone(block):
    text = "module m;\n" + block + "endmodule\n"
    assert collapse_zero_initialisers(text) == text


def test_a_described_design_is_found_without_converting_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMGEN_CACHE", str(tmp_path))
    key = "(RecordFormat(byte_capacity=64), 'trivium')"
    assert verilator_link.design_digest(key) == verilator_link.design_digest(key)
    assert verilator_link.design_digest(key) != verilator_link.design_digest(key + " ")
    built = tmp_path / "verilator" / verilator_link.design_digest(key) / "memgen_uart_sim"
    built.parent.mkdir(parents=True)
    built.write_bytes(b"")

    def never():
        raise AssertionError("the design was elaborated although its model was built")

    assert verilator_link.build_uart_model(never, key) == built


def test_a_new_design_is_made_and_compiled_once(tmp_path, monkeypatch):
    """Without a model for the key the design is made, converted and compiled (here a stand-in
    compiler that records what it got)."""
    monkeypatch.setenv("MEMGEN_CACHE", str(tmp_path))
    made, compiled = [], []
    monkeypatch.setattr(verilator_link.verilog, "convert", lambda top, name: f"module {top};")

    def verilator(command, **_):
        """Stands in for the compiler: keeps the Verilog it was given, makes the executable."""
        compiled.append(Path(command[-2]).read_text())
        Path(command[command.index("-o") + 1]).write_bytes(b"")
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(verilator_link.subprocess, "run", verilator)

    def make():
        made.append(1)
        return "design"

    first = verilator_link.build_uart_model(make, "key")
    assert verilator_link.build_uart_model(make, "key") == first
    assert made == [1] and compiled == ["module design;"]


def test_unnamed_storage_is_refused():
    """Storage backends without a name could not be told apart in the model cache."""
    from memgen.hdl.engine.records import RecordFormat
    from memgen.host.transports import VerilatorTransport

    with pytest.raises(ValueError, match="storage_name"):
        VerilatorTransport(
            RecordFormat(64, record_size=4), storage=lambda: {"data_storage": object()}
        )
