"""Figure sets with captions: the educator set and the figures a scenario asks for.

:func:`educator_figures` builds the teaching figures for a lecture (see
:data:`EDUCATOR_FIGURES`): natural loss against an AI, endocrine therapies
compared, bone-protective therapy on an AI (zoledronic acid, denosumab with its
off-treatment course, an oral bisphosphonate), recovery after the AI stops
against BREX, exact crossing times, a calibrated cohort's share below each
threshold with its bands, relative fracture risk, monitoring policies compared,
and an illustrative group. Single-patient figures come from the built-in
scenarios (``data/scenarios/*.toml``); cohort figures from
:func:`bmdsim.simulate_cohort`, :func:`bmdsim.fracture.cohort_relative_risk` and
:func:`bmdsim.compare_policies` with the seed and size in :data:`COHORT`.
:func:`scenario_figures` draws the figures listed in a scenario's
``[output] figures``. Each comes back as a :class:`CaptionedFigure` (name,
matplotlib figure, caption), ready for :func:`bmdsim.export.export_figure`.

Every regimen has one colour and line style in every figure
(:data:`bmdsim.plot.REGIMEN_STYLES`). Each figure carries a one-line source
footer (short citations, and the caption file's name); the full sources, the
scenario, the parameter set and the numbers drawn are in its caption, written
to ``<name>.txt`` beside it. Sources are read from the parameter sets, the
young-adult reference, the data files and ``data/citations.json``, never
written here.

To add a figure to the educator set, write a function
``(labels, size) -> CaptionedFigure`` and add it to :data:`EDUCATOR_FIGURES`.

:func:`write_figures` renders a set and writes it with a manifest, last, so an
interrupted write is recognisable; every argument is checked before anything
is drawn (a :class:`TypeError` or :class:`ValueError` naming it).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from . import _data, plot
from ._validation import _show, as_finite_float, bounded_items, check_range
from .agents import agent_display
from .scenario import Scenario, load_builtin_scenario
from .simulation import Trajectory
from .summary import citation_keys, format_sources

#: Range of :func:`educator_figures`' ``scale`` [multiple of each figure's default size], the same as
#: ``bmdsim figures --scale``: below 0.75 the fixed-size text no longer fits (at 0.5 the legends and
#: titles take most of each figure, at 0.25 the layout fails); at 10 a figure is 100 inches wide, the
#: largest :data:`bmdsim.plot.FIGURE_INCHES` allows.
SCALE_RANGE: tuple[float, float] = (0.75, 10.0)

#: Name of the manifest :func:`write_figures` writes last into the output folder.
FIGURES_MANIFEST = "figures.sha256"

#: Default size of every educator figure (width, height) [inches]: 16:9, a slide.
SLIDE_INCHES: tuple[float, float] = (10.0, 5.625)

#: The simulated cohort of the cohort figures (share below, fracture risk, policies): ``n`` women drawn
#: with ``seed`` from :func:`bmdsim.cohort.default_population`, ``parameter_draws`` calibration draws for
#: the parameter band, followed ``years`` years (0-5 on an AI and 5 after: the calibrated range).
#: Design inputs of the figures, not data: 20,000 women keep the sampling band under about one
#: percentage point, and the set draws in seconds.
COHORT: dict[str, Any] = {"n": 20_000, "seed": 2026, "parameter_draws": 20, "years": 10.0, "ai_years": 5.0}

#: Font size of the one-line source footer [points] and its characters per inch of figure width.
_FOOTER_POINTS, _FOOTER_CHARS_PER_INCH = 7.5, 15

#: Texts of the educator figures (titles, legend names); override with ``labels={...}``.
FIGURE_LABELS: dict[str, str] = {
    "sources_prefix": "Sources: ",
    "sources_full": "full references in",
    "sources_caption": "full references in the caption file",
    "ai_vs_natural_title": "An aromatase inhibitor speeds up bone loss; part of it comes back after stopping",
    "therapies_title": "T-score under different endocrine therapies (same patient)",
    "protection_title": "Bone-protective therapy on an AI; denosumab's gain is lost soon after it stops",
    "brex_title": "After the AI stops: model (brex parameter set) against the published BREX changes",
    "brex_published": "BREX, published (years 5-10)",
    "crossings_title": "When does each site first reach each threshold? (AI for 5 years, then stopped)",
    "cohort_title": "Calibrated cohort on an AI for 5 years: share of women who have reached each threshold",
    "fracture_title": "Fracture risk relative to baseline, from BMD alone (not FRAX, not an absolute risk)",
    "fracture_incidence_title": "Women with a first fracture per 1,000, from BMD (not FRAX)",
    "fracture_incidence:hip": "Hip fracture",
    "fracture_incidence:any_clinical": "Any clinical fracture",
    "policies_title": "Monitoring policies on an AI compared on the same simulated women",
    "group_title": "Illustrative synthetic group on an AI: share who have reached each threshold",
    "illustrative_note": (
        "Illustrative group: age and T-scores drawn from display distributions, not a calibrated population."
    ),
    "scenario:ai_withdrawal": "AI for 5 years, then stopped",
    "scenario:natural_loss": "No endocrine therapy (natural loss)",
    "scenario:tamoxifen": "Tamoxifen for 5 years",
    "scenario:tamoxifen_then_ai": "Tamoxifen 2.5 years, then AI 2.5 years",
    "scenario:brex_withdrawal": "AI stopped at year 5",
    "scenario:brex_no_withdrawal": "No AI in years 5-10",
    "regimen:ai": "AI alone ({years:g} years)",
    "regimen:ai+zoledronic_acid": "AI + zoledronic acid ({years:g} years)",
    "regimen:ai+denosumab": "AI + denosumab ({years:g} years, then stopped)",
    "regimen:ai+oral_bisphosphonate": "AI + oral bisphosphonate ({years:g} years)",
    "policy:none": "No bone-protective therapy",
    "policy:scan": "Scan every {interval:g} y; treat at T\u00a0≤\u00a0{threshold:g} ({older:g} if over {age:g})",
    "policy:treat_all": "Therapy for every woman from baseline",
    "policy_below_axis": "Patient-years at {site} T\u00a0≤\u00a0{threshold:g} [%]",
}

#: Format fields of the :data:`FIGURE_LABELS` that are templates, with an example value of each.
FIGURE_LABEL_FIELDS: dict[str, dict[str, Any]] = {
    "regimen:ai": {"years": 5.0},
    "regimen:ai+zoledronic_acid": {"years": 5.0},
    "regimen:ai+denosumab": {"years": 3.0},
    "regimen:ai+oral_bisphosphonate": {"years": 2.0},
    "policy:scan": {"interval": 2.0, "threshold": -2.0, "older": -1.5, "age": 65.0},
    "policy_below_axis": {"site": "femoral neck", "threshold": -2.5},
}

#: Bone-protective therapies of :func:`bone_protection`, in legend order.
PROTECTION_THERAPIES: tuple[str, ...] = ("zoledronic_acid", "denosumab", "oral_bisphosphonate")


@dataclass
class CaptionedFigure:
    """A figure with a file name stem and a caption.

    Attributes
    ----------
    name : str
        File name stem, e.g. ``"ai_vs_natural"``.
    figure : matplotlib Figure
    caption : str
        What the figure shows, the scenario, the numbers drawn and the full sources (plain text).
    """

    name: str
    figure: Any
    caption: str


def split_labels(labels: Mapping[str, str] | None) -> tuple[dict[str, str], dict[str, str]]:
    """Check ``labels`` and apply them to the house texts.

    Parameters
    ----------
    labels : mapping of str -> str, or None
        Label key -> text, keys of :func:`bmdsim.plot.labels_for` or of
        :data:`FIGURE_LABELS`; None keeps every house text.

    Returns
    -------
    texts : dict of str -> str
        Every text a figure of this module may draw, with ``labels`` applied.
    plot_labels : dict of str -> str
        The part of ``labels`` for the :mod:`bmdsim.plot` functions.

    Raises
    ------
    bmdsim.plot.LabelKeyError
        For an unknown key (it is both a KeyError and a ValueError).
    TypeError, ValueError
        For a value that is not a drawable text (see
        :func:`bmdsim.plot.check_label`); a template of
        :data:`FIGURE_LABEL_FIELDS` may use only its own fields.
    """
    if labels is not None and not isinstance(labels, Mapping):
        raise TypeError(f"labels must be a mapping of label key -> text, got {_show(labels)}")
    plot_keys = set(plot.labels_for())
    figure_keys = set(FIGURE_LABELS)
    unknown = sorted(repr(k) for k in (labels or {}) if k not in plot_keys and k not in figure_keys)
    if unknown:
        valid = ", ".join(sorted(plot_keys | figure_keys))
        raise plot.LabelKeyError(f"unknown label key {unknown[0]}; valid keys are: {valid}")
    mine = {k: v for k, v in (labels or {}).items() if k in plot_keys}
    theirs = {
        k: plot.check_label(k, v, FIGURE_LABEL_FIELDS.get(k, {}) if k in FIGURE_LABEL_FIELDS else None)
        for k, v in (labels or {}).items()
        if k in figure_keys
    }
    return plot.labels_for(mine) | FIGURE_LABELS | theirs, mine


def check_size(size: object) -> tuple[float, float]:
    """Return a figure ``size`` as (width, height) [inches], each in :data:`bmdsim.plot.FIGURE_INCHES`."""
    if isinstance(size, (str, bytes)) or not isinstance(size, (Sequence, np.ndarray)) or len(size) != 2:
        raise TypeError(f"size must be (width, height) in inches, got {_show(size)}")
    names = ("size[0] (width)", "size[1] (height)")
    out = (as_finite_float(names[0], size[0]), as_finite_float(names[1], size[1]))
    for name, value in zip(names, out, strict=True):
        check_range(name, np.array(value), *plot.FIGURE_INCHES, unit="in")
    return out


def _figure(size: tuple[float, float], nrows: int = 1, ncols: int = 1, **kw: Any) -> tuple[Any, Any]:
    import matplotlib.pyplot as plt

    return plt.subplots(nrows, ncols, figsize=check_size(size), layout="constrained", squeeze=False, **kw)


# -- sources: one line on the figure, in full in the caption ---------------------------------------------------
def _short_citation(key: str, citations: Mapping[str, Any]) -> str:
    """Short citation of a ``data/citations.json`` entry: first author's surname and year.

    Without authors, the start of the title; the key itself if the entry is unknown.
    """
    entry = citations.get(key)
    if not isinstance(entry, Mapping):
        return key
    first = str(entry.get("authors", "")).split(",")[0].strip()
    words = first.split()
    if len(words) > 1 and words[-1].isupper() and words[-1].isalpha() and len(words[-1]) <= 3:
        first = " ".join(words[:-1])  # "Coleman RE" -> "Coleman"
    if not first:
        first = str(entry.get("title", key)).split(":", 1)[0].strip()
    if len(first) > 28:
        first = first[:28].rsplit(" ", 1)[0] + "..."
    year = entry.get("year")
    return f"{first} {year}" if year else first


def _footer(text: Mapping[str, str], keys: Sequence[str], name: str, width_inches: float) -> str:
    """The one-line footer: the sources' short citations that fit, and the caption file with them all."""
    citations = _data.read_json("citations.json")
    room = max(40, int(width_inches * _FOOTER_CHARS_PER_INCH))
    tail = f" ({text['sources_full']} {name}.txt)"
    if len(text["sources_prefix"] + tail) > room:  # a long file name: say where, without it
        tail = f" ({text['sources_caption']})"
    short = list(dict.fromkeys(_short_citation(k, citations) for k in keys))
    shown: list[str] = []
    for k, cite in enumerate(short):
        more = "; ..." if k + 1 < len(short) else ""
        if len(text["sources_prefix"] + "; ".join([*shown, cite]) + more + tail) > room:
            break
        shown.append(cite)
    body = "; ".join(shown) + ("; ..." if len(shown) < len(short) else "")
    return " ".join((text["sources_prefix"] + body + tail).split())


