"""Figures of trajectories, crossings, regimens, comparisons and groups.

Functions take ``ax=None``, draw on it (or on a new figure), and return the
axes. They only draw what :class:`bmdsim.Trajectory` and :mod:`bmdsim.summary`
compute, so every plotted number is also available as an array. matplotlib is
imported here, inside the functions, never by ``import bmdsim``.

House style: the Okabe-Ito colour-blind-safe palette, fonts readable on a
slide and in print (:data:`HOUSE_STYLE`, applied with :func:`house_style`),
units on every axis. Every text drawn comes from :data:`LABELS`; pass
``labels={...}`` to any function to change wording or language.

Every argument is checked before anything is drawn, and bad input raises a
:class:`TypeError` or :class:`ValueError` naming the argument, the value and
what is allowed. ``thresholds`` may be one T-score or a sequence of them, in
:data:`bmdsim.limits.T_SCORE`, at most :data:`MAX_THRESHOLDS`; ``sites`` may be
one site name or a sequence of simulated sites; ``ax`` must be a matplotlib
Axes or None; label texts are at most :data:`bmdsim.limits.MAX_TEXT_CHARS`
characters and valid matplotlib mathtext where they use ``$...$``.
"""

from __future__ import annotations

import os
import re
import reprlib
import string
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from numbers import Real
from typing import TYPE_CHECKING, Any

import numpy as np

from . import limits
from ._validation import _show, as_finite_float, as_float_array, as_int, check_allocation, check_range, check_text
from .agents import AGENTS
from .regimen import Regimen
from .simulation import DEFAULT_THRESHOLDS, Trajectory
from .sites import SITE_LABELS, SITES, check_site
from .summary import fraction_crossed, wilson_interval

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .cohort import CohortResult

#: Okabe-Ito colour-blind-safe palette (Okabe and Ito 2008, "Color Universal Design").
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
#: One colour per site, from the Okabe-Ito palette.
SITE_COLOURS = {"lumbar_spine": "#0072B2", "femoral_neck": "#D55E00", "total_hip": "#009E73"}
#: Fill colours of the WHO diagnostic zones (normal, osteopenia, osteoporosis).
ZONE_COLOURS = ("#FFFFFF", "#FFF4D6", "#FBE0DC")
#: Fill colours of exposure periods, by agent.
AGENT_COLOURS = {
    "aromatase_inhibitor": "#CC79A7",
    "tamoxifen": "#56B4E9",
    "zoledronic_acid": "#009E73",
    "oral_bisphosphonate": "#E69F00",
    "denosumab": "#0072B2",
    "vibration": "#F0E442",
}
#: Colours and line styles for scenarios compared on one axes, in order (black first, then the palette).
SERIES_COLOURS = ("#000000", "#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
SERIES_STYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)))
#: Marker per threshold, in the order thresholds are given.
THRESHOLD_MARKERS = ("o", "s", "D", "^", "v", "P")

#: matplotlib settings of the house style: readable at slide and print sizes.
HOUSE_STYLE: dict[str, Any] = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "lines.linewidth": 2.0,
    "figure.dpi": 100,
    "savefig.dpi": 300,
    "svg.fonttype": "path",
    "pdf.fonttype": 42,
}

#: Every text the plot functions draw, in English; override any key with ``labels={...}``.
#: Site and agent names are looked up by their keys (e.g. ``"femoral_neck"``, ``"tamoxifen"``).
LABELS: dict[str, str] = {
    "time": "Time from baseline [years]",
    "t_score": "T-score [SD]",
    "bmd": "BMD [g/cm$^2$]",
    "percent_change": "BMD change since year {since:g} [%]",
    "normal": "normal",
    "osteopenia": "osteopenia",
    "osteoporosis": "osteoporosis",
    "threshold": "T = {threshold:g}",
    "crossing_time": "First time at or below the threshold [years from baseline]",
    "not_reached": "not reached",
    "fraction_crossed": "Patients who have reached the threshold [%]",
    "band": "95 % interval (group size)",
    "parameter_band": "95 % interval (parameter uncertainty, {count} calibration draws)",
    "natural_only": "natural loss only",
    "sources": "Sources",
}


#: Most thresholds one plot draws: beyond this the markers and line styles repeat.
MAX_THRESHOLDS = 12
#: Most series (trajectories, risk curves) one axes compares: beyond this the legend is unreadable.
MAX_SERIES = 20
#: Figure sizes accepted [inches], each side: from a thumbnail to a poster.
FIGURE_INCHES: tuple[float, float] = (1.0, 100.0)
#: Largest share of a figure's height a footnote may take: beyond it constrained layout
#: collapses the axes, and near 1 its solver fails (kiwisolver's UnsatisfiableConstraint).
MAX_FOOTNOTE_FRACTION = 0.5

#: Labels that are formatted, with the fields each may use and an example value of each.
_LABEL_FIELDS: dict[str, dict[str, Any]] = {
    "percent_change": {"since": 5.0},
    "threshold": {"threshold": -2.5},
    "parameter_band": {"count": 100},
    "mean_relative_risk_fixed": {"reference": 0.0},
    "relative_risk_title": {"outcome": "Hip", "site": "Total hip"},
}
#: Largest number allowed in a label's format spec (a width or precision, e.g. ``{threshold:.2f}``).
_MAX_FORMAT_NUMBER = 50


