"""memgen.hdl.fpga: the vendor primitives a board's memory is made of, and which FPGA family a
platform targets."""

__all__ = ["family"]


def family(platform):
    """The FPGA family ``platform`` builds for, lower case (``"ecp5"``, ``"ice40"``); ``""``
    in simulation (no platform) or for a platform that does not say."""
    return str(getattr(platform, "family", "")).lower() if platform is not None else ""
