"""Figure sets with captions: the educator set and the figures a scenario asks for.

:func:`educator_figures` builds the standard teaching figures from the
built-in scenarios (``data/scenarios/*.toml``); :func:`scenario_figures` draws
the figures listed in a scenario's ``[output] figures``. Each comes back as a
:class:`CaptionedFigure` (name, matplotlib figure, caption), ready for
:func:`bmdsim.export.export_figure`. Sources in footnotes and captions are
read from the parameter sets, the young-adult reference and
``data/citations.json``, never written here.

To add a figure to the educator set, write a function
``(labels, size) -> CaptionedFigure`` and add it to :data:`EDUCATOR_FIGURES`.

:func:`write_figures` renders a set and writes it with a manifest, last, so an
interrupted write is recognisable; every argument is checked before anything
is drawn (a :class:`TypeError` or :class:`ValueError` naming it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import _data, plot
from ._validation import _show, as_finite_float, check_range
from .scenario import Scenario, load_builtin_scenario
from .simulation import Trajectory
from .summary import citation_keys, format_sources

#: Range of :func:`educator_figures`' ``scale`` [multiple of each figure's default size], the same as
#: ``bmdsim figures --scale``: below 0.75 the fixed-size text and the source notes no longer fit (at
#: 0.5 the footnotes take more than half of each figure, at 0.25 the layout fails); at 10 a figure
#: is 100 inches wide, the largest :data:`bmdsim.plot.FIGURE_INCHES` allows.
SCALE_RANGE: tuple[float, float] = (0.75, 10.0)

#: Name of the manifest :func:`write_figures` writes last into the output folder.
FIGURES_MANIFEST = "figures.sha256"

#: Texts of the educator figures (titles, legend names); override with ``labels={...}``.
FIGURE_LABELS: dict[str, str] = {
    "sources_prefix": "Sources: ",
    "ai_vs_natural_title": "An aromatase inhibitor speeds up bone loss; part of it comes back after stopping",
    "therapies_title": "T-score under different endocrine therapies (same patient)",
    "brex_title": "After the AI stops: model (brex parameter set) against the published BREX changes",
    "brex_published": "BREX, published (years 5-10)",
    "crossings_title": "When does each site first reach each threshold? (AI for 5 years, then stopped)",
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
}


@dataclass
class CaptionedFigure:
    """A figure with a file name stem and a caption.

    Attributes
    ----------
    name : str
        File name stem, e.g. ``"ai_vs_natural"``.
    figure : matplotlib Figure
    caption : str
        What the figure shows, the scenario and the sources (plain text).
    """

    name: str
    figure: Any
    caption: str


def _split_labels(labels: Mapping[str, str] | None) -> tuple[dict[str, str], dict[str, str]]:
    """(all texts, the plot-function subset) with ``labels`` applied.

    Raises :class:`bmdsim.plot.LabelKeyError` (a KeyError and a ValueError) for
    an unknown key, and TypeError or ValueError for a value that is not a
    drawable text (see :func:`bmdsim.plot.check_label`).
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
    theirs = {k: plot.check_label(k, v) for k, v in (labels or {}).items() if k in figure_keys}
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


def _footnote(fig: Any, note: str, keys: tuple[str, ...]) -> None:
    """:func:`bmdsim.plot.add_footnote`; a note too long names the labels it is made of (and closes the figure)."""
    try:
        plot.add_footnote(fig, note)
    except ValueError as exc:
        _close(fig)
        made_of = ", ".join(f"labels[{k!r}]" for k in keys)
        raise ValueError(f"{exc} (the footnote is {made_of} and the sources: shorten them or raise scale)") from None


def _sources(trajs: list[Trajectory], extra: tuple[str, ...] = ()) -> str:
    keys: list[str] = []
    for traj in trajs:
        keys += [k for k in citation_keys(traj) if k not in keys]
    keys += [k for k in extra if k not in keys]
    return format_sources(keys)


def _params_line(trajs: list[Trajectory]) -> str:
    seen = dict.fromkeys((t.params.name, t.params.title) for t in trajs)
    sets = "; ".join(f"parameter set '{n}' ({title})" for n, title in seen)
    ranges = " ".join(dict.fromkeys(t.params.validated_range for t in trajs))
    return f"Model: {sets}. Validated range: {ranges}"


def _caption(what: str, scenarios: list[Scenario], trajs: list[Trajectory], sources: str, note: str = "") -> str:
    lines = [what, ""]
    lines += [f"Scenario: {s.name}. {s.description}." for s in scenarios]
    lines += ["", _params_line(trajs)]
    if note:
        lines += ["", note]
    lines += ["", f"Sources: {sources}."]
    return "\n".join(lines)


def _run(names: tuple[str, ...]) -> tuple[list[Scenario], list[Trajectory]]:
    scenarios = [load_builtin_scenario(n) for n in names]
    return scenarios, [s.run() for s in scenarios]


