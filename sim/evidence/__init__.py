"""``make stats`` and ``make mutants``: statistical evidence on the generator's streams (fast
bit-exact streams, dieharder, PractRand, TestU01, structure tests), and the mutation score."""
