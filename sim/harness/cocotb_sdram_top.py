"""cocotb testbench of a board's whole top level with its records in SDRAM (run by
:mod:`memgen.sim.harness.cocotb_runner` with ``"top": "board_sdram"``): the host's frames as
UART bits, the answers checked against the link's reference model byte for byte, and on the
SDRAM pins the chip model with the datasheet's full timing (the 200 us power-up included),
which fails the test on any rule the controller breaks."""

import cocotb
from memgen.hdl.engine.protocol import Opcode
from memgen.host.codec import append_frames, command_plain, command_recall, command_sample
from memgen.host.link_reference import LinkReference
from memgen.sim.harness.cocotb_sdram import _play
from memgen.sim.harness.cocotb_top import Host, _config, exchange_checked, start
from memgen.sim.harness.sdram_chip import SDRAMChip


@cocotb.test()
async def board_top_on_the_chip_model(dut):
    """STATUS, records appended, SAMPLE, RECITE, RECALL of a distorted record and CLEAR, each
    answer byte-identical to the reference; the chip model saw refreshes and no broken rule."""
    config, fmt = _config()
    await start(dut)
    chip = SDRAMChip(keep_log=True)  # the ULX3S's 32 MiB part, the datasheet's timing
    cocotb.start_soon(_play(dut, chip))
    reference = LinkReference(fmt)
    host = Host(dut, config["divisor"])
    size = fmt.record_size
    records = [bytes(size), b"\xff" * size] + [bytes([n]) * size for n in range(1, 19)]
    query = bytearray(records[7])
    query[0] ^= 0x03
    payloads = [command_plain(Opcode.STATUS), command_sample(2)]  # empty: EMPTY
    payloads += [payload for payload, _ in append_frames(records, size)]
    payloads += [command_sample(40), command_plain(Opcode.RECITE)]
    payloads += [command_recall(bytes(query), k=2), command_plain(Opcode.CLEAR)]
    payloads += [command_plain(Opcode.STATUS)]
    for payload in payloads:
        await exchange_checked(host, reference, payload)
    commands = {command for _, command, _, _ in chip.log}
    assert {"WRITE", "READ", "AUTO REFRESH"} <= commands, commands
    dut._log.info(f"{len(payloads)} commands answered exactly; {chip.cycle} chip clocks")