def _footnote(fig: Any, text: Mapping[str, str], keys: Sequence[str], name: str) -> None:
    """Add the one-line source footer (:func:`_footer`); a label too long for one line names the labels."""
    line = _footer(text, keys, name, fig.get_figwidth())
    try:
        plot.add_footnote(fig, line, fontsize=_FOOTER_POINTS, max_lines=1)
    except ValueError as exc:
        _close(fig)
        raise ValueError(
            f"{exc} (the footnote is labels['sources_prefix'], labels['sources_full'] and the sources: "
            "shorten them or raise scale)"
        ) from None


def _model_keys(params: Any, regimen: Any, sites: Sequence[str], reference: Any) -> list[str]:
    """Citation keys behind a simulation: the parameter values its regimen uses and the young-adult reference.

    As :func:`bmdsim.summary.citation_keys`, for cohorts and policies too.
    """
    keys: list[str] = []
    for key in params.used_keys(e.agent for e in regimen):  # the figures show women
        ref = params.metadata.get(key, {}).get("source")
        if ref and ref != "user" and ref not in keys:
            keys.append(ref)
    for site in sites:
        ref = str(reference.sources.get(site, "")).split(":", 1)[0].strip()
        if ref and ref not in keys:
            keys.append(ref)
    return keys


def _keys_of(source: Any) -> list[str]:
    """Citation keys behind a trajectory's or cohort's numbers."""
    if isinstance(source, Trajectory):
        return citation_keys(source)
    return _model_keys(source.params, source.regimen, source.sites, source.reference)


def _file_sources(*files: str) -> list[str]:
    """Citation keys named in data files (``citation``/``source`` fields that are keys of citations.json)."""
    citations = _data.read_json("citations.json")
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                values = value if isinstance(value, list) else [value]
                if key in ("citation", "source", "sources"):
                    found.extend(v for v in values if isinstance(v, str) and v in citations and v not in found)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for file in files:
        walk(_data.read_json(file))
    return found


def _sources(items: Sequence[Any], extra: Sequence[str] = ()) -> list[str]:
    keys: list[str] = []
    for item in items:
        keys += [k for k in _keys_of(item) if k not in keys]
    keys += [k for k in extra if k not in keys]
    return keys


def _params_line(items: Sequence[Any]) -> str:
    seen = dict.fromkeys((t.params.name, t.params.title) for t in items)
    sets = "; ".join(f"parameter set '{n}' ({title})" for n, title in seen)
    ranges = " ".join(dict.fromkeys(t.params.validated_range for t in items))
    return f"Model: {sets}. Validated range: {ranges}"


