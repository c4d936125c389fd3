"""Planted faults: how a test gives a component a known defect, to show that a check can fail.

A component that offers faults names them in ``FAULTS`` (each with what it breaks) and reads
``self.fault`` where one would go; ``fault`` is None on the class, so a production design never
has one. :func:`with_fault` makes the defective variant as a subclass, so no production
constructor takes a fault argument.
"""

__all__ = ["with_fault"]


def with_fault(component, fault):
    """``component`` (a class) with ``fault`` planted, or unchanged for None."""
    if fault is None:
        return component
    if not isinstance(getattr(component, "FAULTS", None), dict):
        raise TypeError(f"{component.__name__} offers no faults")
    if fault not in component.FAULTS:
        raise ValueError(f"{component.__name__} has no fault {fault!r}: {sorted(component.FAULTS)}")
    return type(f"{component.__name__}With_{fault}", (component,), {"fault": fault})
