"""``make mutants``: a mutation score for the gateware, the host codec and the SDRAM model, with
Cosmic Ray.

Each target module is mutated by Cosmic Ray (``cosmic-ray`` on PyPI) one change at a time
(an operator, a comparison, a constant off by one, a boolean, a deleted ``~`` ...) and the tests
of that module run against each mutant: killed when they fail, survived when they pass.

The mutants are made in a copy of the repository (``build/mutation/tree``), imported from there
through a package of links (``_pkg/memgen``), so the checkout is never touched. Every module has
its own Cosmic Ray session (``build/mutation/NAME.sqlite``): ``cosmic-ray exec`` runs only what
is still pending, so an interrupted run goes on where it stopped. ``results/mutation.json``
gets killed, survived, timed out and incompetent counts per module, every survivor's place, and
the survivors judged equivalent (``sim/evidence/mutation_equivalent.json``: the reason for each).

The gateware has about 10,000 mutants, and a mutant that survives runs its module's tests in
full: days on two cores. ``--sample N`` runs a seeded random sample of N mutants per module (the
rest are recorded as not sampled), and the score comes with its 95 % Wilson interval; the
sample of a larger N contains the smaller's, so raising N goes on from where it stopped.
``--sample 0`` runs every mutant.
"""

import argparse
import hashlib
import json
import math
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["NOT_TARGETS", "TARGETS", "main"]