def _caption(
    what: str, scenarios: Sequence[Scenario | str], items: Sequence[Any], keys: Sequence[str], note: str = ""
) -> str:
    lines = [what, ""]
    lines += [s if isinstance(s, str) else f"Scenario: {s.name}. {s.description}." for s in scenarios]
    lines += ["", _params_line(items)]
    if note:
        lines += ["", note]
    lines += ["", f"Sources: {format_sources(keys)}."]
    return "\n".join(lines)


def _run(names: tuple[str, ...]) -> tuple[list[Scenario], list[Trajectory]]:
    scenarios = [load_builtin_scenario(n) for n in names]
    return scenarios, [s.run() for s in scenarios]


def _sharey_row(axes: Sequence[Any]) -> None:
    """Panels side by side with one T-score axis: y label and margin names only where they are needed."""
    for ax in axes[1:]:
        ax.set_ylabel("")
    for ax in axes[:-1]:
        plot.remove_margin_labels(ax)


def _wrap_xlabels(fig: Any) -> None:
    """Wrap each axes' x label to the width of its panel (about 9 characters an inch at 12 points)."""
    import textwrap

    for ax in fig.axes:
        label = ax.get_xlabel()
        spec = ax.get_subplotspec()
        if not label or spec is None:
            continue
        ratios = spec.get_gridspec().get_width_ratios() or [1.0] * spec.get_gridspec().ncols
        share = sum(ratios[spec.colspan.start : spec.colspan.stop]) / sum(ratios)
        inches = share * fig.get_figwidth() - 0.7  # less the tick labels' room
        ax.set_xlabel(textwrap.fill(" ".join(label.split()), max(12, int(inches * 9)), break_on_hyphens=False))


def _fit_share_axis(axes: Sequence[Any]) -> None:
    """Share axes [%] from 0 to a round 10 above the highest curve or band, not to 100."""
    top = max(ax.dataLim.y1 for ax in axes)
    for ax in axes:
        ax.set_ylim(0.0, min(100.0, 10.0 * math.ceil(top / 10.0 + 0.6)))


def _finish(
    fig: Any, title: str, text: Mapping[str, str], keys: Sequence[str], name: str, parse_math: bool = True
) -> None:
    """Title (wrapped), one legend for the figure (under the panels, never over data) and the one-line footer."""
    import textwrap

    _wrap_xlabels(fig)
    chars = max(30, int(fig.get_figwidth() * 9.5))  # about 10 characters an inch at 13 points
    fig.suptitle("\n".join(textwrap.fill(line, chars) for line in title.split("\n")), parse_math=parse_math)
    _footnote(fig, text, keys, name)  # first: the legend goes above it
    plot.figure_legend(fig)


# -- the educator figures -----------------------------------------------------------------------------------------
def ai_vs_natural(labels: Mapping[str, str] | None = None, size: tuple[float, float] = SLIDE_INCHES) -> CaptionedFigure:
    """T-score at the spine and femoral neck: 5 years of an AI, then stopped, against natural loss alone."""
    text, plot_labels = split_labels(labels)
    size = check_size(size)
    names = ("ai_withdrawal", "natural_loss")
    scenarios, trajs = _run(names)
    fig, axes = _figure(size, 1, 2, sharey=True)
    for ax, site in zip(axes[0], ("lumbar_spine", "femoral_neck"), strict=True):
        series = {text[f"scenario:{n}"]: t for n, t in zip(names, trajs, strict=True)}
        plot.plot_comparison(series, site, ax=ax, labels=plot_labels)
        plot.draw_exposure_band(ax, plot.exposure_courses(trajs[0]), trajs[0].years, text)
    _sharey_row(axes[0])
    keys = _sources(trajs)
    _finish(fig, text["ai_vs_natural_title"], text, keys, "ai_vs_natural")
    caption = _caption(
        "T-score [SD] over 15 years at the lumbar spine and femoral neck for one woman, with an aromatase "
        "inhibitor (AI) for years 0-5 and without endocrine therapy. Shaded: WHO zones; dashed: T = -1, -2, -2.5.",
        scenarios,
        trajs,
        keys,
    )
    return CaptionedFigure("ai_vs_natural", fig, caption)


def therapies_compared(
    labels: Mapping[str, str] | None = None, size: tuple[float, float] = SLIDE_INCHES
) -> CaptionedFigure:
    """T-score under natural loss, an AI, tamoxifen, and tamoxifen then an AI (same patient)."""
    text, plot_labels = split_labels(labels)
    size = check_size(size)
    names = ("natural_loss", "ai_withdrawal", "tamoxifen", "tamoxifen_then_ai")
    scenarios, trajs = _run(names)
    fig, axes = _figure(size, 1, 2, sharey=True)
    for ax, site in zip(axes[0], ("lumbar_spine", "total_hip"), strict=True):
        series = {text[f"scenario:{n}"]: t for n, t in zip(names, trajs, strict=True)}
        plot.plot_comparison(series, site, ax=ax, labels=plot_labels)
    _sharey_row(axes[0])
    keys = _sources(trajs)
    _finish(fig, text["therapies_title"], text, keys, "therapies_compared")
    caption = _caption(
        "T-score [SD] over 15 years at the lumbar spine and total hip for the same woman under four regimens: "
        "no endocrine therapy, an aromatase inhibitor (AI) for 5 years, tamoxifen for 5 years, and tamoxifen "
        "for 2.5 years followed by an AI for 2.5 years.",
        scenarios,
        trajs,
        keys,
    )
    return CaptionedFigure("therapies_compared", fig, caption)


def _protection_scenarios() -> tuple[list[Scenario], dict[str, float]]:
    """The AI-withdrawal patient on an AI alone and with each therapy of :data:`PROTECTION_THERAPIES`.

    Each therapy runs from baseline for the longest course in its calibrating trials (the parameter
    set's ``max_calibrated_years``, in whole years, at most the AI course), so that nothing is
    extrapolated; returns the scenarios and each therapy's course [years].
    """
    from .parameters import load_parameters
    from .regimen import Exposure, Regimen

    base = load_builtin_scenario("ai_withdrawal")
    params = load_parameters(base.params)
    ai = [e for e in base.regimen if e.agent == "aromatase_inhibitor"]
    ai_years = max(e.stop for e in ai)
    years = min(base.years, COHORT["years"])
    out = [
        dataclasses.replace(
            base,
            name="AI alone",
            description=f"{base.description.rsplit(', followed to year', 1)[0]}, followed to year {years:g}",
            years=years,
        )
    ]
    courses: dict[str, float] = {}
    for agent in PROTECTION_THERAPIES:
        course = min(float(math.floor(params.values[f"{agent}.max_calibrated_years"] + 1e-9)), ai_years)
        courses[agent] = course
        label = agent_display(agent).short_label
        out.append(
            dataclasses.replace(
                base,
                name=f"AI + {label}",
                description=f"The same woman on the AI with {label} for years 0-{course:g} (the longest course "
                f"in its calibrating trials, in whole years, at most the AI's), followed to year {years:g}",
                regimen=Regimen([*base.regimen, Exposure(agent, 0.0, course)]),
                years=years,
            )
        )
    return out, courses


