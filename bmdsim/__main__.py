"""``bmdsim`` / ``python -m bmdsim``: the command line.

``bmdsim`` with no subcommand runs the default scenario: a 63-year-old woman
with T-scores of -1.2 (lumbar spine), -1.5 (femoral neck) and -1.3 (total hip)
takes an aromatase inhibitor for 5 years and stops; the consensus parameter
set is simulated for 15 years. It prints the first time each site's T-score
reaches -1.0, -2.0 and -2.5, the BMD change over the AI course and over the 5
years after it, and writes the figure.

Subcommands:

``bmdsim run SCENARIO``
    Simulate a scenario file (TOML, see :mod:`bmdsim.scenario`); print the
    crossing times (a table, or JSON with ``--json``); write the trajectory and
    the crossing times as CSV and the figures the scenario asks for.
``bmdsim figures``
    Write the educator figure set (:func:`bmdsim.figures.educator_figures`)
    with a caption file beside each figure.
``bmdsim examples [--copy DIR [--force]]``
    List the example scenarios that ship with bmdsim (in the wheel as
    ``bmdsim/examples``), one line each; ``--copy DIR`` copies them into
    ``DIR`` (created if missing; existing files are kept unless ``--force``).
``bmdsim --version``
    Print ``bmdsim <version>``.

A ``[patient]`` or ``[cohort]`` scenario writes ``<stem>_trajectory.csv`` and
``<stem>_crossings.csv``; a ``[population]`` scenario writes tidy summary
tables, one row per site, threshold and time (or percentile), with units in the
column names: ``<stem>_fraction_below.csv`` (``site, threshold_sd, time_years,
fraction, fraction_low95, fraction_high95``, and ``fraction_param_low95,
fraction_param_high95`` with ``[simulation] parameter_draws``), ``<stem>_crossing_percentiles.csv``
(``site, threshold_sd, percentile, years_to_crossing``) and
``<stem>_t_score_percentiles.csv`` (``site, time_years, percentile,
t_score_sd``). Scenarios with ``[[policy]]`` blocks also write
``<stem>_policies.csv``, one row per policy (:func:`bmdsim.compare_policies`,
with ``_years`` added to the names of columns in years). Warnings of the model
(e.g. a therapy beyond its calibrated range) are printed as one line each on
stderr.

Exit status: 0 on success, 2 on bad input (a one-line reason on stderr and
nothing written), 1 if writing failed (no half-written file is left: every
file is written to a temporary file and moved into place).

Everything read from the user is checked before any work: scenario and label
files must be regular files of at most :data:`bmdsim.scenario.MAX_FILE_BYTES`
bytes (see :mod:`bmdsim.scenario` for the other scenario limits); ``--dpi`` is
in :data:`bmdsim.export.DPI_RANGE` (10 to 2400), ``--scale`` in
:data:`bmdsim.figures.SCALE_RANGE` (0.75 to 10), and the PNG raster (4 bytes a
pixel) must fit in :data:`bmdsim.limits.MAX_ARRAY_BYTES`. A
``--labels`` text is at most :data:`MAX_LABEL_CHARS` characters without
control characters; only the keys of :data:`LABEL_FIELDS` are templates, and
they may use only their own placeholders, written bare (``{threshold}``, no
format spec or conversion: the number is formatted as in the default text);
every other text is drawn as written. Text between ``$`` signs must be
matplotlib mathtext nested at most :data:`MAX_LABEL_NESTING` levels deep.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import reprlib
import string
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from . import Exposure, Patient, Regimen, __version__, available_parameter_sets, simulate
from ._validation import as_finite_float, check_allocation, check_range, check_text
from .export import DPI_RANGE  # --dpi [dots per inch]; the raster must also fit in limits.MAX_ARRAY_BYTES
from .figures import FIGURE_LABEL_FIELDS, SCALE_RANGE  # --scale [multiple of each figure's default size]
from .parameters import DEFAULT_PARAMETER_SET
from .simulation import DEFAULT_THRESHOLDS
from .sites import SITE_LABELS

DEFAULT_PATIENT = {"age": 63, "t_score": {"lumbar_spine": -1.2, "femoral_neck": -1.5, "total_hip": -1.3}}
DEFAULT_AI_YEARS = (0.0, 5.0)
DEFAULT_HORIZON_YEARS = 15.0
DEFAULT_OUT = "bmdsim-output"

#: Longest ``--labels`` text [characters]: three times the longest default (99). At the smallest
#: ``--scale`` a figure's footnote (a note, the sources prefix and the sources) must still fit in
#: half its height; at this length it does for every key at once.
MAX_LABEL_CHARS: int = 300
#: Deepest nesting of ``{}``, ``[]`` and ``\left ... \right`` in a label's mathtext: matplotlib's
#: parser recurses once per level and fails (RecursionError) beyond about 20.
MAX_LABEL_NESTING: int = 8
#: The labels that are templates: key -> {placeholder: how it is formatted}. A ``--labels`` text
#: for one of these keys may use its placeholders (written bare, e.g. ``{threshold}``) and must
#: write a literal brace as ``{{`` or ``}}``; every other label is drawn as written.
LABEL_FIELDS: dict[str, dict[str, str]] = {
    "threshold": {"threshold": "g"},  # T-score [SD]
    "percent_change": {"since": "g"},  # years
    "parameter_band": {"count": ""},  # number of calibration draws
    "mean_relative_risk_fixed": {"reference": "g"},  # T-score [SD]
    "relative_risk_title": {"outcome": "", "site": ""},  # texts
    "cohort_band": {"low": "g", "high": "g"},  # percentiles
    # years of the course, in "regimen:ai" and each "regimen:ai+<therapy>" of the figure set
    **{key: {"years": "g"} for key in FIGURE_LABEL_FIELDS if key.startswith("regimen:")},
    "policy:scan": {"interval": "g", "threshold": "g", "older": "g", "age": "g"},  # years, SD, SD, years
    "policy_below_axis": {"site": "", "threshold": "g"},  # text, T-score [SD]
}

_SHORT = reprlib.Repr()
_SHORT.maxstring, _SHORT.maxother = 60, 60
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_NESTING = re.compile(r"\\left|\\right|[{}\[\]]")


class BadInput(Exception):
    """Input the command cannot use; reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``prog: error: reason``) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _fmt(t: float) -> str:
    if t == 0:
        return "at baseline"
    return "not reached" if not np.isfinite(t) else f"{t:6.2f} y"


