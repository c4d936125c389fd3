"""memgen: MemGEN, the generative model that learns by heart, as FPGA hardware.

Subpackages map onto the repository's top-level folders:

* :mod:`memgen.hdl` -- Amaranth gateware (``hdl/``)
* :mod:`memgen.sim` -- simulation harnesses (``sim/``)
* :mod:`memgen.host` -- host side: reference model, driver (``host/``)
* :mod:`memgen.boards` -- board definitions (``boards/``)
"""

__version__ = "0.1.0"