def bone_protection(
    labels: Mapping[str, str] | None = None, size: tuple[float, float] = SLIDE_INCHES
) -> CaptionedFigure:
    """BMD change on an AI alone and with zoledronic acid, denosumab (then stopped) or an oral bisphosphonate."""
    from .parameters import load_parameters

    text, plot_labels = split_labels(labels)
    size = check_size(size)
    scenarios, courses = _protection_scenarios()
    trajs = [s.run() for s in scenarios]
    ai_years = max(e.stop for e in scenarios[0].regimen)
    legend = [text["regimen:ai"].format(years=ai_years)]
    legend += [text[f"regimen:ai+{a}"].format(years=courses[a]) for a in PROTECTION_THERAPIES]
    fig, axes = _figure(size, 1, 2, sharey=True)
    for ax, site in zip(axes[0], ("lumbar_spine", "total_hip"), strict=True):
        plot.plot_comparison(
            dict(zip(legend, trajs, strict=True)), site, kind="percent_change", ax=ax, labels=plot_labels
        )
    axes[0][1].set_ylabel("")
    keys = _sources(trajs)
    _finish(fig, text["protection_title"], text, keys, "bone_protection")
    params = load_parameters(scenarios[0].params)
    off = params.values["denosumab.offset_time_constant_years"]
    stop = courses["denosumab"]
    rows = []
    for site in ("lumbar_spine", "total_hip"):
        cells = [
            f"{name} {t.percent_change(site, 0.0, ai_years):+.1f} %" for name, t in zip(legend, trajs, strict=True)
        ]
        dmab = trajs[1 + PROTECTION_THERAPIES.index("denosumab")]
        rows.append(
            f"{site.replace('_', ' ')} at year {ai_years:g}: " + "; ".join(cells) + f"; with denosumab at its stop "
            f"(year {stop:g}) {dmab.percent_change(site, 0.0, stop):+.1f} %, one year later "
            f"{dmab.percent_change(site, 0.0, min(stop + 1.0, dmab.years)):+.1f} %"
        )
    caption = _caption(
        f"BMD change [%] from baseline over {trajs[0].years:g} years at the lumbar spine and total hip for one "
        "woman on an "
        f"aromatase inhibitor (AI) for years 0-{ai_years:g}, alone and with a bone-protective therapy from "
        "baseline: zoledronic acid (4 mg IV every 6 months), denosumab (60 mg SC every 6 months) and an oral "
        "bisphosphonate (weekly risedronate or monthly ibandronate), each for the longest course in its "
        "calibrating trials (in whole years, at most the AI's), so that nothing is extrapolated. The gain of a "
        "therapy wears off after it stops; denosumab's wears off with a "
        f"time constant of {off:.2f} years, so {100 * (1 - math.exp(-1.0 / off)):.0f} % of it is lost within a "
        f"year of stopping ({off * math.log(10):.1f} years for 90 %), while a bisphosphonate's gain lasts for "
        f"years (time constant {params.values['oral_bisphosphonate.offset_time_constant_years']:.1f} years). "
        "Values: " + ". ".join(rows) + ".",
        scenarios,
        trajs,
        keys,
    )
    return CaptionedFigure("bone_protection", fig, caption)


def brex_withdrawal(
    labels: Mapping[str, str] | None = None, size: tuple[float, float] = SLIDE_INCHES
) -> CaptionedFigure:
    """BMD change from year 5: the brex parameter set against the four published BREX numbers."""
    text, plot_labels = split_labels(labels)
    size = check_size(size)
    names = ("brex_withdrawal", "brex_no_withdrawal")
    scenarios, trajs = _run(names)
    target = _data.read_json("targets/brex_2024.json")
    arm_of = {"withdrawal": trajs[0], "no_withdrawal": trajs[1]}
    fig, axes = _figure(size, 1, 2, sharey=True)
    for ax, site in zip(axes[0], ("lumbar_spine", "femoral_neck"), strict=True):
        series = {text[f"scenario:{n}"]: t for n, t in zip(names, trajs, strict=True)}
        plot.plot_comparison(series, site, kind="percent_change", since=5.0, ax=ax, labels=plot_labels)
        for obs in target["observations"]:
            if obs["site"] != site:
                continue
            ax.plot(
                [obs["to_years"]],
                [obs["pct_change"]],
                marker="D",
                ms=8,
                ls="none",
                color=plot.regimen_style(arm_of[obs["arm"]])["color"],  # the arm's colour, as its line
                mec="0.2",
                mew=0.8,
                clip_on=False,
                zorder=5,
                label=text["brex_published"],
                gid=f"brex:{obs['id']}",
            )
    axes[0][1].set_ylabel("")
    keys = _sources(trajs, (target["citation"],))
    _finish(fig, text["brex_title"], text, keys, "brex_withdrawal")
    published = "; ".join(
        f"{o['site'].replace('_', ' ')} {o['arm'].replace('_', ' ')} {o['pct_change']:+.1f} %"
        for o in target["observations"]
    )
    brex_source = format_sources([target["citation"]])
    caption = _caption(
        "BMD change [%] from year 5 to year 10 at the lumbar spine and femoral neck after a 5-year aromatase "
        "inhibitor course is stopped at year 5, and without an AI in that window, simulated with the 'brex' "
        f"parameter set. Diamonds: the published BREX changes ({brex_source}): {published}. The 'brex' "
        "set was fitted to these four numbers, so this figure shows the fit, not an independent validation. "
        "Why 'without withdrawal' is simulated as natural loss: data/targets/brex_2024.json.",
        scenarios,
        trajs,
        keys,
    )
    return CaptionedFigure("brex_withdrawal", fig, caption)


def crossing_times(
    labels: Mapping[str, str] | None = None, size: tuple[float, float] = SLIDE_INCHES
) -> CaptionedFigure:
    """T-score per site with its exact crossings, and the first-crossing times, for the default scenario."""
    text, plot_labels = split_labels(labels)
    size = check_size(size)
    scenarios, trajs = _run(("ai_withdrawal",))
    traj = trajs[0]
    fig, axes = _figure(size, 1, 2, gridspec_kw={"width_ratios": [3, 2]})
    plot.plot_trajectory(traj, ax=axes[0][0], labels=plot_labels)
    plot.plot_crossing_times(traj, ax=axes[0][1], labels=plot_labels)
    keys = _sources(trajs)
    _finish(fig, text["crossings_title"], text, keys, "crossing_times")
    table = "; ".join(
        f"{site.replace('_', ' ')} T <= {thr:g}: "
        + ("at baseline" if t == 0 else "not reached" if not np.isfinite(t) else f"{t:.2f} y")
        for site, row in traj.crossing_table().items()
        for thr, t in row.items()
    )
    caption = _caption(
        "Left: T-score [SD] at each site over 15 years, with WHO zones, the thresholds -1.0, -2.0 and -2.5 "
        "(dashed) and each threshold crossing after baseline (one hollow marker shape per site). Right: the first "
        "time [years from baseline] at which each site's T-score is at or below each threshold (exact, by "
        f"root-finding on the closed-form model). Crossing times: {table}.",
        scenarios,
        trajs,
        keys,
    )
    return CaptionedFigure("crossing_times", fig, caption)


