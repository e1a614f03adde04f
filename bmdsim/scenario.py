"""Scenario files: a patient or group, a regimen, a horizon and the outputs wanted, in TOML.

A scenario file maps one-to-one onto the Python API::

    name = "AI for 5 years, then withdrawal"
    description = "..."                      # optional, used in captions

    [patient]                                # -> bmdsim.Patient(age=..., t_score=..., bmd=...)
    age = 63                                 # years; a number or an array (one entry per patient)
    t_score = { lumbar_spine = -1.2, femoral_neck = -1.5 }   # SD; or bmd = {...} in g/cm2

    [[exposure]]                             # -> bmdsim.Exposure(agent, start, stop); repeat per course
    agent = "aromatase_inhibitor"
    start = 0                                # years from baseline
    stop = 5                                 # years; leave out for a course that does not stop

    [simulation]                             # -> bmdsim.simulate(years=..., step=..., params=..., reference=...)
    years = 15
    step = 0.083333                          # output resolution [years]
    params = "trials"                        # a parameter set: trials (default, calibrated) or consensus (teaching)
    reference = "default"

    [output]
    thresholds = [-1.0, -2.0, -2.5]          # T-score thresholds [SD]
    formats = ["png"]                        # any of png, svg, pdf
    figures = ["trajectory", "crossings"]    # see FIGURE_KINDS

Instead of ``[patient]`` a file may give ``[cohort]``, an *illustrative*
synthetic group drawn with a fixed seed (see :func:`synthetic_patients`);
its distribution parameters are display inputs, not a calibrated population.

Unknown sections or keys are errors, and every error names the file, the key
and what is allowed.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import limits
from .parameters import DEFAULT_PARAMETER_SET, available_parameter_sets
from .patient import Patient
from .reference import available_references, load_reference
from .regimen import Exposure, Regimen
from .simulation import DEFAULT_THRESHOLDS, Trajectory, simulate
from .sites import SITES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

#: Figures a scenario may ask for in ``[output] figures``.
FIGURE_KINDS: tuple[str, ...] = ("trajectory", "crossings", "regimen", "fraction_crossed")
#: Figure formats a scenario may ask for in ``[output] formats``.
FORMATS: tuple[str, ...] = ("png", "svg", "pdf")

_TOP = ("name", "description", "patient", "cohort", "exposure", "simulation", "output")
_PATIENT = ("age", "t_score", "bmd")
_COHORT = ("n", "seed", "age", "t_score")
_EXPOSURE = ("agent", "start", "stop")
_SIMULATION = ("years", "step", "params", "reference")
_OUTPUT = ("thresholds", "formats", "figures")


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Scenario:
    """A scenario: the inputs of :func:`bmdsim.simulate` and the outputs wanted.

    Attributes
    ----------
    name, description : str
        For tables and captions.
    patient : Patient
    regimen : Regimen
    years, step : float
        Horizon and output resolution [years].
    params, reference : str
        Parameter-set and young-adult reference names.
    thresholds : tuple of float
        T-score thresholds [SD] for crossing tables and figures.
    formats : tuple of str
        Figure formats to write.
    figures : tuple of str
        Figures to draw, from :data:`FIGURE_KINDS`.
    illustrative : bool
        True for a synthetic ``[cohort]`` (display inputs, not calibrated).
    source : str
        Where the scenario was read from.
    cohort : mapping
        The ``[cohort]`` inputs (``n``, ``seed``, ``age``, ``t_score``) as
        checked, or empty for given patients.
    """

    name: str
    patient: Patient
    regimen: Regimen
    years: float = 10.0
    step: float = 1.0 / 12.0
    params: str = DEFAULT_PARAMETER_SET
    reference: str = "default"
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS
    formats: tuple[str, ...] = ("png",)
    figures: tuple[str, ...] = ("trajectory", "crossings")
    description: str = ""
    illustrative: bool = False
    source: str = "<scenario>"
    cohort: Mapping[str, Any] = field(default_factory=dict)

    def run(self) -> Trajectory:
        """Simulate the scenario; see :func:`bmdsim.simulate`."""
        return simulate(
            self.patient,
            self.regimen,
            years=self.years,
            step=self.step,
            params=self.params,
            reference=load_reference(self.reference),
        )


def synthetic_patients(
    n: int, seed: int, age: Mapping[str, float], t_score: Mapping[str, Mapping[str, float]]
) -> Patient:
    """An illustrative group: normally distributed age and T-scores, drawn with a fixed seed.

    Parameters
    ----------
    n : int
        Number of patients.
    seed : int
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same group.
    age : mapping
        ``mean`` and ``sd`` [years] of a normal distribution, clipped to
        ``[min, max]`` [years].
    t_score : mapping of site -> mapping
        ``mean`` and ``sd`` [SD] per site, clipped to ``limits.T_SCORE``.

    Returns
    -------
    Patient
        ``n`` patients.

    Notes
    -----
    For teaching figures only: the distribution parameters are display
    inputs chosen by the scenario's author, not a calibrated population.
    """
    rng = np.random.default_rng(seed)
    ages = np.clip(rng.normal(age["mean"], age["sd"], n), age["min"], age["max"])
    scores = {site: np.clip(rng.normal(d["mean"], d["sd"], n), *limits.T_SCORE) for site, d in sorted(t_score.items())}
    return Patient(age=ages, t_score=scores)


# --- parsing ---------------------------------------------------------------------------------------------------


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> ScenarioError:
        return ScenarioError(f"{self.source}: {key}: {problem}")

    def table(self, doc: Any, key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(doc, Mapping):
            raise self.fail(key, f"must be a table, got {type(doc).__name__}")
        unknown = [k for k in doc if k not in allowed]
        if unknown:
            name = f"{key}.{unknown[0]}" if key else unknown[0]
            raise self.fail(name, f"unknown key; allowed keys are: {', '.join(allowed)}")
        return dict(doc)

    def number(self, value: Any, key: str, low: float = -math.inf, high: float = math.inf, unit: str = "") -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"must be a number{f' [{unit}]' if unit else ''}, got {value!r}")
        value = float(value)
        if not (math.isfinite(value) and low <= value <= high):
            raise self.fail(key, f"must be a finite number in [{low:g}, {high:g}] {unit}, got {value!r}".rstrip())
        return value

    def numbers(self, value: Any, key: str, unit: str = "") -> float | np.ndarray:
        if isinstance(value, list):
            if not value:
                raise self.fail(key, "must not be an empty array")
            return np.array([self.number(v, f"{key}[{i}]", unit=unit) for i, v in enumerate(value)])
        return self.number(value, key, unit=unit)

    def string(self, value: Any, key: str, allowed: tuple[str, ...] | None = None) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {value!r}")
        if allowed is not None and value not in allowed:
            raise self.fail(key, f"unknown value {value!r}; allowed values are: {', '.join(allowed)}")
        return value

    def strings(self, value: Any, key: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(key, f"must be a non-empty array of strings from: {', '.join(allowed)}")
        return tuple(dict.fromkeys(self.string(v, f"{key}[{i}]", allowed) for i, v in enumerate(value)))

    def sites(self, doc: Any, key: str, unit: str) -> dict[str, float | np.ndarray]:
        table = self.table(doc, key, SITES)
        return {site: self.numbers(v, f"{key}.{site}", unit) for site, v in table.items()}


def _patient(r: _Reader, doc: Any) -> Patient:
    table = r.table(doc, "patient", _PATIENT)
    if "age" not in table:
        raise r.fail("patient.age", "is required (age at baseline in years)")
    age = r.numbers(table["age"], "patient.age", "years")
    t_score = r.sites(table.get("t_score", {}), "patient.t_score", "SD")
    bmd = r.sites(table.get("bmd", {}), "patient.bmd", "g/cm2")
    try:
        return Patient(age=age, t_score=t_score, bmd=bmd)
    except (TypeError, ValueError) as exc:
        raise r.fail("patient", str(exc)) from None


def _cohort(r: _Reader, doc: Any) -> tuple[Patient, dict[str, Any]]:
    table = r.table(doc, "cohort", _COHORT)
    for key in _COHORT:
        if key not in table:
            raise r.fail(f"cohort.{key}", f"is required; [cohort] needs {', '.join(_COHORT)}")
    n = table["n"]
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 100_000:
        raise r.fail("cohort.n", f"must be a whole number of patients in [1, 100000], got {n!r}")
    seed = table["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise r.fail("cohort.seed", f"must be a non-negative whole number, got {seed!r}")
    age_t = r.table(table["age"], "cohort.age", ("mean", "sd", "min", "max"))
    for k in ("mean", "sd", "min", "max"):
        if k not in age_t:
            raise r.fail(f"cohort.age.{k}", "is required; cohort.age needs mean, sd, min, max [years]")
    age = {k: r.number(age_t[k], f"cohort.age.{k}", *limits.AGE_YEARS, unit="years") for k in ("mean", "min", "max")}
    age["sd"] = r.number(age_t["sd"], "cohort.age.sd", 0.0, 50.0, unit="years")
    if age["min"] > age["max"]:
        raise r.fail("cohort.age", f"min ({age['min']:g}) must not exceed max ({age['max']:g})")
    sites = r.table(table["t_score"], "cohort.t_score", SITES)
    if not sites:
        raise r.fail("cohort.t_score", f"needs at least one site of: {', '.join(SITES)}")
    t_score = {}
    for site, d in sites.items():
        d = r.table(d, f"cohort.t_score.{site}", ("mean", "sd"))
        for k in ("mean", "sd"):
            if k not in d:
                raise r.fail(f"cohort.t_score.{site}.{k}", "is required; give mean and sd [SD]")
        t_score[site] = {
            "mean": r.number(d["mean"], f"cohort.t_score.{site}.mean", *limits.T_SCORE, unit="SD"),
            "sd": r.number(d["sd"], f"cohort.t_score.{site}.sd", 0.0, 5.0, unit="SD"),
        }
    spec = {"n": n, "seed": seed, "age": age, "t_score": t_score}
    return synthetic_patients(**spec), spec


def _regimen(r: _Reader, doc: Any) -> Regimen:
    if not isinstance(doc, list):
        raise r.fail("exposure", "must be an array of tables: write each course as [[exposure]]")
    from .agents import AGENTS

    exposures = []
    for i, item in enumerate(doc):
        key = f"exposure[{i}]"
        table = r.table(item, key, _EXPOSURE)
        if "agent" not in table:
            raise r.fail(f"{key}.agent", f"is required; allowed values are: {', '.join(AGENTS)}")
        agent = r.string(table["agent"], f"{key}.agent", tuple(AGENTS))
        start = r.number(table.get("start", 0.0), f"{key}.start", *limits.EXPOSURE_START_YEARS, unit="years")
        stop = r.number(table["stop"], f"{key}.stop", unit="years") if "stop" in table else None
        try:
            exposures.append(Exposure(agent, start=start, stop=stop))
        except (TypeError, ValueError) as exc:
            raise r.fail(key, str(exc)) from None
    try:
        return Regimen(exposures)
    except (TypeError, ValueError) as exc:
        raise r.fail("exposure", str(exc)) from None


def scenario_from_dict(doc: Mapping[str, Any], source: str = "<scenario>") -> Scenario:
    """Build a :class:`Scenario` from the parsed TOML layout (see the module docstring).

    Raises
    ------
    ScenarioError
        Naming ``source``, the key and what is allowed.
    """
    r = _Reader(source)
    top = r.table(doc, "", _TOP)
    if ("patient" in top) == ("cohort" in top):
        raise r.fail("patient", "give exactly one of [patient] (one or more given patients) or [cohort] (illustrative)")
    cohort: dict[str, Any] = {}
    if "patient" in top:
        patient = _patient(r, top["patient"])
    else:
        patient, cohort = _cohort(r, top["cohort"])
    regimen = _regimen(r, top.get("exposure", []))

    sim = r.table(top.get("simulation", {}), "simulation", _SIMULATION)
    years = r.number(sim.get("years", 10.0), "simulation.years", unit="years")
    if not limits.HORIZON_YEARS[0] < years <= limits.HORIZON_YEARS[1]:
        raise r.fail("simulation.years", f"must be in ({limits.HORIZON_YEARS[0]:g}, {limits.HORIZON_YEARS[1]:g}]")
    step = r.number(sim.get("step", 1.0 / 12.0), "simulation.step", unit="years")
    if not 0 < step <= years:
        raise r.fail("simulation.step", f"must be in (0, years] = (0, {years:g}] years, got {step:g}")
    params = r.string(sim.get("params", DEFAULT_PARAMETER_SET), "simulation.params", available_parameter_sets())
    reference = r.string(sim.get("reference", "default"), "simulation.reference", available_references())

    out = r.table(top.get("output", {}), "output", _OUTPUT)
    thresholds = DEFAULT_THRESHOLDS
    if "thresholds" in out:
        if not isinstance(out["thresholds"], list) or not out["thresholds"]:
            raise r.fail("output.thresholds", "must be a non-empty array of T-scores [SD]")
        thresholds = tuple(
            r.number(v, f"output.thresholds[{i}]", *limits.T_SCORE, unit="SD") for i, v in enumerate(out["thresholds"])
        )
    formats = r.strings(out["formats"], "output.formats", FORMATS) if "formats" in out else ("png",)
    default_figures = ("fraction_crossed", "regimen") if cohort else ("trajectory", "crossings")
    figures = r.strings(out["figures"], "output.figures", FIGURE_KINDS) if "figures" in out else default_figures

    name = r.string(top.get("name", Path(source).stem), "name")
    description = r.string(top.get("description", ""), "description")
    return Scenario(
        name=name,
        description=description,
        patient=patient,
        regimen=regimen,
        years=years,
        step=step,
        params=params,
        reference=reference,
        thresholds=thresholds,
        formats=formats,
        figures=figures,
        illustrative=bool(cohort),
        source=source,
        cohort=cohort,
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file (TOML).

    Parameters
    ----------
    path : path
        A ``.toml`` file in the layout of the module docstring.

    Returns
    -------
    Scenario
        Call :meth:`Scenario.run` to simulate it.

    Raises
    ------
    ScenarioError
        If the file cannot be read or parsed, or a key is unknown or has a
        value that is not allowed; the message names the file and the key.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a UTF-8 text file") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from None
    return scenario_from_dict(doc, source=str(path))


def builtin_scenarios() -> tuple[str, ...]:
    """Names of the scenarios shipped with bmdsim (``data/scenarios/*.toml``)."""
    from ._data import data_dir

    return tuple(sorted(p.stem for p in (data_dir() / "scenarios").glob("*.toml")))


def load_builtin_scenario(name: str) -> Scenario:
    """Load a shipped scenario by name, one of :func:`builtin_scenarios`."""
    from ._data import data_dir
    from ._validation import check_choice

    check_choice("built-in scenario", name, builtin_scenarios())
    return load_scenario(data_dir() / "scenarios" / f"{name}.toml")
