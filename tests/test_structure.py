"""Module structure: modules talk through public names, and do not import each other in a cycle.

Read from the source with :mod:`ast` (nothing is imported), so an import
inside a function or under ``if TYPE_CHECKING:`` counts as much as one at the
top of a module.

Internal helper modules (a module name with one leading underscore, such as
``bmdsim._validation`` and ``bmdsim._data``) exist to be used by the other
modules, private names included; every other module's private names
(``_name``) are its own.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bmdsim"
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py"))

#: Import cycles that exist today and are to be removed, as sets of module names. Any other cycle fails.
KNOWN_CYCLES: tuple[frozenset[str], ...] = (
    # cohort imports spread (the default variability, the plausible CV range) and spread imports cohort
    # (Variability, correlation_matrix), both inside functions.
    frozenset({"cohort", "spread"}),
)


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_helper_module(module: str) -> bool:
    """An internal helper module (``_validation``, ``_data``, ...): its private names are for the package."""
    return _is_private(module)


@cache
def _tree(module: str) -> ast.Module:
    path = PACKAGE / f"{module}.py"
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imported_module(node: ast.ImportFrom) -> str | None:
    """The bmdsim module ``node`` imports from: a module name, "" for the package itself, None if not bmdsim."""
    name = node.module or ""
    if node.level == 1:
        return name.split(".")[0]
    if node.level == 0 and (name == "bmdsim" or name.startswith("bmdsim.")):
        return name.split(".")[1] if "." in name else ""
    return None


def _module_aliases(tree: ast.Module) -> dict[str, str]:
    """Local names bound to bmdsim modules (``from . import plot``, ``import bmdsim.plot as p``) -> module."""
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and _imported_module(node) == "":
            out |= {a.asname or a.name: a.name for a in node.names if a.name in MODULES}
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] == "bmdsim" and len(parts) == 2 and a.asname:
                    out[a.asname] = parts[1]
    return out


def _imports(module: str) -> set[str]:
    """The bmdsim modules ``module`` imports, anywhere in its source (not the package's ``__init__``)."""
    out = set()
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.ImportFrom):
            target = _imported_module(node)
            if target == "":
                out |= {a.name for a in node.names if a.name in MODULES}
            elif target:
                out.add(target)
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith("bmdsim.")}
    return out - {module, "__init__"}


def _private_uses(tree: ast.Module, module: str) -> list[str]:
    """Every use in ``tree`` (the source of ``module``) of another bmdsim module's private name, as ``line: text``."""
    aliases = _module_aliases(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _imported_module(node)
            if target is None or target == module or _is_helper_module(target):
                continue
            for a in node.names:
                if _is_private(a.name) and not (target == "" and _is_helper_module(a.name)):
                    found.append(f"{node.lineno}: from {'.' + target if target else '.'} import {a.name}")
        elif isinstance(node, ast.Attribute) and _is_private(node.attr):
            value = node.value
            if isinstance(value, ast.Name) and value.id in aliases:
                target = aliases[value.id]
            elif isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id == "bmdsim":
                target = value.attr  # bmdsim.<module>._name
            else:
                continue
            if target != module and not _is_helper_module(target):
                found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def _class_private_names(module: str) -> set[str]:
    """Private attribute and method names the classes of ``module`` define (``def _x``, ``self._x = ...``)."""
    names = set()
    for cls in (n for n in ast.walk(_tree(module)) if isinstance(n, ast.ClassDef)):
        for node in ast.walk(cls):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_private(node.name):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _is_private(node.attr):
                names.add(node.attr)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and _is_private(node.target.id):
                names.add(node.target.id)
    return names


@pytest.mark.parametrize("module", MODULES)
def test_no_module_uses_another_modules_private_names(module):
    """``from .x import _y`` and ``x._y`` only for internal helper modules (``_validation``, ``_data``)."""
    assert _private_uses(_tree(module), module) == [], f"bmdsim/{module}.py uses private names of other bmdsim modules"


def _foreign_private_members(tree: ast.Module, own: set[str], others: set[str]) -> list[str]:
    """``obj._x`` in ``tree`` (``obj`` not ``self``/``cls``) where only other modules' classes define ``_x``."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _is_private(node.attr)):
            continue
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            continue
        if node.attr in others and node.attr not in own:
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("module", MODULES)
def test_no_module_reads_private_members_of_another_modules_objects(module):
    """``obj._x`` (``obj`` not ``self``/``cls``) only for a ``_x`` that a class of this module defines.

    A private name that only another module's classes define (``result._chunk`` in fracture.py on a
    CohortResult) belongs to that module: it must offer a public name.
    """
    others = set().union(*(_class_private_names(m) for m in MODULES if m != module and not _is_helper_module(m)))
    found = _foreign_private_members(_tree(module), _class_private_names(module), others)
    assert found == [], f"bmdsim/{module}.py reads private members of other modules' objects"


def test_agents_and_regimen_do_not_import_each_other():
    """The registry of agents is below the regimens: regimen imports agents, never the other way."""
    assert "agents" in _imports("regimen")  # the check reads the imports at all
    assert "regimen" not in _imports("agents")


def _cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module in the import ``graph`` (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(frozenset(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_new_import_cycles():
    """No bmdsim modules import each other, directly or through others, beyond :data:`KNOWN_CYCLES`."""
    graph = {m: _imports(m) & set(MODULES) for m in MODULES if m != "__init__"}
    new = [sorted(c) for c in _cycles(graph) if c not in KNOWN_CYCLES]
    assert new == [], f"import cycles among bmdsim modules: {new}"


def test_the_checks_find_what_they_look_for():
    """Each check on made-up sources: it flags the private uses and the cycle, and nothing else."""
    source = (
        "from . import plot, _data\n"
        "from .export import _replace_all, csv_text\n"
        "from ._validation import _show\n"
        "import bmdsim.figures as fig\n"
        "def f(ax, result):\n"
        "    plot._courses(ax)\n"
        "    _data.read_json('x')\n"
        "    fig._split_labels(None)\n"
        "    result._chunk(0, 1)\n"
        "    result._mine\n"
        "    self._chunk\n"
    )
    tree = ast.parse(source)
    assert _private_uses(tree, "made_up") == [
        "2: from .export import _replace_all",
        "6: plot._courses",
        "8: fig._split_labels",
    ]
    assert _foreign_private_members(tree, {"_mine"}, {"_chunk", "_mine"}) == ["9: result._chunk"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset("abc")]