def ai_vs_natural(labels: Mapping[str, str] | None = None, size: tuple[float, float] = (10.0, 4.8)) -> CaptionedFigure:
    """T-score at the spine and femoral neck: 5 years of an AI, then stopped, against natural loss alone."""
    text, plot_labels = _split_labels(labels)
    size = check_size(size)
    names = ("ai_withdrawal", "natural_loss")
    scenarios, trajs = _run(names)
    fig, axes = _figure(size, 1, 2, sharey=True)
    for ax, site in zip(axes[0], ("lumbar_spine", "femoral_neck"), strict=True):
        series = {text[f"scenario:{n}"]: t for n, t in zip(names, trajs, strict=True)}
        plot.plot_comparison(series, site, ax=ax, labels=plot_labels)
        plot._exposure_band(ax, plot._courses(trajs[0]), trajs[0].years, text)
    axes[0][1].set_ylabel("")
    fig.suptitle(text["ai_vs_natural_title"])
    sources = _sources(trajs)
    _footnote(fig, text["sources_prefix"] + sources, ("sources_prefix",))
    caption = _caption(
        "T-score [SD] over 15 years at the lumbar spine and femoral neck for one woman, with an aromatase "
        "inhibitor (AI) for years 0-5 and without endocrine therapy. Shaded: WHO zones; dashed: T = -1, -2, -2.5.",
        scenarios,
        trajs,
        sources,
    )
    return CaptionedFigure("ai_vs_natural", fig, caption)


def therapies_compared(
    labels: Mapping[str, str] | None = None, size: tuple[float, float] = (10.0, 4.8)
) -> CaptionedFigure:
    """T-score under natural loss, an AI, tamoxifen, and tamoxifen then an AI (same patient)."""
    text, plot_labels = _split_labels(labels)
    size = check_size(size)
    names = ("natural_loss", "ai_withdrawal", "tamoxifen", "tamoxifen_then_ai")
    scenarios, trajs = _run(names)
    fig, axes = _figure(size, 1, 2, sharey=True)
    for ax, site in zip(axes[0], ("lumbar_spine", "total_hip"), strict=True):
        series = {text[f"scenario:{n}"]: t for n, t in zip(names, trajs, strict=True)}
        plot.plot_comparison(series, site, ax=ax, labels=plot_labels)
    axes[0][1].set_ylabel("")
    axes[0][1].get_legend().remove()
    fig.suptitle(text["therapies_title"])
    sources = _sources(trajs)
    _footnote(fig, text["sources_prefix"] + sources, ("sources_prefix",))
    caption = _caption(
        "T-score [SD] over 15 years at the lumbar spine and total hip for the same woman under four regimens: "
        "no endocrine therapy, an aromatase inhibitor (AI) for 5 years, tamoxifen for 5 years, and tamoxifen "
        "for 2.5 years followed by an AI for 2.5 years.",
        scenarios,
        trajs,
        sources,
    )
    return CaptionedFigure("therapies_compared", fig, caption)


def brex_withdrawal(
    labels: Mapping[str, str] | None = None, size: tuple[float, float] = (10.0, 4.5)
) -> CaptionedFigure:
    """BMD change from year 5: the brex parameter set against the four published BREX numbers."""
    text, plot_labels = _split_labels(labels)
    size = check_size(size)
    names = ("brex_withdrawal", "brex_no_withdrawal")
    scenarios, trajs = _run(names)
    target = _data.read_json("targets/brex_2024.json")
    arm_of = {"withdrawal": 0, "no_withdrawal": 1}
    fig, axes = _figure(size, 1, 2, sharey=True)
    for ax, site in zip(axes[0], ("lumbar_spine", "femoral_neck"), strict=True):
        series = {text[f"scenario:{n}"]: t for n, t in zip(names, trajs, strict=True)}
        plot.plot_comparison(series, site, kind="percent_change", since=5.0, ax=ax, labels=plot_labels)
        first = True
        for obs in target["observations"]:
            if obs["site"] != site:
                continue
            k = arm_of[obs["arm"]]
            ax.plot(
                [obs["to_years"]],
                [obs["pct_change"]],
                marker="D",
                ms=8,
                ls="none",
                color=plot.SERIES_COLOURS[k],
                mec="white",
                mew=1.0,
                clip_on=False,
                zorder=5,
                label=text["brex_published"] if first else None,
                gid=f"brex:{obs['id']}",
            )
            first = False
        ax.legend(loc="lower left", frameon=True)
    axes[0][1].set_ylabel("")
    fig.suptitle(text["brex_title"])
    sources = _sources(trajs, (target["citation"],))
    _footnote(fig, text["sources_prefix"] + sources, ("sources_prefix",))
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
        sources,
    )
    return CaptionedFigure("brex_withdrawal", fig, caption)


