"""``make stats``: the statistical battery, results/stats.json.

Run on the reference model's streams (bit-exact with the gateware, see
tests/hdl/engine/test_core.py and tests/sim/harness/test_cocotb_core.py), made fast by
:mod:`memgen.sim.evidence.fast_generator`:

* the raw 32-bit words of each generator option through dieharder ``-a`` (the Debian package,
  :mod:`memgen.sim.evidence.dieharder`): counts of PASSED, WEAK and FAILED; the default
  generator must have no FAILED, the plain LFSR's failures are listed;
* index streams, for each generator option, several record counts ``N`` and 10 seeds: chi-square
  uniformity over the ``N`` bins, ``K x K`` serial pairs of ``index mod K`` (``K`` divides ``N``),
  and a gap test (gaps between indices in the lower half); per test and ``N`` a second-level
  Kolmogorov-Smirnov test of the 10 p-values against uniform;
* samples against training data (fixed-size records with repeated values, as a real dataset has):
  homogeneity chi-square of the sampled records against an independent PCG64 bootstrap of the
  training set, per-feature (byte position) Kolmogorov-Smirnov and Epps-Singleton tests with Holm
  correction, and a classifier two-sample test: a frequency classifier learns, on one half, which
  records come more often from memgen than from the bootstrap, and its accuracy on the other half
  must not be significantly above 0.5 (the paper's "Rademacher coin flipping" made concrete);
* the same battery on two deliberately broken samplers in the same run: a modulo-biased one
  (``word mod N`` on 16 random bits) and one stuck on record 0 five percent of the time. Both must
  fail, or the battery proves nothing.

A verdict is FAIL when a second-level p-value, a Holm-adjusted p-value or a homogeneity or
classifier p-value is below ``ALPHA``.

Then the tests that look for each engine's structure (:mod:`memgen.sim.evidence.quality`), at sizes
beyond ``make test``'s: the recurrence test on 10**8 words, the first-sample test over 10,000
seeds and the top-bits test on 10**8 indices, for each generator option and for the retired
scrambled LFSR; and the batteries (:mod:`memgen.sim.evidence.batteries`): PractRand to 256 GB and
32 GB, TestU01 BigCrush and Crush, and dieharder ``-a``. Those take hours on two cores; every
finished part is kept under ``results/`` and not run again, so ``make stats`` can be stopped
and started.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from memgen.hdl.engine.index_generator import GENERATORS
from scipy import stats

from . import batteries
from .dieharder import DieharderMissing, run_dieharder, summarise
from .fast_generator import engine_words, index_stream
from .quality import first_sample_test, recurrence_run, top_bits_test

__all__ = ["SAMPLERS", "index_battery", "main", "sample_battery"]

DEFAULT_GENERATOR = GENERATORS[0]

ALPHA = 1e-3
#: Record counts for the index tests: small, odd, a power of two, the iCEBreaker's table size,
#: and one where 16-bit modulo reduction is badly biased (2**16 mod N = N * 2 / 3).
COUNTS = (3, 10, 100, 1000, 2048, 24576)
MAX_COUNT = 1 << 15


def _broken_modulo(count, amount, seed):
    words = engine_words(seed, amount)
    return ((words >> np.uint64(16)) % np.uint64(count)).astype(np.int64)


def _broken_stuck(count, amount, seed):
    indices = index_stream(MAX_COUNT, count, amount, seed)
    stuck = np.random.Generator(np.random.PCG64(seed)).random(amount) < 0.05
    return np.where(stuck, 0, indices)


#: Index samplers under test: name -> f(count, amount, seed) -> indices in [0, count).
SAMPLERS = {
    **{
        f"memgen-{generator}": (
            lambda count, amount, seed, g=generator: index_stream(MAX_COUNT, count, amount, seed, g)
        )
        for generator in GENERATORS
    },
    "broken-modulo16": _broken_modulo,
    "broken-stuck5%": _broken_stuck,
}
#: What each sampler must show: True = passes the battery.
EXPECTED = {"memgen-trivium": True, "memgen-lfsr": True}


def chi_square_uniform(indices, count):
    return stats.chisquare(np.bincount(indices, minlength=count)).pvalue


def serial_pairs(indices, count):
    """Non-overlapping pairs of ``index mod K`` in ``K x K`` bins, ``K`` the largest divisor of
    ``count`` up to 16; none (``None``) when that is 1 (a prime above 16)."""
    k = max(d for d in range(1, 17) if count % d == 0)
    if k == 1:
        return None
    reduced = indices % k
    pairs = reduced[0 : len(reduced) - 1 : 2] * k + reduced[1::2]
    return stats.chisquare(np.bincount(pairs, minlength=k * k)).pvalue


def gap_test(indices, count):
    """Gaps between indices below ``count // 2`` (or below 1 for ``count < 2``): geometric."""
    low = max(1, count // 2)
    p = low / count
    if p >= 1:
        return None
    hits = np.flatnonzero(indices < low)
    gaps = np.diff(hits) - 1
    # categories 0..t-1 and a tail ">= t" with an expected count of at least 5 each
    t = 1
    while len(gaps) * p * (1 - p) ** t >= 5 and t < 64:
        t += 1
    observed = np.bincount(np.minimum(gaps, t), minlength=t + 1)
    expected = np.array([p * (1 - p) ** g for g in range(t)] + [(1 - p) ** t]) * len(gaps)
    return stats.chisquare(observed, expected).pvalue


INDEX_TESTS = {"uniformity": chi_square_uniform, "serial": serial_pairs, "gap": gap_test}


def index_battery(sampler, counts=COUNTS, seeds=range(1, 11), amount=200_000):
    """p-values per test and count over the seeds, and their second-level KS p-value."""
    results = {}
    for count in counts:
        per_test = {name: [] for name in INDEX_TESTS}
        for seed in seeds:
            indices = sampler(count, amount, seed)
            for name, test in INDEX_TESTS.items():
                p = test(indices, count)
                if p is not None:
                    per_test[name].append(float(p))
        for name, pvalues in per_test.items():
            if pvalues:
                second = float(stats.kstest(pvalues, "uniform").pvalue)
                results[f"{name} N={count}"] = {
                    "pvalues": [round(p, 6) for p in pvalues],
                    "ks_pvalue": second,
                    "verdict": "FAIL" if second < ALPHA else "pass",
                }
    return results


def training_set(records=1000, size=8, seed=7):
    """Fixed-size records with structure and repeats: bytes from skewed distributions, and a
    tenth of the records copies of others."""
    rng = np.random.Generator(np.random.PCG64(seed))
    data = np.minimum(rng.geometric(0.05, size=(records, size)), 255).astype(np.uint8)
    copies = rng.integers(0, records, size=records // 10)
    data[rng.integers(0, records, size=records // 10)] = data[copies]
    return data


def sample_battery(sampler, data, amount=40_000, seed=11):
    """Samples (records chosen by ``sampler``) against the training data."""
    count = len(data)
    chosen = sampler(count, amount, seed)
    bootstrap = np.random.Generator(np.random.PCG64(seed + 1000)).integers(0, count, amount)
    results = {}

    # Homogeneity of record frequencies (distinct record values), small classes merged.
    _, record_class = np.unique(data, axis=0, return_inverse=True)
    record_class = record_class.reshape(-1)
    table = np.array(
        [
            np.bincount(record_class[chosen], minlength=record_class.max() + 1),
            np.bincount(record_class[bootstrap], minlength=record_class.max() + 1),
        ]
    )
    table = table[:, table.sum(axis=0) >= 10]
    p = float(stats.chi2_contingency(table).pvalue)
    results["homogeneity"] = {"pvalue": p, "verdict": "FAIL" if p < ALPHA else "pass"}

    # Per feature (byte position): KS and Epps-Singleton against the training data, Holm.
    raw = []
    for position in range(data.shape[1]):
        sampled, training = data[chosen, position], data[:, position]
        raw.append((f"ks[{position}]", stats.ks_2samp(sampled, training).pvalue))
        raw.append((f"es[{position}]", stats.epps_singleton_2samp(sampled, training).pvalue))
    order = sorted(range(len(raw)), key=lambda i: raw[i][1])
    adjusted, running = {}, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(raw) - rank) * raw[i][1]))
        adjusted[raw[i][0]] = running
    smallest = min(adjusted.values())
    results["features_holm"] = {
        "min_adjusted_pvalue": float(smallest),
        "verdict": "FAIL" if smallest < ALPHA else "pass",
    }

    # Classifier two-sample test: memgen samples (label 1) against bootstrap draws (label 0).
    labels = np.concatenate([np.ones(amount, dtype=int), np.zeros(amount, dtype=int)])
    classes = np.concatenate([record_class[chosen], record_class[bootstrap]])
    shuffle = np.random.Generator(np.random.PCG64(seed + 2000)).permutation(len(labels))
    labels, classes = labels[shuffle], classes[shuffle]
    half = len(labels) // 2
    fit_classes, fit_labels = classes[:half], labels[:half]
    test_classes, test_labels = classes[half:], labels[half:]
    size = record_class.max() + 1
    ones = np.bincount(fit_classes[fit_labels == 1], minlength=size)
    zeros = np.bincount(fit_classes[fit_labels == 0], minlength=size)
    predict = (ones > zeros).astype(int)
    correct = int((predict[test_classes] == test_labels).sum())
    n_test = len(test_labels)
    p = float(stats.binomtest(correct, n_test, 0.5, alternative="greater").pvalue)
    results["classifier"] = {
        "accuracy": correct / n_test,
        "n_test": n_test,
        "pvalue": p,
        "verdict": "FAIL" if p < ALPHA else "pass",
    }
    return results


def run(index_amount=200_000, sample_amount=40_000, seeds=range(1, 11)):
    data = training_set()
    report = {"alpha": ALPHA, "samplers": {}}
    for name, sampler in SAMPLERS.items():
        indices = index_battery(sampler, seeds=seeds, amount=index_amount)
        samples = sample_battery(sampler, data, amount=sample_amount)
        verdicts = [r["verdict"] for r in (*indices.values(), *samples.values())]
        report["samplers"][name] = {
            "index_tests": indices,
            "sample_tests": samples,
            "failed": [k for k, r in {**indices, **samples}.items() if r["verdict"] == "FAIL"],
            "passes": "FAIL" not in verdicts,
        }
    return report


#: A structure test fails below this p-value.
STRUCTURE_P = 1e-6
STRUCTURE_GENERATORS = (*GENERATORS, "scrambled")


def structure_section(words=10**8, seeds=10_000, seed=1):
    """The recurrence, first-sample and top-bits tests for every option and the retired one."""
    section = {"alpha": STRUCTURE_P, "recurrence": {}, "first_sample": {}, "top_bits": {}}
    for generator in STRUCTURE_GENERATORS:
        recurrence = recurrence_run(generator, seed, words)
        first = first_sample_test(generator, range(seeds))
        top = top_bits_test(generator, seed, words)
        recurrence["passed"] = recurrence["pvalue"] > STRUCTURE_P
        first["passed"] = min(first["min_pvalue"] * len(first["pvalues"]), first["ks_pvalue"]) > (
            STRUCTURE_P
        )
        top["passed"] = top["pvalue"] > STRUCTURE_P
        section["recurrence"][generator] = recurrence
        section["first_sample"][generator] = first
        section["top_bits"][generator] = top
    return section


def dieharder_section(folder, seed=1, reuse=False):
    """dieharder ``-a`` on every generator option (75 minutes here: the options run in
    parallel); each output is kept as ``folder``/GENERATOR.txt. ``reuse``: read the outputs an
    earlier run left there, and run only the missing ones."""
    generators = {}
    missing = [g for g in GENERATORS if not reuse or not (folder / f"{g}.txt").exists()]
    if missing:
        generators = run_dieharder(missing, seed)
        folder.mkdir(parents=True, exist_ok=True)
        for generator, result in generators.items():
            (folder / f"{generator}.txt").write_text(result["output"])
    for generator in GENERATORS:
        if generator not in generators:
            path = folder / f"{generator}.txt"
            generators[generator] = summarise(path.read_text())
            generators[generator]["from"] = str(path)
    for result in generators.values():
        del result["output"]
    return {
        "command": f"python -m memgen.sim.evidence.fast_generator --generator G --seed {seed}"
        " | dieharder -g 200 -a",
        "seed": seed,
        "default": DEFAULT_GENERATOR,
        "default_passes": generators[DEFAULT_GENERATOR]["counts"]["FAILED"] == 0,
        "generators": generators,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="memgen.sim.evidence.stats", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", default="results/stats.json")
    parser.add_argument(
        "--dieharder",
        choices=("run", "reuse", "skip"),
        default="reuse",
        help="run dieharder -a again (75 minutes), reuse the outputs in --dieharder-dir and run "
        "only the missing ones (the default), or skip it",
    )
    parser.add_argument("--dieharder-dir", type=Path, default=Path("results/dieharder"))
    parser.add_argument(
        "--batteries", default="build/batteries", help="prefix of PractRand and TestU01"
    )
    parser.add_argument("--battery-sources", help="folder of build-batteries (../shared/tools)")
    parser.add_argument("--battery-dir", type=Path, default=Path("results/batteries"))
    parser.add_argument(
        "--only", choices=("fast", "structure", "dieharder", "batteries"), action="append",
        help="run only these sections (repeatable); stats.json keeps the others' last results",
    )  # fmt: skip
    parser.add_argument(
        "--tables", action="store_true", help="print results/README.md's tables from --out and stop"
    )
    parser.add_argument(
        "--write-battery-table", type=Path, metavar="FILE",
        help="put the batteries table from --out into FILE (results/README.md) and stop",
    )  # fmt: skip
    arguments = parser.parse_args(argv)
    if arguments.tables:
        print(readme_tables(json.loads(Path(arguments.out).read_text())))
        return 0
    if arguments.write_battery_table:
        document = arguments.write_battery_table
        report = json.loads(Path(arguments.out).read_text())
        table = batteries.table(report["batteries"])
        document.write_text(refill_battery_table(document.read_text(), table))
        return 0
    sections = set(arguments.only or ("fast", "structure", "dieharder", "batteries"))
    started = time.time()
    out = Path(arguments.out)
    report = json.loads(out.read_text()) if out.exists() else {}
    if "fast" in sections:
        report.update(run())
    if "structure" in sections:
        print("structure tests (recurrence, first samples, top bits) ...", flush=True)
        report["structure"] = structure_section()
    if "dieharder" in sections:
        try:
            report["dieharder"] = dieharder_section(
                arguments.dieharder_dir, reuse=arguments.dieharder == "reuse"
            )
        except DieharderMissing as error:
            parser.exit(1, f"memgen.sim.evidence.stats: {error}\n")
    if "batteries" in sections:
        tools = batteries.Batteries(arguments.batteries, arguments.battery_sources)
        try:
            for run_ in batteries.RUNS:
                print(f"{run_.name} ...", flush=True)
                batteries.execute(run_, tools, arguments.battery_dir)
        except (batteries.BatteriesMissing, RuntimeError) as error:
            parser.exit(1, f"memgen.sim.evidence.stats: {error}\n")
    # every run's saved outcome, whichever sections ran (a run not finished says so)
    report["batteries"] = batteries.saved_outcomes(arguments.battery_dir)
    report["seconds"] = round(time.time() - started, 1)
    out.write_text(json.dumps(report, indent=1))
    return summarise_report(report, out)


STRUCTURE_NAMES = {"trivium": "Trivium (default)", "lfsr": "plain LFSR",
                   "scrambled": "retired: LFSR + xoshiro128++ scrambler, raw seeds"}  # fmt: skip


#: The batteries table's first row, as :func:`batteries.table` writes it.
BATTERY_HEADER = batteries.table([]).splitlines()[0]


def refill_battery_table(text, table):
    """``text`` with its batteries table (from its header row to the next blank line) replaced
    by ``table``."""
    start = text.find(BATTERY_HEADER)
    if start < 0:
        raise ValueError("no batteries table in the document")
    end = text.find("\n\n", start)
    end = len(text) if end < 0 else end + 1
    return text[:start] + table.strip() + "\n" + text[end:]


def readme_tables(report):
    """results/README.md's tables (batteries, structure tests, dieharder) from a saved report."""
    parts = []
    if report.get("batteries"):
        parts.append(batteries.table(report["batteries"]))
    structure = report.get("structure")
    if structure:
        lines = [
            "| generator | recurrence, 10^8 words | first 16 samples, seeds 0-9,999 | top 12 bits "
            "of the index stream, 10^8 indices |",
            "|---|---|---|---|",
        ]
        for generator, name in STRUCTURE_NAMES.items():
            rec = structure["recurrence"][generator]
            first = structure["first_sample"][generator]
            top = structure["top_bits"][generator]

            def verdict(result, text):
                return ("passes" if result["passed"] else "FAILS") + f" ({text})"

            cells = [
                verdict(rec, "max z {:.1f}, p {:.2g}".format(rec["max_abs_z"], rec["pvalue"])),
                verdict(
                    first,
                    "min p {:.2g}, KS p {:.2g}".format(first["min_pvalue"], first["ks_pvalue"]),
                ),
                verdict(top, "max z {:.1f}, p {:.2g}".format(top["max_abs_z"], top["pvalue"])),
            ]
            lines.append(f"| {name} | {' | '.join(cells)} |")
        parts.append("\n".join(lines))
    dieharder = report.get("dieharder")
    if dieharder:
        lines = ["| generator | PASSED | WEAK | FAILED |", "|---|---|---|---|"]
        for generator, result in dieharder["generators"].items():
            counts = result["counts"]
            failed = str(counts["FAILED"])
            if result["failed"]:
                failed += ": " + ", ".join(name.split(" (")[0] for name in result["failed"])
            name = STRUCTURE_NAMES[generator]
            lines.append(f"| {name} | {counts['PASSED']} | {counts['WEAK']} | {failed} |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def summarise_report(report, out):
    """Prints each verdict against what it should be; 0 when all are as they should be."""
    ok = True
    for name, result in report.get("samplers", {}).items():
        expected = EXPECTED.get(name, False)
        verdict = "passes" if result["passes"] else f"FAILS {', '.join(result['failed'][:4])}"
        good = result["passes"] == expected
        ok &= good
        print(f"{name:18} {verdict}{'' if good else '   <-- unexpected'}")
    for test, results in report.get("structure", {}).items():
        if test == "alpha":
            continue
        for generator, result in results.items():
            good = result["passed"] == (generator == DEFAULT_GENERATOR)
            ok &= good
            verdict = "passes" if result["passed"] else "FAILS"
            print(f"{test:13} {generator:9} {verdict}{'' if good else '   <-- unexpected'}")
    for generator, result in report.get("dieharder", {}).get("generators", {}).items():
        counts = ", ".join(f"{n} {a}" for a, n in result["counts"].items())
        print(f"dieharder -a {generator:9} {counts}")
        for failure in result["failed"]:
            print(f"    FAILED {failure}")
    if "dieharder" in report:
        ok &= report["dieharder"]["default_passes"]
    if report.get("batteries"):
        print(batteries.table(report["batteries"]))
        ok &= all(
            o["passed"]
            for o in report["batteries"]
            if o["stream"].startswith("trivium") and not o.get("pending")
        )
    print(f"({report['seconds']} s) written to {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
