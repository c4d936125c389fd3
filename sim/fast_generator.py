"""The index generator's word and index streams in numpy, bit-exact with
:class:`~memgen.hdl.index_generator.IndexGeneratorModel` (tests/test_stats.py compares them).

The Python model takes tens of microseconds per word; a statistical battery wants millions. The
engine is linear over GF(2): each clock multiplies the 64-bit state by the leap matrix ``M``. The
stream is cut into ``lanes`` consecutive stretches of ``stretch`` words; the first state of every
stretch comes from the one before by ``M**stretch`` (the leap matrix of that many steps, cached),
and all lanes advance together, one numpy operation per matrix row and clock. The output stage
and the multiply-with-rejection range reduction are vectorised as they are.
"""

import argparse
import functools
import hashlib
import os
import signal
import subprocess
from pathlib import Path

import numpy as np
from memgen.hdl.index_generator import (
    GENERATORS,
    PIPELINE_DEPTH,
    STATE_WIDTH,
    WORD_WIDTH,
    fraction_bits,
)
from memgen.hdl.lfsr import MAXIMAL_TAPS, leap_matrix, seed_state

from .verilator_link import cache_dir

__all__ = ["engine_words", "index_stream", "stream_command"]

STREAM_SOURCE = Path(__file__).with_name("generator_stream.c")

_MASK32 = np.uint64((1 << 32) - 1)


def _apply(rows, state):
    """GF(2) product of a matrix (list of row masks, bit i = row i) and a state (int)."""
    return sum(((state & row).bit_count() & 1) << bit for bit, row in enumerate(rows))


@functools.cache
def _leap(steps):
    """Rows of the engine's GF(2) matrix for ``steps`` LFSR steps (one clock is 64 steps)."""
    return leap_matrix(STATE_WIDTH, MAXIMAL_TAPS[STATE_WIDTH], steps)


def _states(seed, count, stretch=256):
    """The first ``count`` engine states (the state before each advance), as uint64."""
    rows = _leap(STATE_WIDTH)
    lanes = -(-count // stretch)
    jump = _leap(STATE_WIDTH * stretch)
    starts = [seed_state(STATE_WIDTH, seed)]
    for _ in range(lanes - 1):
        starts.append(_apply(jump, starts[-1]))
    state = np.array(starts, dtype=np.uint64)
    row_masks = [np.uint64(row) for row in rows]
    out = np.empty((stretch, lanes), dtype=np.uint64)
    for step in range(stretch):
        out[step] = state
        following = np.zeros(lanes, dtype=np.uint64)
        for bit, mask in enumerate(row_masks):
            parity = np.bitwise_count(state & mask).astype(np.uint64) & np.uint64(1)
            following |= parity << np.uint64(bit)
        state = following
    return out.T.reshape(-1)[:count]


def engine_words(seed, count, generator="scrambled"):
    """The first ``count`` 32-bit words of the output stage (``IndexGeneratorModel.next_word``)."""
    return _output_stage(_states(seed, count), generator)


def _output_stage(state, generator):
    lo, hi = state & _MASK32, state >> np.uint64(32)
    if generator == "lfsr":
        return lo
    total = (lo + hi) & _MASK32
    rotated = ((total << np.uint64(7)) | (total >> np.uint64(25))) & _MASK32
    return (rotated + lo) & _MASK32


def index_stream(max_count, count, amount, seed, generator="scrambled"):
    """The indices of one request of ``amount`` indices for ``count`` records from a fresh seed
    (``IndexGeneratorModel(max_count, generator, seed).request(amount, count)``), and the number
    of words it used (including the ones discarded after the request)."""
    b = fraction_bits(max_count.bit_length())
    threshold = (1 << b) % count
    words_needed = amount + amount // 64 + 64  # rejection is below 2**-8 per word
    while True:
        words = engine_words(seed, words_needed, generator)
        candidate = words >> np.uint64(WORD_WIDTH - b)
        product = candidate * np.uint64(count)
        accepted = (product & np.uint64((1 << b) - 1)) >= np.uint64(threshold)
        indices = (product >> np.uint64(b))[accepted]
        if len(indices) >= amount:
            used = int(np.flatnonzero(accepted)[amount - 1]) + 1 + PIPELINE_DEPTH
            return indices[:amount].astype(np.int64), used
        words_needed *= 2


def stream_program():
    """The compiled :file:`generator_stream.c` (cached under ``$MEMGEN_CACHE`` by source hash)."""
    source = STREAM_SOURCE.read_bytes()
    directory = cache_dir() / "generator" / hashlib.sha256(source).hexdigest()[:16]
    executable = directory / "generator_stream"
    if executable.exists():
        return executable
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f"generator_stream.{os.getpid()}"
    compiler = os.environ.get("CC", "cc")
    try:
        result = subprocess.run(
            [compiler, "-O2", "-o", str(partial), str(STREAM_SOURCE)],
            capture_output=True,
            text=True,
        )
    except FileNotFoundError:
        raise RuntimeError(f"No C compiler ({compiler!r}); install gcc or set CC") from None
    if result.returncode:
        raise RuntimeError(f"Compiling {STREAM_SOURCE.name} failed:\n{result.stderr}")
    partial.replace(executable)
    return executable


def stream_command(generator="scrambled", seed=1, words=0):
    """The command that writes the engine's words (``engine_words``) as raw little-endian
    32-bit words on stdout: ``words`` of them, or without end when 0."""
    if generator not in GENERATORS:
        raise ValueError(f"Generator must be one of {', '.join(GENERATORS)}, not {generator!r}")
    rows = _leap(STATE_WIDTH)
    state = seed_state(STATE_WIDTH, seed)
    return [str(stream_program()), generator, f"{state:x}", str(words), *(f"{r:x}" for r in rows)]


def main(argv=None):
    """Raw 32-bit words (little-endian) on stdout, for ``dieharder -g 200`` and the like."""
    parser = argparse.ArgumentParser(prog="memgen.sim.fast_generator", description=main.__doc__)
    parser.add_argument("--generator", choices=GENERATORS, default="scrambled")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--words", type=int, default=0, help="stop after this many (0: never)")
    arguments = parser.parse_args(argv)
    try:
        command = stream_command(arguments.generator, arguments.seed, arguments.words)
    except RuntimeError as error:
        parser.exit(1, f"memgen.sim.fast_generator: {error}\n")
    returncode = subprocess.run(command).returncode
    return 0 if returncode in (0, -signal.SIGPIPE) else returncode


if __name__ == "__main__":
    raise SystemExit(main())