ROOT = Path(__file__).resolve().parents[2]
EQUIVALENT = Path(__file__).with_name("mutation_equivalent.json")
#: The core's tests with one seed of its reference comparison, not two: half the time, and a
#: mutant the first seed misses is rarely one the second catches.
CORE_SEED_1 = "tests/hdl/engine/test_core.py -k 'not (reference and 2)'"
#: The core on SDRAM: the readout, append memory and sequencer waiting on a storage's ready.
SDRAM_STORAGE = (
    "tests/hdl/fpga/test_sdram_storage.py --deselect tests/hdl/fpga/test_sdram_storage.py::"
    "test_board_top_level_on_verilator_with_the_chip_model"  # a minute on Verilator
)
#: The SDRAM controller on the chip model in the Amaranth simulator (its Verilog runs apart).
SDRAM_CONTROLLER = "tests/hdl/fpga/test_sdram.py -k 'not cocotb'"
#: Module -> the tests that check it (the fast ones: a mutant runs them all).
TARGETS = {
    "hdl/common/gf2.py": "tests/hdl/common/test_gf2.py tests/hdl/engine/test_lfsr.py",
    "hdl/common/skid.py": "tests/hdl/common/test_skid.py",
    "hdl/common/pipeline.py": "tests/hdl/common/test_pipeline.py",
    "hdl/common/serialiser.py": "tests/hdl/common/test_serialiser.py",
    "hdl/common/narrower.py": "tests/hdl/common/test_narrower.py",
    "hdl/common/lookahead.py": "tests/hdl/common/test_lookahead.py tests/hdl/fpga/test_sdram.py"
    " -k 'not cocotb'",
    "hdl/engine/threshold.py": "tests/hdl/engine/test_threshold.py",
    "hdl/engine/lfsr.py": "tests/hdl/engine/test_lfsr.py",
    "hdl/engine/trivium.py": "tests/hdl/engine/test_trivium.py",
    "hdl/engine/index_generator.py": "tests/hdl/engine/test_index_generator.py",
    "hdl/engine/records.py": "tests/hdl/engine/test_records.py",
    "hdl/engine/append_memory.py": f"tests/hdl/engine/test_memory_path.py {CORE_SEED_1}",
    "hdl/engine/wide_append.py": "tests/hdl/engine/test_wide_append.py"
    " tests/hdl/engine/test_memory_path.py tests/sim/harness/test_formal.py"
    f" tests/hdl/engine/test_core_appends.py {SDRAM_STORAGE}"
    " -k 'wide or word or in-4 or in-8 or width or record_limit'",
    "hdl/engine/widener.py": "tests/hdl/engine/test_widener.py",
    "hdl/engine/readout.py": f"tests/hdl/engine/test_memory_path.py {CORE_SEED_1} {SDRAM_STORAGE}",
    "hdl/engine/recall.py": "tests/hdl/engine/test_recall.py tests/hdl/engine/test_core_recall.py",
    "hdl/engine/storage.py": "tests/hdl/engine/test_storage.py tests/hdl/engine/test_memory_path.py"
    " tests/boards/test_board_storage.py -k 'not (ulx3s or yosys_model or fills)'",
    "hdl/engine/decoder.py": "tests/hdl/engine/test_decoder.py",
    "hdl/engine/sequencer.py": f"{CORE_SEED_1} tests/hdl/engine/test_core_recall.py"
    f" tests/hdl/engine/test_core_appends.py {SDRAM_STORAGE}",
    "hdl/engine/index_source.py": "tests/hdl/engine/test_index_source.py",
    "hdl/engine/lanes.py": "tests/hdl/engine/test_lanes.py tests/hdl/engine/test_index_source.py"
    " tests/hdl/engine/test_core.py tests/sim/harness/test_formal.py"
    " -k 'lane_ or gather or beats or source or (of_lanes and 1-by-4 and none)'",
    "hdl/engine/recall_unit.py": "tests/hdl/engine/test_core_recall.py",
    "hdl/engine/core.py": f"{CORE_SEED_1} tests/hdl/engine/test_core_recall.py"
    " tests/hdl/engine/test_core_appends.py",
    "hdl/fpga/spram.py": "tests/boards/test_board_storage.py -k 'spram or icebreaker'",
    "hdl/fpga/dp16kd.py": "tests/boards/test_board_storage.py -k dp16kd",
    "hdl/fpga/mult18.py": "tests/hdl/fpga/test_mult18.py",
    "hdl/fpga/replica.py": "tests/hdl/fpga/test_replica.py",
    "hdl/fpga/queue.py": "tests/hdl/fpga/test_queue.py",
    "hdl/fpga/sdram.py": SDRAM_CONTROLLER,
    "hdl/fpga/sdram_commands.py": SDRAM_CONTROLLER,
    "hdl/fpga/sdram_storage.py": SDRAM_STORAGE,
    "hdl/fpga/sdram_model.py": "tests/hdl/fpga/test_sdram_model.py",
    "hdl/link/uart.py": "tests/hdl/link/test_uart.py",
    "hdl/link/slip.py": "tests/hdl/link/test_slip.py",
    "hdl/link/frame_checker.py": "tests/hdl/link/test_framing.py",
    "hdl/link/frame_buffer.py": "tests/hdl/link/test_frame_buffer.py",
    "hdl/link/framing.py": "tests/hdl/link/test_framing.py",
    "hdl/link/frame_intake.py": "tests/hdl/link/test_frame_intake.py",
    "hdl/link/append_batch.py": "tests/hdl/link/test_top.py",
    "hdl/link/requests.py": "tests/hdl/link/test_top.py",
    "hdl/link/replies.py": "tests/hdl/link/test_replies.py tests/hdl/link/test_top.py",
    "hdl/link/command_processor.py": "tests/hdl/link/test_top.py",
    "hdl/link/protocol.py": "tests/hdl/link/test_protocol.py tests/host/test_codec.py",
    "hdl/link/top.py": "tests/hdl/link/test_top.py",
    "hdl/link/usb.py": "tests/hdl/link/test_usb.py",
    "hdl/link/switch.py": "tests/hdl/link/test_switch.py tests/hdl/link/test_usb.py"
    " -k 'switch or one_top'",
    "hdl/engine/protocol.py": "tests/hdl/engine/test_core_protocol.py"
    " tests/hdl/link/test_protocol.py tests/host/test_codec.py tests/hdl/engine/test_decoder.py",
    "hdl/examples/command_rom.py": "tests/hdl/examples/test_command_rom.py",
    "hdl/examples/record_crc.py": "tests/hdl/examples/test_record_crc.py",
    "hdl/examples/self_check.py": "tests/hdl/examples/test_self_check.py",
    "host/codec.py": "tests/host/test_codec.py tests/host/test_driver.py",
    # the model by its own tests, and its simulator adapter by the controller's legal traffic
    "sim/harness/sdram_chip.py": "tests/sim/harness/test_sdram_chip.py " + SDRAM_CONTROLLER,
}
#: Modules with no circuit of their own, left out: every mutant of theirs is equivalent.
NOT_TARGETS = {
    "hdl/common/checks.py": "stream assertions for simulation and proofs only",
    "hdl/common/faults.py": "plants the faults tests build on purpose",
}
#: Operators left out: replacements by operators the gateware never uses (division, powers,
#: matrix product) and exception swaps, which make mutants no HDL test can meet.
EXCLUDED = [
    r"core/ReplaceBinaryOperator_\w+_(Div|FloorDiv|Pow|MatMult)$",
    r"core/ExceptionReplacer",
]
#: A mutant whose tests run this many times longer than the unmutated module's is a hang (a
#: testbench waiting for a handshake that never comes): counted as killed, as CI would.
TIMEOUT_FACTOR = 4
MIN_TIMEOUT = 60.0
NOT_SAMPLED = "Not sampled"