def _ai_regimen(years: float) -> Any:
    from .regimen import Exposure, Regimen

    return Regimen([Exposure("aromatase_inhibitor", 0.0, years)])


def _cohort_text(result: Any) -> str:
    pop = result.population
    return (
        f"Scenario: a simulated cohort on an AI. {result.n:,} women drawn with seed {result.seed} from the "
        f"population '{pop.name}' "
        "(bmdsim.cohort.default_population, data/cohort_default_population.json: age and baseline T-scores of "
        "women starting an AI, with the default between-woman spread of the loss), followed "
        f"{result.years:g} years."
    )


_COHORT_FILES = ("cohort_default_population.json", "between_patient_spread.json")


def calibrated_cohort(
    labels: Mapping[str, str] | None = None, size: tuple[float, float] = SLIDE_INCHES
) -> CaptionedFigure:
    """Share of a simulated cohort on an AI below -2.0 and -2.5 over time, with sampling and parameter bands."""
    import bmdsim

    text, plot_labels = split_labels(labels)
    size = check_size(size)
    result = bmdsim.simulate_cohort(
        COHORT["n"],
        _ai_regimen(COHORT["ai_years"]),
        COHORT["years"],
        COHORT["seed"],
        parameter_draws=COHORT["parameter_draws"],
    )
    sites, thresholds = ("lumbar_spine", "femoral_neck"), (-2.0, -2.5)
    fig, axes = _figure(size, 1, 2, sharey=True)
    for ax, site in zip(axes[0], sites, strict=True):
        plot.plot_fraction_crossed(result, site, thresholds=thresholds, ax=ax, labels=plot_labels)
        plot.draw_exposure_band(ax, plot.exposure_courses(result.regimen), result.years, text)
    axes[0][1].set_ylabel("")
    _fit_share_axis(axes[0])
    keys = _sources([result], (*_file_sources(*_COHORT_FILES),))
    _finish(fig, text["cohort_title"], text, keys, "calibrated_cohort")
    at = np.array([COHORT["ai_years"], COHORT["years"]])
    rows = []
    for site in sites:
        for thr in thresholds:
            f = result.fraction_below(site, thr, at)
            cells = ", ".join(
                f"year {t:g}: {100 * f['fraction'][i]:.1f} % (sampling {100 * f['low'][i]:.1f}-"
                f"{100 * f['high'][i]:.1f}; parameters {100 * f['param_low'][i]:.1f}-{100 * f['param_high'][i]:.1f})"
                for i, t in enumerate(at)
            )
            rows.append(f"{site.replace('_', ' ')} T <= {thr:g}: {cells}")
    caption = _caption(
        f"Per cent of {result.n:,} simulated women on an aromatase inhibitor for years 0-{COHORT['ai_years']:g} "
        "whose T-score has reached -2.0 and -2.5 by each time (first crossing; a woman keeps counting if her "
        "T-score later recovers), at the lumbar spine and femoral neck. Shaded: 95 % Wilson interval for a "
        f"cohort of this size (sampling only). Hatched: 2.5th-97.5th percentile across {COHORT['parameter_draws']} "
        "calibration draws of the parameter set simulated on the same women (parameter uncertainty: the set "
        "refitted to re-drawn published targets, data/parameter_draws and data/calibration_uncertainty.json; "
        f"not the model's structure). Values: {'; '.join(rows)}.",
        [_cohort_text(result)],
        [result],
        keys,
    )
    return CaptionedFigure("calibrated_cohort", fig, caption)


def fracture_risk(labels: Mapping[str, str] | None = None, size: tuple[float, float] = SLIDE_INCHES) -> CaptionedFigure:
    """Relative hip and vertebral fracture risk of a cohort on an AI, with and without zoledronic acid."""
    import bmdsim

    from .fracture import cohort_relative_risk
    from .regimen import Exposure, Regimen

    text, plot_labels = split_labels(labels)
    size = check_size(size)
    ai_years, years = COHORT["ai_years"], COHORT["years"]
    ai = _ai_regimen(ai_years)
    regimens = {
        text["regimen:ai"].format(years=ai_years): ai,
        text["regimen:ai+zoledronic_acid"].format(years=ai_years): Regimen(
            [*ai, Exposure("zoledronic_acid", 0.0, ai_years)]
        ),
    }
    cohorts = {k: bmdsim.simulate_cohort(COHORT["n"], r, years, COHORT["seed"]) for k, r in regimens.items()}
    times = np.linspace(0.0, years, int(round(4 * years)) + 1)  # every 3 months
    outcomes = (("hip", "femoral_neck"), ("vertebral", "lumbar_spine"))
    fig, axes = _figure(size, 1, 2, sharey=True)
    risks = {}
    for ax, (outcome, site) in zip(axes[0], outcomes, strict=True):
        risks[outcome] = {k: cohort_relative_risk(c, site, times, outcome) for k, c in cohorts.items()}
        plot.plot_relative_risk(risks[outcome], ax=ax, labels=plot_labels, styles=regimens, note=False)
        plot.draw_exposure_band(ax, plot.exposure_courses(ai), years, text)
    axes[0][1].set_ylabel("")
    keys = _sources(list(cohorts.values()), (*_file_sources("fracture_risk.json", *_COHORT_FILES),))
    _finish(fig, text["fracture_title"], text, keys, "fracture_risk")
    rows = []
    for outcome, site in outcomes:
        for name, r in risks[outcome].items():
            cells = ", ".join(
                f"year {t:g}: {r['relative_incidence'][i]:.2f} "
                f"({min(r['relative_incidence_ci'][:, i]):.2f}-{max(r['relative_incidence_ci'][:, i]):.2f})"
                for i, t in enumerate(times)
                if t in (ai_years, years)
            )
            rows.append(f"{outcome} ({site.replace('_', ' ')} BMD), {name}: {cells}")
    g = {o: r for o, r in ((o, next(iter(risks[o].values()))) for o, _ in outcomes)}
    caption = _caption(
        f"Expected fractures relative to the same women at their baseline BMD [ratio], over {years:g} years, for hip "
        "fractures (from femoral-neck BMD) and vertebral fractures (from lumbar-spine BMD), in a simulated "
        f"cohort on an aromatase inhibitor (AI) for years 0-{ai_years:g}, alone and with zoledronic acid for the "
        "same 5 years (the same women). Risk per SD of BMD lost (Marshall 1996): "
        + "; ".join(
            f"{o} x{g[o]['gradient']:g} (95 % CI {g[o]['gradient_ci'][0]:g}-{g[o]['gradient_ci'][1]:g})" for o in g
        )
        + "; the band uses the CI's ends. Relative risk from BMD alone: not FRAX, not an absolute risk; "
        f"the AI's own fracture risk beyond its BMD loss is not added. Values: {'; '.join(rows)}.",
        [_cohort_text(next(iter(cohorts.values())))],
        list(cohorts.values()),
        keys,
    )
    return CaptionedFigure("fracture_risk", fig, caption)


