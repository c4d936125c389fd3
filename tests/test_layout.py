"""The house rules the layout promises: host/ stands without sim/, and hdl/ is grouped by role."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path, source=None):
    """Every module ``path`` (its text, or ``source``) imports, relative imports resolved to
    ``memgen.<folder>...``."""
    package = ["memgen", *path.relative_to(ROOT).parent.parts]
    if package[1:2] == ["host"] and package[2:3] == ["_package"]:
        package = ["memgen"]
    found = []
    for node in ast.walk(ast.parse(source or path.read_text())):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            found += [module] + [f"{module}.{alias.name}" for alias in node.names]
    return found


def test_host_imports_nothing_from_sim():
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in sorted((ROOT / "host").rglob("*.py"))
        for module in imported_modules(path)
        if module == "memgen.sim" or module.startswith("memgen.sim.")
    ]
    assert offenders == []


def test_the_checker_sees_relative_and_absolute_imports():
    """The rule above can fail: both spellings of an import from sim/ are found."""
    source = "from ..sim import demo\nimport memgen.sim.bench.core\nfrom .driver import Driver\n"
    found = imported_modules(ROOT / "host" / "example.py", source)
    assert "memgen.sim.demo" in found and "memgen.sim.bench.core" in found
    assert "memgen.host.driver.Driver" in found


def test_hdl_modules_live_in_their_role_folders():
    loose = [p.name for p in (ROOT / "hdl").glob("*.py") if p.name != "__init__.py"]
    assert loose == []
    assert {p.name for p in (ROOT / "hdl").iterdir() if p.is_dir() and p.name[0] != "_"} >= {
        "engine",
        "link",
        "fpga",
        "common",
    }


#: Test files that check a pair or a part of modules, and what they check.
COMBINED = {
    "tests/hdl/engine/test_memory_path.py": [
        "hdl/engine/append_memory.py",
        "hdl/engine/wide_append.py",
        "hdl/engine/readout.py",
    ],
    "tests/hdl/engine/test_core_recall.py": ["hdl/engine/core.py"],
    "tests/hdl/engine/test_core_appends.py": ["hdl/engine/core.py", "hdl/engine/sequencer.py"],
    "tests/hdl/engine/test_core_protocol.py": ["hdl/engine/protocol.py"],
    "tests/host/test_cli_recall.py": ["host/cli.py"],
    "tests/boards/test_board_self_check.py": ["boards/self_check.py"],
    "tests/boards/test_board_storage.py": [
        "boards/board.py",
        "hdl/engine/storage.py",
        "hdl/fpga/spram.py",
        "hdl/fpga/dp16kd.py",
    ],
}


def test_tests_mirror_the_modules():
    """Each test file under tests/hdl, tests/host and tests/sim names the module it checks."""
    orphans = []
    for test in sorted((ROOT / "tests").glob("*/**/test_*.py")):
        name = str(test.relative_to(ROOT))
        folder = test.parent.relative_to(ROOT / "tests")
        modules = COMBINED.get(name, [f"{folder}/{test.name.removeprefix('test_')}"])
        if not all((ROOT / module).exists() for module in modules):
            orphans.append(name)
    assert orphans == []


DOCUMENTS = ["README.md", "docs/*.md", "results/README.md", "hdl/link/PROTOCOL.md"]


def test_readme_is_short_and_every_link_resolves():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200
    broken = []
    for pattern in DOCUMENTS:
        for document in sorted(ROOT.glob(pattern)):
            for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", document.read_text()):
                if "://" not in target and not (document.parent / target).exists():
                    broken.append(f"{document.relative_to(ROOT)}: {target}")
    assert broken == []


def test_no_production_constructor_takes_a_fault():
    """Faults are planted by memgen.hdl.common.faults.with_fault, never passed to a component."""
    offenders = []
    for path in sorted((ROOT / "hdl").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name == "__init__":
                arguments = node.args.args + node.args.kwonlyargs
                if any(argument.arg == "fault" for argument in arguments):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
