"""Delay lines for lock-step pipelines: a value carried beside a pipeline's data, its registers
advancing only when the pipeline does."""

from amaranth.hdl import Signal

__all__ = ["delay_line"]


def delay_line(m, value, clocks, enable, name):
    """Registers ``value`` through ``clocks`` flops, each loading only while ``enable``.

    Returns the list of stages, first to last (empty when ``clocks`` is 0)."""
    stages = []
    for stage in range(clocks):
        delayed = Signal(len(value), name=f"{name}_d{stage}")
        with m.If(enable):
            m.d.sync += delayed.eq(value)
        stages.append(delayed)
        value = delayed
    return stages
