"""A UART line clock by clock, for testbenches that drive or read a design's pins."""

__all__ = ["line_bytes", "line_levels"]


def line_levels(frames, divisor, error=0.0, idle_bits=2.0):
    """Per-clock levels of ``rx`` for ``frames``: (byte, stop_bit) pairs or ("break", bits).

    Bits last ``divisor * (1 + error)`` clocks, so ``error`` is the sender's baud-rate error.
    """
    bit = divisor * (1 + error)
    edges = []  # (duration in clocks, level)
    for frame in frames:
        if frame[0] == "break":
            edges.append((frame[1] * divisor, 0))
        elif frame[0] == "glitch":
            edges.append((frame[1], 0))
        else:
            byte, stop = frame
            edges.append((bit, 0))
            edges += [(bit, (byte >> i) & 1) for i in range(8)]
            edges.append((bit, stop))
        edges.append((idle_bits * bit, 1))
    levels, time, clock = [], 0.0, 0
    for duration, level in edges:
        time += duration
        while clock < time:
            levels.append(level)
            clock += 1
    return levels


def line_bytes(levels, divisor):
    """The 8N1 bytes in per-clock ``levels`` of a line ``divisor`` clocks per bit, each bit read
    in its middle (a frame without its stop bit ends the reading)."""
    data, clock = bytearray(), 0
    while clock < len(levels):
        if levels[clock]:
            clock += 1
            continue
        middle = clock + divisor // 2  # of the start bit
        samples = [middle + divisor * bit for bit in range(1, 10)]
        if samples[-1] >= len(levels) or not levels[samples[-1]]:
            break
        data.append(sum(levels[at] << bit for bit, at in enumerate(samples[:8])))
        clock = samples[-1]
    return bytes(data)
