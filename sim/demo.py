"""``make demo``: MemGEN learns by heart on the simulated gateware, every sample verified.

Two embedded datasets, nothing downloaded:

* the first digits of pi, computed here (Machin's formula), one 1-byte record per character,
  recited back in order: the paper's run stopped at "3.1415"; this one goes on until memory is full;
* the lines of the Zen of Python (the ``this`` module ships with every Python), sampled.

Runs the MemGen core in the Amaranth simulator and checks every response byte against the
bit-exact reference model.
"""

import argparse
import codecs
import sys
import time

from memgen.hdl.core import MemGen
from memgen.hdl.protocol import (
    ErrorCode,
    Opcode,
    ResponseKind,
    command_append,
    command_plain,
    command_sample,
)
from memgen.hdl.records import RecordFormat
from memgen.host.reference import MemGenReference

from .amaranth_sim import run_simulation
from .core_bench import run_script


def pi_digits(count):
    """``"3.14159..."`` with ``count`` decimals, by Machin's formula in integer arithmetic."""
    scale = 10 ** (count + 10)

    def arctan_inverse(x):
        total, term, n, sign = 0, scale // x, 1, 1
        while term:
            total += sign * (term // n)
            term //= x * x
            n += 2
            sign = -sign
        return total

    digits = str(4 * (4 * arctan_inverse(5) - arctan_inverse(239)))[: count + 1]
    return digits[0] + "." + digits[1:]


def zen_lines():
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        import this
    return [line for line in codecs.decode(this.s, "rot13").splitlines() if line]


def play(record_format, records, commands):
    """Train ``records`` into the simulated core, then run ``commands``; verify every response.

    Training stops at the first refused record. Returns a dict: ``responses`` (per command),
    ``refused`` (the refusal's ErrorCode or None), ``stored`` (records kept), ``clocks``.
    """
    dut = MemGen(record_format)
    reference = MemGenReference(record_format)
    outcome = {"responses": [], "refused": None, "clocks": 0}

    async def clock(ctx):
        async for _ in ctx.tick():
            outcome["clocks"] += 1

    async def driver(ctx):
        for record in records:
            [answer] = await run_script(ctx, dut, reference, [command_append(record)])
            if answer:  # refused: memory full, the paper's segmentation fault
                outcome["refused"] = ErrorCode(answer[0][1][0])
                break
        outcome["responses"] = await run_script(ctx, dut, reference, commands)

    run_simulation(dut, driver, processes=[clock], name="demo")
    outcome["stored"] = len(reference.memory)
    return outcome


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=1200, help="decimals of pi to offer")
    parser.add_argument("--capacity", type=int, default=1000, help="bytes of simulated memory")
    parser.add_argument("--samples", type=int, default=8)
    args = parser.parse_args(argv)

    started = time.monotonic()
    text = pi_digits(args.digits)
    pi = play(
        RecordFormat(byte_capacity=args.capacity, record_size=1),
        [c.encode() for c in text],
        [command_plain(Opcode.RECITE), command_sample(64)],
    )
    recited = "".join(body.decode() for _, body in pi["responses"][0])
    assert recited == text[: pi["stored"]], "recitation differs from the training data"

    lines = zen_lines()
    zen = play(
        RecordFormat(byte_capacity=2048, max_records=32, max_length=96),
        [line.encode() for line in lines],
        [command_sample(args.samples), command_plain(Opcode.STATUS)],
    )
    elapsed = time.monotonic() - started

    print("memgen demo: the MemGen core in the Amaranth simulator, every byte verified\n")
    print(f"pi     trained {len(text)} characters into {args.capacity} bytes of memory")
    print(f"       recited  {recited[:40]}... ({len(recited)} characters, exact)")
    print(f'       the paper stopped at "3.1415"; memory full after {len(recited) - 2} decimals')
    print(f"       next record refused with {pi['refused'].name} (stored records intact)")
    sampled = "".join(body.decode() for _, body in pi["responses"][1])
    print(f"       64 sampled digits: {sampled}")
    print(f"zen    trained {zen['stored']} lines; {args.samples} samples:")
    for kind, body in zen["responses"][0]:
        assert kind == ResponseKind.RECORD
        print(f"         {body.decode()}")
    clocks = pi["clocks"] + zen["clocks"]
    print(f"\n{clocks} simulated clocks in {elapsed:.1f} s; all samples equal the reference model")
    return 0


if __name__ == "__main__":
    sys.exit(main())
