"""Packaging checks: import cost, dependency lists, notebook collection and data provenance."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bmdsim import _data

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"


def test_import_does_not_import_matplotlib():
    """`import bmdsim` (and its non-drawing modules, plot and figures included) leaves matplotlib unimported."""
    code = (
        "import bmdsim, bmdsim.summary, bmdsim.scenario, bmdsim.export, bmdsim.plot, bmdsim.figures, sys;"
        " import bmdsim.__main__; assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_data_dir_is_the_source_data_folder():
    """In a source checkout bmdsim reads data/ next to the package."""
    assert _data.data_dir() == DATA


def _pyproject() -> dict:
    tomllib = pytest.importorskip("tomllib")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _normalise(name: str) -> str:
    name = re.sub(r"[-_.]+", "-", name.strip().lower())
    return {"python-build": "build"}.get(name, name)


def _split_requirement(req: str) -> tuple[str, str | None]:
    """Package name (normalised) and lower bound of a '>=' requirement, if any."""
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(?:>=\s*([^,\s;]+))?.*", req)
    assert match, f"cannot parse requirement {req!r}"
    return _normalise(match.group(1)), match.group(2)


def _environment_dependencies() -> list[str]:
    """The conda dependency strings of environment.yml, without the nested pip list (tiny line parser)."""
    deps, in_deps = [], False
    for raw in (ROOT / "environment.yml").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not raw.startswith(" "):
            in_deps = line.startswith("dependencies:")
            continue
        if in_deps and re.match(r"^  - ", line):  # top-level list item only (the pip list is indented further)
            item = line[4:].strip()
            if not item.endswith(":"):
                deps.append(item)
    return deps


def test_environment_yml_parser_sees_every_entry():
    """The line parser finds python, pip and the packages, and skips the pip sub-list."""
    deps = _environment_dependencies()
    names = [_split_requirement(d)[0] for d in deps]
    assert "python" in names and "pip" in names and "numpy" in names
    assert not any(d.startswith("-e") for d in deps)


def test_environment_yml_matches_pyproject():
    """environment.yml lists the runtime deps plus the notebooks and test extras, with the same lower bounds."""
    project = _pyproject()["project"]
    extras = project["optional-dependencies"]
    assert {"notebooks", "test"} <= set(extras)
    pip_reqs = project["dependencies"] + extras["notebooks"] + extras["test"]
    pip_bounds: dict[str, str | None] = {}
    for req in pip_reqs:
        name, bound = _split_requirement(req)
        assert pip_bounds.setdefault(name, bound) == bound, f"{name} has two different lower bounds in pyproject"
    conda_bounds = dict(_split_requirement(d) for d in _environment_dependencies())
    for ignored in ("python", "pip"):
        conda_bounds.pop(ignored, None)
    assert set(conda_bounds) == set(pip_bounds)
    assert conda_bounds == pip_bounds


def test_environment_python_matches_requires_python():
    """environment.yml pins the same minimum Python as requires-python."""
    conda = dict(_split_requirement(d) for d in _environment_dependencies())
    assert _pyproject()["project"]["requires-python"] == f">={conda['python']}"


def test_every_notebook_is_collected_by_the_test_command():
    """The plain `pytest` command collects notebooks/*.ipynb with nbval: testpaths and --nbval in addopts."""
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    options = _pyproject()["tool"]["pytest"]["ini_options"]
    assert "notebooks" in options["testpaths"]
    assert "tests" in options["testpaths"]
    addopts = options["addopts"].split() if isinstance(options["addopts"], str) else options["addopts"]
    assert "--nbval" in addopts  # strict nbval, not --nbval-lax
    for nb in notebooks:
        assert nb.parent.name in options["testpaths"]
        json.loads(nb.read_text(encoding="utf-8"))  # valid JSON notebook


def _collect(obj, field: str) -> list[str]:
    """Every string value of ``field`` anywhere inside a JSON document."""
    found: list[str] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key == field and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_collect(value, field))
    elif isinstance(obj, list):
        for value in obj:
            found.extend(_collect(value, field))
    return found


def _cited_keys() -> dict[str, set[str]]:
    """Citation keys referenced by each data file."""
    refs: dict[str, set[str]] = {}
    for path in sorted((DATA / "parameters").glob("*.json")):
        refs[path.name] = set(_collect(json.loads(path.read_text()), "source"))
    for path in sorted((DATA / "targets").glob("*.json")):
        refs[path.name] = set(_collect(json.loads(path.read_text()), "citation"))
    refs["reference_young_adult.json"] = set(_collect(_data.read_json("reference_young_adult.json"), "citation"))
    return refs


def test_every_cited_key_exists_with_title_and_where():
    """Each 'source'/'citation' key in data/ exists in citations.json, which gives it a title and a 'where'."""
    citations = _data.read_json("citations.json")
    refs = _cited_keys()
    assert refs["brex_2024.json"] == {"blomqvist_2024"}
    assert refs["atac_bone.json"] == {"eastell_2008", "eastell_2011"}
    assert {"looker_1998", "nhanes_2005_2014_update"} <= refs["reference_young_adult.json"]
    for keys in refs.values():
        assert keys
    for file, keys in refs.items():
        missing = keys - set(citations)
        assert not missing, f"{file} cites unknown keys {sorted(missing)}"
    for key, entry in citations.items():
        if key.startswith("_"):
            continue
        assert entry.get("title", "").strip(), f"citation {key} has no title"
        assert entry.get("where", "").strip(), f"citation {key} has no 'where'"
        for other in entry.get("supporting", []):
            assert other in citations, f"citation {key} is supported by unknown key {other}"


def test_every_parameter_has_unit_role_and_known_source():
    """Every shipped parameter records a unit, a role (fixed/fitted/derived) and a source."""
    citations = _data.read_json("citations.json")
    for path in sorted((DATA / "parameters").glob("*.json")):
        doc = json.loads(path.read_text())
        for key, entry in doc["parameters"].items():
            assert entry["role"] in {"fixed", "fitted", "derived"}, (path.name, key)
            assert "unit" in entry, (path.name, key)
            assert entry["source"] in citations, (path.name, key)


def test_pytest_command_collects_every_notebook():
    """`pytest --collect-only` with the project's configuration collects cells of every notebook."""
    pytest.importorskip("nbval")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "notebooks"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert f"notebooks/{nb.name}::Cell 0" in result.stdout, nb.name


def test_tomli_is_required_only_where_tomllib_is_missing():
    """Scenario files need tomllib (3.11+) or the tomli backport; pyproject requires tomli on 3.10 only."""
    deps = _pyproject()["project"]["dependencies"]
    tomli = [d for d in deps if _split_requirement(d)[0] == "tomli"]
    assert len(tomli) == 1
    assert re.search(r";\s*python_version\s*<\s*['\"]3\.11['\"]", tomli[0]), tomli[0]


def test_example_scenarios_load_and_builtin_scenarios_ship_in_data():
    """scenarios/*.toml are valid examples; the built-in ones live in data/ (shipped in the wheel as bmdsim/data)."""
    from bmdsim.scenario import builtin_scenarios, load_scenario

    examples = sorted((ROOT / "scenarios").glob("*.toml"))
    assert {"ai_withdrawal.toml", "natural_loss.toml", "tamoxifen_then_ai.toml"} <= {p.name for p in examples}
    for path in examples:
        load_scenario(path).run()
    assert {p.stem for p in (DATA / "scenarios").glob("*.toml")} == set(builtin_scenarios())


def test_every_notebook_is_committed_executed_and_draws_inline():
    """Strict nbval needs committed outputs and execution counts; each notebook starts with %matplotlib inline."""
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        assert nb["metadata"]["kernelspec"]["name"] == "python3", path.name
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert code and "".join(code[0]["source"]).lstrip().startswith("%matplotlib inline"), path.name
        counts = [c["execution_count"] for c in code]
        assert counts == list(range(1, len(code) + 1)), f"{path.name}: run top to bottom once before committing"
        assert any(c["outputs"] for c in code), f"{path.name}: outputs were stripped"
        for cell in code:
            for out in cell["outputs"]:
                text = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
                assert "/tmp" not in text and str(ROOT) not in text, f"{path.name}: a file path in the output"
                assert out.get("name") != "stderr", f"{path.name}: warnings on stderr break strict nbval"


def test_notebooks_name_the_kernel_as_ipykernel_does():
    """JupyterLab rewrites a kernelspec whose display name differs from ipykernel's, so the notebook opens modified."""
    import json

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        spec = json.loads(path.read_text(encoding="utf-8"))["metadata"]["kernelspec"]
        assert spec == {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}, path.name