class LabelKeyError(KeyError, ValueError):
    """An unknown label key: a :class:`KeyError` (as before) and a :class:`ValueError` (bad input)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 80


def _short(value: object) -> str:
    """A repr of at most about 80 characters, for error messages about texts."""
    return _SHORT.repr(value)


def check_drawable_text(name: str, value: object, max_chars: int = limits.MAX_TEXT_CHARS) -> str:
    """:func:`bmdsim._validation.check_text`, and the text must be valid Unicode (no lone surrogates).

    matplotlib's font code fails deep inside a draw on text it cannot encode as UTF-8.
    """
    check_text(name, value, max_chars)
    try:
        value.encode("utf-8")  # type: ignore[union-attr]
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{name} must be valid Unicode text; {value[exc.start : exc.end]!r} at position {exc.start} "  # type: ignore[index]
            "is not a character (a lone surrogate)"
        ) from None
    return value  # type: ignore[return-value]


def check_label(key: str, value: object) -> str:
    """Return label ``value`` for ``key`` if it is a string bmdsim can draw; otherwise raise naming it.

    A label is at most :data:`bmdsim.limits.MAX_TEXT_CHARS` characters; labels
    that are formatted (e.g. ``"threshold"``: ``"T = {threshold:g}"``) may use
    only their own fields with short format specs; text between ``$`` signs
    must be valid matplotlib mathtext.
    """
    name = f"labels[{key!r}]"
    check_drawable_text(name, value)
    fields = _LABEL_FIELDS.get(key)
    if fields is not None:
        allowed = ", ".join("{" + f + "}" for f in fields)
        try:
            parts = list(string.Formatter().parse(value))
        except ValueError as exc:
            raise ValueError(
                f"{name} = {_short(value)} is not a valid format string ({exc}); fields: {allowed}"
            ) from None
        for _, field, spec, conversion in parts:
            if field is None:
                continue
            if field not in fields or conversion is not None or "{" in (spec or ""):
                raise ValueError(
                    f"{name} may use only the fields {allowed} (no attributes or conversions), got {{{field}}}"
                )
            if any(int(n) > _MAX_FORMAT_NUMBER for n in re.findall(r"\d+", spec or "")):
                raise ValueError(
                    f"{name}: format spec {spec!r} of {{{field}}} asks for more than {_MAX_FORMAT_NUMBER} characters"
                )
        try:
            value.format(**fields)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise ValueError(f"{name} = {_short(value)} cannot be formatted ({exc}); fields: {allowed}") from None
    _check_mathtext(name, value)
    return value


def _check_mathtext(name: str, value: str) -> None:
    """Raise ``ValueError`` if ``value`` has ``$...$`` math that matplotlib cannot parse.

    As matplotlib does, each line is math if it has an even, non-zero number of unescaped ``$``.
    """
    for line in value.split("\n"):
        dollars = line.count("$") - line.count(r"\$")
        if dollars <= 0 or dollars % 2:
            continue  # matplotlib draws this line as plain text
        from matplotlib.mathtext import MathTextParser

        try:
            MathTextParser("path").parse(line)
        except (ValueError, RuntimeError) as exc:  # RecursionError too, on deep nesting
            reason = " ".join(str(exc).split())[:200]
            raise ValueError(
                f"{name} = {_short(value)} is not valid matplotlib mathtext ({reason}); escape $ as \\$"
            ) from None


def labels_for(labels: Mapping[str, str] | None = None) -> dict[str, str]:
    """The default :data:`LABELS`, site and agent names, updated with ``labels``.

    Parameters
    ----------
    labels : mapping of str -> str, optional
        Overrides; each value is checked with :func:`check_label`.

    Raises
    ------
    LabelKeyError
        For an unknown key (a :class:`KeyError` and a :class:`ValueError`), so a
        typo does not silently leave a label untranslated.
    TypeError, ValueError
        If ``labels`` is not a mapping or a value is not a drawable text.
    """
    out = dict(LABELS) | dict(SITE_LABELS) | {name: a.label for name, a in AGENTS.items()}
    if labels is None:
        return out
    if not isinstance(labels, Mapping):
        raise TypeError(
            f"labels must be a mapping of label key -> text, got {_show(labels)} of type {type(labels).__name__}"
        )
    unknown = sorted(repr(k) for k in labels if k not in out)
    if unknown:
        raise LabelKeyError(f"unknown label key {unknown[0]}; valid keys are: {', '.join(sorted(out))}")
    for key, value in labels.items():
        check_label(key, value)
    return out | dict(labels)


#: rcParams :func:`house_style` refuses: they choose the backend or how files are saved, not the style.
_RC_REFUSED = ("backend", "interactive", "webagg.", "savefig.", "svg.hashsalt", "figure.max_open_warning")


def _rc_numbers(value: Any) -> list[float]:
    if isinstance(value, (bool, np.bool_, str)):
        return []
    if isinstance(value, Real):
        return [float(value)]
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _rc_numbers(v)]
    return []


def check_rc(rc: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return ``rc`` as a dict of valid matplotlib rcParams for :func:`house_style`, or raise naming the key.

    Each value goes through matplotlib's own validator. Numbers must be
    finite; sizes, widths, pads and lengths [points] at most 200 in size,
    resolutions in :data:`bmdsim.export.DPI_RANGE`, ``figure.figsize`` in
    :data:`FIGURE_INCHES`; other numbers at most 1e6 in size. Keys that
    choose the backend or how files are saved are refused.
    """
    import matplotlib

    from .export import DPI_RANGE

    if rc is None:
        return {}
    if not isinstance(rc, Mapping):
        raise TypeError(f"rc must be a mapping of matplotlib rcParams, e.g. {{'font.size': 14}}; got {_show(rc)}")
    out: dict[str, Any] = {}
    for key, value in rc.items():
        if not isinstance(key, str) or key not in matplotlib.rcParams:
            raise ValueError(f"rc: {key!r} is not a matplotlib rcParam (e.g. 'font.size'; see matplotlib.rcParams)")
        if key.startswith(_RC_REFUSED):
            raise ValueError(f"rc: {key!r} is not a style setting and cannot be changed here")
        try:
            checked = matplotlib.RcParams({key: value})[key]
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"rc[{key!r}] = {_show(value)} is not allowed: {exc}") from None
        numbers = _rc_numbers(checked)
        if key == "figure.figsize":
            low, high, unit = *FIGURE_INCHES, "in"
        elif "dpi" in key:
            low, high, unit = *DPI_RANGE, "dots per inch"
        elif any(w in key for w in ("size", "width", "pad", "length")):
            low, high, unit = -200.0, 200.0, "points"
        else:
            low, high, unit = -1e6, 1e6, ""
        for number in numbers:
            if not np.isfinite(number):
                raise ValueError(f"rc[{key!r}] must be finite, got {_show(value)}")
            check_range(f"rc[{key!r}]", np.array(number), low, high, unit=unit)
        out[key] = value
    return out


def house_style(rc: Mapping[str, Any] | None = None) -> AbstractContextManager[Any]:
    """A context in which figures are drawn in the house style.

    Parameters
    ----------
    rc : mapping, optional
        matplotlib rcParams that override :data:`HOUSE_STYLE`, e.g.
        ``{"font.size": 14}`` for a large lecture hall; checked with :func:`check_rc`.
    """
    import matplotlib

    return matplotlib.rc_context(dict(HOUSE_STYLE) | check_rc(rc))