def fracture_incidence(
    labels: Mapping[str, str] | None = None, size: tuple[float, float] = SLIDE_INCHES
) -> CaptionedFigure:
    """Absolute cumulative fracture incidence per 1,000 women on an AI, alone and with zoledronic acid or denosumab."""
    import bmdsim

    from .fracture_incidence import cohort_incidence, compare_incidence
    from .plot_fracture import plot_cumulative_incidence
    from .regimen import Exposure, Regimen

    text, plot_labels = split_labels(labels)
    size = check_size(size)
    ai_years, years = COHORT["ai_years"], COHORT["years"]
    dmab_years = float(bmdsim.load_parameters().values["denosumab.max_calibrated_years"])
    ai = _ai_regimen(ai_years)
    regimens = {
        text["regimen:ai"].format(years=ai_years): ai,
        text["regimen:ai+zoledronic_acid"].format(years=ai_years): Regimen(
            [*ai, Exposure("zoledronic_acid", 0.0, ai_years)]
        ),
        # denosumab for its calibrated course (ABCSG-18's 3 years), then stopped: its gain is lost within a year
        text["regimen:ai+denosumab"].format(years=dmab_years): Regimen([*ai, Exposure("denosumab", 0.0, dmab_years)]),
    }
    cohorts = {k: bmdsim.simulate_cohort(COHORT["n"], r, years, COHORT["seed"]) for k, r in regimens.items()}
    times = np.linspace(0.0, years, int(round(4 * years)) + 1)  # every 3 months
    shown = ("hip", "any_clinical")
    names = {o: text[f"fracture_incidence:{o}"].lower() for o in shown}
    results = {k: cohort_incidence(c, times, outcomes=shown) for k, c in cohorts.items()}
    fig, axes = _figure(size, 1, 2)
    for ax, outcome in zip(axes[0], shown, strict=True):
        plot_cumulative_incidence(results, outcome, ax=ax, band="gradient", styles=regimens)
        ax.set_title(text[f"fracture_incidence:{outcome}"])
    keys = _sources(list(cohorts.values()), (*_file_sources("fracture_incidence.json", *_COHORT_FILES),))
    _finish(fig, text["fracture_incidence_title"], text, keys, "fracture_incidence")
    control = next(iter(cohorts.values()))
    rows = []
    for name, res in results.items():
        cells = "; ".join(f"{names[o]} {res['per_1000'][o][-1]:.0f}" for o in shown)
        line = f"{name}: {cells} per 1,000 by year {years:g}"
        if cohorts[name] is not control:
            nnt = compare_incidence(control, cohorts[name], [years], outcomes=shown)["nnt"]
            line += " (number needed to treat: " + "; ".join(f"{names[o]} {nnt[o][-1]:.0f}" for o in shown) + ")"
        rows.append(line)
    caption = _caption(
        f"Cumulative incidence of a first hip fracture and of any clinical fracture per 1,000 women over {years:g} "
        f"years, in simulated cohorts (the same women) on an aromatase inhibitor (AI) for years 0-{ai_years:g}, "
        f"alone, with zoledronic acid for the same years, or with denosumab for {dmab_years:g} years (its "
        "calibrated course), then stopped; death competes. Age-specific baseline "
        "rates move with each woman's simulated T-score through the BMD gradient; the band uses the ends of the "
        "gradient's 95 % CI. The drugs act only through BMD here, so fractures prevented are a lower bound of what "
        "the trials show (denosumab's trial hazard ratio for clinical fractures was 0.50). Not FRAX: no falls or "
        f"clinical risk factors. Values: {'. '.join(rows)}.",
        [_cohort_text(control)],
        list(cohorts.values()),
        keys,
    )
    return CaptionedFigure("fracture_incidence", fig, caption)


def monitoring_policies(
    labels: Mapping[str, str] | None = None, size: tuple[float, float] = SLIDE_INCHES
) -> CaptionedFigure:
    """Monitoring policies on the same women: time below -2.5, women treated and scans per woman."""
    import bmdsim

    from .cohort import default_population
    from .parameters import DEFAULT_PARAMETER_SET, resolve_parameters
    from .policy import OSTEOPOROSIS_T_SCORE, hadji_2017
    from .reference import load_reference
    from .regimen import Exposure, Regimen
    from .spread import default_variability

    text, plot_labels = split_labels(labels)
    size = check_size(size)
    rule = hadji_2017()
    ai_years, years = COHORT["ai_years"], COHORT["years"]
    agent = "zoledronic_acid"
    scan = text["policy:scan"]
    thresholds = {"threshold": rule.threshold_by_count[0], "older": rule.threshold_by_count[1], "age": rule.age_above}

    def policy(key: str, name: str, **kw: Any) -> Any:
        try:
            return bmdsim.Policy(name, agent=agent, **kw)
        except ValueError as exc:  # a translated name too long or blank for a policy
            raise ValueError(f"labels[{key!r}]: {exc}") from None

    policies = [
        policy("policy:none", text["policy:none"], rule="none", scan_interval=None),
        *(
            policy("policy:scan", scan.format(interval=every, **thresholds), scan_interval=every)
            for every in sorted(set(rule.monitoring_interval), reverse=True)
        ),
        policy("policy:treat_all", text["policy:treat_all"], rule="treat_all", scan_interval=None),
    ]
    names = [p.name for p in policies]
    if len(set(names)) != len(names):
        raise ValueError("labels['policy:none'], labels['policy:scan'] and labels['policy:treat_all'] must differ")
    population = default_population()
    site = "femoral_neck"
    table = bmdsim.compare_policies(
        policies,
        population,
        _ai_regimen(ai_years),
        years,
        n=COHORT["n"],
        seed=COHORT["seed"],
        variability=default_variability(population.sites),
        site=site,
        threshold=OSTEOPOROSIS_T_SCORE,
    )
    styles = {p.name: "ai" if p.rule == "none" else f"ai+{p.agent}" for p in policies}
    axis = text["policy_below_axis"].format(site=text[site].lower(), threshold=OSTEOPOROSIS_T_SCORE)
    columns = ("fraction_patient_years_below", "fraction_treated", "scans_per_patient")
    fig, axes = _figure(size, 1, len(columns), sharey=True)
    for ax, column in zip(axes[0], columns, strict=True):
        extra = {"policy:fraction_patient_years_below": axis} if column == "fraction_patient_years_below" else {}
        plot.plot_policy_comparison(table, column, ax=ax, labels=plot_labels | extra, styles=styles)
    params = resolve_parameters(DEFAULT_PARAMETER_SET)
    therapy = Regimen([*_ai_regimen(ai_years), Exposure(agent, 0.0, 1.0)])
    keys = _model_keys(params, therapy, population.sites, load_reference())
    keys += [k for k in _file_sources("guidelines.json", "dxa_precision.json", *_COHORT_FILES) if k not in keys]
    _finish(fig, text["policies_title"], text, keys, "monitoring_policies")
    rows = [
        f"{name}: {100 * below:.2f} % of patient-years at or below T = {OSTEOPOROSIS_T_SCORE:g}, "
        f"{100 * treated:.1f} % treated ({100 * fp:.1f} % on a falsely low scan), {scans} scans per woman"
        for name, below, treated, fp, scans in zip(
            table["policy"],
            table["fraction_patient_years_below"],
            table["fraction_treated"],
            table["fraction_false_positive"],
            table["scans_per_patient"],
            strict=True,
        )
    ]
    caption = _caption(
        f"Monitoring and treatment policies applied to the same {COHORT['n']:,} simulated women on an aromatase "
        f"inhibitor (AI) for years 0-{ai_years:g}, followed {years:g} years (bmdsim.compare_policies). Left: "
        f"share of patient-years with the {text[site].lower()} T-score at or below {OSTEOPOROSIS_T_SCORE:g}; "
        "middle: women given zoledronic acid (5 years from the scan that triggers it); right: DXA scans per "
        "woman. The scanning policies follow the Hadji 2017 position statement: therapy from the first scan "
        f"showing T <= {rule.threshold_by_count[0]:g} at any site, or T <= {rule.threshold_by_count[1]:g} with "
        f"one risk factor (here only age over {rule.age_above:g}; no other risk factors simulated), or at "
        f"baseline with {rule.treat_all_count} or more; scans show the true BMD with the shipped DXA precision "
        f"error, so some women are treated on a falsely low scan. Values: {'; '.join(rows)}.",
        [
            f"Scenario: monitoring policies on a simulated cohort. {COHORT['n']:,} women drawn with seed "
            f"{COHORT['seed']} from the population '{population.name}' (data/cohort_default_population.json), with "
            "the default between-woman spread of the loss: the same women as in the cohort figures."
        ],
        [SimpleNamespace(params=params)],
        keys,
    )
    return CaptionedFigure("monitoring_policies", fig, caption)


