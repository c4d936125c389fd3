"""cocotb testbench of a storage backend built on a vendor primitive, run on that vendor's
simulation model (run by :mod:`memgen.sim.harness.cocotb_runner` with ``"top": "spram"``).

The backend's port is exported flat (``port__address``, ``port__write_data``, ...). A byte read
appears ``latency`` clocks after its read strobe and holds while no read or write follows; a
write leaves the output undefined until the next read, which the core never looks at.
"""

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge


async def _clock(dut, *, address=0, write=None, read=False):
    """One clock with the port's strobes as given; returns after the edge, settled."""
    await RisingEdge(dut.clk)
    dut.port__address.value = address
    dut.port__write_enable.value = write is not None
    dut.port__write_data.value = write or 0
    dut.port__read_enable.value = read


@cocotb.test()
async def random_access(dut):
    """Writes at every block's first, second and last bytes and random ones, then reads in a
    random order mixed with idle clocks and overwrites, each read checked against a dict."""
    config = json.loads(os.environ["MEMGEN_CONFIG"])
    rng = random.Random(config["seed"])
    depth = config["depth"]
    block = config["block_bytes"]
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 0
    edges = {base + offset for base in range(0, depth, block) for offset in (0, 1, block - 1)}
    stored = {}
    for address in sorted(edges) + [rng.randrange(depth) for _ in range(config["writes"])]:
        stored[address] = rng.getrandbits(8)
        await _clock(dut, address=address, write=stored[address])
    addresses = list(stored)
    held = None  # the byte the output holds, while it is defined
    for _ in range(config["operations"]):
        action = rng.random()
        if action < 0.6:
            address = rng.choice(addresses)
            await _clock(dut, address=address, read=True)
            await _clock(dut, address=rng.randrange(depth))  # idle, any address
            held = stored[address]
        elif action < 0.8:
            await _clock(dut, address=rng.randrange(depth))
        else:
            address = rng.choice(addresses)
            stored[address] = rng.getrandbits(8)
            await _clock(dut, address=address, write=stored[address])
            await _clock(dut, address=rng.randrange(depth))
            held = None
        await ReadOnly()
        if held is not None:
            assert int(dut.port__read_data.value) == held
