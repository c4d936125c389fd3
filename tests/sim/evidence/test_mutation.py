"""``make mutants``' bookkeeping on a real Cosmic Ray session over a toy module: the outcomes
counted, survivors placed, and a survivor judged equivalent counted as such."""

import subprocess
import sys
from pathlib import Path

from memgen.sim.evidence.mutation import (
    NOT_TARGETS,
    TARGETS,
    forget_survivors,
    sample_session,
    summarise,
    table,
    wilson,
)

TOY = "def within(value, limit):\n    return value <= limit\n"
TOY_TEST = (
    "from toy import within\n\ndef test_limit():\n    assert within(3, 3) and not within(4, 3)\n"
)


def toy_session(tmp_path):
    """A Cosmic Ray session over the toy module, initialised; returns it and a function that
    runs ``cosmic-ray COMMAND`` on it."""
    (tmp_path / "toy.py").write_text(TOY)
    (tmp_path / "test_toy.py").write_text(TOY_TEST)
    config = tmp_path / "toy.toml"
    config.write_text(
        '[cosmic-ray]\nmodule-path = "toy.py"\ntimeout = 60.0\nexcluded-modules = []\n'
        f'test-command = "{sys.executable} -m pytest -x -q -p no:cacheprovider test_toy.py"\n'
        '[cosmic-ray.distributor]\nname = "local"\n'
    )
    session = tmp_path / "toy.sqlite"
    tool = Path(sys.executable).parent / "cosmic-ray"

    def cosmic_ray(command):
        subprocess.run([str(tool), command, str(config), str(session)], cwd=tmp_path, check=True)

    cosmic_ray("init")
    return session, cosmic_ray


def test_summary_of_a_real_session(tmp_path):
    session, cosmic_ray = toy_session(tmp_path)
    cosmic_ray("exec")
    summary = summarise("toy.py", session, equivalent={})
    # the test checks 3 <= 3 and 4 <= 3: `==` and `is` give the same answers there
    survivors = ["toy.py:2 ReplaceComparisonOperator_LtE_Eq #0",
                 "toy.py:2 ReplaceComparisonOperator_LtE_Is #0"]  # fmt: skip
    assert summary["survivors"] == survivors and summary["pending"] == 0
    assert summary["killed"] >= 5 and summary["score"] == summary["killed"] / (
        summary["killed"] + 2
    )
    judged = summarise("toy.py", session, equivalent={survivors[0]: "a stand-in reason"})
    assert (judged["equivalent"], judged["survived"]) == (1, 1)
    assert judged["equivalent_mutants"] == [{"mutant": survivors[0], "reason": "a stand-in reason"}]


def test_a_sample_grows_without_losing_results(tmp_path):
    """--sample: only N mutants run, the rest are counted as not sampled; a larger N keeps
    the results it has and runs the difference; 0 runs them all; --retest forgets survivors."""
    session, cosmic_ray = toy_session(tmp_path)

    def run(size):
        sample_session(session, "toy.py", size)
        cosmic_ray("exec")
        return summarise("toy.py", session, equivalent={})

    first = run(3)
    total = first["killed"] + first["survived"] + first["not_sampled"]
    assert first["killed"] + first["survived"] == 3 and first["pending"] == 0 and total >= 7
    second = run(5)
    assert second["killed"] + second["survived"] == 5 and second["not_sampled"] == total - 5
    assert set(first["survivors"]) <= set(second["survivors"])
    every = run(0)
    assert every["not_sampled"] == 0 and every["killed"] + every["survived"] == total
    assert len(every["survivors"]) == 2
    # --retest: the survivors run again, the killed stay killed, and so do those judged
    # equivalent (no test can kill them)
    forget_survivors(session, equivalent={every["survivors"][0]: "a stand-in reason"})
    again = summarise("toy.py", session, equivalent={every["survivors"][0]: "a stand-in"})
    assert (again["pending"], again["survived"], again["killed"]) == (1, 0, every["killed"])
    assert again["equivalent"] == 1


def test_wilson_interval_known_answers():
    assert wilson(9, 10) == [0.5958, 0.9821]  # the textbook example of the interval
    assert wilson(0, 0) is None
    low, high = wilson(40, 40)
    assert high == 1.0 and 0.91 < low < 0.92  # all killed: still not proof of 100 %


def test_table_of_results():
    """--table: a row per target in order, the score over the judged (equivalents left out),
    its Wilson interval, and the modules not yet run."""
    first, second, *rest = TARGETS
    results = {
        second: {"killed": 34, "timeout": 1, "survived": 1, "equivalent": 4},
        first: {"killed": 0, "timeout": 0, "survived": 0, "equivalent": 2},
    }
    lines = table(results).splitlines()
    assert len(lines) == 2 + len(TARGETS)
    assert lines[2] == f"| `{first}` | 2 | 0 | 2 | 0 | - | - |"
    low, high = wilson(35, 36)
    assert lines[3] == f"| `{second}` | 40 | 35 | 4 | 1 | 97% | {low:.0%} to {high:.0%} |"
    assert lines[4] == f"| `{rest[0]}` | not yet | | | | | |"


def test_every_gateware_module_is_a_target():
    """Each module under hdl/ (not a package's __init__), the host codec and the SDRAM model that
    judges a controller has its tests listed, or a reason it has no circuit to mutate; every test
    file named exists."""
    root = Path(__file__).resolve().parents[3]
    modules = {str(path.relative_to(root)) for path in (root / "hdl").glob("*/*.py")}
    modules = {module for module in modules if not module.endswith("__init__.py")}
    checkers = {"host/codec.py", "sim/harness/sdram_chip.py"}
    assert set(TARGETS) | set(NOT_TARGETS) == modules | checkers
    assert not set(TARGETS) & set(NOT_TARGETS)
    for tests in TARGETS.values():
        for name in tests.split():
            if name.startswith("tests/"):  # a file, or a test's node id (``--deselect``)
                assert (root / name.split("::")[0]).exists(), name
