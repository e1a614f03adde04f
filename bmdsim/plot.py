"""Figures of trajectories, crossings, regimens, comparisons and groups.

Functions take ``ax=None``, draw on it (or on a new figure), and return the
axes. They only draw what :class:`bmdsim.Trajectory` and :mod:`bmdsim.summary`
compute, so every plotted number is also available as an array. matplotlib is
imported here, inside the functions, never by ``import bmdsim``.

House style: the Okabe-Ito colour-blind-safe palette, fonts readable on a
slide and in print (:data:`HOUSE_STYLE`, applied with :func:`house_style`),
units on every axis. Every text drawn comes from :data:`LABELS`; pass
``labels={...}`` to any function to change wording or language.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import numpy as np

from .agents import AGENTS
from .regimen import Regimen
from .simulation import DEFAULT_THRESHOLDS, Trajectory
from .sites import SITE_LABELS
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


def labels_for(labels: Mapping[str, str] | None = None) -> dict[str, str]:
    """The default :data:`LABELS`, site and agent names, updated with ``labels``.

    Unknown keys are an error, so a typo does not silently leave a label untranslated.
    """
    out = dict(LABELS) | dict(SITE_LABELS) | {name: a.label for name, a in AGENTS.items()}
    unknown = sorted(set(labels or {}) - set(out))
    if unknown:
        raise KeyError(f"unknown label key {unknown[0]!r}; valid keys are: {', '.join(sorted(out))}")
    return out | dict(labels or {})


def house_style(rc: Mapping[str, Any] | None = None) -> AbstractContextManager[Any]:
    """A context in which figures are drawn in the house style.

    Parameters
    ----------
    rc : mapping, optional
        matplotlib rcParams that override :data:`HOUSE_STYLE`, e.g.
        ``{"font.size": 14}`` for a large lecture hall.
    """
    import matplotlib

    return matplotlib.rc_context(dict(HOUSE_STYLE) | dict(rc or {}))


def _axes(ax: Axes | None, figsize: tuple[float, float] = (8.0, 4.5)) -> Axes:
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


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
    sites : sequence of str, optional
        Sites to draw; all simulated sites by default.
    kind : {"t_score", "bmd"}
        What to plot on the y axis: T-score [SD] or areal BMD [g/cm2].
    thresholds : sequence of float
        T-score thresholds drawn as dashed lines (T-score plots only).
    patient : int
        Which patient of a many-patient trajectory to draw.
    ax : matplotlib Axes, optional
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
    """
    if kind not in ("t_score", "bmd"):
        raise ValueError(f"kind must be 't_score' or 'bmd', got {kind!r}")
    if not isinstance(patient, (int, np.integer)) or not 0 <= patient < traj.patient.n:
        raise ValueError(f"patient must be an index in [0, {traj.patient.n - 1}], got {patient!r}")
    sites = tuple(sites) if sites is not None else traj.sites
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


