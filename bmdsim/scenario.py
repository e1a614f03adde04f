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
    step = 0.083333                          # output resolution [years], at least one day
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

Limits (each refused with a one-line :class:`ScenarioError`, never clipped):

- the file must be a regular file (not a directory, pipe or device) of at most
  :data:`MAX_FILE_BYTES` bytes, in UTF-8 (a leading byte-order mark is allowed);
  arrays and inline tables nested too deeply for the TOML reader are refused;
- a ``[patient]`` array, like ``[cohort] n``, holds at most :data:`MAX_PATIENTS`
  patients;
- at most :data:`MAX_EXPOSURES` ``[[exposure]]`` courses and
  :data:`MAX_THRESHOLDS` thresholds;
- ``step`` is at least :data:`MIN_STEP_YEARS` (one day), and the output grid of
  all patients (patients x times, float64) must fit in
  :data:`bmdsim.limits.MAX_ARRAY_BYTES`;
- ``name`` and ``description`` are at most :data:`bmdsim.limits.MAX_TEXT_CHARS`
  characters.
"""

from __future__ import annotations

import math
import os
import reprlib
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import limits
from . import plot as _plot
from . import regimen as _regimen
from ._validation import check_allocation, check_text
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

#: Largest scenario (or ``--labels``) file [bytes]: 4 MiB. Derived from :data:`MAX_PATIENTS`: a
#: file giving age and three T-scores for every one of them, about 10 characters a number, is
#: about 4 MB; the shipped examples are under 2 kB.
MAX_FILE_BYTES: int = 4 * 2**20
#: Most patients a scenario file may describe, as a ``[patient]`` array or as ``[cohort] n``.
#: One limit for both, so an array cannot get around the cohort cap.
MAX_PATIENTS: int = 100_000
#: Most ``[[exposure]]`` courses in a scenario: :data:`bmdsim.regimen.MAX_EXPOSURES`, checked
#: before the courses are read.
MAX_EXPOSURES: int = _regimen.MAX_EXPOSURES
#: Most T-score thresholds in ``[output] thresholds``: :data:`bmdsim.plot.MAX_THRESHOLDS`, as the
#: figures draw each (and each is a table column and a crossing search per site and patient).
MAX_THRESHOLDS: int = _plot.MAX_THRESHOLDS
#: Smallest output step [years]: one day. The model's time scales are months; crossing times are
#: exact at any step, so a finer grid only costs memory.
MIN_STEP_YEARS: float = 1.0 / 365.25

_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxtuple = 2, 6, 4, 6
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 60, 60, 40


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

    def check(self, key: str, check: Any, *args: Any) -> Any:
        """Run a shared check of :mod:`bmdsim._validation`; its ValueError/TypeError names ``key``."""
        try:
            return check(*args)
        except (TypeError, ValueError) as exc:
            raise self.fail(key, str(exc)) from None

    def table(self, doc: Any, key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(doc, Mapping):
            raise self.fail(key, f"must be a table, got {type(doc).__name__}")
        unknown = [k for k in doc if k not in allowed]
        if unknown:
            first = unknown[0] if len(unknown[0]) <= 60 else _SHORT.repr(unknown[0])
            name = f"{key}.{first}" if key else first
            raise self.fail(name, f"unknown key; allowed keys are: {', '.join(allowed)}")
        return dict(doc)

    def number(self, value: Any, key: str, low: float = -math.inf, high: float = math.inf, unit: str = "") -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"must be a number{f' [{unit}]' if unit else ''}, got {_SHORT.repr(value)}")
        try:
            number = float(value)
        except OverflowError:  # an integer beyond the float range
            number = math.inf
        if not (math.isfinite(number) and low <= number <= high):
            if math.isfinite(low) or math.isfinite(high):
                where = f" in [{low:g}, {high:g}]" + (f" {unit}" if unit else "")
            else:
                where = f" [{unit}]" if unit else ""
            raise self.fail(key, f"must be a finite number{where}, got {_SHORT.repr(value)}")
        return number

    def numbers(self, value: Any, key: str, unit: str = "") -> float | np.ndarray:
        if isinstance(value, list):
            if not value:
                raise self.fail(key, "must not be an empty array")
            if len(value) > MAX_PATIENTS:
                raise self.fail(
                    key,
                    f"has {len(value)} entries; a scenario file may give at most {MAX_PATIENTS} patients "
                    "(the limit of [cohort] n too)",
                )
            return np.array([self.number(v, f"{key}[{i}]", unit=unit) for i, v in enumerate(value)])
        return self.number(value, key, unit=unit)

    def string(self, value: Any, key: str, allowed: tuple[str, ...] | None = None) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"must be a string, got {_SHORT.repr(value)}")
        if allowed is not None and value not in allowed:
            raise self.fail(key, f"unknown value {_SHORT.repr(value)}; allowed values are: {', '.join(allowed)}")
        return value

    def strings(self, value: Any, key: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(key, f"must be a non-empty array of strings from: {', '.join(allowed)}")
        return tuple(dict.fromkeys(self.string(v, f"{key}[{i}]", allowed) for i, v in enumerate(value)))

    def text(self, value: Any, key: str) -> str:
        """A free text (name, description): a string of at most ``limits.MAX_TEXT_CHARS`` characters."""
        return self.check(key, check_text, "the text", value)

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
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_PATIENTS:
        raise r.fail("cohort.n", f"must be a whole number of patients in [1, {MAX_PATIENTS}], got {_SHORT.repr(n)}")
    seed = table["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise r.fail("cohort.seed", f"must be a whole number in [0, 2**63 - 1], got {_SHORT.repr(seed)}")
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
    if len(doc) > MAX_EXPOSURES:
        raise r.fail("exposure", f"has {len(doc)} courses; a scenario may give at most {MAX_EXPOSURES}")
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
        raise r.fail(
            "simulation.years",
            f"must be in ({limits.HORIZON_YEARS[0]:g}, {limits.HORIZON_YEARS[1]:g}] years, got {years:g}",
        )
    step = r.number(sim.get("step", 1.0 / 12.0), "simulation.step", unit="years")
    if not MIN_STEP_YEARS <= step <= years:
        raise r.fail(
            "simulation.step",
            f"must be at least one day ({MIN_STEP_YEARS:.6g} years) and at most years ({years:g}), got {step:g}",
        )
    times = math.floor(years / step) + 2  # at most: 0, step, 2 step, ... and the horizon
    r.check(
        "simulation.step",
        check_allocation,
        f"an output grid of {times} times (years = {years:g}, step = {step:g}) for {patient.n} patients",
        float(times) * patient.n,
        8,
        "use a larger step or fewer patients",
    )
    params = r.string(sim.get("params", DEFAULT_PARAMETER_SET), "simulation.params", available_parameter_sets())
    reference = r.string(sim.get("reference", "default"), "simulation.reference", available_references())

    out = r.table(top.get("output", {}), "output", _OUTPUT)
    thresholds = DEFAULT_THRESHOLDS
    if "thresholds" in out:
        if not isinstance(out["thresholds"], list) or not out["thresholds"]:
            raise r.fail("output.thresholds", "must be a non-empty array of T-scores [SD]")
        if len(out["thresholds"]) > MAX_THRESHOLDS:
            raise r.fail(
                "output.thresholds", f"has {len(out['thresholds'])} entries; at most {MAX_THRESHOLDS} are allowed"
            )
        thresholds = tuple(
            r.number(v, f"output.thresholds[{i}]", *limits.T_SCORE, unit="SD") for i, v in enumerate(out["thresholds"])
        )
        repeated = [t for i, t in enumerate(thresholds) if t in thresholds[:i]]
        if repeated:
            raise r.fail("output.thresholds", f"lists {repeated[0]:g} twice; give each threshold once")
    formats = r.strings(out["formats"], "output.formats", FORMATS) if "formats" in out else ("png",)
    default_figures = ("fraction_crossed", "regimen") if cohort else ("trajectory", "crossings")
    figures = r.strings(out["figures"], "output.figures", FIGURE_KINDS) if "figures" in out else default_figures

    name = r.text(top.get("name", Path(source).stem), "name")
    description = r.text(top.get("description", ""), "description")
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
    doc = _read_toml(path, "scenario file")
    return scenario_from_dict(doc, source=str(path))


def _file_kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return "a special file"


def _read_toml(path: str | Path, what: str = "file", max_bytes: int = MAX_FILE_BYTES) -> dict[str, Any]:
    """Read a small TOML file from the user, refusing anything that could hang or exhaust memory.

    Parameters
    ----------
    path : path
        The file.
    what : str
        What the file is, for the messages (e.g. ``"scenario file"``).
    max_bytes : int
        Largest accepted size [bytes]; :data:`MAX_FILE_BYTES` by default.

    Returns
    -------
    dict
        The parsed TOML document.

    Notes
    -----
    Private helper shared by :func:`load_scenario` and the ``--labels`` option
    of the command line.

    Raises
    ------
    ScenarioError
        One line naming ``path``: it cannot be opened; it is not a regular
        file (a directory, a named pipe, a device: a pipe would block and a
        device may never end); it is larger than ``max_bytes``; it is not
        UTF-8 (a leading byte-order mark is allowed); it is not valid TOML,
        including arrays or inline tables nested too deeply to parse.
    """
    path = Path(path)
    # O_NONBLOCK: opening a named pipe must not wait for a writer; fstat then refuses it.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ScenarioError(f"{path}: cannot read the {what}: it is {_file_kind(info.st_mode)}, not a regular file")
        if info.st_size > max_bytes:
            raise ScenarioError(f"{path}: the {what} has {info.st_size} bytes; at most {max_bytes} are allowed")
        data = bytearray()
        while len(data) <= max_bytes:  # the file may grow while it is read: read at most one byte too many
            chunk = os.read(fd, max_bytes + 1 - len(data))
            if not chunk:
                break
            data += chunk
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise ScenarioError(f"{path}: the {what} has more than {max_bytes} bytes; at most {max_bytes} are allowed")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: the {what} is not UTF-8 text (byte {exc.start} cannot be decoded)") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ScenarioError(f"{path}: cannot read the {what}: arrays or inline tables are nested too deeply") from None
    except ValueError as exc:  # an integer of more than sys.get_int_max_str_digits() digits
        reason = str(exc).split(";")[0]
        raise ScenarioError(f"{path}: cannot read the {what}: a value is too long ({reason})") from None


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
