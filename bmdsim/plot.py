"""Figures of trajectories, crossings, regimens, comparisons and groups.

Functions take ``ax=None``, draw on it (or on a new figure), and return the
axes. They only draw what :class:`bmdsim.Trajectory` and :mod:`bmdsim.summary`
compute, so every plotted number is also available as an array. matplotlib is
imported here, inside the functions, never by ``import bmdsim``.

House style: the Okabe-Ito colour-blind-safe palette, fonts readable on a
slide and in print (:data:`HOUSE_STYLE`, applied with :func:`house_style`),
units on every axis. Every text drawn comes from :data:`LABELS`; pass
``labels={...}`` to any function to change wording or language.

One style per regimen: :data:`REGIMEN_STYLES` maps each regimen (see
:func:`regimen_key`: natural loss, an AI, tamoxifen, tamoxifen then an AI, an
AI with each agent that declares a line style, as the shipped bone-protective
therapies but vibration do) to one colour and line style, used by
every function that draws regimens (:func:`plot_comparison`,
:func:`plot_fraction_crossed`, :func:`plot_relative_risk`,
:func:`plot_policy_comparison`), so a regimen looks the same in every figure.
Agents' colours and names come from the agent registry (:data:`AGENT_COLOURS`,
:func:`labels_for`; see :func:`bmdsim.agents.agent_display`), so a drug
registered with :func:`bmdsim.register_agent` is drawn in its own colour and
name without changes here. Labels never sit on the data: the WHO zone and threshold names go in the right
margin (:func:`remove_margin_labels` drops them from all but the last of panels
side by side), crossing markers of different sites are hollow with one shape
per site (:data:`SITE_MARKERS`), identical legend entries are shown once, and
:func:`figure_legend` puts one legend under a figure's panels. Footnotes
(:func:`add_footnote`) can be held to one line (``max_lines=1``) for slides.

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
from ._validation import (
    _show,
    as_finite_float,
    as_float_array,
    as_int,
    bounded_items,
    check_allocation,
    check_range,
    check_text,
)
from .agents import AGENTS, DEFAULT_AGENT_COLOUR, RegistryView, agent_display
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
#: Fill colours of exposure periods, by agent: each registered agent's declared colour
#: (:attr:`bmdsim.agents.AgentModel.colour`; grey, :data:`bmdsim.agents.DEFAULT_AGENT_COLOUR`, if it
#: declares none). A live, read-only view of :data:`bmdsim.AGENTS`.
AGENT_COLOURS: RegistryView[str] = RegistryView(lambda: {name: agent_display(name).colour for name in AGENTS})
#: Colours and line styles for series whose regimen has no entry in :data:`REGIMEN_STYLES`, in order.
SERIES_COLOURS = ("#000000", "#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
SERIES_STYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)))
#: Marker per threshold, in the order thresholds are given (crossing-time charts).
THRESHOLD_MARKERS = ("o", "s", "D", "^", "v", "P")
#: Line style per threshold, in the order thresholds are given (share-crossed curves).
THRESHOLD_STYLES = ("-", "--", ":", "-.", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))
#: Hatch per threshold of the parameter-uncertainty band, in the order thresholds are given.
THRESHOLD_HATCHES = ("////", "\\\\\\\\", "xxxx", "----", "||||", "....")
#: Marker per site for threshold crossings on a trajectory: distinct shapes, so that two sites crossing
#: at the same time and T-score stay visible (drawn hollow).
SITE_MARKERS = {"lumbar_spine": "o", "femoral_neck": "s", "total_hip": "D"}

#: Colour and line style of natural loss and of switching from tamoxifen to an AI, regimens of no one agent.
NATURAL_LOSS_STYLE: dict[str, Any] = {"color": "#000000", "linestyle": "--"}
TAMOXIFEN_THEN_AI_STYLE: dict[str, Any] = {"color": "#D55E00", "linestyle": ":"}
#: Line styles of an AI alone and tamoxifen alone (their colours are the agents' own).
AI_LINE_STYLE, TAMOXIFEN_LINE_STYLE = "-", "-."


def _regimen_styles() -> dict[str, dict[str, Any]]:
    """:data:`REGIMEN_STYLES` now: the fixed regimens, then an AI with each agent that declares a line style."""
    ai, tam = agent_display("aromatase_inhibitor"), agent_display("tamoxifen")
    out = {
        "natural_loss": dict(NATURAL_LOSS_STYLE),
        "ai": {"color": ai.colour, "linestyle": AI_LINE_STYLE},
        "tamoxifen": {"color": tam.colour, "linestyle": TAMOXIFEN_LINE_STYLE},
        "tamoxifen_then_ai": dict(TAMOXIFEN_THEN_AI_STYLE),
    }
    for name in AGENTS:
        shown = agent_display(name)
        if name not in ("aromatase_inhibitor", "tamoxifen") and shown.line_style is not None:
            out[f"ai+{name}"] = {"color": shown.colour, "linestyle": shown.line_style}
    return out


#: One colour and line style per regimen, the same in every figure: regimen key (see
#: :func:`regimen_key`) -> matplotlib line properties. Natural loss is black and tamoxifen then an AI
#: vermillion; an AI alone, tamoxifen alone and an AI with another agent (``"ai+<agent>"``) take the
#: agent's colour (:data:`AGENT_COLOURS`), the last for every registered agent that declares a
#: ``line_style`` (:class:`bmdsim.agents.AgentModel`). The shipped colours are the Okabe-Ito ones, and
#: the line styles differ too, for grey-scale print. A live, read-only view of :data:`bmdsim.AGENTS`.
REGIMEN_STYLES: RegistryView[dict[str, Any]] = RegistryView(_regimen_styles)
#: Line styles of further series of one regimen on one axes (e.g. two parameter sets): same colour.
_VARIANT_STYLES = ("--", ":", "-.", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)), "-")
#: Colour of a share-crossed curve whose regimen has no entry in :data:`REGIMEN_STYLES`.
_UNKNOWN_REGIMEN_COLOUR = "#404040"

#: matplotlib settings of the house style: readable at slide and print sizes.
HOUSE_STYLE: dict[str, Any] = {
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 10.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "lines.linewidth": 2.2,
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
    "percent_change_baseline": "BMD change from baseline [%]",
    "normal": "normal",
    "osteopenia": "osteopenia",
    "osteoporosis": "osteoporosis",
    "threshold": "T = {threshold:g}",
    "crossing_time": "First time at or below the threshold [years from baseline]",
    "not_reached": "not reached",
    "at_baseline": "at baseline",
    "years_unit": "y",
    "fraction_crossed": "Patients who have reached the threshold [%]",
    "band": "95 % interval (group size)",
    "parameter_band": "95 % interval (parameter uncertainty, {count} calibration draws)",
    "natural_only": "natural loss only",
    "sources": "Sources",
    "cohort_band": "{low:g}th-{high:g}th percentile of women",
    "policy:fraction_patient_years_below": "Patient-years at or below the threshold [%]",
    "policy:fraction_treated": "Women given bone-protective therapy [%]",
    "policy:fraction_treated_at_baseline": "Women treated from baseline [%]",
    "policy:fraction_false_positive": "Women treated on a falsely low scan [%]",
    "policy:fraction_crossers_undetected": "Women crossing the threshold, never treated [%]",
    "policy:scans_per_patient": "DXA scans per woman [count]",
    "policy:delay_p50": "Median delay from crossing to treatment [years]",
    "rule:none": "no bone-protective therapy",
    "rule:threshold": "therapy from the first scan at the threshold",
    "rule:treat_all": "therapy for every woman from baseline",
    "no_data": "no data",
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
    "cohort_band": {"low": 25.0, "high": 75.0},
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


def check_label(key: str, value: object, fields: Mapping[str, Any] | None = None) -> str:
    """Return label ``value`` for ``key`` if it is a string bmdsim can draw; otherwise raise naming it.

    A label is at most :data:`bmdsim.limits.MAX_TEXT_CHARS` characters; labels
    that are formatted (e.g. ``"threshold"``: ``"T = {threshold:g}"``) may use
    only their own fields with short format specs; text between ``$`` signs
    must be valid matplotlib mathtext.

    Parameters
    ----------
    key : str
        The label key.
    value : object
        The text to check.
    fields : mapping of str -> example value, optional
        The format fields the label may use, with an example value of each;
        by default those of a formatted key of :data:`LABELS` (none for others).
    """
    name = f"labels[{key!r}]"
    check_drawable_text(name, value)
    fields = _LABEL_FIELDS.get(key) if fields is None else fields
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
    out = dict(LABELS) | dict(SITE_LABELS) | {name: agent_display(name).label for name in AGENTS}
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


def check_flag(name: str, value: object) -> bool:
    """Return ``value`` as a bool if it is True or False (a numpy bool included).

    Parameters
    ----------
    name : str
        The argument's name, for the message.
    value : object

    Returns
    -------
    bool

    Raises
    ------
    TypeError
        Naming ``name``, if ``value`` is anything else (0 and 1 included).
    """
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
    # one more than there are sites: enough to find a repeat, and an endless iterator cannot hang
    out = tuple(bounded_items(sites, len(SITES) + 1, f"sites must name each of {', '.join(SITES)} at most once"))
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


def regimen_key(regimen: object) -> str | None:
    """The key of ``regimen`` in :data:`REGIMEN_STYLES`, or None if it has no style of its own.

    Durations do not matter (an AI for 2.5 or 5 years is ``"ai"``): no exposure
    is ``"natural_loss"``; an AI alone ``"ai"``; tamoxifen alone
    ``"tamoxifen"``; tamoxifen courses all before the AI courses
    ``"tamoxifen_then_ai"``; an AI with one other agent that declares a
    ``line_style`` (the shipped bone-protective therapies but vibration, and
    any agent registered with one) ``"ai+<agent>"``.

    Parameters
    ----------
    regimen : Regimen, Trajectory, CohortResult or None
        A regimen, or a simulation whose regimen is used; None is natural loss.

    Returns
    -------
    str or None
        A key of :data:`REGIMEN_STYLES` when the regimen has one.

    Raises
    ------
    TypeError
        If ``regimen`` is none of those.
    """
    from .cohort import CohortResult

    if isinstance(regimen, (Trajectory, CohortResult)):
        regimen = regimen.regimen
    if regimen is None:
        return "natural_loss"
    if not isinstance(regimen, Regimen):
        raise TypeError(
            f"regimen must be a bmdsim.Regimen, Trajectory, CohortResult or None, got {type(regimen).__name__}"
        )
    agents = set(e.agent for e in regimen)
    ai, tam = "aromatase_inhibitor", "tamoxifen"
    if not agents:
        key = "natural_loss"
    elif agents == {ai}:
        key = "ai"
    elif agents == {tam}:
        key = "tamoxifen"
    elif agents == {ai, tam}:
        courses = [e for e in regimen if not e.is_event]
        if len(courses) != len(regimen):
            return None
        last_tam = max(e.stop for e in courses if e.agent == tam)
        first_ai = min(e.start for e in courses if e.agent == ai)
        key = "tamoxifen_then_ai" if last_tam <= first_ai else None
    elif ai in agents and len(agents) == 2:
        key = f"ai+{next(a for a in agents if a != ai)}"
    else:
        key = None
    return key if key in REGIMEN_STYLES else None


def regimen_style(regimen: object) -> dict[str, Any] | None:
    """Line properties (``color``, ``linestyle``) of a regimen: its entry in :data:`REGIMEN_STYLES`.

    Parameters
    ----------
    regimen : str, Regimen, Trajectory, CohortResult or None
        A key of :data:`REGIMEN_STYLES`, or what :func:`regimen_key` takes.

    Returns
    -------
    dict or None
        A copy of the style, or None if the regimen has none of its own.

    Raises
    ------
    TypeError, ValueError
        For an argument of another type or a key that is not in :data:`REGIMEN_STYLES`.
    """
    if isinstance(regimen, str):
        if regimen not in REGIMEN_STYLES:
            raise ValueError(f"unknown regimen style {_short(regimen)}; valid keys are: {', '.join(REGIMEN_STYLES)}")
        return dict(REGIMEN_STYLES[regimen])
    key = regimen_key(regimen)
    return None if key is None else dict(REGIMEN_STYLES[key])


def _assign_styles(keys: Sequence[str | None]) -> list[dict[str, Any]]:
    """Line properties for series of the given regimen keys, in order.

    The first series of a regimen takes its :data:`REGIMEN_STYLES` entry; further series of the same
    regimen keep its colour with another line style; series without a regimen style take the
    :data:`SERIES_COLOURS` not used by the others.
    """
    out: list[dict[str, Any] | None] = [None] * len(keys)
    used_colours = {REGIMEN_STYLES[k]["color"] for k in keys if k is not None}
    seen: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key is None:
            continue
        count = seen.get(key, 0)
        seen[key] = count + 1
        style = dict(REGIMEN_STYLES[key])
        if count:
            variants = [v for v in _VARIANT_STYLES if v != style["linestyle"]]
            style["linestyle"] = variants[(count - 1) % len(variants)]
        out[i] = style
    free = [(c, ls) for c, ls in zip(SERIES_COLOURS, SERIES_STYLES, strict=True) if c not in used_colours]
    free = free or list(zip(SERIES_COLOURS, SERIES_STYLES, strict=True))
    k = 0
    for i, style in enumerate(out):
        if style is None:
            colour, ls = free[k % len(free)]
            out[i] = {"color": colour, "linestyle": ls}
            k += 1
    return out  # type: ignore[return-value]


def _check_styles(styles: object, names: Iterable[str], what: str) -> dict[str, str | None]:
    """``styles`` (label -> regimen key, Regimen, Trajectory or CohortResult) as label -> regimen key."""
    if styles is None:
        return {}
    if not isinstance(styles, Mapping):
        raise TypeError(
            f"styles must map {what} labels to regimen keys ({', '.join(REGIMEN_STYLES)}) or regimens, "
            f"got {_show(styles)}"
        )
    names = list(names)
    out: dict[str, str | None] = {}
    for label, value in styles.items():
        if not isinstance(label, str) or label not in names:
            raise ValueError(f"styles has the label {_short(label)}, which is not one of the {what} drawn")
        if isinstance(value, str):
            regimen_style(value)  # raises naming the key
            out[label] = value
        else:
            try:
                out[label] = regimen_key(value)
            except TypeError:
                raise TypeError(
                    f"styles[{label!r}] must be a regimen key ({', '.join(REGIMEN_STYLES)}) or a bmdsim.Regimen, "
                    f"got {_show(value)}"
                ) from None
    return out


def _legend(ax: Axes, **kw: Any) -> Any:
    """``ax.legend`` with one entry per label: the first artist drawn with each label."""
    entries: dict[str, Any] = {}
    for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
        entries.setdefault(label, handle)
    if not entries:
        return None
    return ax.legend(list(entries.values()), list(entries), **kw)


def figure_legend(fig: Figure, ncols: int | None = None, fontsize: float | None = None) -> Any:
    """One legend for a whole figure, in place of its axes' legends, under the axes.

    Collects the entries of every axes, one per label (the first artist drawn
    with each label; an axes' own legend's entries if it has one, e.g. a
    trajectory's markers), removes the axes' own legends and puts the figure's
    legend under the axes, above a footnote (:func:`add_footnote`, added
    first), so that it never covers data. A constrained-layout figure keeps
    room for it; it takes as many columns (at most ``ncols``) as fit the
    figure's width.

    Parameters
    ----------
    fig : matplotlib Figure
    ncols : int, optional
        Most columns, 1 to 10; 4 by default.
    fontsize : float, optional
        Font size [points], 1 to 72; the ``legend.fontsize`` rcParam by default.

    Returns
    -------
    matplotlib Legend or None
        None if no axes has a labelled artist.
    """
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {_show(fig)} of type {type(fig).__name__}")
    ncols = 4 if ncols is None else as_int("ncols", ncols, 1, 10)
    if fontsize is not None:
        fontsize = as_finite_float("fontsize", fontsize)
        check_range("fontsize", np.array(fontsize), 1.0, 72.0, unit="points")
    entries: dict[str, Any] = {}
    for ax in fig.axes:
        own = ax.get_legend()
        if own is not None:
            pairs = zip(own.legend_handles, [t.get_text() for t in own.get_texts()], strict=True)
            own.remove()
        else:
            pairs = zip(*ax.get_legend_handles_labels(), strict=True)
        for handle, label in pairs:
            entries.setdefault(label, handle)
    if not entries:
        return None
    engine = fig.get_layout_engine()
    rect = list(getattr(engine, "get", dict)().get("rect") or (0.0, 0.0, 1.0, 1.0))
    bottom = rect[1]
    renderer = fig._get_renderer()
    legend = None
    for columns in range(min(ncols, len(entries)), 0, -1):  # as many columns as fit the width
        if legend is not None:
            legend.remove()
        legend = fig.legend(
            list(entries.values()),
            list(entries),
            loc="lower center",
            bbox_to_anchor=(0.5, bottom),
            bbox_transform=fig.transFigure,
            ncols=columns,
            frameon=False,
            fontsize=fontsize,
            borderaxespad=0.2,
        )
        if legend.get_window_extent(renderer).width <= 0.98 * fig.bbox.width:
            break
    height = legend.get_window_extent(renderer).height / fig.bbox.height
    if engine is not None and hasattr(engine, "set") and "rect" in getattr(engine, "get", dict)():
        top = rect[1] + rect[3]
        engine.set(rect=(rect[0], bottom + height, rect[2], max(top - bottom - height, 0.05)))
    return legend


def _margin_label(ax: Axes, y: float, text: str, gid: str, **kw: Any) -> Any:
    """A label in the right margin of ``ax`` at height ``y`` [data], outside the data area."""
    return ax.annotate(
        text,
        xy=(1.0, y),
        xycoords=("axes fraction", "data"),
        xytext=(5, 0),
        textcoords="offset points",
        ha="left",
        va="center",
        annotation_clip=False,
        gid=gid,
        **kw,
    )


def _zone_label_y(low: float, high: float, thresholds: Sequence[float]) -> float:
    """Middle of the widest stretch of ``[low, high]`` without a threshold line (where its label goes)."""
    cuts = sorted({low, high, *(t for t in thresholds if low < t < high)})
    a, b = max(zip(cuts, cuts[1:], strict=False), key=lambda ab: ab[1] - ab[0])
    return 0.5 * (a + b)


def _zones_and_thresholds(
    ax: Axes, bottom: float, top: float, thresholds: Sequence[float], zones: bool, text: Mapping[str, str]
) -> None:
    """WHO zones and dashed threshold lines, their names in the right margin (never under the data)."""
    if zones:
        for (lo, hi), colour, name in zip(
            ((-1.0, top), (-2.5, -1.0), (bottom, -2.5)),
            ZONE_COLOURS,
            ("normal", "osteopenia", "osteoporosis"),
            strict=True,
        ):
            ax.axhspan(lo, hi, color=colour, zorder=0, lw=0, gid=f"zone:{name}")
            lo, hi = max(lo, bottom), min(hi, top)
            if hi > lo:
                y = _zone_label_y(lo, hi, thresholds)
                _margin_label(ax, y, text[name], f"zone_label:{name}", fontsize=9, color="0.35", style="italic")
    for thr in thresholds:
        ax.axhline(thr, color="0.3", lw=0.8, ls="--", zorder=1)
        if bottom <= thr <= top:
            _margin_label(
                ax, thr, text["threshold"].format(threshold=thr), f"threshold_label:{thr:g}", fontsize=8, color="0.2"
            )


def remove_margin_labels(ax: Axes) -> None:
    """Remove the zone and threshold names from the right margin of ``ax``.

    For panels side by side with a shared T-score axis: keep the names on the
    rightmost panel only.

    Parameters
    ----------
    ax : matplotlib Axes
    """
    _check_ax(ax)
    if ax is None:
        raise TypeError("ax must be a matplotlib Axes, got None")
    for t in list(ax.texts):
        if (t.get_gid() or "").startswith(("zone_label:", "threshold_label:")):
            t.remove()


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
        check_flag(n, v) for n, v in (("zones", zones), ("crossings", crossings), ("exposures", exposures))
    )
    _check_ax(ax)
    text = labels_for(labels)
    ax = _axes(ax)

    def row(arr: Any) -> np.ndarray:
        arr = np.asarray(arr)
        return arr if arr.ndim == 1 else arr[patient]

    t = traj.time
    lows = []
    handles = []
    for site in sites:
        y = row(traj.t_score(site) if kind == "t_score" else traj.bmd(site))
        lows.append(y.min())
        colour = SITE_COLOURS.get(site)
        marker = SITE_MARKERS.get(site, "o")
        marked = crossings and kind == "t_score" and bool(thresholds)
        line = ax.plot(t, y, color=colour, lw=2, label=text[site], gid=f"trajectory:{site}")[0]
        if marked:  # the legend shows the site's crossing marker with its line
            from matplotlib.lines import Line2D

            line = Line2D([], [], color=colour, lw=2, marker=marker, ms=7, mfc="white", mec=colour, mew=1.8)
        handles.append((line, text[site]))
        if marked:
            for thr in thresholds:
                tc = float(row(np.atleast_1d(traj.crossing_time(site, thr)))[0])
                if 0 < tc < np.inf:  # a threshold already reached at baseline is not a crossing to mark
                    # Hollow, one shape per site: two sites crossing together both stay visible.
                    ax.plot(
                        [tc],
                        [thr],
                        marker=marker,
                        ms=8,
                        mfc="none",
                        mec=colour,
                        mew=1.8,
                        ls="none",
                        zorder=4,
                        gid=f"crossing:{site}:{thr:g}",
                    )
    if kind == "t_score":
        top = max(-0.5, max(row(traj.t_score(s)).max() for s in sites) + 0.5)
        bottom = min(min(thresholds, default=-2.5) - 0.5, min(lows) - 0.3)
        _zones_and_thresholds(ax, bottom, top, thresholds, zones, text)
        ax.set_ylim(bottom, top)
        ax.set_ylabel(text["t_score"])
    else:
        ax.set_ylabel(text["bmd"])
    if exposures:
        draw_exposure_band(ax, exposure_courses(traj, patient), traj.years, text)
    ax.set_xlim(t[0], t[-1])
    ax.set_xlabel(text["time"])
    ax.legend([h for h, _ in handles], [n for _, n in handles], loc="best", fontsize=9, frameon=True)
    return ax


def exposure_courses(source: Regimen | Trajectory, patient: int = 0) -> list[tuple[str, float, float]]:
    """The courses to shade with :func:`draw_exposure_band`.

    Parameters
    ----------
    source : Regimen or Trajectory
        A trajectory gives one patient's times (event starts resolved); a bare
        regimen gives its fixed-time courses only.
    patient : int
        Index of the patient in a trajectory of several (not checked here:
        a larger index reads the last patient).

    Returns
    -------
    list of (str, float, float)
        ``(agent, start, stop)`` [years] of every course; ``inf`` start if it
        never starts, ``inf`` stop if it never stops.
    """
    if isinstance(source, Trajectory):
        out = []
        for e in source.regimen:
            start, stop = (np.atleast_1d(np.asarray(v, dtype=float)) for v in source.exposure_times(e))
            out.append((e.agent, float(start[min(patient, start.size - 1)]), float(stop[min(patient, stop.size - 1)])))
        return out
    return [(e.agent, e.start, e.stop) for e in source if not e.is_event]


def draw_exposure_band(
    ax: Axes, courses: list[tuple[str, float, float]], years: float, text: Mapping[str, str]
) -> None:
    """Shade each course along the top of ``ax`` and name its agent.

    Parameters
    ----------
    ax : matplotlib Axes
        Axes whose x axis is time [years].
    courses : list of (str, float, float)
        ``(agent, start, stop)`` [years], as :func:`exposure_courses` gives them.
    years : float
        Horizon [years]: courses are cut to ``[0, years]``; a course
        entirely outside it is not drawn.
    text : mapping of str -> str
        Label texts: an agent's name is ``text.get(agent, agent)`` (e.g. the
        mapping :func:`labels_for` returns).
    """
    strip = ax.get_xaxis_transform()  # x in years, y as a fraction of the axes height
    for agent, e_start, e_stop in courses:
        stop = min(e_stop, years)
        if e_start < years and stop > 0:
            start = max(e_start, 0.0)
            ax.axvspan(
                start, stop, ymin=0.94, ymax=1.0, color=AGENT_COLOURS.get(agent, DEFAULT_AGENT_COLOUR), alpha=0.8
            )
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

    One row per site, one line in it per threshold: a marker at the exact
    crossing time (:meth:`Trajectory.crossing_time`) on a bar from baseline,
    in the site's colour and marker shape (:data:`SITE_COLOURS`,
    :data:`SITE_MARKERS`, as on :func:`plot_trajectory`), and beside it the
    threshold and the time, e.g. "T = -2: 4.98 y". A threshold already reached
    at baseline is marked at 0 ("at baseline"); one not reached within the
    horizon is written as "not reached", without a marker.

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
        Text overrides, see :data:`LABELS` (``"threshold"``, ``"at_baseline"``,
        ``"years_unit"``, ``"not_reached"``).

    Returns
    -------
    matplotlib Axes
        Markers carry ``gid="crossing:<site>:<threshold>"`` and their texts
        ``gid="crossing_label:<site>:<threshold>"``; the legend has one entry
        per site (its marker).

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
        marker = SITE_MARKERS.get(site, "o")
        for k, thr in enumerate(thresholds):
            y = row - 0.4 + height * (k + 0.5)
            tc = float(_row(np.atleast_1d(traj.crossing_time(site, thr)), patient)[0])
            name = text["threshold"].format(threshold=thr)
            if np.isfinite(tc):
                ax.barh(y, tc, height=height * 0.35, left=0.0, color=colour, alpha=0.25, lw=0)
                ax.plot(
                    [tc],
                    [y],
                    marker=marker,
                    ms=7,
                    mfc=colour,
                    mec=colour,
                    ls="none",
                    clip_on=False,
                    zorder=4,
                    gid=f"crossing:{site}:{thr:g}",
                )
                when = text["at_baseline"] if tc == 0 else f"{tc:.2f} {text['years_unit']}"
                colour_text = "0.1"
            else:
                tc, when, colour_text = 0.0, text["not_reached"], "0.45"
            ax.annotate(
                f"{name}: {when}",
                xy=(tc, y),
                xytext=(8, 0),
                textcoords="offset points",
                ha="left",
                va="center",
                fontsize=9,
                color=colour_text,
                annotation_clip=False,
                gid=f"crossing_label:{site}:{thr:g}",
            )
        ax.plot([], [], marker=marker, ms=7, color=colour, ls="none", label=text[site])
    ax.set_yticks(range(len(sites)), [text[s] for s in sites])
    ax.set_ylim(len(sites) - 0.5, -0.5)
    ax.set_xlim(0.0, traj.years)
    ax.set_xlabel(text["crossing_time"])
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
        courses = exposure_courses(regimen, patient)
        regimen = regimen.regimen
    elif isinstance(regimen, Regimen):
        if as_int("patient", patient, 0, 2**31) != 0:
            raise ValueError(f"patient must be 0 for a bare Regimen (it has no per-patient times), got {patient}")
        courses = exposure_courses(regimen)
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
            color=AGENT_COLOURS.get(agent, DEFAULT_AGENT_COLOUR),
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


def _check_percentiles(value: object) -> tuple[float, float]:
    """``percentiles``: (low, high), two percentiles in [0, 100] with low < high."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (Sequence, np.ndarray)) or len(value) != 2:
        raise TypeError(f"percentiles must be (low, high), two percentiles in [0, 100], got {_show(value)}")
    low = as_finite_float("percentiles[0]", value[0])
    high = as_finite_float("percentiles[1]", value[1])
    check_range("percentiles", np.array([low, high]), 0.0, 100.0)
    if not low < high:
        raise ValueError(f"percentiles must be (low, high) with low < high, got ({low:g}, {high:g})")
    return low, high


