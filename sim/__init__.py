"""memgen.sim: everything that runs the gateware without a board, by role: ``harness`` (what the
tests drive it with), ``bench`` (measurements), ``evidence`` (statistics and mutation score),
``demo`` (``make demo``) and ``plots`` (every figure)."""