def _check_patient(traj: Trajectory, patient: int) -> None:
    if not isinstance(patient, (int, np.integer)) or not 0 <= patient < traj.patient.n:
        raise ValueError(f"patient must be an index in [0, {traj.patient.n - 1}], got {patient!r}")


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
    thresholds : sequence of float
        T-score thresholds [SD].
    sites : sequence of str, optional
        Sites, all simulated sites by default.
    patient : int
        Which patient of a many-patient trajectory to draw.
    ax : matplotlib Axes, optional
    labels : mapping, optional
        Text overrides, see :data:`LABELS`.

    Returns
    -------
    matplotlib Axes
        Markers carry ``gid="crossing:<site>:<threshold>"``.
    """
    _check_patient(traj, patient)
    sites = tuple(sites) if sites is not None else traj.sites
    thresholds = tuple(float(t) for t in thresholds)
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
        Horizon [years]; the trajectory's horizon, or the last finite stop.
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
    """
    if isinstance(regimen, Trajectory):
        _check_patient(regimen, patient)
        years = regimen.years if years is None else years
        courses = _courses(regimen, patient)
        regimen = regimen.regimen
    elif isinstance(regimen, Regimen):
        courses = _courses(regimen)
    else:
        raise TypeError(f"regimen must be a bmdsim.Regimen or Trajectory, got {type(regimen).__name__}")
    if years is None:
        years = max(regimen.breakpoints(), default=1.0)
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
        Legend label -> trajectory, drawn in this order, each in its own colour and line style.
    site : str
        Site to draw (simulated in every trajectory).
    kind : {"t_score", "bmd", "percent_change"}
        T-score [SD], areal BMD [g/cm2], or BMD change [%] since year ``since``.
    thresholds : sequence of float
        T-score thresholds drawn as dashed lines (T-score only).
    patient : int
        Which patient of many-patient trajectories to draw.
    since : float
        Start of the percent change [years] (``kind="percent_change"`` only).
    ax : matplotlib Axes, optional
    zones : bool
        Shade the WHO zones (T-score only).
    labels : mapping, optional
        Text overrides, see :data:`LABELS`.

    Returns
    -------
    matplotlib Axes
        One line per trajectory, ``gid="series:<label>"``.
    """
    if kind not in ("t_score", "bmd", "percent_change"):
        raise ValueError(f"kind must be 't_score', 'bmd' or 'percent_change', got {kind!r}")
    if not trajectories:
        raise ValueError("trajectories must name at least one trajectory")
    text = labels_for(labels)
    ax = _axes(ax)
    lows, highs, end = [], [], 0.0
    for k, (name, traj) in enumerate(trajectories.items()):
        _check_patient(traj, patient)
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
    thresholds : sequence of float
        T-score thresholds [SD].
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
        For a cohort: times [years] to evaluate, in ``[0, years]``; monthly
        if None. Ignored for a trajectory (its output times are used).

    Returns
    -------
    matplotlib Axes
        One step line per threshold, ``gid="fraction:<site>:<threshold>"``;
        parameter bands have ``gid="parameter_band:<site>:<threshold>"``.
    """
    from .cohort import CohortResult

    text = labels_for(labels)
    ax = _axes(ax)
    cohort = isinstance(traj, CohortResult)
    if cohort:
        grid = np.linspace(0.0, traj.years, int(round(12 * traj.years)) + 1) if times is None else times
        n = traj.n
        draws = len(traj.parameter_draws) if parameter_band else 0
    else:
        grid, n, draws = traj.time, traj.patient.n, 0
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


def add_footnote(fig: Figure, note: str, width: int | None = None, fontsize: float = 7.5) -> Any:
    """Write ``note`` (e.g. the sources) under the axes of ``fig``, wrapped.

    A constrained-layout figure keeps room for it at the bottom. Returns the
    matplotlib Text (``gid="footnote"``).
    """
    width = width or max(40, int(fig.get_figwidth() * 15))
    wrapped = textwrap.fill(" ".join(note.split()), width=width)
    lines = wrapped.count("\n") + 1
    height = (lines * fontsize * 1.35 + 6) / 72.0 / fig.get_figheight()
    engine = fig.get_layout_engine()
    if engine is not None and hasattr(engine, "set") and "rect" in getattr(engine, "get", dict)():
        engine.set(rect=(0.0, height, 1.0, 1.0 - height))
    return fig.text(0.01, 0.005, wrapped, ha="left", va="bottom", fontsize=fontsize, color="0.3", gid="footnote")


def save_figure(fig: Any, path: str, dpi: int = 300) -> None:
    """Save ``fig`` to ``path`` (format from the suffix), reproducibly and atomically.

    Kept for compatibility; :func:`bmdsim.export.export_figure` writes several
    formats and a caption at once.
    """
    from .export import figure_bytes, write_bytes_atomic

    suffix = str(path).rsplit(".", 1)[-1].lower()
    if suffix not in ("png", "svg", "pdf"):  # other formats: matplotlib's own writer
        fig.savefig(path, dpi=dpi)
        return
    write_bytes_atomic(path, figure_bytes(fig, suffix, dpi=dpi))


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
    """
    if kind not in ("relative_incidence", "mean"):
        raise ValueError(f"kind must be 'relative_incidence' or 'mean', got {kind!r}")
    if not isinstance(risks, Mapping) or not risks:
        raise ValueError("risks must map at least one label to the output of bmdsim.fracture.cohort_relative_risk")
    needed = ("time", kind, f"{kind}_ci", "outcome", "site", "reference")
    for name, risk in risks.items():
        missing = [k for k in needed if k not in risk]
        if missing:
            raise ValueError(f"risks[{name!r}] is missing {', '.join(missing)}: pass cohort_relative_risk's output")
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