def illustrative_group(
    labels: Mapping[str, str] | None = None, size: tuple[float, float] = SLIDE_INCHES
) -> CaptionedFigure:
    """Share of a seeded synthetic group who have reached each threshold over time (illustrative)."""
    text, plot_labels = split_labels(labels)
    size = check_size(size)
    scenarios, trajs = _run(("illustrative_group",))
    traj = trajs[0]
    fig, axes = _figure(size, 1, 2, sharey=True)
    for ax, site in zip(axes[0], traj.sites, strict=True):
        plot.plot_fraction_crossed(traj, site, thresholds=(-2.0, -2.5), ax=ax, labels=plot_labels)
        plot.draw_exposure_band(ax, plot.exposure_courses(traj), traj.years, text)
    axes[0][1].set_ylabel("")
    _fit_share_axis(axes[0])
    keys = _sources(trajs)
    # The warning goes under the title, where it is read first; the footer stays one line.
    _finish(fig, text["group_title"] + "\n" + text["illustrative_note"], text, keys, "illustrative_group")
    spec = scenarios[0].cohort
    caption = _caption(
        f"Per cent of {traj.patient.n} synthetic women whose T-score has reached -2.0 and -2.5 by each time "
        "(first crossing; a woman keeps counting if her T-score later recovers), at the lumbar spine and "
        "femoral neck, on an aromatase inhibitor for years 0-5. Bands: 95 % Wilson interval for a group of "
        "this size (sampling only, not model uncertainty).",
        scenarios,
        trajs,
        keys,
        note=(
            "ILLUSTRATIVE, NOT A CALIBRATED POPULATION: ages and baseline T-scores are drawn with seed "
            f"{spec['seed']} from normal distributions whose parameters are display inputs "
            "(data/scenarios/illustrative_group.toml, section [cohort]), not taken from any study."
        ),
    )
    return CaptionedFigure("illustrative_group", fig, caption)


#: The educator figure set, in lecture order: file stem -> builder.
EDUCATOR_FIGURES: dict[str, Callable[..., CaptionedFigure]] = {
    "ai_vs_natural": ai_vs_natural,
    "therapies_compared": therapies_compared,
    "bone_protection": bone_protection,
    "brex_withdrawal": brex_withdrawal,
    "crossing_times": crossing_times,
    "calibrated_cohort": calibrated_cohort,
    "fracture_risk": fracture_risk,
    "fracture_incidence": fracture_incidence,
    "monitoring_policies": monitoring_policies,
    "illustrative_group": illustrative_group,
}


def check_names(names: object) -> tuple[str, ...]:
    """Names of educator figures: one name or a non-empty sequence of names from :data:`EDUCATOR_FIGURES`."""
    valid = ", ".join(EDUCATOR_FIGURES)
    if names is None:
        return tuple(EDUCATOR_FIGURES)
    if isinstance(names, str):
        names = (names,)
    elif isinstance(names, (bytes, Mapping)) or not isinstance(names, Iterable):
        raise TypeError(f"names must be a figure name or a sequence of them ({valid}), got {_show(names)}")
    # one more than there are figures: enough to find a repeat, and an endless iterator cannot hang
    too_many = f"names must name each figure at most once; valid figures are: {valid}"
    out = tuple(bounded_items(names, len(EDUCATOR_FIGURES) + 1, too_many))
    if not out:
        raise ValueError(f"names must name at least one figure; valid figures are: {valid}")
    for name in out:
        if not isinstance(name, str):
            raise TypeError(f"names must hold figure names (strings), got {_show(name)}")
        if name not in EDUCATOR_FIGURES:
            raise ValueError(f"unknown figure {name!r} in names; valid figures are: {valid}")
    repeated = [n for i, n in enumerate(out) if n in out[:i]]
    if repeated:
        raise ValueError(f"names must name each figure once, got {repeated[0]!r} twice")
    return out


def educator_figures(
    labels: Mapping[str, str] | None = None,
    rc: Mapping[str, Any] | None = None,
    scale: float = 1.0,
    names: tuple[str, ...] | None = None,
) -> list[CaptionedFigure]:
    """Build the educator figure set.

    Parameters
    ----------
    labels : mapping, optional
        Text overrides (another wording or language): keys of
        :data:`bmdsim.plot.LABELS`, site and agent names, and :data:`FIGURE_LABELS`.
    rc : mapping, optional
        matplotlib rcParams on top of :data:`bmdsim.plot.HOUSE_STYLE`.
    scale : float
        Multiplies every figure's size (inches), in :data:`SCALE_RANGE`; fonts keep their point size.
    names : str or sequence of str, optional
        A subset of :data:`EDUCATOR_FIGURES`, each once (one name may be given
        as a string); all by default.

    Returns
    -------
    list of CaptionedFigure
        Close them (``plt.close(f.figure)``) when done.

    Raises
    ------
    TypeError, ValueError
        For any bad argument, naming it, before anything is drawn.
    """
    import inspect

    names = check_names(names)
    split_labels(labels)  # check label keys and texts before drawing anything
    scale = as_finite_float("scale", scale)
    check_range("scale", np.array(scale), *SCALE_RANGE)
    rc = plot.check_rc(rc)
    out: list[CaptionedFigure] = []
    try:
        with plot.house_style(rc):
            for name in names:
                builder = EDUCATOR_FIGURES[name]
                default = inspect.signature(builder).parameters["size"].default
                out.append(builder(labels=labels, size=(default[0] * scale, default[1] * scale)))
    except BaseException:
        for f in out:  # no half set left open
            _close(f.figure)
        raise
    return out


