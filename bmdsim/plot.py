"""Figures of trajectories and crossings.

Functions take ``ax=None``, draw on it (or on a new figure), and return the
axes. They only draw what :class:`bmdsim.Trajectory` computes, so every
plotted number is also available as an array. matplotlib is imported here,
inside the functions, never by ``import bmdsim``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .agents import AGENTS
from .simulation import DEFAULT_THRESHOLDS, Trajectory
from .sites import SITE_LABELS

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

#: Okabe-Ito colour-blind-safe palette, one colour per site.
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
    "vibration": "#999999",
}


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

    Returns
    -------
    matplotlib Axes
    """
    if kind not in ("t_score", "bmd"):
        raise ValueError(f"kind must be 't_score' or 'bmd', got {kind!r}")
    if not isinstance(patient, (int, np.integer)) or not 0 <= patient < traj.patient.n:
        raise ValueError(f"patient must be an index in [0, {traj.patient.n - 1}], got {patient!r}")
    sites = tuple(sites) if sites is not None else traj.sites
    ax = _axes(ax)

    def row(arr: Any) -> np.ndarray:
        arr = np.asarray(arr)
        return arr if arr.ndim == 1 else arr[patient]

    t = traj.time
    lows = []
    for site in sites:
        y = row(traj.t_score(site) if kind == "t_score" else traj.bmd(site))
        lows.append(y.min())
        ax.plot(t, y, color=SITE_COLOURS.get(site), lw=2, label=SITE_LABELS[site])
        if crossings and kind == "t_score":
            for thr in thresholds:
                tc = float(row(np.atleast_1d(traj.crossing_time(site, thr)))[0])
                if 0 < tc < np.inf:  # a threshold already reached at baseline is not a crossing to mark
                    ax.plot([tc], [thr], marker="o", ms=6, mfc="white", mec=SITE_COLOURS.get(site), mew=1.8)
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
                ax.axhspan(lo, hi, color=colour, zorder=0, lw=0)
                ax.text(t[-1], hi - 0.05, name, ha="right", va="top", fontsize=8, color="0.35")
        for thr in thresholds:
            ax.axhline(thr, color="0.3", lw=0.8, ls="--", zorder=1)
            ax.annotate(f"T = {thr:g}", (t[0], thr), xytext=(2, 2), textcoords="offset points", fontsize=8)
        ax.set_ylim(bottom, top)
        ax.set_ylabel("T-score [SD]")
    else:
        ax.set_ylabel("BMD [g/cm$^2$]")
    if exposures:
        strip = ax.get_xaxis_transform()  # x in years, y as a fraction of the axes height
        for e in traj.regimen:
            stop = min(e.stop, traj.years)
            if e.start < traj.years and stop > 0:
                start = max(e.start, 0.0)
                ax.axvspan(start, stop, ymin=0.94, ymax=1.0, color=AGENT_COLOURS.get(e.agent, "0.6"), alpha=0.8)
                ax.text(
                    0.5 * (start + stop),
                    0.97,
                    AGENTS[e.agent].label,
                    transform=strip,
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white",
                    fontweight="bold",
                )
    ax.set_xlim(t[0], t[-1])
    ax.set_xlabel("Time from baseline [years]")
    ax.legend(loc="lower left", fontsize=8, frameon=True)
    return ax


def save_figure(fig: Any, path: str, dpi: int = 300) -> None:
    """Save ``fig`` to ``path`` (format from the suffix) without a timestamp.

    The creation date and software version are left out of the metadata so
    that the same figure saved twice gives the same file.
    """
    suffix = str(path).rsplit(".", 1)[-1].lower()
    metadata = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"CreationDate": None, "Producer": None}}
    fig.savefig(path, dpi=dpi, metadata=metadata.get(suffix))