def tree(work):
    """The copy of the repository the mutants are made in, brought up to the checkout's files
    (which also undoes a mutant an interrupted run left behind), and its environment."""
    copy = work / "tree"
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()  # fmt: skip
    for name in files:
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    package = copy / "_pkg" / "memgen"
    if not package.exists():
        package.mkdir(parents=True)
        (package / "__init__.py").symlink_to(copy / "host" / "_package" / "__init__.py")
        for part in ("hdl", "sim", "host", "boards"):
            (package / part).symlink_to(copy / part)
    environment = {**os.environ, "PYTHONPATH": str(copy / "_pkg")}
    return copy, environment


def configure(work, module, tests, timeout=MIN_TIMEOUT):
    """The module's Cosmic Ray config and session; a changed module or test list starts a new
    session (the name carries their digest)."""
    digest = hashlib.sha256((ROOT / module).read_bytes() + tests.encode()).hexdigest()[:10]
    name = module.replace("/", "_").removesuffix(".py") + "-" + digest
    config = work / f"{name}.toml"
    command = configured_command(tests)
    excluded = ", ".join(json.dumps(pattern) for pattern in EXCLUDED)
    config.write_text(
        "[cosmic-ray]\n"
        f'module-path = "{module}"\n'
        f"timeout = {timeout}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(command)}\n"
        '[cosmic-ray.distributor]\nname = "local"\n'
        f"[cosmic-ray.filters.operators-filter]\nexclude-operators = [{excluded}]\n"
    )
    return config, work / f"{name}.sqlite"


def sample_session(session, module, size):
    """Leaves ``size`` of the session's unfiltered mutants to run (all when 0): a seeded
    permutation's first ``size``; the others are marked not sampled, and marked again as
    pending when a larger sample takes them in."""
    with sqlite3.connect(session) as db:
        rows = db.execute(
            "SELECT s.job_id, s.start_pos_row, s.start_pos_col, s.operator_name, s.occurrence,"
            " r.worker_outcome, r.output FROM mutation_specs s"
            " LEFT JOIN work_results r USING (job_id)"
        ).fetchall()
        # every mutant the operator filter left, whether run, pending or not sampled
        candidates = [row for row in rows if row[5] != "SKIPPED" or row[6] == NOT_SAMPLED]
        order = [row[0] for row in sorted(candidates, key=lambda row: row[1:5])]
        random.Random(module).shuffle(order)
        chosen = order if size == 0 else order[:size]
        db.executemany(
            "DELETE FROM work_results WHERE job_id = ? AND output = ?",
            [(job, NOT_SAMPLED) for job in chosen],
        )
        left = [(job,) for job in order[len(chosen) :]]
        db.executemany(
            "INSERT OR IGNORE INTO work_results (worker_outcome, output, job_id)"
            f" VALUES ('SKIPPED', '{NOT_SAMPLED}', ?)",
            left,
        )


