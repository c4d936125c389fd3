"""Traffic for the SDRAM controller's tests: requests at the chip's edges and at random, with the
data they must read back (the judge of their timing is :mod:`.sdram_chip`)."""

import random

__all__ = ["mixed_traffic"]


def mixed_traffic(dut, count, seed):
    """Requests ``(address, write, data)`` for an ``SDRAMController`` ``dut``, and the read data
    they must return: writes of structured and random bursts to addresses at the edges of rows,
    banks and the chip and at random, each read back later in a shuffled order among more
    writes."""
    rng = random.Random(seed)
    top, bits = (1 << dut.address_width) - 1, dut.word_bits
    per_row = 1 << dut.column_bits
    edges = [0, 1, per_row - 1, per_row, 4 * per_row - 1, 4 * per_row, top - 1, top]
    patterns = [0, (1 << bits) - 1, 1, 1 << (bits - 1), int("A5" * (bits // 8), 16)]
    requests, written = [], {}
    for i in range(count):
        address = edges[i] if i < len(edges) else rng.randrange(top + 1)
        data = patterns[i] if i < len(patterns) else rng.getrandbits(bits)
        requests.append((address, 1, data))
        written[address] = data
        if written and rng.random() < 0.6:
            requests.append((rng.choice(sorted(written)), 0, 0))
    expected, model = [], {}
    for address, write, data in requests:
        if write:
            model[address] = data
        else:
            expected.append(model[address])
    return requests, expected
