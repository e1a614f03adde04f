"""Figures of absolute fracture incidence (numbers from :mod:`bmdsim.fracture_incidence`).

Each function takes results the numerics already return, draws on ``ax`` (a
new figure if None) and returns the axes; matplotlib is imported inside, so
importing bmdsim does not import it. Nothing is computed here that the
numerics do not expose.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ._validation import check_choice
from .fracture_incidence import CohortIncidence, FractureValidation, outcomes

#: Colours of the strategies, in the order given (colour-blind safe, Okabe-Ito).
_COLOURS = ("#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00")


def _axes(ax: Any) -> Any:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6.4, 4.2))
    return ax


def plot_cumulative_incidence(
    results: Mapping[str, CohortIncidence],
    outcome: str,
    ax: Any = None,
    band: str = "parameter",
    styles: Mapping[str, Any] | None = None,
) -> Any:
    """Cumulative incidence per 1,000 women over time, one line per strategy, with its band.

    Parameters
    ----------
    results : mapping of str -> CohortIncidence
        Strategy name -> :func:`bmdsim.fracture_incidence.cohort_incidence`.
    outcome : str
        An outcome present in every result.
    ax : matplotlib Axes, optional
    band : {"parameter", "gradient", "none"}
        Shade the parameter-draw interval, the gradient's 95 % CI, or nothing.
    styles : mapping of str -> Regimen, CohortResult or style key, optional
        Strategy name -> what sets its line style through
        :func:`bmdsim.plot.regimen_style` (the figure set's one style per
        regimen); strategies without one take the colours in order.

    Returns
    -------
    matplotlib Axes
    """
    if not isinstance(results, Mapping) or not results:
        raise TypeError("results must be a non-empty mapping of strategy name to CohortIncidence")
    check_choice("outcome", outcome, outcomes())
    check_choice("band", band, ("parameter", "gradient", "none"))
    ax = _axes(ax)
    for i, (name, res) in enumerate(results.items()):
        if not isinstance(res, CohortIncidence):
            raise TypeError(f"results[{name!r}] must be a CohortIncidence, got {type(res).__name__}")
        if outcome not in res["outcomes"]:
            raise ValueError(f"results[{name!r}] has no outcome {outcome!r} (it has {', '.join(res['outcomes'])})")
        line = {"color": _COLOURS[i % len(_COLOURS)], "linestyle": "-"}
        if styles is not None and name in styles:
            from .plot import regimen_style

            line = regimen_style(styles[name]) or line
        colour = line["color"]
        t = np.asarray(res["time"])
        ax.plot(t, res["per_1000"][outcome], lw=2, label=name, **line)
        shade = res[f"{band}_band"].get(outcome) if band != "none" else None
        if shade is not None:
            ax.fill_between(t, 1000 * shade[0], 1000 * shade[1], color=colour, alpha=0.2, lw=0)
    ax.set_xlabel("Time since starting the aromatase inhibitor [years]")
    ax.set_ylabel("Women with a first fracture [per 1,000]")
    ax.set_title(f"Cumulative incidence: {outcomes()[outcome].split(':')[0].split('(')[0].strip().lower()}")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, loc="upper left")
    if band != "none":
        what = "parameter-draw interval" if band == "parameter" else "gradient 95 % CI"
        ax.text(0.99, 0.02, f"shaded: {what}; death competing", transform=ax.transAxes, ha="right", fontsize=8)
    return ax


def plot_fracture_validation(table: FractureValidation, ax: Any = None) -> Any:
    """Model against published cumulative fracture incidence, one point per published rate.

    Calibrating rows are drawn as squares, held-out ones as circles, context
    rows as crosses; the shaded wedge is the agreement factor stated in the
    targets file.

    Parameters
    ----------
    table : FractureValidation
        From :func:`bmdsim.fracture_incidence.fracture_validation`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    if not isinstance(table, FractureValidation):
        raise TypeError(f"table must be a FractureValidation, got {type(table).__name__}")
    ax = _axes(ax)
    pub = np.asarray(table["published_pct"], dtype=float)
    mod = np.asarray(table["model_pct"], dtype=float)
    top = 1.15 * float(max(pub.max(), mod.max()))
    line = np.array([0.0, top])
    f = float(table["factor"])
    ax.fill_between(line, line / f, line * f, color="0.9", lw=0, label=f"within a factor of {f:g}")
    ax.plot(line, line, color="0.5", lw=1)
    style = {"calibrate": ("s", "#D55E00"), "validate": ("o", "#0072B2"), "context": ("x", "0.4")}
    for role, (marker, colour) in style.items():
        sel = np.array([r == role for r in table["role"]])
        if sel.any():
            ax.scatter(pub[sel], mod[sel], marker=marker, color=colour, label=role, zorder=3)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("Published cumulative incidence (%)")
    ax.set_ylabel("Model cumulative incidence (%)")
    ax.set_title("Fracture incidence: model against trials")
    ax.legend(frameon=False, loc="upper left")
    return ax
