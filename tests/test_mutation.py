"""``make mutants``' bookkeeping on a real Cosmic Ray session over a toy module: the outcomes
counted, survivors placed, and a survivor judged equivalent counted as such."""

import subprocess
import sys
from pathlib import Path

from memgen.sim.mutation import summarise

TOY = "def within(value, limit):\n    return value <= limit\n"
TOY_TEST = (
    "from toy import within\n\ndef test_limit():\n    assert within(3, 3) and not within(4, 3)\n"
)


def test_summary_of_a_real_session(tmp_path):
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
    for command in ("init", "exec"):
        subprocess.run([str(tool), command, str(config), str(session)], cwd=tmp_path, check=True)
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