def _use_agg() -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")


def _default(args: argparse.Namespace) -> int:
    patient = Patient(**DEFAULT_PATIENT)
    regimen = Regimen([Exposure("aromatase_inhibitor", start=DEFAULT_AI_YEARS[0], stop=DEFAULT_AI_YEARS[1])])
    traj = simulate(patient, regimen, years=DEFAULT_HORIZON_YEARS, step=1 / 12, params=args.params)

    print(
        f"bmdsim default scenario: age 63, AI for years 0-5 then stopped, {DEFAULT_HORIZON_YEARS:g} years, "
        f"parameter set '{args.params}'"
    )
    print("First time the T-score is at or below each threshold:")
    print(f"  {'site':<14}" + "".join(f"{'T <= ' + format(t, 'g'):>14}" for t in DEFAULT_THRESHOLDS))
    for site in traj.sites:
        cells = "".join(f"{_fmt(float(traj.crossing_time(site, t))):>14}" for t in DEFAULT_THRESHOLDS)
        print(f"  {SITE_LABELS[site]:<14}{cells}")
    print("BMD change, per cent:")
    for site in traj.sites:
        on = float(traj.percent_change(site, 0, 5))
        after = float(traj.percent_change(site, 5, 10))
        print(f"  {SITE_LABELS[site]:<14} years 0-5 (on AI) {on:+6.2f}   years 5-10 (after) {after:+6.2f}")

    if not args.no_figure:
        _use_agg()
        import matplotlib.pyplot as plt

        from .plot import plot_trajectory, save_figure

        out = Path(args.default_out)
        ax = plot_trajectory(traj)
        ax.set_title("T-score on 5 years of an aromatase inhibitor, then withdrawal (consensus rates)")
        path = out / "default_scenario.png"
        save_figure(ax.figure, str(path))
        plt.close(ax.figure)
        print(f"figure written to {path}")
    return 0