def scenario_figures(
    scenario: Scenario,
    traj: Trajectory | None = None,
    labels: Mapping[str, str] | None = None,
    stem: str | None = None,
) -> list[CaptionedFigure]:
    """Draw the figures a scenario asks for (``[output] figures``), with captions.

    Trajectory and crossing figures show the first patient of a many-patient
    scenario; ``fraction_crossed`` draws one panel per site. Figure names are
    ``<stem>_<kind>``; ``stem`` defaults to the scenario's name made file-safe.

    Parameters
    ----------
    scenario : Scenario
    traj : Trajectory, optional
        The scenario's simulation, if already run.
    labels : mapping, optional
        Text overrides, as for :func:`educator_figures`.
    stem : str, optional
        File name stem, a plain file name (see
        :func:`bmdsim.export.check_file_name`).

    Returns
    -------
    list of CaptionedFigure

    Raises
    ------
    TypeError, ValueError
        For any bad argument, naming it, before anything is drawn.
    """
    from .export import check_file_name

    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a bmdsim.scenario.Scenario, got {type(scenario).__name__}")
    if traj is not None and not isinstance(traj, Trajectory):
        raise TypeError(f"traj must be a bmdsim.Trajectory or None, got {type(traj).__name__}")
    if stem is not None:
        check_file_name("stem", stem)
    plot.check_drawable_text("scenario name", scenario.name, max_chars=1000)
    split_labels(labels)
    traj = scenario.run() if traj is None else traj
    text, plot_labels = split_labels(labels)
    keys = _sources([traj])
    if stem is None:
        stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in scenario.name.lower()).strip("_") or "scenario"
    who = "the first patient of the group" if traj.patient.n > 1 else "the patient"
    note = text["illustrative_note"] if scenario.illustrative else ""
    # Each figure is made taller by its one-line footer and, for an illustrative group, the note under its title.
    room = plot.footnote_inches("x", 9.0, fontsize=_FOOTER_POINTS) + 0.4 + (0.3 if note else 0.0)
    sites = len(traj.sites)
    out: list[CaptionedFigure] = []
    fig = None
    try:
        with plot.house_style():
            for kind in scenario.figures:
                if kind == "trajectory":
                    fig, axes = _figure((9.0, 5.0 + room))
                    plot.plot_trajectory(traj, thresholds=scenario.thresholds, ax=axes[0][0], labels=plot_labels)
                    what = (
                        f"T-score [SD] over time at each site for {who}, with WHO zones and exact threshold crossings."
                    )
                elif kind == "crossings":
                    fig, axes = _figure((9.0, 1.8 + 0.9 * len(traj.sites) + room))
                    plot.plot_crossing_times(traj, thresholds=scenario.thresholds, ax=axes[0][0], labels=plot_labels)
                    what = f"First time [years] at which each site's T-score reaches each threshold, for {who}."
                elif kind == "regimen":
                    fig, axes = _figure((9.0, 1.2 + 0.45 * max(len(traj.regimen), 1) + room))
                    plot.plot_regimen(traj, ax=axes[0][0], labels=plot_labels)
                    what = "The regimen: which agent is taken when."
                else:  # fraction_crossed
                    width = max(4.5 * sites, 6.0)
                    fig, axes = _figure((width, 4.5 + room), 1, sites, sharey=True)
                    for ax, site in zip(axes[0], traj.sites, strict=True):
                        plot.plot_fraction_crossed(
                            traj, site, thresholds=scenario.thresholds, ax=ax, labels=plot_labels
                        )
                    what = (
                        f"Per cent of the {traj.patient.n} patients whose T-score has reached each threshold "
                        "by each time."
                    )
                for ax in axes[0][1:]:
                    ax.set_ylabel("")
                title = scenario.name + ("\n" + note if note else "")
                # a name is plain text, whatever its $ signs
                _finish(fig, title, text, keys, f"{stem}_{kind}", parse_math=False)
                caption = _caption(what, [scenario], [traj], keys, note=note)
                out.append(CaptionedFigure(f"{stem}_{kind}", fig, caption))
    except BaseException:
        for f in out:  # no half set left open
            _close(f.figure)
        if fig is not None:
            _close(fig)
        raise
    return out


def write_figures(
    figures: Sequence[CaptionedFigure],
    out: str | os.PathLike[str],
    formats: Sequence[str] = ("png", "svg", "pdf"),
    dpi: float = 300.0,
    manifest: str = FIGURES_MANIFEST,
    close: bool = True,
) -> list[Path]:
    """Render figures with their captions and write them, with a manifest last.

    Parameters
    ----------
    figures : sequence of CaptionedFigure
        From :func:`educator_figures` or :func:`scenario_figures`; names must be
        file names (:func:`bmdsim.export.check_file_name`), each used once.
    out : path
        Output folder, created if missing; other files in it are left alone.
    formats : sequence of {"png", "svg", "pdf"}
        See :func:`bmdsim.export.check_formats`.
    dpi : float
        PNG resolution [dots per inch], in :data:`bmdsim.export.DPI_RANGE`;
        each figure's raster must fit in :data:`bmdsim.limits.MAX_ARRAY_BYTES`.
    manifest : str
        Name of the manifest file, :data:`FIGURES_MANIFEST` by default.
    close : bool
        Close each matplotlib figure once it is rendered (all of them also if
        rendering or writing fails; none if an argument is refused).

    Returns
    -------
    list of Path
        ``<name>.<format>`` and ``<name>.txt`` for each figure, the manifest last.

    Notes
    -----
    Every argument is checked first, then every file is rendered in memory
    (bytes reproducible across processes and subsets, see
    :func:`bmdsim.export.figure_bytes`), and only then is anything written,
    by :func:`bmdsim.export.write_file_set`: the old manifest is removed, each
    file is written to a temporary file and moved into place, and the manifest
    (``sha256sum`` format: one ``<sha256>  <file>`` line per file) is written
    last. A folder with the manifest holds a complete set; one without it was
    interrupted (Ctrl-C, a full disk) and may hold a mix of old and new files.
    An interruption while rendering writes nothing and leaves an old set and its
    manifest as they were. Check with ``sha256sum -c figures.sha256`` in the
    folder or with :func:`bmdsim.export.verify_file_set`.
    """
    from .export import check_figure, check_file_name, check_folder, check_formats, figure_bytes, write_file_set

    out = check_folder("out", out)
    formats = check_formats(formats)
    if isinstance(figures, CaptionedFigure) or not isinstance(figures, Sequence) or not figures:
        raise TypeError("figures must be a non-empty sequence of CaptionedFigure (from educator_figures)")
    close = plot.check_flag("close", close)
    check_file_name("manifest", manifest)
    names: list[str] = []
    for f in figures:
        if not isinstance(f, CaptionedFigure):
            raise TypeError(f"figures must hold CaptionedFigure objects, got {type(f).__name__}")
        check_file_name("figure name", f.name)
        if f.name in names:
            raise ValueError(f"figure name {f.name!r} appears twice; each figure needs its own name")
        names.append(f.name)
        plot.check_drawable_text(f"caption of {f.name}", f.caption)
        dpi = check_figure(f.figure, dpi, name=f"figure {f.name}")
    files: dict[str, bytes] = {}
    try:
        for f in figures:
            for fmt in formats:
                files[f"{f.name}.{fmt}"] = figure_bytes(f.figure, fmt, dpi=dpi)
            files[f"{f.name}.txt"] = (f.caption.rstrip() + "\n").encode("utf-8")
            if close:
                _close(f.figure)
    finally:
        if close:
            for f in figures:
                _close(f.figure)
    return write_file_set(out, files, manifest=manifest)


def _close(fig: Any) -> None:
    import matplotlib.pyplot as plt

    plt.close(fig)