def _cohort_series(
    cohort: CohortResult, site: str, kind: str, percentiles: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Monthly times, median and band (the two percentiles) of T-score or BMD at ``site`` across the cohort."""
    grid = np.linspace(0.0, cohort.years, int(round(12 * cohort.years)) + 1)
    pct = cohort.t_score_percentiles(site, grid, q=(percentiles[0], 50.0, percentiles[1]))["t_score"]
    if kind == "bmd":  # BMD rises with the T-score, so its percentiles are the T-scores' percentiles in BMD
        pct = np.asarray(cohort.reference.bmd(site, pct), dtype=float)
    return grid, pct[1], pct[0], pct[2]


def plot_comparison(
    trajectories: Mapping[str, Trajectory | CohortResult],
    site: str,
    kind: str = "t_score",
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    patient: int = 0,
    since: float = 0.0,
    ax: Axes | None = None,
    zones: bool = True,
    labels: Mapping[str, str] | None = None,
    percentiles: tuple[float, float] = (25.0, 75.0),
) -> Axes:
    """Compare several scenarios (regimens or parameter sets) at one site.

    Each regimen is drawn in its own colour and line style from
    :data:`REGIMEN_STYLES` (see :func:`regimen_key`), the same in every
    figure; a second series of the same regimen keeps its colour with another
    line style, and regimens without a style of their own take the other
    colours of :data:`SERIES_COLOURS`.

    Parameters
    ----------
    trajectories : mapping of str -> Trajectory or CohortResult
        Legend label -> trajectory or cohort, drawn in this order; 1 to
        :data:`MAX_SERIES` entries. A cohort (:func:`bmdsim.simulate_cohort`)
        is drawn as its median over time with a band between two percentiles
        of its women (``percentiles``), at monthly times.
    site : str
        Site to draw (simulated in every trajectory).
    kind : {"t_score", "bmd", "percent_change"}
        T-score [SD], areal BMD [g/cm2], or BMD change [%] since year ``since``
        (trajectories only).
    thresholds : float or sequence of float
        T-score thresholds [SD] drawn as dashed lines (T-score only); empty for none.
    patient : int
        Which patient of many-patient trajectories to draw.
    since : float
        Start of the percent change [years] (``kind="percent_change"`` only), in
        ``[0, years)`` of the shortest trajectory.
    ax : matplotlib Axes, optional
    zones : bool
        Shade the WHO zones (T-score only); their names and the thresholds'
        are written in the right margin, never over the data.
    labels : mapping, optional
        Text overrides, see :data:`LABELS` (``"cohort_band"`` names a cohort's band).
    percentiles : (float, float)
        Percentiles of women [0-100] bounding a cohort's band, low < high.

    Returns
    -------
    matplotlib Axes
        One line per entry, ``gid="series:<label>"``; a cohort's band has
        ``gid="series_band:<label>"``.

    Raises
    ------
    TypeError, ValueError
        For any bad argument, naming it, before anything is drawn.
    """
    from .cohort import CohortResult

    kind = _check_kind(kind, ("t_score", "bmd", "percent_change"))
    _check_series_names("trajectories", trajectories, "bmdsim.Trajectory or CohortResult objects")
    check_site(site)
    for name, traj in trajectories.items():
        if isinstance(traj, CohortResult):
            if kind == "percent_change":
                raise ValueError(
                    f"kind 'percent_change' needs trajectories; trajectories[{name!r}] is a cohort: "
                    "use kind 't_score' or 'bmd'"
                )
            _check_site_in(site, traj.sites, where=f"trajectories[{name!r}]")
            continue
        if not isinstance(traj, Trajectory):
            raise TypeError(
                f"trajectories[{name!r}] must be a bmdsim.Trajectory or CohortResult, got {type(traj).__name__}"
            )
        _check_site_in(site, traj.sites, where=f"trajectories[{name!r}]")
        _check_patient(traj, patient)
    thresholds = check_thresholds(thresholds)
    since = as_finite_float("since", since)
    shortest = min(traj.years for traj in trajectories.values())
    if not 0.0 <= since < shortest:
        raise ValueError(f"since must lie in [0, {shortest:g}) years (the shortest horizon), got {since:g}")
    zones = check_flag("zones", zones)
    percentiles = _check_percentiles(percentiles)
    _check_ax(ax)
    text = labels_for(labels)
    ax = _axes(ax)
    styles = _assign_styles([regimen_key(traj) for traj in trajectories.values()])
    lows, highs, end = [], [], 0.0
    for style, (name, traj) in zip(styles, trajectories.items(), strict=True):
        if isinstance(traj, CohortResult):
            t, y, low, high = _cohort_series(traj, site, kind, percentiles)
            ax.fill_between(
                t,
                low,
                high,
                color=style["color"],
                alpha=0.15,
                lw=0,
                label=text["cohort_band"].format(low=percentiles[0], high=percentiles[1]),
                gid=f"series_band:{name}",
            )
            lows.append(low.min())
            highs.append(high.max())
        else:
            t, y = _series(traj, site, kind, patient, since)
        ax.plot(t, y, **style, label=name, gid=f"series:{name}")
        lows.append(y.min())
        highs.append(y.max())
        end = max(end, traj.years)
    start = since if kind == "percent_change" else 0.0
    if kind == "t_score":
        top = max(-0.5, max(highs) + 0.5)
        bottom = min(min(thresholds, default=-2.5) - 0.5, min(lows) - 0.3)
        _zones_and_thresholds(ax, bottom, top, thresholds, zones, text)
        ax.set_ylim(bottom, top)
        ax.set_ylabel(text["t_score"])
    elif kind == "bmd":
        ax.set_ylabel(text["bmd"])
    else:
        ax.axhline(0.0, color="0.5", lw=0.8, zorder=1)
        ax.set_ylabel(text["percent_change"].format(since=since) if since else text["percent_change_baseline"])
    ax.set_xlim(start, end)
    ax.set_xlabel(text["time"])
    ax.set_title(text[site], loc="left")
    _legend(ax, loc="best", frameon=True)
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
    name: str | None = None,
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

    The curves take the colour of the group's regimen
    (:data:`REGIMEN_STYLES`, the same as in every other figure); thresholds
    differ by line style (:data:`THRESHOLD_STYLES`) and hatch. Two groups may
    share an axes: give each a ``name``; identical legend entries are shown once.

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
    name : str, optional
        The group's name, put before each threshold in the legend
        (``"<name>: T = -2.5"``) and after the gids; at most 1000 characters.

    Returns
    -------
    matplotlib Axes
        One step line per threshold, ``gid="fraction:<site>:<threshold>"``;
        parameter bands have ``gid="parameter_band:<site>:<threshold>"``
        (with ``":<name>"`` appended when a name is given).

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
    bands = check_flag("bands", bands)
    parameter_band = check_flag("parameter_band", parameter_band)
    if name is not None:
        check_drawable_text("name", name, max_chars=1000)
        _check_mathtext("name", name)
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
    style = regimen_style(traj)
    colour = _UNKNOWN_REGIMEN_COLOUR if style is None else style["color"]
    prefix, suffix = ("", "") if name is None else (f"{name}: ", f":{name}")
    for k, thr in enumerate(thresholds):
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
            ls=THRESHOLD_STYLES[k % len(THRESHOLD_STYLES)],
            label=prefix + text["threshold"].format(threshold=thr),
            gid=f"fraction:{site}:{float(thr):g}{suffix}",
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
                hatch=THRESHOLD_HATCHES[k % len(THRESHOLD_HATCHES)],
                lw=0.6,
                alpha=0.6,
                gid=f"parameter_band:{site}:{float(thr):g}{suffix}",
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
            hatch=THRESHOLD_HATCHES[0],
            lw=0.6,
            label=text["parameter_band"].format(count=draws),
        )
    ax.set_ylim(0.0, 100.0)
    ax.set_xlim(time[0], time[-1])
    ax.set_xlabel(text["time"])
    ax.set_ylabel(text["fraction_crossed"])
    ax.set_title(text[site], loc="left")
    _legend(ax, loc="upper left", frameon=True)
    return ax


def _wrap_footnote(note: str, fig_width: float, width: int | None) -> str:
    return textwrap.fill(" ".join(note.split()), width=width or max(40, int(fig_width * 15)))


def footnote_inches(note: str, fig_width: float, width: int | None = None, fontsize: float = 7.5) -> float:
    """Height [inches] :func:`add_footnote` takes for ``note`` in a figure ``fig_width`` inches wide."""
    lines = _wrap_footnote(note, fig_width, width).count("\n") + 1
    return (lines * fontsize * 1.35 + 6) / 72.0


def add_footnote(
    fig: Figure, note: str, width: int | None = None, fontsize: float = 7.5, max_lines: int | None = None
) -> Any:
    """Write ``note`` (e.g. the sources) under the axes of ``fig``, wrapped.

    A constrained-layout figure keeps room for it at the bottom. On a slide a
    footnote should be one line (``max_lines=1``), with the full sources in
    the caption file beside the figure.

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
    max_lines : int, optional
        Most lines the wrapped note may take, 1 to 1000 (a longer note is
        refused); no limit but the height by default.

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
    if max_lines is not None:
        max_lines = as_int("max_lines", max_lines, 1, 1000)
    wrapped = _wrap_footnote(note, fig.get_figwidth(), width)
    lines = wrapped.count("\n") + 1
    if max_lines is not None and lines > max_lines:
        raise ValueError(
            f"note ({len(note)} characters) needs {lines} lines at {fig.get_figwidth():.3g} in wide, more than "
            f"max_lines = {max_lines}: shorten the note or make the figure wider"
        )
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
    from .export import FORMATS, check_figure, check_path, figure_bytes, write_bytes_atomic

    path = check_path("path", path)
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
    styles: Mapping[str, Any] | None = None,
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
    styles : mapping of str -> str or Regimen, optional
        Legend label -> its regimen (a :data:`REGIMEN_STYLES` key, or a
        Regimen or CohortResult, see :func:`regimen_key`), so that each line has
        its regimen's colour and line style, as in every other figure. Labels
        left out are drawn in the other colours of :data:`SERIES_COLOURS`.

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
    band = check_flag("band", band)
    note = check_flag("note", note)
    keys = _check_styles(styles, risks, "risks")
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
    line_styles = _assign_styles([keys.get(name) for name in risks])
    for style, (name, risk) in zip(line_styles, risks.items(), strict=True):
        t = np.asarray(risk["time"], dtype=float)
        ax.plot(t, risk[kind], **style, label=name, gid=f"relative_risk:{name}")
        if band:
            low, high = np.asarray(risk[f"{kind}_ci"], dtype=float)
            ax.fill_between(t, low, high, color=style["color"], alpha=0.15, lw=0, gid=f"relative_risk_band:{name}")
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
    _legend(ax, loc="upper left", bbox_to_anchor=(0.0, 0.93 if note else 1.0), frameon=True)
    return ax


#: Columns of a :func:`bmdsim.compare_policies` table that :func:`plot_policy_comparison` draws, with
#: the factor to the unit of the axis (fractions are drawn in per cent).
POLICY_COLUMNS: dict[str, float] = {
    "fraction_patient_years_below": 100.0,
    "fraction_treated": 100.0,
    "fraction_treated_at_baseline": 100.0,
    "fraction_false_positive": 100.0,
    "fraction_crossers_undetected": 100.0,
    "scans_per_patient": 1.0,
    "delay_p50": 1.0,
}
#: Hatch of a policy's bar, by rule: a threshold policy treats only some women.
_RULE_HATCHES = {"none": "", "threshold": "//", "treat_all": ""}
#: Bar colour of a policy without a regimen style, by rule.
_RULE_COLOURS = {"none": REGIMEN_STYLES["ai"]["color"], "threshold": "0.55", "treat_all": "0.3"}


def _check_policy_table(table: object, column: object) -> tuple[list[str], list[str], np.ndarray]:
    """Policy names, rules and the ``column`` values of a :func:`bmdsim.compare_policies` table."""
    if not isinstance(table, Mapping):
        raise TypeError(f"table must be the dict of columns bmdsim.compare_policies returns, got {_show(table)}")
    if not isinstance(column, str) or column not in POLICY_COLUMNS:
        raise (TypeError if not isinstance(column, str) else ValueError)(
            f"column must be one of {', '.join(POLICY_COLUMNS)}, got {_short(column)}"
        )
    missing = [k for k in ("policy", "rule", column) if k not in table]
    if missing:
        raise ValueError(f"table is missing the column(s) {', '.join(missing)}: pass compare_policies' output")
    names, rules = table["policy"], table["rule"]
    if isinstance(names, (str, bytes)) or not isinstance(names, Sequence) or not names:
        raise TypeError("table['policy'] must be a non-empty list of policy names")
    if len(names) > MAX_SERIES:
        raise ValueError(f"table must hold at most {MAX_SERIES} policies (one chart), got {len(names)}")
    for label in names:
        check_drawable_text("table['policy'] name", label, max_chars=1000)
        _check_mathtext("table['policy'] name", label)
    if len(set(names)) != len(names):
        raise ValueError("table['policy'] must name each policy once")
    if isinstance(rules, (str, bytes)) or not isinstance(rules, Sequence) or len(rules) != len(names):
        raise ValueError(f"table['rule'] must hold one rule per policy ({len(names)})")
    for rule in rules:
        if not isinstance(rule, str) or rule not in _RULE_HATCHES:
            raise ValueError(f"table['rule'] must hold rules from {', '.join(_RULE_HATCHES)}, got {_short(rule)}")
    values = table[column]
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)) or len(values) != len(names):
        raise ValueError(f"table[{column!r}] must hold one number per policy ({len(names)})")
    out = np.empty(len(names))
    for i, v in enumerate(values):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (Real, np.integer, np.floating)):
            raise TypeError(f"table[{column!r}][{i}] must be a number, got {_show(v)}")
        out[i] = float(v)
    finite = out[np.isfinite(out)]
    if np.any(np.isinf(out)) or (finite.size and np.max(np.abs(finite)) * POLICY_COLUMNS[column] > 1e9):
        raise ValueError(f"table[{column!r}] must hold finite numbers (NaN for none) of at most 1e9")
    return list(names), list(rules), out