def baseline(module, tests, environment, copy):
    """Seconds the module's tests take unmutated; they must pass, or no mutant can be judged."""
    started = time.time()
    result = subprocess.run(configured_command(tests), shell=True, cwd=copy, env=environment,
                            capture_output=True, text=True)  # fmt: skip
    if result.returncode:
        raise SystemExit(f"the tests of {module} fail unmutated:\n{result.stdout[-2000:]}")
    return time.time() - started


def configured_command(tests):
    return f"{sys.executable} -m pytest -x -q -p no:cacheprovider {tests}"


def place(module, row, operator, occurrence):
    """A mutant's name in the results and in the equivalents' file: where, what, which."""
    return f"{module}:{row} {operator.removeprefix('core/')} #{occurrence}"


def forget_survivors(session, equivalent=None):
    """Marks the session's survivors pending again, for tests that have changed since; those
    judged equivalent (default: the project's file) stay as they are: no test can kill them."""
    if equivalent is None:
        equivalent = json.loads(EQUIVALENT.read_text())
    with sqlite3.connect(session) as db:
        survivors = db.execute(
            "SELECT s.job_id, s.module_path, s.start_pos_row, s.operator_name, s.occurrence"
            " FROM work_results r JOIN mutation_specs s USING (job_id)"
            " WHERE r.test_outcome = 'SURVIVED'"
        ).fetchall()
        again = [(job,) for job, *where in survivors if place(*where) not in equivalent]
        db.executemany("DELETE FROM work_results WHERE job_id = ?", again)


def run_module(work, module, tests, environment, copy, sample=0, retest=False):
    """Runs (or goes on with) one module's session; returns its summary."""
    seconds = baseline(module, tests, environment, copy)
    timeout = round(max(MIN_TIMEOUT, TIMEOUT_FACTOR * seconds))
    print(f"  unmutated tests: {seconds:.0f} s; a mutant's timeout {timeout} s", flush=True)
    config, session = configure(work, module, tests, timeout)
    binaries = Path(sys.executable).parent

    def tool(*arguments):
        subprocess.run([str(binaries / arguments[0]), *arguments[1:]], cwd=copy,
                       env=environment, check=True)  # fmt: skip

    if not session.exists():
        tool("cosmic-ray", "init", str(config), str(session))
        tool("cr-filter-operators", str(session), str(config))
    sample_session(session, module, sample)
    if retest:
        forget_survivors(session)
    started = time.time()
    tool("cosmic-ray", "exec", str(config), str(session))
    return summarise(module, session, time.time() - started)


