"""``make bench`` and ``make recall-bench``: the core, the link, the boards, the comparison with
numpy and Python, the suite's time, and the associative-memory models recall is measured against."""
