"""The dependency rules of DESIGN.md, checked on every import statement."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imports(package: str) -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(str(path.relative_to(ROOT)), alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((str(path.relative_to(ROOT)), node.module))
    return found


def offenders(package: str, forbidden: set[str]) -> list[str]:
    return [f"{where}: {mod}" for where, mod in imports(package) if mod.split(".")[0] in forbidden]


def test_the_operator_imports_neither_the_world_nor_the_network_control():
    assert offenders("oss_bss", {"sim", "controllers", "simpy", "mininet", "os_ken", "ryu", "run_scenario"}) == []


def test_network_control_does_not_import_the_world():
    assert offenders("controllers", {"sim", "simpy", "run_scenario"}) == []


def test_the_world_does_not_import_mininet_or_os_ken():
    assert offenders("sim", {"mininet", "os_ken", "ryu", "run_scenario"}) == []


@pytest.mark.parametrize("package", ["oss_bss", "sim", "controllers"])
def test_the_checker_sees_imports(package):
    # A checker that found nothing would pass vacuously.
    assert package == "controllers" or imports(package)
