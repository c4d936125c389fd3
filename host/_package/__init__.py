"""memgen: MemGEN, the generative model that learns by heart, as FPGA hardware.

``memgen.open(device, records=..., capacity=...)`` returns a :class:`~memgen.host.api.Memory`.

Subpackages map onto the repository's top-level folders:

* :mod:`memgen.hdl` -- Amaranth gateware (``hdl/``)
* :mod:`memgen.sim` -- test harnesses, benches, statistical evidence and the demo (``sim/``)
* :mod:`memgen.host` -- host side: reference model, driver, API, command (``host/``)
* :mod:`memgen.boards` -- board definitions (``boards/``)
"""

__version__ = "0.1.0"
__all__ = ["open", "Memory", "Status", "Match", "DeviceError", "MemGenError", "__version__"]


def __getattr__(name):
    # The API loads numpy and Amaranth: only when asked for, so the command starts fast.
    if name in __all__:
        from memgen.host import api

        return getattr(api, name)
    raise AttributeError(f"module 'memgen' has no attribute {name!r}")
