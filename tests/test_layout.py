"""Where a test goes (tests/README.md), checked: the layout alone says where a new test belongs."""
import ast

import pytest

from tests.fixtures import REPO_ROOT

TESTS = REPO_ROOT / "tests"
APART = {"e2e", "gpu", "_dassl_double"}  # folders that do not mirror the source tree
OWN_FILE = "test_layout.py"  # this file: it checks the test tree itself
STARTS_PROCESSES = {"subprocess", "run_command", "run_train_process", "Popen"}


def module_paths(folder=TESTS):
    return sorted(path for path in folder.rglob("test_*.py") if "__pycache__" not in path.parts)


def top_folder(path):
    return path.relative_to(TESTS).parts[0]


def marks_of(path):
    """The marker names a module's ``pytestmark`` sets."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in node.targets):
            return {n.attr for n in ast.walk(node.value) if isinstance(n, ast.Attribute) and n.attr != "mark"}
    return set()


def test_a_test_of_x_y_lives_in_tests_x_test_y():
    unmatched = []
    for path in module_paths():
        relative = path.relative_to(TESTS)
        if relative.parts[0] in APART or relative.name == OWN_FILE:
            continue
        source = REPO_ROOT.joinpath(*relative.parts[:-1], relative.name[len("test_"):])
        if not source.is_file():
            unmatched.append(f"{relative} (no {source.relative_to(REPO_ROOT)})")
    assert not unmatched, f"test modules that mirror no source file: {unmatched}"


def test_every_folder_of_tests_is_a_package():
    folders = {path.parent for path in module_paths()}
    assert all((folder / "__init__.py").is_file() for folder in folders), "two test_x.py files would clash"


@pytest.mark.parametrize("folder, marker", [("e2e", "slow"), ("gpu", "gpu")])
def test_every_module_apart_carries_its_marker(folder, marker):
    modules = module_paths(TESTS / folder)
    assert modules and all(marker in marks_of(path) for path in modules), [
        str(path.relative_to(TESTS)) for path in modules if marker not in marks_of(path)]


def test_only_e2e_tests_start_processes():
    offenders = []
    for path in module_paths():
        if top_folder(path) == "e2e":
            continue
        names = {n.id for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Name)}
        names |= {alias.name.split(".")[0] for n in ast.walk(ast.parse(path.read_text()))
                  if isinstance(n, (ast.Import, ast.ImportFrom)) for alias in n.names}
        if names & STARTS_PROCESSES:
            offenders.append(str(path.relative_to(TESTS)))
    assert not offenders, f"these start a process; they belong in tests/e2e (marked slow): {offenders}"
