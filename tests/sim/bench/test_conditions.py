"""The machine's load recorded beside CPU figures: other processes' share counted, this
process's own work not, and a busy machine refused."""

import subprocess
import sys
import time
from collections import namedtuple

import pytest
from memgen.sim.bench import conditions
from memgen.sim.bench.conditions import BUSY_SHARE, MachineBusy, measure_conditions

Machine = namedtuple("Machine", "user nice system idle iowait irq softirq steal guest")
Own = namedtuple("Own", "user system children_user children_system")


class Counters:
    """psutil and the clock replaced by counters a test sets between enter and exit."""

    def __init__(self, monkeypatch):
        self.machine = Machine(0, 0, 0, 0, 0, 0, 0, 0, 0)
        self.own = Own(0, 0, 0, 0)
        self.now = 0.0
        monkeypatch.setattr(conditions.psutil, "cpu_times", lambda: self.machine)
        monkeypatch.setattr(conditions.psutil, "cpu_count", lambda: 2)
        monkeypatch.setattr(conditions.psutil, "Process", lambda: self)
        monkeypatch.setattr(conditions, "monotonic", lambda: self.now)
        monkeypatch.setattr(conditions, "getloadavg", lambda: (0.5, 0.25, 0.125))

    def cpu_times(self):
        return self.own


@pytest.mark.parametrize(
    ("user", "system", "idle", "iowait", "guest", "own", "share"),
    [
        (3.0, 1.0, 0.0, 0.0, 0.0, 2.0, 0.5),  # 4 busy seconds, 2 ours, over 2 s x 2 CPUs
        (1.0, 0.0, 3.0, 2.0, 1.0, 1.0, 0.0),  # idle, waiting and guest time are not work
        (1.2, 0.0, 0.0, 0.0, 0.0, 1.0, 0.05),  # exactly the limit: still idle
        (1.24, 0.0, 0.0, 0.0, 0.0, 1.0, 0.06),  # just over it
        (0.0, 0.0, 4.0, 0.0, 0.0, 0.5, 0.0),  # our time counted elsewhere never goes below 0
    ],
)
def test_others_share_from_the_counters(monkeypatch, user, system, idle, iowait, guest, own,
                                        share):  # fmt: skip
    counters = Counters(monkeypatch)
    with measure_conditions() as measured:
        counters.now = 2.0
        counters.machine = Machine(user, 0, system, idle, iowait, 0, 0, 0, guest)
        counters.own = Own(own / 2, own / 2, 0, 0)
    result = measured.result
    assert (result.seconds, result.cpus, result.load_average) == (2.0, 2, (0.5, 0.25, 0.125))
    assert result.others_share == pytest.approx(share)
    assert result.idle == (share <= BUSY_SHARE)
    assert result.as_dict()["idle"] == result.idle
    if result.idle:
        result.check()
    else:
        message = f"other processes used {share:.0%} of this machine's 2 CPUs"
        with pytest.raises(MachineBusy, match=message):
            result.check()


def test_a_busy_process_beside_the_measurement_is_seen():
    """A process spinning on one CPU for the whole interval while this one sleeps: the machine
    is not idle. (It ends after the interval: a child waited for inside it counts as ours.)"""
    spinner = subprocess.Popen(
        [sys.executable, "-c", "import time\nend = time.time() + 6\nwhile time.time() < end: pass"]
    )
    try:
        time.sleep(0.5)  # started
        with measure_conditions() as measured:
            time.sleep(2)
    finally:
        spinner.kill()
        spinner.wait()
    assert measured.result.others_share > BUSY_SHARE
    with pytest.raises(MachineBusy):
        measured.result.check()