def crossing_times(labels: Mapping[str, str] | None = None, size: tuple[float, float] = (10.0, 5.0)) -> CaptionedFigure:
    """Regimen strip and first-crossing times per site and threshold, for the default scenario."""
    text, plot_labels = _split_labels(labels)
    size = check_size(size)
    scenarios, trajs = _run(("ai_withdrawal",))
    traj = trajs[0]
    fig, axes = _figure(size, 2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 4]})
    plot.plot_regimen(traj, ax=axes[0][0], labels=plot_labels)
    axes[0][0].set_xlabel("")
    plot.plot_crossing_times(traj, ax=axes[1][0], labels=plot_labels)
    fig.suptitle(text["crossings_title"])
    sources = _sources(trajs)
    _footnote(fig, text["sources_prefix"] + sources, ("sources_prefix",))
    table = "; ".join(
        f"{site.replace('_', ' ')} T <= {thr:g}: "
        + ("at baseline" if t == 0 else "not reached" if not np.isfinite(t) else f"{t:.2f} y")
        for site, row in traj.crossing_table().items()
        for thr, t in row.items()
    )
    caption = _caption(
        "First time [years from baseline] at which each site's T-score is at or below -1.0, -2.0 and -2.5 "
        "(exact, by root-finding on the closed-form model), with the regimen above. "
        f"Crossing times: {table}.",
        scenarios,
        trajs,
        sources,
    )
    return CaptionedFigure("crossing_times", fig, caption)


def illustrative_group(
    labels: Mapping[str, str] | None = None, size: tuple[float, float] = (10.0, 4.8)
) -> CaptionedFigure:
    """Share of a seeded synthetic group who have reached each threshold over time (illustrative)."""
    text, plot_labels = _split_labels(labels)
    size = check_size(size)
    scenarios, trajs = _run(("illustrative_group",))
    traj = trajs[0]
    fig, axes = _figure(size, 1, 2, sharey=True)
    for ax, site in zip(axes[0], traj.sites, strict=True):
        plot.plot_fraction_crossed(traj, site, thresholds=(-2.0, -2.5), ax=ax, labels=plot_labels)
        plot._exposure_band(ax, plot._courses(traj), traj.years, text)
    axes[0][1].set_ylabel("")
    fig.suptitle(text["group_title"])
    sources = _sources(trajs)
    _footnote(
        fig, text["illustrative_note"] + " " + text["sources_prefix"] + sources, ("illustrative_note", "sources_prefix")
    )
    spec = scenarios[0].cohort
    caption = _caption(
        f"Per cent of {traj.patient.n} synthetic women whose T-score has reached -2.0 and -2.5 by each time "
        "(first crossing; a woman keeps counting if her T-score later recovers), at the lumbar spine and "
        "femoral neck, on an aromatase inhibitor for years 0-5. Bands: 95 % Wilson interval for a group of "
        "this size (sampling only, not model uncertainty).",
        scenarios,
        trajs,
        sources,
        note=(
            "ILLUSTRATIVE, NOT A CALIBRATED POPULATION: ages and baseline T-scores are drawn with seed "
            f"{spec['seed']} from normal distributions whose parameters are display inputs "
            "(data/scenarios/illustrative_group.toml, section [cohort]), not taken from any study."
        ),
    )
    return CaptionedFigure("illustrative_group", fig, caption)


#: The educator figure set, in order: file stem -> builder.
EDUCATOR_FIGURES: dict[str, Callable[..., CaptionedFigure]] = {
    "ai_vs_natural": ai_vs_natural,
    "therapies_compared": therapies_compared,
    "brex_withdrawal": brex_withdrawal,
    "crossing_times": crossing_times,
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
    out = tuple(names)  # type: ignore[arg-type]
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
    _split_labels(labels)  # check label keys and texts before drawing anything
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
    _split_labels(labels)
    traj = scenario.run() if traj is None else traj
    text, plot_labels = _split_labels(labels)
    sources = _sources([traj])
    if stem is None:
        stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in scenario.name.lower()).strip("_") or "scenario"
    who = "the first patient of the group" if traj.patient.n > 1 else "the patient"
    note = text["illustrative_note"] + " " if scenario.illustrative else ""
    footnote = note + text["sources_prefix"] + sources
    room = plot.footnote_inches(footnote, 9.0)  # each figure is made taller by its footnote's height
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
                    width = 4.5 * sites
                    fig, axes = _figure((width, 4.5 + plot.footnote_inches(footnote, width)), 1, sites, sharey=True)
                    for ax, site in zip(axes[0], traj.sites, strict=True):
                        plot.plot_fraction_crossed(
                            traj, site, thresholds=scenario.thresholds, ax=ax, labels=plot_labels
                        )
                    what = (
                        f"Per cent of the {traj.patient.n} patients whose T-score has reached each threshold "
                        "by each time."
                    )
                fig.suptitle(scenario.name, parse_math=False)  # a name is plain text, whatever its $ signs
                _footnote(fig, footnote, ("illustrative_note", "sources_prefix"))
                caption = _caption(what, [scenario], [traj], sources, note=note.strip())
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
    close = plot._check_flag("close", close)
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