def plot_policy_comparison(
    table: Mapping[str, Sequence[Any]],
    column: str = "fraction_patient_years_below",
    ax: Axes | None = None,
    labels: Mapping[str, str] | None = None,
    styles: Mapping[str, Any] | None = None,
) -> Axes:
    """One horizontal bar per monitoring policy: a column of a :func:`bmdsim.compare_policies` table.

    Draws the table's numbers (fractions in per cent), each written beside
    its bar, in the free space to its right. Bars are coloured by the regimen
    a policy gives (``styles``, from :data:`REGIMEN_STYLES`, as in every
    other figure) or else by rule; a policy acting on scans (rule
    ``"threshold"``), which treats only some women, is hatched.

    Parameters
    ----------
    table : mapping of str -> list
        :func:`bmdsim.compare_policies` output: ``policy``, ``rule`` and ``column``.
    column : str
        One of :data:`POLICY_COLUMNS`; its axis label is ``labels["policy:<column>"]``.
    ax : matplotlib Axes, optional
    labels : mapping, optional
        Text overrides, see :data:`LABELS`.
    styles : mapping of str -> str or Regimen, optional
        Policy name -> the regimen it gives (a :data:`REGIMEN_STYLES` key or a
        Regimen), for the bar's colour.

    Returns
    -------
    matplotlib Axes
        One bar per policy (``gid="policy:<name>"``), top to bottom in the
        table's order, and its value (``gid="policy_value:<name>"``); a NaN
        value (e.g. no delay without detections) draws no bar and is written
        as ``labels["no_data"]``.

    Raises
    ------
    TypeError, ValueError
        For any bad argument, naming it, before anything is drawn.
    """
    names, rules, values = _check_policy_table(table, column)
    keys = _check_styles(styles, names, "policies")
    _check_ax(ax)
    text = labels_for(labels)
    ax = _axes(ax, figsize=(8.0, 1.2 + 0.6 * len(names)))
    factor = POLICY_COLUMNS[column]
    shown = values * factor
    finite = shown[np.isfinite(shown)]
    high = max(float(finite.max()) if finite.size else 1.0, 0.0)
    low = min(float(finite.min()) if finite.size else 0.0, 0.0)
    span = (high - low) or 1.0
    unit = " %" if factor == 100.0 else ""
    for row, (name, rule, value) in enumerate(zip(names, rules, shown, strict=True)):
        key = keys.get(name)
        colour = REGIMEN_STYLES[key]["color"] if key is not None else _RULE_COLOURS[rule]
        if np.isfinite(value):
            ax.barh(
                row,
                value,
                height=0.65,
                color=colour,
                edgecolor="white" if _RULE_HATCHES[rule] else colour,
                hatch=_RULE_HATCHES[rule],
                lw=0,
                label=text[f"rule:{rule}"],
                gid=f"policy:{name}",
            )
            digits = 1 if unit or value != round(value) else 0
            written = f"{value:.{digits}f}{unit}"
        else:
            written = text["no_data"]
            value = 0.0
        ax.annotate(
            written,
            xy=(max(value, 0.0), row),
            xytext=(4, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            fontsize=9,
            gid=f"policy_value:{name}",
        )
    ax.set_yticks(range(len(names)), [textwrap.fill(n, 28) for n in names])
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlim(low, high + 0.3 * span)  # room for the values right of the bars
    ax.set_xlabel(text[f"policy:{column}"])
    ax.axvline(0.0, color="0.3", lw=0.8)
    _legend(ax, loc="best", frameon=True)
    return ax