def _formats(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    from .export import check_formats

    try:
        return check_formats(value)
    except ValueError as exc:
        raise BadInput(f"--format: {exc}") from None


def _option(name: str, value: float, bounds: tuple[float, float], unit: str = "") -> float:
    """``value`` of a numeric option if finite and in ``bounds``; otherwise :class:`BadInput`."""
    try:
        value = as_finite_float(name, value)
        check_range(name, np.array(value), *bounds, unit=unit)
    except (TypeError, ValueError) as exc:
        raise BadInput(str(exc)) from None
    return value


def _check_drawable(name: str, text: str) -> None:
    """Raise :class:`BadInput` if matplotlib could not draw ``text`` (bad or too deeply nested mathtext).

    Mirrors matplotlib: each line of the text is mathtext if it has an even,
    non-zero number of unescaped ``$``.
    """
    from matplotlib.cbook import is_math_text

    for line in text.split("\n"):
        if not is_math_text(line):
            continue
        depth = deepest = 0
        for token in _NESTING.findall(line):
            depth += 1 if token in ("{", "[", "\\left") else -1
            deepest = max(deepest, depth)
        if deepest > MAX_LABEL_NESTING:
            raise BadInput(
                f"{name}: the text between $ signs is nested {deepest} levels deep "
                f"({{...}}, [...] or \\left...\\right); at most {MAX_LABEL_NESTING} are allowed"
            )
        from matplotlib.mathtext import MathTextParser

        try:
            MathTextParser("path").parse(line, dpi=72)
        except (ValueError, RuntimeError, RecursionError) as exc:
            reason = " ".join(str(exc).split())[:200]
            raise BadInput(
                f"{name}: the text between $ signs is not valid matplotlib mathtext ({reason}); write $ as \\$"
            ) from None


def _label_template(name: str, key: str, text: str) -> str:
    """A ``--labels`` text for a template key, rewritten with the house format of each placeholder.

    Only the placeholders of :data:`LABEL_FIELDS` ``[key]`` are allowed, written bare;
    format specs, conversions, positional, indexed and attribute fields are refused.
    """
    fields = LABEL_FIELDS[key]
    allowed = ", ".join("{" + f + "}" for f in fields)
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise BadInput(f"{name}: {exc}; placeholders: {allowed}; write a literal brace as {{{{ or }}}}") from None
    out = []
    for literal, field, spec, conversion in parts:
        out.append(literal.replace("{", "{{").replace("}", "}}"))
        if field is None:
            continue
        if field not in fields:
            raise BadInput(
                f"{name}: unknown placeholder {{{_SHORT.repr(field)[1:-1]}}}; allowed: {allowed} "
                "(write a literal brace as {{ or }})"
            )
        if conversion is not None or spec:
            given = (
                "{" + field + (f"!{conversion}" if conversion else "") + (f":{_SHORT.repr(spec)[1:-1]}" if spec else "")
            )
            raise BadInput(
                f"{name}: placeholder {given}}} has a format spec or conversion, which labels may not set; "
                f"write {{{field}}} (it is formatted as in the default text)"
            )
        out.append("{" + field + (f":{fields[field]}" if fields[field] else "") + "}")
    return "".join(out)


def _labels(path: str | None) -> dict[str, str] | None:
    """Read a labels file: a TOML table of label key = "text" (e.g. another language).

    Each text is checked (see the module docstring) and template texts are
    rewritten with the house format of their placeholders.
    """
    if path is None:
        return None
    from .figures import FIGURE_LABELS, split_labels
    from .plot import labels_for
    from .scenario import ScenarioError, read_toml

    try:
        doc = read_toml(path, "labels file")
    except ScenarioError as exc:
        raise BadInput(f"--labels: {exc}") from None
    valid = sorted(set(labels_for()) | set(FIGURE_LABELS))
    unknown = [k for k in doc if k not in valid]
    if unknown:
        raise BadInput(
            f"--labels: {path}: unknown label key {_SHORT.repr(unknown[0])}; valid keys are: {', '.join(valid)}"
        )
    labels = {}
    for key, value in doc.items():
        name = f"--labels: {path}: {key}"
        if not isinstance(value, str):
            kind = {dict: "table", list: "array", bool: "boolean", int: "integer"}.get(
                type(value), type(value).__name__
            )
            raise BadInput(f'{name}: must be a string (key = "text"), got a TOML {kind}')
        try:
            check_text(name, value, max_chars=MAX_LABEL_CHARS)
        except (TypeError, ValueError) as exc:
            raise BadInput(str(exc)) from None
        bad = _CONTROL.search(value)
        if bad:
            raise BadInput(f"{name}: must not contain control characters, found U+{ord(bad.group()):04X}")
        if key in LABEL_FIELDS:
            value = _label_template(name, key, value)
            _check_drawable(name, value.format(**dict.fromkeys(LABEL_FIELDS[key], 1)))
        else:
            _check_drawable(name, value)
        labels[key] = value
    try:
        split_labels(labels)
    except KeyError as exc:
        raise BadInput(f"--labels: {path}: {exc.args[0] if exc.args else exc}") from None
    except (TypeError, ValueError, RecursionError) as exc:
        raise BadInput(f"--labels: {path}: {exc}") from None
    return labels


def _render(figures: list[Any], out: Path, formats: tuple[str, ...], dpi: float) -> dict[Path, bytes]:
    import matplotlib.pyplot as plt

    from .export import figure_bytes

    payloads: dict[Path, bytes] = {}
    for f in figures:
        for fmt in formats:
            payloads[out / f"{f.name}.{fmt}"] = figure_bytes(f.figure, fmt, dpi=dpi)
        payloads[out / f"{f.name}.txt"] = (f.caption.rstrip() + "\n").encode("utf-8")
        plt.close(f.figure)
    return payloads


def _crossing_lines(traj: Any, thresholds: tuple[float, ...]) -> list[str]:
    n = traj.patient.n
    if n == 1:
        lines = [f"  {'site':<14}" + "".join(f"{'T <= ' + format(t, 'g'):>14}" for t in thresholds)]
        for site in traj.sites:
            cells = "".join(f"{_fmt(float(np.atleast_1d(traj.crossing_time(site, t))[0])):>14}" for t in thresholds)
            lines.append(f"  {SITE_LABELS[site]:<14}{cells}")
        return lines
    lines = [f"  {'site':<14}{'threshold':>10}{'at baseline':>13}{'by horizon':>12}{'median y':>10}"]
    for site in traj.sites:
        for t in thresholds:
            times = np.atleast_1d(traj.crossing_time(site, t))
            crossed = times[np.isfinite(times)]
            median = f"{np.median(crossed):10.2f}" if crossed.size else f"{'-':>10}"
            lines.append(
                f"  {SITE_LABELS[site]:<14}{t:>10g}{np.sum(times == 0):>7d} of {n:<3d}"
                f"{crossed.size:>6d} of {n:<3d}{median}"
            )
    return lines


#: Bytes a cell of the trajectory CSV takes, about (8 significant digits and a separator; 9.8 measured).
_CSV_CELL_BYTES = 10


def _check_table_size(source: str, scenario: Any) -> None:
    """Refuse, before simulating, a scenario whose trajectory CSV would exceed the memory limit.

    The CSV has one row per patient and output time and ``2 + 2 x sites``
    columns; its text is the largest single object ``bmdsim run`` builds.
    """
    if scenario.patient is None:  # a population: summary tables only, bounded by the scenario's limits
        return
    n, columns = scenario.patient.n, 2 + 2 * len(scenario.patient.sites)
    times = math.floor(scenario.years / scenario.step) + 2  # at most, see bmdsim.simulation.output_times
    try:
        check_allocation(
            f"the trajectory CSV of {n} patient(s) x {times} times x {columns} columns",
            float(n) * times * columns,
            itemsize=_CSV_CELL_BYTES,
            hint="use a larger step, a shorter horizon or fewer patients",
        )
    except ValueError as exc:
        raise BadInput(f"{source}: {exc}") from None


@contextlib.contextmanager
def _one_line_warnings(prog: str) -> Iterator[None]:
    """Print each warning raised inside (e.g. :class:`bmdsim.ExtrapolationWarning`) as one line on stderr.

    Warnings that the filters turn into errors still raise; a message given
    several times is printed once.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        yield
    seen = []
    for w in caught:
        line = f"{prog}: warning: " + " ".join(str(w.message).split())
        if line not in seen:
            seen.append(line)
            print(line, file=sys.stderr)


#: Columns of the policy table that are in years get this suffix (units in the column names).
_POLICY_YEAR_COLUMNS = ("scan_interval", "delay_")


def _policy_table(table: dict[str, list]) -> tuple[list[str], list[list[Any]]]:
    """:func:`bmdsim.compare_policies`' columns as a CSV header and rows, with ``_years`` on columns in years."""
    keys = list(table)
    header = [f"{k}_years" if k.startswith(_POLICY_YEAR_COLUMNS) and not k.endswith("_years") else k for k in keys]
    rows = [[table[k][i] for k in keys] for i in range(len(table[keys[0]]))]
    return header, rows


def _population_tables(scenario: Any, result: Any) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """The tidy tables of a ``[population]`` scenario: name -> (header, rows).

    ``fraction_below``: one row per site, threshold and time (:meth:`bmdsim.CohortResult.fraction_below`),
    with the interval across parameter draws (``fraction_param_low95``, ``fraction_param_high95``) if any;
    ``crossing_percentiles``: per site, threshold and percentile (:meth:`~bmdsim.CohortResult.crossing_percentiles`);
    ``t_score_percentiles``: per site, time and percentile (:meth:`~bmdsim.CohortResult.t_score_percentiles`).
    """
    fraction, crossing, t_score = [], [], []
    q = list(scenario.percentiles)
    draws = bool(result.parameter_draws)
    for site in result.sites:
        for thr in scenario.thresholds:
            band = result.fraction_below(site, thr, list(scenario.times))
            for j, t in enumerate(band["time"]):
                row = [site, thr, float(t), band["fraction"][j], band["low"][j], band["high"][j]]
                fraction.append(row + ([band["param_low"][j], band["param_high"][j]] if draws else []))
            for pct, years in result.crossing_percentiles(site, thr, q).items():
                crossing.append([site, thr, pct, years])
        scores = result.t_score_percentiles(site, list(scenario.times), q)
        for j, t in enumerate(scores["time"]):
            for i, pct in enumerate(scores["q"]):
                t_score.append([site, float(t), float(pct), float(scores["t_score"][i, j])])
    return {
        "fraction_below": (
            ["site", "threshold_sd", "time_years", "fraction", "fraction_low95", "fraction_high95"]
            + (["fraction_param_low95", "fraction_param_high95"] if draws else []),
            fraction,
        ),
        "crossing_percentiles": (["site", "threshold_sd", "percentile", "years_to_crossing"], crossing),
        "t_score_percentiles": (["site", "time_years", "percentile", "t_score_sd"], t_score),
    }


def _population_figures(scenario: Any, result: Any, stem: str) -> list[Any]:
    """The figures of a ``[population]`` scenario (``fraction_crossed``, ``regimen``), with captions."""
    import matplotlib.pyplot as plt

    from . import plot
    from .figures import CaptionedFigure
    from .summary import citation_keys, format_sources

    # the sources of the numbers: those of one woman on the same regimen, parameter set and reference
    age = min(max(result.population.age.mean, result.population.age.low), result.population.age.high)
    with warnings.catch_warnings():  # the cohort's own warnings were printed already
        warnings.simplefilter("ignore")
        probe = simulate(
            Patient(age=age, t_score=dict.fromkeys(result.sites, 0.0)),
            scenario.regimen,
            years=scenario.years,
            step=scenario.years,
            params=result.params,
            reference=result.reference,
        )
    sources = format_sources(citation_keys(probe))
    footnote = "Sources: " + sources
    spread = "default estimated spread" if scenario.variability is None else repr(scenario.variability)
    about = (
        f"Population: {result.population.name}, {result.n} women drawn with seed {result.seed}; "
        f"between-patient spread: {spread}."
    )
    model = (
        f"Model: parameter set '{result.params.name}' ({result.params.title}). "
        f"Validated range: {result.params.validated_range}"
    )
    out: list[Any] = []
    fig = None
    try:
        with plot.house_style():
            for kind in scenario.figures:
                if kind == "fraction_crossed":
                    width = 4.5 * len(result.sites)
                    height = 4.5 + plot.footnote_inches(footnote, width)
                    fig, axes = plt.subplots(
                        1, len(result.sites), figsize=(width, height), layout="constrained", squeeze=False, sharey=True
                    )
                    for ax, site in zip(axes[0], result.sites, strict=True):
                        plot.plot_fraction_crossed(result, site, thresholds=scenario.thresholds, ax=ax)
                    what = (
                        f"Per cent of the {result.n} women whose T-score has reached each threshold by each time "
                        "(monthly), with 95 % Wilson bands"
                    )
                    if result.parameter_draws:
                        what += (
                            f" and the 95 % interval across {len(result.parameter_draws)} calibration draws of the "
                            "parameters (the same women)"
                        )
                    what += "."
                else:  # regimen
                    height = 1.2 + 0.45 * max(len(scenario.regimen), 1) + plot.footnote_inches(footnote, 9.0)
                    fig, axes = plt.subplots(figsize=(9.0, height), layout="constrained", squeeze=False)
                    plot.plot_regimen(scenario.regimen, years=scenario.years, ax=axes[0][0])
                    what = "The regimen: which agent is taken when."
                    if any(e.is_event for e in scenario.regimen):
                        what += " Courses that start on an event start at each woman's own time and are not drawn."
                fig.suptitle(scenario.name, parse_math=False)
                plot.add_footnote(fig, footnote)
                lines = [what, "", f"Scenario: {scenario.name}. {scenario.description}.", about, "", model]
                out.append(CaptionedFigure(f"{stem}_{kind}", fig, "\n".join([*lines, "", f"Sources: {sources}."])))
                fig = None
    except BaseException:
        for f in out:
            plt.close(f.figure)
        if fig is not None:
            plt.close(fig)
        raise
    return out


def _json_value(value: Any) -> Any:
    """A table cell for JSON: inf and NaN as null, numpy numbers as Python numbers."""
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _records(header: list[str], rows: list[list[Any]]) -> list[dict[str, Any]]:
    return [{k: _json_value(v) for k, v in zip(header, row, strict=True)} for row in rows]


def _percent(value: float) -> str:
    return f"{100.0 * value:.1f} %"


def _population_lines(scenario: Any, result: Any) -> list[str]:
    """The text summary of a population: per site and threshold, at baseline, by the horizon, median time."""
    lines = [f"  {'site':<14}{'threshold':>10}{'at baseline':>13}{'by year ' + format(scenario.years, 'g'):>14}"]
    lines[0] += f"{'median y':>10}"
    for site in result.sites:
        for thr in scenario.thresholds:
            band = result.fraction_below(site, thr, [0.0, scenario.years])
            median = result.crossing_percentiles(site, thr, (50.0,))[50.0]
            shown = f"{median:10.2f}" if math.isfinite(median) else f"{'-':>10}"
            lines.append(
                f"  {SITE_LABELS[site]:<14}{thr:>10g}{_percent(band['fraction'][0]):>13}"
                f"{_percent(band['fraction'][1]):>14}{shown}"
            )
    return lines


def _policy_lines(table: dict[str, list], scenario: Any) -> list[str]:
    options = scenario.policy_options
    site = SITE_LABELS[options.get("site", "femoral_neck")].lower()
    threshold = options.get("threshold", -2.5)
    lines = [
        f"Policies (fractions of all patients; patient-years with T <= {threshold:g} at the {site}):",
        f"  {'policy':<32}{'treated':>9}{'false pos.':>11}{'crossers undetected':>21}{'patient-years below':>21}",
    ]
    for i, name in enumerate(table["policy"]):
        undetected = table["fraction_crossers_undetected"][i]
        lines.append(
            f"  {name[:31]:<32}{_percent(table['fraction_treated'][i]):>9}"
            f"{_percent(table['fraction_false_positive'][i]):>11}"
            f"{(_percent(undetected) if math.isfinite(undetected) else '-'):>21}"
            f"{_percent(table['fraction_patient_years_below'][i]):>21}"
        )
    return lines


def _run(args: argparse.Namespace) -> int:
    from .scenario import ScenarioError, load_scenario

    formats = _formats(args.format)
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        raise BadInput(str(exc)) from None
    if not args.no_figures:  # the name is every figure's title
        _check_drawable(f"{args.scenario}: name", scenario.name)
    _check_table_size(args.scenario, scenario)
    formats = formats or scenario.formats
    stem = Path(args.scenario).stem
    out = Path(args.out)

    from .export import csv_text, write_files_atomic

    payloads: dict[Path, bytes] = {}
    doc: dict[str, Any] = {"scenario": scenario.name, "params": scenario.params, "years": scenario.years}
    with _one_line_warnings("bmdsim run"):
        try:
            result = scenario.run()
            if scenario.population is not None:
                tables = _population_tables(scenario, result)
            else:
                from .summary import crossing_records, trajectory_columns

                header, rows = trajectory_columns(result)
                records = crossing_records(result, scenario.thresholds)
                tables = {
                    "trajectory": (header, rows),
                    "crossings": (
                        ["patient", "site", "threshold", "years"],
                        [
                            [r["patient"], r["site"], r["threshold"], np.inf if r["years"] is None else r["years"]]
                            for r in records
                        ],
                    ),
                }
            policies = scenario.compare_policies() if scenario.policies else None
            if policies is not None:
                tables["policies"] = _policy_table(policies)
        except (TypeError, ValueError) as exc:
            raise BadInput(f"{args.scenario}: {exc}") from None
    for name, (header, rows) in tables.items():
        precision = 8 if name == "trajectory" else 10
        payloads[out / f"{stem}_{name}.csv"] = csv_text(header, rows, precision=precision).encode("utf-8")
    if not args.no_figures:
        _use_agg()
        if scenario.population is not None:
            figures = _population_figures(scenario, result, stem)
        else:
            from .figures import scenario_figures

            figures = scenario_figures(scenario, result, stem=stem)
        payloads |= _render(figures, out, formats, dpi=300)
    write_files_atomic(payloads)

    if scenario.population is not None:
        doc |= {
            "patients": result.n,
            "population": result.population.name,
            "seed": scenario.seed,
            "thresholds": list(scenario.thresholds),
        }
        doc |= {
            name: _records(*tables[name]) for name in ("fraction_below", "crossing_percentiles", "t_score_percentiles")
        }
    else:
        doc |= {"patients": result.patient.n, "thresholds": list(scenario.thresholds), "crossings": records}
    if policies is not None:
        doc["policies"] = _records(*tables["policies"])
    doc["files"] = [str(p) for p in payloads]

    if args.json:
        json.dump(doc, sys.stdout, indent=2)  # streamed: no second copy of a large group's crossings
        print()
        return 0
    if scenario.population is not None:
        print(
            f"{scenario.name}: {result.n} women from population '{result.population.name}' (seed {scenario.seed}), "
            f"{scenario.years:g} years, parameter set '{scenario.params}'"
        )
        print("Share who have reached each threshold, and the median time to reach it:")
        print("\n".join(_population_lines(scenario, result)))
    else:
        print(
            f"{scenario.name}: {result.patient.n} patient(s), {scenario.years:g} years, "
            f"parameter set '{scenario.params}'"
        )
        print("First time the T-score is at or below each threshold:")
        print("\n".join(_crossing_lines(result, scenario.thresholds)))
    if policies is not None:
        print("\n".join(_policy_lines(policies, scenario)))
    print(f"{len(payloads)} files written to {out}")
    return 0


def _examples(args: argparse.Namespace) -> int:
    from .scenario import ScenarioError, example_dir, example_scenarios

    try:
        folder = example_dir()
        examples = example_scenarios()
    except (FileNotFoundError, ScenarioError) as exc:  # a broken installation, not bad input
        print(f"bmdsim examples: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    if args.copy is None:
        print(f"Example scenarios in {folder}")
        print("(run one: bmdsim run FILE; copy them all to edit: bmdsim examples --copy DIR)")
        width = max(len(name) for name in examples)
        for name, description in examples.items():
            print(f"  {name:<{width}}  {description}")
        return 0
    from .export import write_files_atomic

    target = Path(args.copy)
    if target.exists() and not target.is_dir():
        raise BadInput(f"--copy: {args.copy} exists and is not a folder")
    existing = [name for name in examples if (target / name).exists()]
    if existing and not args.force:
        raise BadInput(
            f"--copy: {target / existing[0]} already exists ({len(existing)} of the {len(examples)} files do); "
            "nothing copied: use --force to overwrite, or another folder"
        )
    write_files_atomic({target / name: (folder / name).read_bytes() for name in examples})
    for name in examples:
        print(target / name)
    first = next(iter(examples))
    print(f"{len(examples)} example scenarios copied to {target}; run one with: bmdsim run {target / first}")
    return 0


def _figures(args: argparse.Namespace) -> int:
    formats = _formats(args.format) or ("png", "svg", "pdf")
    dpi = _option("--dpi", args.dpi, DPI_RANGE, "dots per inch")
    scale = _option("--scale", args.scale, SCALE_RANGE)
    from .figures import EDUCATOR_FIGURES

    if args.only is None:
        names = tuple(EDUCATOR_FIGURES)
    else:
        names = tuple(dict.fromkeys(n.strip() for n in args.only.split(",") if n.strip()))
        unknown = [n for n in names if n not in EDUCATOR_FIGURES]
        if unknown or not names:
            given = f"unknown figure {_SHORT.repr(unknown[0])}" if unknown else "no figure named"
            raise BadInput(f"--only: {given}; valid: {', '.join(EDUCATOR_FIGURES)}")
    if "png" in formats:
        _check_raster(names, scale, dpi)
    labels = _labels(args.labels)
    _use_agg()
    from .figures import educator_figures, write_figures

    out = Path(args.out)
    try:
        figures = educator_figures(labels=labels, names=names, scale=scale)
    except (TypeError, ValueError) as exc:
        if labels is None and scale == 1.0:
            raise  # the built-in figures at their own size: a bug, not bad input
        raise BadInput(f"--labels or --scale: {exc}") from None
    paths = write_figures(figures, out, formats, dpi=dpi)  # the manifest last: an interrupted set has none
    for name in names:
        print(f"{name}: " + ", ".join(f"{name}.{fmt}" for fmt in (*formats, "txt")))
    print(f"{len(paths)} files written to {out}, {paths[-1].name} last (check with: sha256sum -c {paths[-1].name})")
    return 0


def _check_raster(names: tuple[str, ...], scale: float, dpi: float) -> None:
    """Refuse ``--scale`` and ``--dpi`` whose PNG raster (4 bytes a pixel) would exceed the memory limit."""
    import inspect

    from .figures import EDUCATOR_FIGURES

    for name in names:
        width, height = inspect.signature(EDUCATOR_FIGURES[name]).parameters["size"].default
        pixels = (width * scale * dpi, height * scale * dpi)
        try:
            check_allocation(
                f"--dpi {dpi:g} with --scale {scale:g}: the {pixels[0]:.0f} x {pixels[1]:.0f} pixel PNG of {name}",
                pixels[0] * pixels[1],
                itemsize=4,
                hint="lower --dpi or --scale",
            )
        except ValueError as exc:
            raise BadInput(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``bmdsim`` (exposed for documentation and tests)."""
    parser = _Parser(
        prog="bmdsim",
        description="BMD trajectories and exact T-score threshold crossings on aromatase inhibitors. "
        "Without a subcommand: run the default scenario, print its crossing times and write its figure.",
    )
    parser.add_argument(
        "--out", dest="default_out", default=DEFAULT_OUT, help=f"folder for the figure (default: {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--params", default=DEFAULT_PARAMETER_SET, choices=available_parameter_sets(), help="parameter set"
    )
    parser.add_argument("--no-figure", action="store_true", help="print the numbers only")
    parser.add_argument("--version", action="version", version=f"bmdsim {__version__}")
    sub = parser.add_subparsers(dest="command", title="subcommands", metavar="{run,figures,examples}")

    run = sub.add_parser(
        "run",
        help="simulate a scenario file; print crossing times; write CSV and figures",
        description="Simulate a scenario file (TOML); print the crossing times; write "
        "<stem>_trajectory.csv (long format: one row per patient and time; columns patient, time_years, "
        "bmd_<site>_g_cm2, t_score_<site>), <stem>_crossings.csv (patient, site, threshold, years; inf = not "
        "reached) and the figures the scenario lists, each with a caption .txt. A [population] scenario writes "
        "<stem>_fraction_below.csv, <stem>_crossing_percentiles.csv and <stem>_t_score_percentiles.csv instead; "
        "[[policy]] blocks add <stem>_policies.csv. Start from the shipped examples: 'bmdsim examples' lists "
        "them and 'bmdsim examples --copy DIR' copies them.",
        epilog="To start: 'bmdsim examples --copy mine', then 'bmdsim run mine/ai_withdrawal.toml'.",
    )
    run.add_argument(
        "scenario", help="scenario file (.toml); 'bmdsim examples' lists the shipped examples, '--copy DIR' copies them"
    )
    run.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    run.add_argument("--format", help="figure formats, comma-separated from png,svg,pdf (default: the scenario's)")
    run.add_argument("--json", action="store_true", help="print the crossing times as JSON instead of a table")
    run.add_argument("--no-figures", action="store_true", help="write the CSV files only")

    fig = sub.add_parser(
        "figures",
        help="write the educator figure set with captions",
        description="Write the educator figure set from the built-in scenarios: AI versus natural loss, "
        "therapies compared, withdrawal recovery against BREX, crossing times, and an illustrative "
        "synthetic group's threshold crossings; each with a caption .txt (what it shows, scenario, sources).",
    )
    fig.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    fig.add_argument("--format", help="comma-separated from png,svg,pdf (default: all three)")
    fig.add_argument(
        "--dpi",
        type=float,
        default=300.0,
        help=f"PNG resolution [dots per inch], {DPI_RANGE[0]:g} to {DPI_RANGE[1]:g} (default: 300)",
    )
    fig.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help=f"multiply figure sizes, {SCALE_RANGE[0]:g} to {SCALE_RANGE[1]:g} (default: 1)",
    )
    fig.add_argument("--only", help="comma-separated subset of the figure names")
    fig.add_argument(
        "--labels",
        help='TOML file of label overrides, e.g. time = "Zeit [Jahre]" (see bmdsim.plot.LABELS); at most '
        f"{MAX_LABEL_CHARS} characters each; placeholders such as {{threshold}} only where the default text has "
        "them, written without a format spec",
    )
    ex = sub.add_parser(
        "examples",
        help="list the example scenarios that ship with bmdsim, or copy them",
        description="List the example scenario files that ship with bmdsim, one line each, or copy them into a "
        "folder to edit and run (bmdsim run DIR/<file>).",
    )
    ex.add_argument("--copy", metavar="DIR", help="copy every example into DIR (created if missing)")
    ex.add_argument("--force", action="store_true", help="with --copy: overwrite files of the same name in DIR")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = {"run": _run, "figures": _figures, "examples": _examples}.get(args.command, _default)
    prog = f"bmdsim {args.command}" if args.command else "bmdsim"
    try:
        return handler(args)
    except BadInput as exc:
        print(f"{prog}: error: " + " ".join(str(exc).split()), file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader closed stdout early (e.g. `| head`); the files are written
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 1
    except OSError as exc:
        print(f"{prog}: error: could not write the output ({exc})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
