"""The conditions a CPU measurement was taken in: how much of the machine other processes used
meanwhile. A comparison made on a busy machine is not a result, so the benches that time code
on the CPU record this beside their figures and refuse a busy machine unless told otherwise.

Other processes' share is the machine's busy CPU time over the interval less this process's own,
divided by the interval's wall time and the number of logical CPUs (psutil's counters, which
read ``/proc/stat`` on Linux).
"""

from dataclasses import asdict, dataclass
from os import getloadavg
from time import monotonic

import psutil

__all__ = ["BUSY_SHARE", "Conditions", "MachineBusy", "measure_conditions"]

#: Other processes may use this share of the machine and it still counts as idle: a desktop's
#: background noise stays under it, one busy core of two is ten times over.
BUSY_SHARE = 0.05


class MachineBusy(RuntimeError):
    """Other processes used more than :data:`BUSY_SHARE` of the machine during a measurement."""


@dataclass(frozen=True)
class Conditions:
    """Measured over one interval: wall seconds, logical CPUs, the share of all CPUs' time that
    other processes used (0 to 1), and the load averages (1, 5, 15 minutes) at its start."""

    seconds: float
    cpus: int
    others_share: float
    load_average: tuple[float, float, float]

    @property
    def idle(self):
        return self.others_share <= BUSY_SHARE

    def as_dict(self):
        return {**asdict(self), "idle": self.idle, "busy_share_limit": BUSY_SHARE}

    def check(self):
        """Raise :class:`MachineBusy` unless the machine was idle."""
        if not self.idle:
            raise MachineBusy(
                f"other processes used {self.others_share:.0%} of this machine's "
                f"{self.cpus} CPUs while measuring (at most {BUSY_SHARE:.0%} counts as idle; "
                f"load average {self.load_average[0]:.2f})"
            )


def _busy_seconds(times):
    """CPU seconds spent working, all CPUs (guest time is already inside user and nice)."""
    fields = ("user", "nice", "system", "irq", "softirq", "steal")
    return sum(getattr(times, field, 0.0) for field in fields)


class measure_conditions:
    """Context manager: ``with measure_conditions() as conditions: ...``; after the block,
    ``conditions.result`` is the :class:`Conditions` of its interval."""

    def __enter__(self):
        self.result = None
        self._load = getloadavg()
        self._own = psutil.Process()
        self._own_start = sum(self._own.cpu_times()[:4])  # user, system, children's
        self._machine_start = _busy_seconds(psutil.cpu_times())
        self._wall_start = monotonic()
        return self

    def __exit__(self, *exc):
        seconds = monotonic() - self._wall_start
        machine = _busy_seconds(psutil.cpu_times()) - self._machine_start
        own = sum(self._own.cpu_times()[:4]) - self._own_start
        cpus = psutil.cpu_count() or 1
        share = max(0.0, machine - own) / (seconds * cpus) if seconds > 0 else 0.0
        self.result = Conditions(
            round(seconds, 3), cpus, round(min(share, 1.0), 4), tuple(self._load)
        )
        return False
