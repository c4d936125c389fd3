"""The index generator's streams at battery speed, bit-exact with
:class:`~memgen.hdl.engine.index_generator.IndexGeneratorModel`
(tests/sim/evidence/test_stats.py and tests/sim/evidence/test_batteries.py compare them).

The Python model takes microseconds per word; a battery wants gigabytes. :file:`generator_stream.c`
(compiled once with the system C compiler, cached by its source's hash) writes the engine's
32-bit words, or an index stream turned into fair bits, on stdout: about 180 MB/s for Trivium.
This module builds its command lines and reads its output into numpy.
"""

import argparse
import functools
import hashlib
import os
import signal
import subprocess
from pathlib import Path

import numpy as np
from memgen.hdl.engine.index_generator import GENERATORS, STATE_WIDTH, fraction_bits
from memgen.hdl.engine.lfsr import MAXIMAL_TAPS, leap_matrix
from memgen.host.verilator_device import cache_dir, make_once

__all__ = [
    "ENGINES",
    "engine_words",
    "first_words",
    "index_stream",
    "reduce_words",
    "stream_command",
]

STREAM_SOURCE = Path(__file__).with_name("generator_stream.c")
#: Engines the program knows: the generator options, and ``"scrambled"``, the retired default
#: (the 64-bit LFSR behind the xoshiro128++ scrambler, raw seeds), kept so that the guards in
#: tests/sim/evidence/test_quality.py can show that they catch it.
ENGINES = (*GENERATORS, "scrambled")


def _compile(path):
    compiler = os.environ.get("CC", "cc")
    try:
        result = subprocess.run(
            [compiler, "-O2", "-o", str(path), str(STREAM_SOURCE)], capture_output=True, text=True
        )
    except FileNotFoundError:
        raise RuntimeError(f"No C compiler ({compiler!r}); install gcc or set CC") from None
    if result.returncode:
        raise RuntimeError(f"Compiling {STREAM_SOURCE.name} failed:\n{result.stderr}")


@functools.cache
def stream_program():
    """The compiled :file:`generator_stream.c` (cached under ``$MEMGEN_CACHE`` by source hash)."""
    digest = hashlib.sha256(STREAM_SOURCE.read_bytes()).hexdigest()[:16]
    directory = cache_dir() / "generator" / digest
    directory.mkdir(parents=True, exist_ok=True)
    executable = directory / "generator_stream"
    make_once(executable, directory / "lock", _compile)
    return executable


def _check_engine(engine):
    if engine not in ENGINES:
        raise ValueError(f"Generator must be one of {', '.join(GENERATORS)}, not {engine!r}")


def stream_command(engine="trivium", seeds=(1,), nbytes=0, count=None, max_count=None):
    """The command that writes a stream on stdout, ``nbytes`` bytes of it (0: without end).

    Without ``count``: the engine's 32-bit words, little-endian. With ``count``: the indices of
    one endless request for ``count`` records (range reduction for a capacity of ``max_count``,
    by default ``count``), each turned into its share of fair bits (see the C source). Several
    ``seeds`` take turns, one word each.
    """
    _check_engine(engine)
    rows = []
    if engine != "trivium":
        rows = [
            f"{row:x}" for row in leap_matrix(STATE_WIDTH, MAXIMAL_TAPS[STATE_WIDTH], STATE_WIDTH)
        ]
    form = "words"
    if count is not None:
        form = f"indices:{count}:{fraction_bits((max_count or count).bit_length())}"
    mask = (1 << STATE_WIDTH) - 1
    if isinstance(seeds, range) and seeds.step == 1:
        seeds_argument = f"{seeds.start & mask:x}:{len(seeds)}"
    else:
        seeds_argument = ",".join(f"{seed & mask:x}" for seed in seeds)
    return [str(stream_program()), engine, form, str(nbytes), seeds_argument, *rows]


def _read(command, nbytes):
    result = subprocess.run(command, capture_output=True, check=True)
    if len(result.stdout) != nbytes:
        raise RuntimeError(f"{command[0]} wrote {len(result.stdout)} bytes, not {nbytes}")
    return result.stdout


def engine_words(seed, count, generator="trivium"):
    """The first ``count`` 32-bit words (``IndexGeneratorModel.next_word``) as uint64."""
    data = _read(stream_command(generator, (seed,), 4 * count), 4 * count)
    return np.frombuffer(data, dtype="<u4").astype(np.uint64)


def first_words(seeds, count, generator="trivium"):
    """The first ``count`` words of each of ``seeds`` (a range): shape ``(count, len(seeds))``."""
    nbytes = 4 * count * len(seeds)
    data = _read(stream_command(generator, seeds, nbytes), nbytes)
    return np.frombuffer(data, dtype="<u4").reshape(count, len(seeds)).astype(np.uint64)


def reduce_words(words, count, max_count):
    """Multiply with rejection on an array of words: each word's index, and whether it is kept
    (``IndexGeneratorModel.reduce``, vectorised)."""
    b = fraction_bits(max_count.bit_length())
    product = (words >> np.uint64(32 - b)) * np.uint64(count)
    accepted = (product & np.uint64((1 << b) - 1)) >= np.uint64((1 << b) % count)
    return product >> np.uint64(b), accepted


def index_stream(max_count, count, amount, seed, generator="trivium"):
    """The first ``amount`` indices for ``count`` records from a fresh seed, as
    ``IndexGeneratorModel(max_count, generator, seed).request(amount, count)`` gives them."""
    words_needed = amount + amount // 16 + 64  # rejection is below 2**-5 per word
    while True:
        words = engine_words(seed, words_needed, generator)
        indices, accepted = reduce_words(words, count, max_count)
        indices = indices[accepted]
        if len(indices) >= amount:
            return indices[:amount].astype(np.int64)
        words_needed *= 2


def main(argv=None):
    """A generator's stream on stdout, for ``dieharder -g 200``, PractRand and the like."""
    parser = argparse.ArgumentParser(
        prog="memgen.sim.evidence.fast_generator", description=main.__doc__
    )
    parser.add_argument("--generator", choices=GENERATORS, default=GENERATORS[0])
    parser.add_argument("--seed", type=lambda text: int(text, 0), default=1)
    parser.add_argument("--bytes", type=int, default=0, help="stop after this many (0: never)")
    parser.add_argument("--count", type=int, help="the index stream for this many records")
    arguments = parser.parse_args(argv)
    try:
        command = stream_command(
            arguments.generator, (arguments.seed,), arguments.bytes, arguments.count
        )
    except RuntimeError as error:
        parser.exit(1, f"memgen.sim.evidence.fast_generator: {error}\n")
    returncode = subprocess.run(command).returncode
    return 0 if returncode in (0, -signal.SIGPIPE) else returncode


if __name__ == "__main__":
    raise SystemExit(main())
