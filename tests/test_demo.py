"""The demo's datasets and its main job."""

from memgen.sim.demo import main, pi_digits, zen_lines


def test_pi_digits_known_answer():
    assert pi_digits(30) == "3.141592653589793238462643383279"
    assert pi_digits(1000).endswith("1989")  # decimals 997-1000


def test_zen_is_embedded():
    lines = zen_lines()
    assert lines[0] == "The Zen of Python, by Tim Peters"
    assert len(lines) == 20


def test_demo_runs_and_verifies(capsys):
    assert main(["--digits", "120", "--capacity", "100", "--samples", "3"]) == 0
    out = capsys.readouterr().out
    assert "3.14159265358979323846" in out
    assert "refused with FULL" in out