def summarise(module, session, seconds=None, equivalent=None):
    """Outcomes of a session; survivors listed in ``equivalent`` (default: the project's
    file) count as equivalent, with their reason."""
    dump = subprocess.run(
        [str(Path(sys.executable).parent / "cosmic-ray"), "dump", str(session)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    if equivalent is None:
        equivalent = json.loads(EQUIVALENT.read_text())
    counts = {"killed": 0, "survived": 0, "timeout": 0, "incompetent": 0, "skipped": 0,
              "not_sampled": 0, "equivalent": 0, "pending": 0}  # fmt: skip
    survivors, equivalents = [], []
    for line in dump.splitlines():
        item, result = json.loads(line)
        if result is None:
            counts["pending"] += 1
            continue
        if result.get("worker_outcome") == "skipped":
            counts["not_sampled" if result.get("output") == NOT_SAMPLED else "skipped"] += 1
            continue
        outcome = result.get("test_outcome")
        (mutation,) = item["mutations"]
        where = place(mutation["module_path"], mutation["start_pos"][0],
                      mutation["operator_name"], mutation["occurrence"])  # fmt: skip
        if result.get("worker_outcome") == "timeout":
            counts["timeout"] += 1
        elif outcome == "killed":
            counts["killed"] += 1
        elif outcome == "survived":
            if where in equivalent:
                counts["equivalent"] += 1
                equivalents.append({"mutant": where, "reason": equivalent[where]})
            else:
                counts["survived"] += 1
                survivors.append(where)
        else:
            counts["incompetent"] += 1
    judged = counts["killed"] + counts["survived"] + counts["timeout"]
    score = (counts["killed"] + counts["timeout"]) / judged if judged else None
    summary = {"module": module, **counts, "score": score,
               "score_95": wilson(counts["killed"] + counts["timeout"], judged),
               "survivors": survivors, "equivalent_mutants": equivalents}  # fmt: skip
    if seconds is not None:
        summary["seconds_this_run"] = round(seconds)
    return summary


def wilson(killed, judged, z=1.96):
    """The 95 % Wilson score interval of a killed fraction, as ``[low, high]`` (None: none
    judged); it holds for a sample of a module's mutants as for all of them."""
    if not judged:
        return None
    p = killed / judged
    centre = (p + z * z / (2 * judged)) / (1 + z * z / judged)
    spread = math.sqrt(p * (1 - p) / judged + z * z / (4 * judged * judged))
    half = z * spread / (1 + z * z / judged)
    return [round(centre - half, 4), round(centre + half, 4)]


def table(results):
    """``results/mutation.json`` as a Markdown table, a row per target module in ``TARGETS``
    order (those not yet run say so)."""
    rows = [
        "| module | mutants run | killed | equivalent | survived | score | 95 % interval |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for module in TARGETS:
        entry = results.get(module)
        if entry is None:
            rows.append(f"| `{module}` | not yet | | | | | |")
            continue
        alive = entry["survived"]
        run = entry["killed"] + entry["timeout"] + alive + entry["equivalent"]
        judged = entry["killed"] + entry["timeout"] + alive
        score = "-" if not judged else f"{(judged - alive) / judged:.0%}"
        low, high = wilson(judged - alive, judged) or (None, None)
        interval = "-" if low is None else f"{low:.0%} to {high:.0%}"
        rows.append(
            f"| `{module}` | {run} | {entry['killed'] + entry['timeout']} | "
            f"{entry['equivalent']} | {alive} | {score} | {interval} |"
        )
    return "\n".join(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="memgen.sim.evidence.mutation", description=__doc__.split("\n")[0]
    )
    parser.add_argument("modules", nargs="*", help=f"of: {', '.join(TARGETS)} (default: all)")
    parser.add_argument("--work", type=Path, default=Path("build/mutation"))
    parser.add_argument("--out", type=Path, default=Path("results/mutation.json"))
    parser.add_argument("--report", action="store_true", help="summarise; run nothing")
    parser.add_argument("--table", action="store_true",
                        help="print OUT as a Markdown table; run nothing")  # fmt: skip
    parser.add_argument("--sample", type=int, default=0, metavar="N",
                        help="mutants per module, a seeded sample (default 0: all)")  # fmt: skip
    parser.add_argument("--retest", action="store_true",
                        help="run the survivors again (after the tests changed)")  # fmt: skip
    arguments = parser.parse_args(argv)
    if arguments.table:
        if not arguments.out.exists():
            parser.error(f"no results yet: {arguments.out} is missing")
        print(table(json.loads(arguments.out.read_text())))
        return 0
    unknown = [m for m in arguments.modules if m not in TARGETS]
    if unknown:
        parser.error(f"no tests are listed for {unknown[0]}")
    arguments.work.mkdir(parents=True, exist_ok=True)
    copy, environment = tree(arguments.work.resolve())
    for module in arguments.modules or TARGETS:
        _, session = configure(arguments.work.resolve(), module, TARGETS[module])
        if arguments.report:
            if session.exists():
                record(arguments.out, module, summarise(module, session))
            continue
        print(f"memgen.sim.evidence.mutation: {module}", flush=True)
        done = run_module(arguments.work.resolve(), module, TARGETS[module], environment, copy,
                          arguments.sample, arguments.retest)  # fmt: skip
        record(arguments.out, module, done)
        score = "-" if done["score"] is None else f"{done['score']:.1%}"
        print(f"  killed {done['killed']}, survived {done['survived']}, score {score}", flush=True)
    return 0


def record(out, module, summary):
    """Write one module's summary into ``out``, read again just before, so a run that takes
    hours never writes back another process's older figures for the other modules."""
    results = json.loads(out.read_text()) if out.exists() else {}
    results[module] = summary
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
