"""The buffered queue: a FIFO in order at any fill; its storage marked for block RAM on an iCE40
from 40 bits (the readout's queue at 4-byte words and wider, not at one or two bytes), and there
Yosys builds it from SB_RAM40_4K, not flops."""

import random
from collections import deque
from types import SimpleNamespace

import pytest
from amaranth.back import rtlil
from memgen.boards import board
from memgen.hdl.engine.readout import Readout
from memgen.hdl.fpga.queue import BufferedQueue
from memgen.sim.harness.amaranth_sim import run_simulation, synthesized_cells

ICE40 = SimpleNamespace(family="ice40")


def _ports(queue):
    return [queue.w_data, queue.w_en, queue.w_rdy, queue.r_data, queue.r_en, queue.r_rdy]


@pytest.mark.parametrize("block_ram", [False, True])
@pytest.mark.parametrize("depth", [2, 5])
def test_words_leave_in_order(depth, block_ram):
    """Random pushes and pops (full and empty reached): each word popped is the oldest pushed,
    words with structure among them; ``level`` counts the words waiting, never above
    ``depth``."""
    width = 78
    dut = BufferedQueue(width=width, depth=depth, block_ram=block_ram)
    top = (1 << width) - 1
    rng = random.Random(depth)
    words = [0, top, 1, 1 << (width - 1)] + [rng.getrandbits(width) for _ in range(200)]

    async def testbench(ctx):
        model, pending, popped, full = deque(), deque(words), [], 0
        for clock in range(2000):
            push = bool(pending) and rng.random() < (0.8 if clock < 300 else 0.4)
            pop = rng.random() < (0.3 if clock < 300 else 0.8)
            ctx.set(dut.w_data, pending[0] if pending else 0)
            ctx.set(dut.w_en, push)
            ctx.set(dut.r_en, pop)
            assert ctx.get(dut.level) == len(model)
            assert not ctx.get(dut.w_rdy) or len(model) < depth
            if ctx.get(dut.r_rdy) and pop:
                popped.append(ctx.get(dut.r_data))
                assert popped[-1] == model.popleft()
            if push and ctx.get(dut.w_rdy):
                model.append(pending.popleft())
            full += len(model) == depth
            await ctx.tick()
            if not pending and not model:
                break
        assert popped == words
        assert full  # the queue was full at least once

    run_simulation(dut, testbench, name=f"queue_{depth}_{int(block_ram)}")


@pytest.mark.parametrize(("word_bytes", "marked"), [(1, False), (2, False), (4, True), (8, True)])
def test_readout_queue_in_block_ram_from_four_bytes(word_bytes, marked):
    """On an iCE40 the iCEBreaker's readout keeps a queue of one- or two-byte words in flops (as
    its byte-wide build was measured) and puts four- and eight-byte words in block RAM."""
    fmt = board("icebreaker").with_word_bytes(word_bytes).record_format
    readout = Readout(fmt, read_latency=2)
    text = rtlil.convert(readout, platform=ICE40)
    assert text.count('attribute \\ram_style "block"') == int(marked)


@pytest.mark.parametrize(
    ("platform", "width", "depth", "block_ram", "marked"),
    [
        (ICE40, 40, 5, None, True),  # a 4-byte word and 8 bits of flags
        (ICE40, 39, 5, None, False),
        (ICE40, 41, 5, None, True),
        (SimpleNamespace(family="ICE40"), 78, 5, None, True),
        (SimpleNamespace(family="ecp5"), 78, 5, None, False),
        (SimpleNamespace(family="series7"), 78, 5, None, False),  # sorts after "ice40"
        (None, 78, 5, None, False),
        (ICE40, 78, 1, None, False),  # one word: the output register, no storage
        (ICE40, 78, 2, None, True),
        (ICE40, 78, 5, False, False),
        (None, 8, 5, True, True),
    ],
)
def test_storage_marked_where_chosen(platform, width, depth, block_ram, marked):
    """``ram_style = "block"`` on the storage exactly where the rule says, at its width
    threshold and one either side, and as ``block_ram`` overrides it."""
    dut = BufferedQueue(width=width, depth=depth, block_ram=block_ram)
    assert dut.in_block_ram(platform) is marked
    text = rtlil.convert(dut, platform=platform, ports=_ports(dut))
    assert text.count('attribute \\ram_style "block"') == int(marked)


@pytest.mark.parametrize("block_ram", [True, False])
def test_ice40_synthesis_uses_block_ram(tmp_path, block_ram):
    """synth_ice40 builds the marked 78-bit queue of five words from five SB_RAM40_4K (16 bits
    each) and no more than its two registers' worth of flops; unmarked, from flops (four words'
    storage beside them) and no block RAM."""
    width, depth = 78, 5
    dut = BufferedQueue(width=width, depth=depth, block_ram=block_ram)
    cells = synthesized_cells(dut, _ports(dut), "synth_ice40", tmp_path, platform=ICE40)
    rams = sum(cell["type"] == "SB_RAM40_4K" for cell in cells)
    flops = sum(cell["type"].startswith("SB_DFF") for cell in cells)
    if block_ram:
        assert rams == -(-width // 16)
        assert flops <= 2 * width + 16  # the output register and the read's, and counters
    else:
        assert rams == 0
        assert flops >= depth * width  # four words stored and the output register
