"""The layout of src/ (issue 19): stages as packages, few top-level modules, and every import within the rule its
package or module states in its docstring ("May import: ..."), so that, say, inference never imports training."""

import ast
import re
import shutil
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
MAX_TOP_MODULES = 12
RULE = re.compile(r"^May import: (.+(?:\n.+)*)", re.M)  # to the end of its paragraph


def units(src: Path) -> dict[str, Path]:
    """Each top-level module and package of `src` -> the file whose docstring states its rule."""
    found = {p.stem: p for p in src.glob("*.py") if p.name != "__init__.py"}
    found.update({p.parent.name: p for p in src.glob("*/__init__.py")})
    return found


def allowed(path: Path) -> set[str]:
    """The names on the docstring's "May import:" paragraph: packages, top-level modules or package.module."""
    match = RULE.search(ast.get_docstring(ast.parse(path.read_text())) or "")
    if match is None:
        raise AssertionError(f"{path.relative_to(path.parents[1])}: docstring has no 'May import: ...' line")
    if match.group(1).startswith("(nothing"):
        return set()
    return {name.strip() for name in match.group(1).split(",")}


def imported(src: Path, path: Path) -> set[str]:
    """Every src module `path` imports, at module level or inside functions, as a dotted name below src
    (`from src.model import checkpoint` imports model.checkpoint, not the package's __init__)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                names.add(submodule if _is_module(src, submodule.removeprefix("src.")) else node.module)
    return {name.removeprefix("src.") for name in names if name.startswith("src.")}


def _is_module(src: Path, dotted: str) -> bool:
    """Whether `dotted` (below src) is a module or package, not a name imported from one."""
    base = src.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def violations(src: Path) -> list[str]:
    """'FILE imports src.X' for every import outside the importing unit's rule."""
    rules = {unit: allowed(path) for unit, path in units(src).items()}
    found = []
    for path in sorted(src.rglob("*.py")):
        own = path.relative_to(src).parts[0].removesuffix(".py")
        for name in sorted(imported(src, path)):
            parts = name.split(".")
            prefixes = {".".join(parts[:n]) for n in range(1, len(parts) + 1)}
            if parts[0] != own and not prefixes & rules[own]:
                found.append(f"{path.relative_to(src.parent)} imports src.{name}")
    return found


def test_every_import_keeps_its_packages_rule():
    assert violations(SRC) == []


def test_a_wrong_import_is_caught(tmp_path):
    copy = tmp_path / "src"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__", "static"))
    tagging = copy / "inference" / "tagging.py"
    tagging.write_text(tagging.read_text() + "\n\ndef _wrong():\n    from src.training import trainer\n")
    (copy / "evaluation" / "metrics.py").write_text(
        (copy / "evaluation" / "metrics.py").read_text() + "\nimport src.model.checkpoint\n"
    )
    assert violations(copy) == [
        "src/evaluation/metrics.py imports src.model.checkpoint",
        "src/inference/tagging.py imports src.training.trainer",
    ]


def test_a_rule_names_only_real_parts_of_src():
    for unit, path in units(SRC).items():
        for name in allowed(path):
            assert _is_module(SRC, name), f"{path.relative_to(ROOT)}: 'May import' names {name}, not in src/"
            assert name.split(".")[0] != unit, f"{path.relative_to(ROOT)}: names itself"


def test_few_modules_at_the_top_and_every_package_installed():
    top = sorted(p.name for p in SRC.glob("*.py") if p.name != "__init__.py")
    assert len(top) <= MAX_TOP_MODULES, top
    for kept in ("musictagger.py", "dataset.py", "loss.py"):  # the model zoo's paths
        assert kept in top
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    packages = {".".join(p.parent.relative_to(ROOT).parts) for p in SRC.rglob("__init__.py")}
    assert packages <= listed, f"pyproject.toml does not install {sorted(packages - listed)}"


@pytest.mark.parametrize("unit", sorted(units(SRC)))
def test_every_package_and_top_module_states_what_it_owns(unit):
    doc = ast.get_docstring(ast.parse(units(SRC)[unit].read_text())) or ""
    assert len(doc.splitlines()[0]) > 20 and RULE.search(doc), unit
