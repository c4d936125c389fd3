"""The errors a user of the driver, the API or the ``memgen`` command sees as one line."""

__all__ = ["MemGenError", "LinkError", "DeviceNotFound"]


class MemGenError(Exception):
    """Base of the errors a user sees as one line."""


class LinkError(MemGenError):
    """The link failed in a way the protocol cannot repair."""


class DeviceNotFound(MemGenError):
    """The device name is unknown, the port cannot be opened or the simulator cannot be built."""