def _check_ax(ax: object) -> None:
    """Raise ``TypeError`` unless ``ax`` is None or a matplotlib Axes."""
    if ax is None:
        return
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {_show(ax)} of type {type(ax).__name__}")


def _axes(ax: Axes | None, figsize: tuple[float, float] = (8.0, 4.5)) -> Axes:
    import matplotlib.pyplot as plt

    _check_ax(ax)
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _check_flag(name: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_show(value)} of type {type(value).__name__}")
    return bool(value)


def _check_kind(value: object, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        quoted = [repr(a) for a in allowed]
        listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
        error = TypeError if not isinstance(value, str) else ValueError
        raise error(f"kind must be {listed}, got {_short(value)}")
    return value


def _check_traj(traj: object, name: str = "traj") -> Trajectory:
    if not isinstance(traj, Trajectory):
        raise TypeError(f"{name} must be a bmdsim.Trajectory (from bmdsim.simulate), got {type(traj).__name__}")
    return traj


def _check_site_in(site: object, available: Sequence[str], name: str = "site", where: str = "the trajectory") -> str:
    check_site(site, field=name)
    if site not in available:
        raise ValueError(f"{name} {site!r} was not simulated in {where}, which has {', '.join(available)}")
    return site  # type: ignore[return-value]


def _check_sites(sites: object, available: Sequence[str]) -> tuple[str, ...]:
    """Sites to draw: one site name or a non-empty sequence of simulated sites, each once; all if None."""
    if sites is None:
        return tuple(available)
    if isinstance(sites, str):
        sites = (sites,)
    elif isinstance(sites, (bytes, Mapping)) or not isinstance(sites, Iterable):
        raise TypeError(f"sites must be a site name or a sequence of them ({', '.join(SITES)}), got {_show(sites)}")
    out = tuple(sites)  # type: ignore[arg-type]
    if not out:
        raise ValueError(f"sites must name at least one site; simulated: {', '.join(available)}")
    for site in out:
        _check_site_in(site, available, name="sites")
    repeated = [s for i, s in enumerate(out) if s in out[:i]]
    if repeated:
        raise ValueError(f"sites must name each site once, got {repeated[0]!r} twice")
    return out


def check_thresholds(thresholds: object, allow_empty: bool = True) -> tuple[float, ...]:
    """T-score thresholds [SD] to draw, as a tuple of floats.

    Parameters
    ----------
    thresholds : float or sequence of float
        One threshold or a 1-D sequence of them: finite, in
        :data:`bmdsim.limits.T_SCORE`, each once, at most :data:`MAX_THRESHOLDS`.
    allow_empty : bool
        Accept an empty sequence (draw no threshold).

    Raises
    ------
    TypeError, ValueError
        Naming ``thresholds``, the bad value and what is allowed.
    """
    if isinstance(thresholds, (list, tuple, np.ndarray)) and np.size(thresholds) == 0 and np.ndim(thresholds) == 1:
        if allow_empty:
            return ()
        raise ValueError("thresholds must hold at least one T-score [SD]")
    arr = np.atleast_1d(as_float_array("thresholds", thresholds))
    if arr.size > MAX_THRESHOLDS:
        raise ValueError(f"thresholds must hold at most {MAX_THRESHOLDS} T-scores, got {arr.size}")
    check_range("thresholds", arr, *limits.T_SCORE, unit="SD")
    out = tuple(float(v) for v in arr)
    repeated = [v for i, v in enumerate(out) if v in out[:i]]
    if repeated:
        raise ValueError(f"thresholds must list each T-score once, got {repeated[0]:g} twice")
    return out


def _check_series_names(name: str, mapping: object, kind: str) -> Mapping[str, Any]:
    """A non-empty mapping of at most :data:`MAX_SERIES` legend labels (drawable texts) to ``kind``."""
    if not isinstance(mapping, Mapping):
        raise TypeError(
            f"{name} must map legend labels to {kind}, got {_show(mapping)} of type {type(mapping).__name__}"
        )
    if not mapping:
        raise ValueError(f"{name} must map at least one label to {kind}")
    if len(mapping) > MAX_SERIES:
        raise ValueError(f"{name} must hold at most {MAX_SERIES} entries (one legend), got {len(mapping)}")
    for label in mapping:
        check_drawable_text(f"{name} label", label, max_chars=1000)
        _check_mathtext(f"{name} label", label)
    return mapping


def plot_trajectory(
    traj: Trajectory,
    sites: Sequence[str] | None = None,
    kind: str = "t_score",
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    patient: int = 0,
    ax: Axes | None = None,
    zones: bool = True,
    crossings: bool = True,
    exposures: bool = True,
    labels: Mapping[str, str] | None = None,
) -> Axes:
    """Plot T-score (or BMD) over time for one patient, per site.

    Parameters
    ----------
    traj : Trajectory
    sites : str or sequence of str, optional
        Site or sites to draw, each simulated and named once; all simulated sites by default.
    kind : {"t_score", "bmd"}
        What to plot on the y axis: T-score [SD] or areal BMD [g/cm2].
    thresholds : float or sequence of float
        T-score thresholds [SD] drawn as dashed lines (T-score plots only); an
        empty sequence draws none. See :func:`check_thresholds`.
    patient : int
        Which patient of a many-patient trajectory to draw.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure if None.
    zones : bool
        Shade the WHO zones: normal (T > -1), osteopenia, osteoporosis (T <= -2.5).
    crossings : bool
        Mark the first crossing of each threshold (exact times, see
        :meth:`Trajectory.crossing_time`).
    exposures : bool
        Shade the periods on each agent along the top of the axes.
    labels : mapping, optional
        Text overrides, see :data:`LABELS`.

    Returns
    -------
    matplotlib Axes

    Raises
    ------
    TypeError, ValueError
        For any bad argument, naming it, before anything is drawn.
    """
    _check_traj(traj)
    kind = _check_kind(kind, ("t_score", "bmd"))
    _check_patient(traj, patient)
    sites = _check_sites(sites, traj.sites)
    thresholds = check_thresholds(thresholds)
    zones, crossings, exposures = (
        _check_flag(n, v) for n, v in (("zones", zones), ("crossings", crossings), ("exposures", exposures))
    )
    _check_ax(ax)
    text = labels_for(labels)
    ax = _axes(ax)

    def row(arr: Any) -> np.ndarray:
        arr = np.asarray(arr)
        return arr if arr.ndim == 1 else arr[patient]

    t = traj.time
    lows = []
    for site in sites:
        y = row(traj.t_score(site) if kind == "t_score" else traj.bmd(site))
        lows.append(y.min())
        ax.plot(t, y, color=SITE_COLOURS.get(site), lw=2, label=text[site], gid=f"trajectory:{site}")
        if crossings and kind == "t_score":
            for thr in thresholds:
                tc = float(row(np.atleast_1d(traj.crossing_time(site, thr)))[0])
                if 0 < tc < np.inf:  # a threshold already reached at baseline is not a crossing to mark
                    ax.plot(
                        [tc],
                        [thr],
                        marker="o",
                        ms=6,
                        mfc="white",
                        mec=SITE_COLOURS.get(site),
                        mew=1.8,
                        gid=f"crossing:{site}:{thr:g}",
                    )
    if kind == "t_score":
        top = max(-0.5, max(row(traj.t_score(s)).max() for s in sites) + 0.5)
        bottom = min(min(thresholds, default=-2.5) - 0.5, min(lows) - 0.3)
        if zones:
            normal, osteoporosis = -1.0, -2.5
            for (lo, hi), colour, name in zip(
                ((normal, top), (osteoporosis, normal), (bottom, osteoporosis)),
                ZONE_COLOURS,
                ("normal", "osteopenia", "osteoporosis"),
                strict=True,
            ):
                ax.axhspan(lo, hi, color=colour, zorder=0, lw=0, gid=f"zone:{name}")
                ax.text(t[-1], hi - 0.05, text[name], ha="right", va="top", fontsize=8, color="0.35")
        for thr in thresholds:
            ax.axhline(thr, color="0.3", lw=0.8, ls="--", zorder=1)
            ax.annotate(
                text["threshold"].format(threshold=thr),
                (t[0], thr),
                xytext=(2, 2),
                textcoords="offset points",
                fontsize=8,
            )
        ax.set_ylim(bottom, top)
        ax.set_ylabel(text["t_score"])
    else:
        ax.set_ylabel(text["bmd"])
    if exposures:
        _exposure_band(ax, _courses(traj, patient), traj.years, text)
    ax.set_xlim(t[0], t[-1])
    ax.set_xlabel(text["time"])
    ax.legend(loc="lower left", fontsize=8, frameon=True)
    return ax


def _courses(source: Regimen | Trajectory, patient: int = 0) -> list[tuple[str, float, float]]:
    """``(agent, start, stop)`` of every course: one patient's times from a trajectory (event starts
    resolved, ``inf`` start if it never starts); a bare regimen's fixed-time courses only."""
    if isinstance(source, Trajectory):
        out = []
        for e in source.regimen:
            start, stop = (np.atleast_1d(np.asarray(v, dtype=float)) for v in source.exposure_times(e))
            out.append((e.agent, float(start[min(patient, start.size - 1)]), float(stop[min(patient, stop.size - 1)])))
        return out
    return [(e.agent, e.start, e.stop) for e in source if not e.is_event]


def _exposure_band(ax: Axes, courses: list[tuple[str, float, float]], years: float, text: Mapping[str, str]) -> None:
    """Shade each course along the top of ``ax`` and name its agent."""
    strip = ax.get_xaxis_transform()  # x in years, y as a fraction of the axes height
    for agent, e_start, e_stop in courses:
        stop = min(e_stop, years)
        if e_start < years and stop > 0:
            start = max(e_start, 0.0)
            ax.axvspan(start, stop, ymin=0.94, ymax=1.0, color=AGENT_COLOURS.get(agent, "0.6"), alpha=0.8)
            ax.text(
                0.5 * (start + stop),
                0.97,
                text.get(agent, agent),
                transform=strip,
                ha="center",
                va="center",
                fontsize=8,
                color="white",
                fontweight="bold",
            )


def _row(arr: Any, patient: int) -> np.ndarray:
    arr = np.asarray(arr, dtype=float)
    return arr if arr.ndim <= 1 else arr[patient]


def _check_patient(traj: Trajectory, patient: object) -> int:
    """``patient`` as an index into the trajectory's patients."""
    return as_int("patient", patient, 0, traj.patient.n - 1)


def plot_crossing_times(
    traj: Trajectory,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    sites: Sequence[str] | None = None,
    patient: int = 0,
    ax: Axes | None = None,
    labels: Mapping[str, str] | None = None,
) -> Axes:
    """Mark the first time each site reaches each T-score threshold.

    One row per site; one marker per threshold at the exact crossing time
    (:meth:`Trajectory.crossing_time`), on a bar from baseline to it. A
    threshold already reached at baseline is marked at 0; one not reached
    within the horizon is written as "not reached" at the right edge.

    Parameters
    ----------
    traj : Trajectory
    thresholds : float or sequence of float
        T-score thresholds [SD], at least one (see :func:`check_thresholds`).
    sites : str or sequence of str, optional
        Site or sites, each simulated and named once; all simulated sites by default.
    patient : int
        Which patient of a many-patient trajectory to draw.
    ax : matplotlib Axes, optional
    labels : mapping, optional
        Text overrides, see :data:`LABELS`.

    Returns
    -------
    matplotlib Axes
        Markers carry ``gid="crossing:<site>:<threshold>"``.

    Raises
    ------
    TypeError, ValueError
        For any bad argument, naming it, before anything is drawn.
    """
    _check_traj(traj)
    thresholds = check_thresholds(thresholds, allow_empty=False)
    sites = _check_sites(sites, traj.sites)
    _check_patient(traj, patient)
    _check_ax(ax)
    text = labels_for(labels)
    ax = _axes(ax, figsize=(8.0, 1.2 + 0.9 * len(sites)))
    height = 0.8 / max(len(thresholds), 1)
    for row, site in enumerate(sites):
        colour = SITE_COLOURS.get(site, "0.3")
        for k, thr in enumerate(thresholds):
            y = row - 0.4 + height * (k + 0.5)
            tc = float(_row(np.atleast_1d(traj.crossing_time(site, thr)), patient)[0])
            marker = THRESHOLD_MARKERS[k % len(THRESHOLD_MARKERS)]
            if np.isfinite(tc):
                ax.barh(y, tc, height=height * 0.35, left=0.0, color=colour, alpha=0.25, lw=0)
                ax.plot(
                    [tc],
                    [y],
                    marker=marker,
                    ms=7,
                    color=colour,
                    ls="none",
                    clip_on=False,
                    gid=f"crossing:{site}:{thr:g}",
                )
            else:
                ax.text(traj.years, y, text["not_reached"], ha="right", va="center", fontsize=8, color="0.35")
    for k, thr in enumerate(thresholds):  # legend entries for the marker shapes
        ax.plot(
            [],
            [],
            marker=THRESHOLD_MARKERS[k % len(THRESHOLD_MARKERS)],
            color="0.3",
            ls="none",
            label=text["threshold"].format(threshold=thr),
        )
    ax.set_yticks(range(len(sites)), [text[s] for s in sites])
    ax.set_ylim(len(sites) - 0.5, -0.5)
    ax.set_xlim(0.0, traj.years)
    ax.set_xlabel(text["crossing_time"])
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return ax


def plot_regimen(
    regimen: Regimen | Trajectory,
    years: float | None = None,
    ax: Axes | None = None,
    labels: Mapping[str, str] | None = None,
    patient: int = 0,
) -> Axes:
    """A timeline strip: which agent is taken when.

    Parameters
    ----------
    regimen : Regimen or Trajectory
        The exposures (a trajectory's regimen and horizon are used if given).
        Courses that start on an event (:class:`bmdsim.AtThreshold`) have
        times only in a trajectory, where ``patient``'s are drawn; a bare
        regimen draws its fixed-time courses.
    years : float, optional
        Horizon [years], positive and at most the longest simulation horizon
        (:data:`bmdsim.limits.HORIZON_YEARS`); the trajectory's horizon, or the
        last finite start or stop (1 year if there is none), by default.
    ax : matplotlib Axes, optional
    labels : mapping, optional
        Text overrides, see :data:`LABELS`.
    patient : int
        Which patient's course times to draw from a many-patient trajectory.

    Returns
    -------
    matplotlib Axes
        One horizontal bar per exposure (``gid="exposure:<agent>:<start>"``),
        one row per agent.

    Raises
    ------
    TypeError, ValueError
        For any bad argument, naming it, before anything is drawn.
    """
    if years is not None:
        years = as_finite_float("years", years)
        if not 0.0 < years <= limits.HORIZON_YEARS[1]:
            raise ValueError(f"years must be positive and at most {limits.HORIZON_YEARS[1]:g} years, got {years:g}")
    if isinstance(regimen, Trajectory):
        _check_patient(regimen, patient)
        years = regimen.years if years is None else years
        courses = _courses(regimen, patient)
        regimen = regimen.regimen
    elif isinstance(regimen, Regimen):
        if as_int("patient", patient, 0, 2**31) != 0:
            raise ValueError(f"patient must be 0 for a bare Regimen (it has no per-patient times), got {patient}")
        courses = _courses(regimen)
    else:
        raise TypeError(f"regimen must be a bmdsim.Regimen or Trajectory, got {type(regimen).__name__}")
    if years is None or years <= 0.0:
        years = max(regimen.breakpoints(), default=1.0)
        years = years if years > 0.0 else 1.0
    _check_ax(ax)
    text = labels_for(labels)
    agents = list(dict.fromkeys(e.agent for e in regimen))
    ax = _axes(ax, figsize=(8.0, 0.6 + 0.45 * max(len(agents), 1)))
    for agent, e_start, e_stop in courses:
        start, stop = max(e_start, 0.0), min(e_stop, years)
        if stop <= start:
            continue
        ax.barh(
            agents.index(agent),
            stop - start,
            left=start,
            height=0.7,
            color=AGENT_COLOURS.get(agent, "0.6"),
            gid=f"exposure:{agent}:{e_start:g}",
        )
    if not agents:
        ax.text(0.5 * years, 0, text["natural_only"], ha="center", va="center", fontsize=9, color="0.35")
    ax.set_yticks(range(len(agents)), [text.get(a, a) for a in agents])
    ax.set_ylim(max(len(agents), 1) - 0.5, -0.5)
    ax.set_xlim(0.0, years)
    ax.set_xlabel(text["time"])
    return ax


def _series(traj: Trajectory, site: str, kind: str, patient: int, since: float) -> tuple[np.ndarray, np.ndarray]:
    t = traj.time
    if kind == "t_score":
        return t, _row(traj.t_score(site), patient)
    bmd = _row(traj.bmd(site), patient)
    if kind == "bmd":
        return t, bmd
    keep = t >= since - 1e-12
    base = float(_row(np.atleast_1d(traj.bmd_at(site, since)), patient)[0])
    return t[keep], 100.0 * (bmd[keep] / base - 1.0)


def plot_comparison(
    trajectories: Mapping[str, Trajectory],
    site: str,
    kind: str = "t_score",
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    patient: int = 0,
    since: float = 0.0,
    ax: Axes | None = None,
    zones: bool = True,
    labels: Mapping[str, str] | None = None,
) -> Axes:
    """Compare several scenarios (regimens or parameter sets) at one site.

    Parameters
    ----------
    trajectories : mapping of str -> Trajectory
        Legend label -> trajectory, drawn in this order, each in its own colour
        and line style; 1 to :data:`MAX_SERIES` entries.
    site : str
        Site to draw (simulated in every trajectory).
    kind : {"t_score", "bmd", "percent_change"}
        T-score [SD], areal BMD [g/cm2], or BMD change [%] since year ``since``.
    thresholds : float or sequence of float
        T-score thresholds [SD] drawn as dashed lines (T-score only); empty for none.
    patient : int
        Which patient of many-patient trajectories to draw.
    since : float
        Start of the percent change [years] (``kind="percent_change"`` only), in
        ``[0, years)`` of the shortest trajectory.
    ax : matplotlib Axes, optional
    zones : bool
        Shade the WHO zones (T-score only).
    labels : mapping, optional
        Text overrides, see :data:`LABELS`.

    Returns
    -------
    matplotlib Axes
        One line per trajectory, ``gid="series:<label>"``.

    Raises
    ------
    TypeError, ValueError
        For any bad argument, naming it, before anything is drawn.
    """
    kind = _check_kind(kind, ("t_score", "bmd", "percent_change"))
    _check_series_names("trajectories", trajectories, "bmdsim.Trajectory objects")
    check_site(site)
    for name, traj in trajectories.items():
        _check_traj(traj, f"trajectories[{name!r}]")
        _check_site_in(site, traj.sites, where=f"trajectories[{name!r}]")
        _check_patient(traj, patient)
    thresholds = check_thresholds(thresholds)
    since = as_finite_float("since", since)
    shortest = min(traj.years for traj in trajectories.values())
    if not 0.0 <= since < shortest:
        raise ValueError(f"since must lie in [0, {shortest:g}) years (the shortest horizon), got {since:g}")
    zones = _check_flag("zones", zones)
    _check_ax(ax)
    text = labels_for(labels)
    ax = _axes(ax)
    lows, highs, end = [], [], 0.0
    for k, (name, traj) in enumerate(trajectories.items()):
        t, y = _series(traj, site, kind, patient, since)
        ax.plot(
            t,
            y,
            color=SERIES_COLOURS[k % len(SERIES_COLOURS)],
            ls=SERIES_STYLES[k % len(SERIES_STYLES)],
            label=name,
            gid=f"series:{name}",
        )
        lows.append(y.min())
        highs.append(y.max())
        end = max(end, traj.years)
    start = since if kind == "percent_change" else 0.0
    if kind == "t_score":
        top = max(-0.5, max(highs) + 0.5)
        bottom = min(min(thresholds, default=-2.5) - 0.5, min(lows) - 0.3)
        if zones:
            for (lo, hi), colour, zone in zip(
                ((-1.0, top), (-2.5, -1.0), (bottom, -2.5)),
                ZONE_COLOURS,
                ("normal", "osteopenia", "osteoporosis"),
                strict=True,
            ):
                ax.axhspan(lo, hi, color=colour, zorder=0, lw=0, gid=f"zone:{zone}")
                ax.text(end, hi - 0.05, text[zone], ha="right", va="top", fontsize=8, color="0.35")
        for thr in thresholds:
            ax.axhline(thr, color="0.3", lw=0.8, ls="--", zorder=1)
        ax.set_ylim(bottom, top)
        ax.set_ylabel(text["t_score"])
    elif kind == "bmd":
        ax.set_ylabel(text["bmd"])
    else:
        ax.axhline(0.0, color="0.5", lw=0.8, zorder=1)
        ax.set_ylabel(text["percent_change"].format(since=since))
    ax.set_xlim(start, end)
    ax.set_xlabel(text["time"])
    ax.set_title(text[site], loc="left")
    ax.legend(loc="best", frameon=True)
    return ax


def plot_fraction_crossed(
    traj: Trajectory | CohortResult,
    site: str,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    bands: bool = True,
    ax: Axes | None = None,
    labels: Mapping[str, str] | None = None,
    parameter_band: bool = True,
    times: Sequence[float] | np.ndarray | None = None,
) -> Axes:
    """Per cent of a group who have reached each threshold, over time.

    Draws :func:`bmdsim.summary.fraction_crossed` at ``traj.time`` for each
    threshold, with a 95 % Wilson interval for the group size
    (:func:`bmdsim.summary.wilson_interval`) as a band. Given a cohort
    (:class:`bmdsim.CohortResult`), draws its
    :meth:`~bmdsim.CohortResult.fraction_below` at ``times`` instead, and,
    if the cohort was simulated with parameter draws, the interval across
    them as a second, hatched band (outlined, labelled separately from the
    sampling band).

    Parameters
    ----------
    traj : Trajectory or CohortResult
        A many-patient trajectory or a cohort.
    site : str
        A simulated site.
    thresholds : float or sequence of float
        T-score thresholds [SD], at least one (see :func:`check_thresholds`).
    bands : bool
        Draw the sampling (Wilson) interval bands.
    ax : matplotlib Axes, optional
    labels : mapping, optional
        Text overrides, see :data:`LABELS` (``"parameter_band"``, with
        ``{count}`` the number of draws, is the parameter band's legend).
    parameter_band : bool
        For a cohort with parameter draws: draw the parameter-uncertainty band
        (the 2.5th-97.5th percentiles across draws). Ignored otherwise.
    times : sequence of float, optional
        For a cohort: two or more strictly increasing times [years] to
        evaluate, in ``[0, years]``; monthly if None. Ignored for a trajectory (its output
        times are used).

    Returns
    -------
    matplotlib Axes
        One step line per threshold, ``gid="fraction:<site>:<threshold>"``;
        parameter bands have ``gid="parameter_band:<site>:<threshold>"``.

    Raises
    ------
    TypeError, ValueError
        For any bad argument, naming it, before anything is drawn.
    """
    from .cohort import CohortResult

    cohort = isinstance(traj, CohortResult)
    if not cohort and not isinstance(traj, Trajectory):
        raise TypeError(f"traj must be a bmdsim.Trajectory or CohortResult, got {type(traj).__name__}")
    _check_site_in(site, traj.sites, where="traj")
    thresholds = check_thresholds(thresholds, allow_empty=False)
    bands = _check_flag("bands", bands)
    parameter_band = _check_flag("parameter_band", parameter_band)
    _check_ax(ax)
    text = labels_for(labels)
    if cohort:
        draws = len(traj.parameter_draws) if parameter_band else 0
        if times is None:
            grid = np.linspace(0.0, traj.years, int(round(12 * traj.years)) + 1)
        else:
            grid = np.atleast_1d(as_float_array("times", times))
            check_range("times", grid, 0.0, traj.years, unit="years")
            if grid.size < 2:
                raise ValueError(f"times must hold at least two times [years] to draw a curve, got {times!r}")
            if np.any(np.diff(grid) <= 0):
                raise ValueError("times must be strictly increasing")
            check_allocation(
                f"fraction curves at {grid.size} times for {max(draws, 1)} parameter draw(s)",
                float(grid.size) * max(draws, 1),
                hint="pass fewer times",
            )
        n = traj.n
    else:
        grid, n, draws = traj.time, traj.patient.n, 0
    ax = _axes(ax)
    time = np.asarray(grid, dtype=float)
    for k, thr in enumerate(thresholds):
        colour = SERIES_COLOURS[(k + 1) % len(SERIES_COLOURS)]
        if cohort:
            curve = traj.fraction_below(site, thr, time)
            frac = curve["fraction"]
        else:
            frac = fraction_crossed(traj, site, thr)
        ax.step(
            time,
            100.0 * frac,
            where="post",
            color=colour,
            ls=SERIES_STYLES[k % len(SERIES_STYLES)],
            label=text["threshold"].format(threshold=thr),
            gid=f"fraction:{site}:{float(thr):g}",
        )
        if bands:
            lo, hi = wilson_interval(frac, n)
            ax.fill_between(time, 100.0 * lo, 100.0 * hi, step="post", color=colour, alpha=0.15, lw=0)
        if draws:
            ax.fill_between(
                time,
                100.0 * curve["param_low"],
                100.0 * curve["param_high"],
                step="post",
                facecolor="none",
                edgecolor=colour,
                hatch="////",
                lw=0.6,
                alpha=0.6,
                gid=f"parameter_band:{site}:{float(thr):g}",
            )
    if bands:
        ax.fill_between([], [], [], color="0.6", alpha=0.3, lw=0, label=text["band"])
    if draws:
        ax.fill_between(
            [],
            [],
            [],
            facecolor="none",
            edgecolor="0.4",
            hatch="////",
            lw=0.6,
            label=text["parameter_band"].format(count=draws),
        )
    ax.set_ylim(0.0, 100.0)
    ax.set_xlim(time[0], time[-1])
    ax.set_xlabel(text["time"])
    ax.set_ylabel(text["fraction_crossed"])
    ax.set_title(text[site], loc="left")
    ax.legend(loc="lower right", frameon=True)
    return ax


def _wrap_footnote(note: str, fig_width: float, width: int | None) -> str:
    return textwrap.fill(" ".join(note.split()), width=width or max(40, int(fig_width * 15)))


def footnote_inches(note: str, fig_width: float, width: int | None = None, fontsize: float = 7.5) -> float:
    """Height [inches] :func:`add_footnote` takes for ``note`` in a figure ``fig_width`` inches wide."""
    lines = _wrap_footnote(note, fig_width, width).count("\n") + 1
    return (lines * fontsize * 1.35 + 6) / 72.0


def add_footnote(fig: Figure, note: str, width: int | None = None, fontsize: float = 7.5) -> Any:
    """Write ``note`` (e.g. the sources) under the axes of ``fig``, wrapped.

    A constrained-layout figure keeps room for it at the bottom.

    Parameters
    ----------
    fig : matplotlib Figure
    note : str
        Plain text (drawn as written, ``$`` too), at most
        :data:`bmdsim.limits.MAX_TEXT_CHARS` characters; wrapped, it may take at
        most :data:`MAX_FOOTNOTE_FRACTION` of the figure's height.
    width : int, optional
        Characters per line, 10 to 1000; about 15 per inch of figure width by default.
    fontsize : float
        Font size [points], 1 to 72.

    Returns
    -------
    matplotlib Text
        ``gid="footnote"``.
    """
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {_show(fig)} of type {type(fig).__name__}")
    check_drawable_text("note", note)
    if width is not None:
        width = as_int("width", width, 10, 1000)
    fontsize = as_finite_float("fontsize", fontsize)
    check_range("fontsize", np.array(fontsize), 1.0, 72.0, unit="points")
    wrapped = _wrap_footnote(note, fig.get_figwidth(), width)
    lines = wrapped.count("\n") + 1
    inches = footnote_inches(note, fig.get_figwidth(), width, fontsize)
    height = inches / fig.get_figheight()
    if height > MAX_FOOTNOTE_FRACTION:  # the layout would collapse, or fail with an unsatisfiable constraint
        raise ValueError(
            f"note ({len(note)} characters) needs {lines} lines at {fontsize:g} pt ({inches:.2g} in), more than "
            f"{MAX_FOOTNOTE_FRACTION:.0%} of the figure's height ({fig.get_figheight():.3g} in): shorten the "
            "note, lower fontsize or make the figure taller"
        )
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set") and "rect" in getattr(engine, "get", dict)():
        engine.set(rect=(0.0, height, 1.0, 1.0 - height))
    return fig.text(
        0.01, 0.005, wrapped, ha="left", va="bottom", fontsize=fontsize, color="0.3", gid="footnote", parse_math=False
    )


def save_figure(fig: Any, path: str | os.PathLike[str], dpi: float = 300) -> None:
    """Save ``fig`` to ``path`` (format from the suffix), reproducibly and atomically.

    Kept for compatibility; :func:`bmdsim.export.export_figure` writes several
    formats and a caption at once.

    Parameters
    ----------
    fig : matplotlib Figure
    path : path
        Ends in ``.png``, ``.svg`` or ``.pdf`` (written reproducibly and
        atomically), or in another format matplotlib's canvas writes (written
        by matplotlib).
    dpi : float
        Resolution [dots per inch], in :data:`bmdsim.export.DPI_RANGE`; the
        raster must fit in :data:`bmdsim.limits.MAX_ARRAY_BYTES`.
    """
    from .export import FORMATS, _check_path, check_figure, figure_bytes, write_bytes_atomic

    path = _check_path("path", path)
    dpi = check_figure(fig, dpi)
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        write_bytes_atomic(path, figure_bytes(fig, suffix, dpi=dpi))
        return
    others = sorted(fig.canvas.get_supported_filetypes())
    if suffix not in others:
        raise ValueError(
            f"path must end in a figure format, .png, .svg or .pdf (or another matplotlib format: "
            f"{', '.join('.' + f for f in others)}), got {str(path)!r}"
        )
    fig.savefig(path, dpi=dpi)  # other formats: matplotlib's own writer


#: Texts of :func:`plot_relative_risk`, kept beside it; part of :data:`LABELS` like every other key.
LABELS.update(
    {
        "relative_incidence": "Expected fractures relative to baseline [ratio]",
        "mean_relative_risk": "Mean relative risk against each woman's baseline [ratio]",
        "mean_relative_risk_fixed": "Mean relative risk against T = {reference:g} [ratio]",
        "gradient_band": "95 % CI of the gradient per SD",
        "relative_risk_title": "{outcome} fractures ({site} BMD)",
        "relative_risk_note": "Relative risk from BMD alone: not FRAX, not an absolute risk",
        "outcome:any": "All",
        "outcome:vertebral": "Vertebral",
        "outcome:hip": "Hip",
    }
)


def _check_risk(name: str, risk: Mapping[str, Any], kind: str) -> None:
    """The arrays and fields of one :func:`bmdsim.fracture.cohort_relative_risk` output."""
    where = f"risks[{name!r}]"
    time = np.atleast_1d(as_float_array(f"{where}['time']", risk["time"]))
    if np.any(np.diff(time) < 0):
        raise ValueError(f"{where}['time'] must be non-decreasing")
    values = np.atleast_1d(as_float_array(f"{where}[{kind!r}]", risk[kind]))
    if values.shape != time.shape:
        raise ValueError(f"{where}[{kind!r}] has {values.size} values for {time.size} times")
    ci = np.asarray(risk[f"{kind}_ci"])
    if ci.shape != (2, time.size) or not np.issubdtype(ci.dtype, np.number) or not np.all(np.isfinite(ci)):
        raise ValueError(f"{where}['{kind}_ci'] must be 2 rows (low, high) of {time.size} finite numbers")
    for field in ("outcome", "site"):
        check_text(f"{where}[{field!r}]", risk[field], max_chars=100)
    reference = risk["reference"]
    if reference != "baseline":
        as_finite_float(f"{where}['reference'] (a T-score or 'baseline')", reference)


def plot_relative_risk(
    risks: Mapping[str, Mapping[str, Any]],
    kind: str = "relative_incidence",
    band: bool = True,
    note: bool = True,
    ax: Axes | None = None,
    labels: Mapping[str, str] | None = None,
) -> Axes:
    """Relative fracture risk of cohorts over time, one line per regimen, with the gradient-CI band.

    Draws what :func:`bmdsim.fracture.cohort_relative_risk` returns: those
    dicts are the numbers behind the plot.

    Parameters
    ----------
    risks : mapping of str -> dict
        Legend label -> output of :func:`bmdsim.fracture.cohort_relative_risk`,
        all for the same outcome and site; drawn in this order.
    kind : {"relative_incidence", "mean"}
        The cohort's expected fractures relative to its baseline, or the mean
        of the women's individual relative risks.
    band : bool
        Shade the values with the low and high end of the gradient's 95 % CI.
    note : bool
        Write "not FRAX, not an absolute risk" in the axes.
    ax : matplotlib Axes, optional
    labels : mapping, optional
        Text overrides, see :data:`LABELS`.

    Returns
    -------
    matplotlib Axes
        One line per entry (``gid="relative_risk:<label>"``), its band
        (``gid="relative_risk_band:<label>"``) and a dotted line at 1.

    Raises
    ------
    TypeError, ValueError
        For any bad argument, naming it, before anything is drawn.
    """
    kind = _check_kind(kind, ("relative_incidence", "mean"))
    if isinstance(risks, Mapping) and not risks:
        raise ValueError("risks must map at least one label to the output of bmdsim.fracture.cohort_relative_risk")
    _check_series_names("risks", risks, "the output of bmdsim.fracture.cohort_relative_risk")
    needed = ("time", kind, f"{kind}_ci", "outcome", "site", "reference")
    for name, risk in risks.items():
        if not isinstance(risk, Mapping):
            raise TypeError(f"risks[{name!r}] must be the dict bmdsim.fracture.cohort_relative_risk returns")
        missing = [k for k in needed if k not in risk]
        if missing:
            raise ValueError(f"risks[{name!r}] is missing {', '.join(missing)}: pass cohort_relative_risk's output")
        _check_risk(name, risk, kind)
    band = _check_flag("band", band)
    note = _check_flag("note", note)
    _check_ax(ax)
    first = next(iter(risks.values()))
    for name, risk in risks.items():
        if (risk["outcome"], risk["site"]) != (first["outcome"], first["site"]):
            raise ValueError(
                f"risks[{name!r}] is for {risk['outcome']} fractures at {risk['site']}, the first entry for "
                f"{first['outcome']} at {first['site']}: draw one outcome and site per axes"
            )
    text = labels_for(labels)
    ax = _axes(ax)
    for k, (name, risk) in enumerate(risks.items()):
        colour = SERIES_COLOURS[k % len(SERIES_COLOURS)]
        t = np.asarray(risk["time"], dtype=float)
        ax.plot(
            t,
            risk[kind],
            color=colour,
            ls=SERIES_STYLES[k % len(SERIES_STYLES)],
            label=name,
            gid=f"relative_risk:{name}",
        )
        if band:
            low, high = np.asarray(risk[f"{kind}_ci"], dtype=float)
            ax.fill_between(t, low, high, color=colour, alpha=0.15, lw=0, gid=f"relative_risk_band:{name}")
    if band:
        ax.fill_between([], [], [], color="0.6", alpha=0.3, lw=0, label=text["gradient_band"])
    ax.axhline(1.0, color="0.5", lw=0.8, ls=":", zorder=1)
    times = np.concatenate([np.asarray(r["time"], dtype=float) for r in risks.values()])
    ax.set_xlim(times.min(), times.max())
    ax.set_xlabel(text["time"])
    if kind == "relative_incidence":
        ax.set_ylabel(text["relative_incidence"])
    elif first["reference"] == "baseline":
        ax.set_ylabel(text["mean_relative_risk"])
    else:
        ax.set_ylabel(text["mean_relative_risk_fixed"].format(reference=float(first["reference"])))
    outcome = text.get(f"outcome:{first['outcome']}", str(first["outcome"]))
    ax.set_title(
        text["relative_risk_title"].format(outcome=outcome, site=text.get(first["site"], first["site"])), loc="left"
    )
    if note:
        ax.text(
            0.01,
            0.98,
            text["relative_risk_note"],
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=8,
            color="0.35",
        )
    # Curves start at 1 and mostly rise: the upper left stays free, under the note.
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, 0.93 if note else 1.0), frameon=True)
    return ax
