"""Interactive explorer: one patient, an AI course and an optional bone-protective therapy.

:func:`explore` is the explorer's whole computation, as a pure function: it
simulates one patient on an aromatase inhibitor (AI), optionally with a
bone-protective therapy, and returns the :class:`bmdsim.Trajectory`, the
crossing table (a pandas DataFrame of the library's exact first-crossing
times) and a drawn matplotlib Figure. :func:`explorer_widgets` builds the
ipywidgets controls (``notebooks/00_explorer.ipynb``) and redraws the plot and
the table through :func:`explore` whenever a control changes.

Every input is checked against the ranges the widgets offer (:data:`AGE_RANGE`,
:data:`T_SCORE_RANGE`, :data:`COURSE_RANGE`, :data:`YEARS_RANGE`, :data:`THERAPY_CHOICES`,
the shipped parameter sets), so the function accepts exactly what the explorer can show. Bad
input raises a :class:`TypeError` or :class:`ValueError` naming the field.

matplotlib, pandas and ipywidgets are imported inside the functions, never by
``import bmdsim`` or ``import bmdsim.explorer``.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ._validation import as_finite_float, check_choice, check_range
from .agents import AgentNames, agent_display
from .parameters import available_parameter_sets
from .patient import Patient
from .regimen import Exposure, Regimen
from .simulation import DEFAULT_THRESHOLDS, Trajectory, simulate
from .sites import SITE_LABELS, SITES, check_site
from .therapies import check_calibrated_range

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

#: Age at baseline [years] offered by the explorer: postmenopausal women of the ages that take AIs.
#: Narrower than :data:`bmdsim.limits.AGE_YEARS`; the natural loss is calibrated on arms aged 56 to 73.
AGE_RANGE: tuple[float, float] = (40.0, 90.0)
#: Baseline T-score [SD] offered at each site: from well into osteoporosis to well above normal.
T_SCORE_RANGE: tuple[float, float] = (-4.0, 2.0)
#: Start and stop of a course [years from baseline].
COURSE_RANGE: tuple[float, float] = (0.0, 30.0)
#: Simulation horizon [years].
YEARS_RANGE: tuple[float, float] = (1.0, 30.0)
#: Bone-protective therapies the explorer offers besides none (``None``): every registered
#: bone-protective agent (:data:`bmdsim.THERAPIES`) except those whose evidence is graded
#: ``"very low"`` (vibration), in registration order. A live view of :data:`bmdsim.AGENTS`, so a
#: therapy registered later is offered too.
THERAPY_CHOICES: AgentNames = AgentNames(
    lambda d: d.bone_protective and d.evidence_grade != "very low", "therapies the explorer offers"
)
#: Value of the therapy dropdown for no therapy (a dropdown cannot hold None); :func:`explore` takes None.
NO_THERAPY = "none"
#: Slider steps: age [years], T-score [SD], course times [years], horizon [years].
AGE_STEP, T_SCORE_STEP, COURSE_STEP, YEARS_STEP = 1.0, 0.1, 0.25, 1.0
#: Output step of the plotted trajectory [years] (one month); crossing times are exact whatever the step.
PLOT_STEP = 1.0 / 12.0
#: Size of the explorer's figure [inches] and resolution of its image in the widget [dots per inch].
FIGURE_INCHES: tuple[float, float] = (8.0, 5.2)
WIDGET_DPI = 100.0

#: The explorer's first state: the arguments :func:`explore` gets before any control is moved. A 63-year-old
#: woman with osteopenia at every site, 5 years of an AI with zoledronic acid for the first 3, followed 15 years.
FIRST_STATE: dict[str, Any] = {
    "age": 63.0,
    "t_scores": {"lumbar_spine": -1.2, "femoral_neck": -1.5, "total_hip": -1.3},
    "ai_start": 0.0,
    "ai_stop": 5.0,
    "therapy": "zoledronic_acid",
    "therapy_start": 0.0,
    "therapy_stop": 3.0,
    "params": "trials",
    "years": 15.0,
}

#: Columns of the crossing table: site, T-score threshold [SD], first crossing [years from baseline]
#: (named as the library's other tables name them: the unit at the end).
TABLE_COLUMNS: tuple[str, ...] = ("site", "threshold_t_score_sd", "crossing_time_years")
#: Unit or meaning of each column of the crossing table (``table.attrs["units"]``).
TABLE_UNITS: dict[str, str] = {
    "site": "DXA site",
    "threshold_t_score_sd": "T-score threshold [SD]",
    "crossing_time_years": (
        "first time the T-score is at or below the threshold [years from baseline]; "
        "0.0: already there at baseline; inf: not within the horizon"
    ),
}


class Exploration(NamedTuple):
    """What :func:`explore` returns.

    Attributes
    ----------
    trajectory : Trajectory
        The simulated patient (one patient, every site given).
    table : pandas.DataFrame
        One row per site and threshold, columns :data:`TABLE_COLUMNS`:
        ``site`` (str), ``threshold_t_score_sd`` (T-score [SD]) and
        ``crossing_time_years`` (first time [years from baseline] the T-score
        is at or below the threshold: ``0.0`` if already there at baseline,
        ``inf`` if not within the horizon), exactly
        :meth:`Trajectory.crossing_time`.
    figure : matplotlib Figure
        T-score over time at every site (:func:`bmdsim.plot.plot_trajectory`)
        above the courses taken (:func:`bmdsim.plot.plot_regimen`); not
        registered with pyplot: display it, save it, or let it be
        collected.
    notes : tuple of str
        One message per therapy course longer than its calibrating trials
        (:func:`bmdsim.therapies.check_calibrated_range`), the same text as
        the :class:`bmdsim.ExtrapolationWarning` emitted by the simulation.
    """

    trajectory: Trajectory
    table: pd.DataFrame
    figure: Figure
    notes: tuple[str, ...]


def _check_time(name: str, value: object) -> float:
    out = as_finite_float(name, value)
    check_range(name, np.asarray(out), *COURSE_RANGE, unit="years")
    return out


def _check_course(who: str, start: object, stop: object, given: bool = True) -> tuple[float, float]:
    a = _check_time(f"{who}_start", start)
    b = _check_time(f"{who}_stop", stop)
    if given and not b > a:
        raise ValueError(f"{who}_stop ({b:g} years) must come after {who}_start ({a:g} years)")
    return a, b


def check_inputs(
    age: object,
    t_scores: object,
    ai_start: object,
    ai_stop: object,
    therapy: object,
    therapy_start: object,
    therapy_stop: object,
    params: object,
    years: object,
) -> dict[str, Any]:
    """Check the explorer's inputs and return them normalised (floats, a dict of T-scores).

    Parameters are those of :func:`explore`.

    Returns
    -------
    dict
        The keyword arguments of :func:`explore`, with numbers as Python floats.

    Raises
    ------
    TypeError
        If a field has the wrong type (booleans and strings are not numbers;
        ``t_scores`` must be a mapping; ``therapy`` and ``params`` must be
        strings, ``therapy`` may be None).
    ValueError
        If a field is out of its range (:data:`AGE_RANGE`, :data:`T_SCORE_RANGE`,
        :data:`COURSE_RANGE`, :data:`YEARS_RANGE`), not one of its choices
        (:data:`THERAPY_CHOICES`, :func:`bmdsim.available_parameter_sets`), a
        stop does not come after its start (the therapy's only if a therapy
        is given), or ``t_scores`` names no site.
    """
    age_f = as_finite_float("age", age)
    check_range("age", np.asarray(age_f), *AGE_RANGE, unit="years")
    if not isinstance(t_scores, Mapping):
        raise TypeError(
            f"t_scores must be a mapping of site name to T-score [SD] ({', '.join(SITES)}), "
            f"got {type(t_scores).__name__}"
        )
    if not t_scores:
        raise ValueError(f"t_scores must give a T-score [SD] for at least one site of {', '.join(SITES)}")
    scores: dict[str, float] = {}
    for site, value in t_scores.items():
        check_site(site, "t_scores site")
        score = as_finite_float(f"t_scores[{site!r}]", value)
        check_range(f"t_scores[{site!r}]", np.asarray(score), *T_SCORE_RANGE, unit="SD")
        scores[site] = score
    ai = _check_course("ai", ai_start, ai_stop)
    if therapy is not None:
        try:
            check_choice("therapy", therapy, THERAPY_CHOICES)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{exc}; or None for the AI alone") from None
    course = _check_course("therapy", therapy_start, therapy_stop, given=therapy is not None)
    check_choice("params", params, available_parameter_sets())
    years_f = as_finite_float("years", years)
    check_range("years", np.asarray(years_f), *YEARS_RANGE, unit="years")
    return {
        "age": age_f,
        "t_scores": {s: scores[s] for s in SITES if s in scores},
        "ai_start": ai[0],
        "ai_stop": ai[1],
        "therapy": therapy,
        "therapy_start": course[0],
        "therapy_stop": course[1],
        "params": params,
        "years": years_f,
    }


def crossing_frame(traj: Trajectory, thresholds: Iterable[float] | np.ndarray = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """The crossing times of a one-patient trajectory as a DataFrame.

    Parameters
    ----------
    traj : Trajectory
        A trajectory of one patient given with scalars.
    thresholds : iterable of float
        T-score thresholds [SD].

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TABLE_COLUMNS`: ``site``, ``threshold_t_score_sd``
        [SD] and ``crossing_time_years`` (first crossing [years from
        baseline]; ``0.0`` at baseline, ``inf`` if not within the horizon),
        one row per site and threshold in the order of
        :meth:`Trajectory.crossing_table`. ``attrs["units"]`` gives each
        column's unit (:data:`TABLE_UNITS`).
    """
    import pandas as pd

    if not isinstance(traj, Trajectory):
        raise TypeError(f"traj must be a bmdsim.Trajectory (from bmdsim.simulate), got {type(traj).__name__}")
    if not traj.patient.is_scalar:
        raise ValueError(f"traj must hold one patient given with scalars, got {traj.patient.n} patient(s) as arrays")
    table = traj.crossing_table(thresholds)
    rows = [(site, thr, float(time)) for site, by_thr in table.items() for thr, time in by_thr.items()]
    frame = pd.DataFrame(rows, columns=list(TABLE_COLUMNS)).astype({c: float for c in TABLE_COLUMNS[1:]})
    frame.attrs["title"] = "First crossing times of one patient (one row per site and threshold)"
    frame.attrs["units"] = dict(TABLE_UNITS)
    return frame


def _title(inputs: Mapping[str, Any]) -> str:
    parts = [f"{agent_display('aromatase_inhibitor').short_label} {inputs['ai_start']:g}-{inputs['ai_stop']:g} y"]
    if inputs["therapy"] is not None:
        label = agent_display(inputs["therapy"]).short_label
        parts.append(f"{label} {inputs['therapy_start']:g}-{inputs['therapy_stop']:g} y")
    return f"Age {inputs['age']:g}: " + " + ".join(parts) + f" ({inputs['params']} set)"


def explore(
    age: float = FIRST_STATE["age"],
    t_scores: Mapping[str, float] | None = None,
    ai_start: float = FIRST_STATE["ai_start"],
    ai_stop: float = FIRST_STATE["ai_stop"],
    therapy: str | None = FIRST_STATE["therapy"],
    therapy_start: float = FIRST_STATE["therapy_start"],
    therapy_stop: float = FIRST_STATE["therapy_stop"],
    params: str = FIRST_STATE["params"],
    years: float = FIRST_STATE["years"],
    thresholds: Iterable[float] | np.ndarray = DEFAULT_THRESHOLDS,
) -> Exploration:
    """Simulate one patient on an AI (and optionally a therapy); return trajectory, crossing table and figure.

    The defaults are the explorer's first state (:data:`FIRST_STATE`).

    Parameters
    ----------
    age : float
        Age at baseline [years], in :data:`AGE_RANGE`.
    t_scores : mapping of site -> float, optional
        Baseline T-score [SD] per site, each in :data:`T_SCORE_RANGE`; sites
        from :data:`bmdsim.SITES`, at least one. The first state's if None.
    ai_start, ai_stop : float
        Start and stop of the aromatase inhibitor [years from baseline], in
        :data:`COURSE_RANGE`, stop after start.
    therapy : str or None
        Bone-protective therapy given with it, one of :data:`THERAPY_CHOICES`
        (shipped: ``"zoledronic_acid"``, ``"oral_bisphosphonate"``,
        ``"denosumab"``; and any bone-protective agent registered later), or
        None for the AI alone.
    therapy_start, therapy_stop : float
        Start and stop of the therapy [years from baseline], in
        :data:`COURSE_RANGE`, stop after start. With ``therapy`` None they
        are still checked for type and range, but not for order, and unused.
    params : str
        Parameter set, one of :func:`bmdsim.available_parameter_sets`.
    years : float
        Horizon [years], in :data:`YEARS_RANGE`.
    thresholds : iterable of float
        T-score thresholds [SD] of the table and the plot (see
        :func:`bmdsim.plot.check_thresholds`); -1.0, -2.0 and -2.5 by default.

    Returns
    -------
    Exploration
        ``(trajectory, table, figure, notes)``: the :class:`bmdsim.Trajectory`
        (output step :data:`PLOT_STEP`), the crossing table
        (:func:`crossing_frame`: site, threshold [SD], first crossing [years];
        the library's exact :meth:`Trajectory.crossing_time`, not read off the
        plotted grid), the drawn Figure and the extrapolation notes.

    Raises
    ------
    TypeError, ValueError
        Naming the field, see :func:`check_inputs`; before anything is
        simulated or drawn.

    Warns
    -----
    ExtrapolationWarning
        From :func:`bmdsim.simulate`, if the therapy is given (up to the
        horizon) for longer than in its calibrating trials; its message is
        also in ``notes``.

    Examples
    --------
    >>> result = explore(age=63, t_scores={"femoral_neck": -1.5}, therapy=None)
    >>> result.table.columns.tolist()
    ['site', 'threshold_t_score_sd', 'crossing_time_years']
    """
    from matplotlib.figure import Figure

    from . import plot

    if t_scores is None:
        t_scores = FIRST_STATE["t_scores"]
    inputs = check_inputs(age, t_scores, ai_start, ai_stop, therapy, therapy_start, therapy_stop, params, years)
    thr = plot.check_thresholds(thresholds, allow_empty=False)
    exposures = [Exposure("aromatase_inhibitor", start=inputs["ai_start"], stop=inputs["ai_stop"])]
    if inputs["therapy"] is not None:
        exposures.append(Exposure(inputs["therapy"], start=inputs["therapy_start"], stop=inputs["therapy_stop"]))
    regimen = Regimen(exposures)
    patient = Patient(age=inputs["age"], t_score=inputs["t_scores"])
    traj = simulate(patient, regimen, years=inputs["years"], step=PLOT_STEP, params=inputs["params"])
    notes = tuple(check_calibrated_range(regimen, traj.params.values, traj.years))
    table = crossing_frame(traj, thr)
    with plot.house_style():
        fig = Figure(figsize=FIGURE_INCHES, layout="constrained")
        # The courses as a timeline strip under the plot, one row per agent (concurrent courses stay readable).
        ax, strip = fig.subplots(2, 1, sharex=True, height_ratios=(4.0, 0.4 + 0.35 * len(regimen)))
        plot.plot_trajectory(traj, thresholds=thr, ax=ax, exposures=False)
        ax.set_xlabel("")
        ax.tick_params(labelbottom=False)
        ax.set_title(_title(inputs))
        plot.plot_regimen(traj, ax=strip)
    return Exploration(traj, table, fig, notes)


def table_html(table: pd.DataFrame) -> str:
    """The crossing table as HTML for the explorer: years to 2 decimals, ``inf`` as "not reached".

    Parameters
    ----------
    table : pandas.DataFrame
        A table of :func:`crossing_frame`.

    Returns
    -------
    str
        An HTML table; site and threshold as given, the first crossing [years]
        with 2 decimals ("0.00 (at baseline)" if already there).
    """

    def years_text(t: float) -> str:
        if not np.isfinite(t):
            return "not reached"
        return "0.00 (at baseline)" if t == 0 else f"{t:.2f}"

    site, threshold, years = TABLE_COLUMNS
    shown = table.assign(
        **{
            site: [SITE_LABELS.get(s, s) for s in table[site]],
            threshold: [f"T \u2264 {t:g}" for t in table[threshold]],
            years: [years_text(t) for t in table[years]],
        }
    ).rename(columns={site: "Site", threshold: "Threshold [SD]", years: "First crossing [years]"})
    return shown.to_html(index=False, escape=True, border=0)


class Explorer:
    """The explorer's widgets, wired to :func:`explore`; built by :func:`explorer_widgets`.

    Display it (the last expression of a notebook cell, or ``display(explorer)``)
    to show the controls, the plot and the table.

    Attributes
    ----------
    controls : dict of str -> ipywidgets.Widget
        ``age`` (slider, years), ``lumbar_spine``, ``femoral_neck``,
        ``total_hip`` (sliders, T-score [SD]), ``ai_years`` (range slider:
        AI start and stop [years]), ``therapy`` (dropdown, :data:`NO_THERAPY` for none),
        ``therapy_years`` (range slider: therapy start and stop [years]),
        ``params`` (dropdown) and ``years`` (slider: horizon [years]).
    figure_view : ipywidgets.Image
        The figure as a PNG at :data:`WIDGET_DPI`.
    table_view : ipywidgets.HTML
        The crossing table (:func:`table_html`).
    message : ipywidgets.HTML
        Extrapolation notes, or the error that stopped the last update.
    widget : ipywidgets.Box
        Everything, laid out: controls on the left, plot and table on the right.
    result : Exploration or None
        The last successful :func:`explore`; None after bad input (the plot
        and table are then hidden and ``message`` names the field).
    thresholds : tuple of float
        T-score thresholds [SD] of the table and the plot.
    """

    def __init__(self, first: Mapping[str, Any], thresholds: tuple[float, ...]) -> None:
        import ipywidgets as w

        self.thresholds = thresholds
        self.result: Exploration | None = None

        def slider() -> dict[str, Any]:  # each control its own Layout, so that hiding one hides no other
            return {"continuous_update": False, "style": label_style(), "layout": w.Layout(width="380px")}

        def label_style() -> dict[str, str]:
            return {"description_width": "150px"}

        self.controls: dict[str, Any] = {
            "age": w.FloatSlider(
                value=first["age"],
                min=AGE_RANGE[0],
                max=AGE_RANGE[1],
                step=AGE_STEP,
                readout_format=".0f",
                description="Age [years]",
                **slider(),
            )
        }
        for site in SITES:
            self.controls[site] = w.FloatSlider(
                value=first["t_scores"].get(site, 0.0),
                min=T_SCORE_RANGE[0],
                max=T_SCORE_RANGE[1],
                step=T_SCORE_STEP,
                readout_format=".1f",
                description=f"{SITE_LABELS[site]} T [SD]",
                **slider(),
            )
        course = {"min": COURSE_RANGE[0], "max": COURSE_RANGE[1], "step": COURSE_STEP, "readout_format": ".2f"}
        self.controls["ai_years"] = w.FloatRangeSlider(
            value=(first["ai_start"], first["ai_stop"]), description="AI on [years]", **course, **slider()
        )
        self.controls["therapy"] = w.Dropdown(
            options=[("none", NO_THERAPY)] + [(agent_display(t).label, t) for t in THERAPY_CHOICES],
            value=NO_THERAPY if first["therapy"] is None else first["therapy"],
            description="Bone therapy",
            style=label_style(),
        )
        self.controls["therapy_years"] = w.FloatRangeSlider(
            value=(first["therapy_start"], first["therapy_stop"]),
            description="Therapy on [years]",
            disabled=first["therapy"] is None,
            **course,
            **slider(),
        )
        self.controls["params"] = w.Dropdown(
            options=list(available_parameter_sets()),
            value=first["params"],
            description="Parameter set",
            style=label_style(),
        )
        self.controls["years"] = w.FloatSlider(
            value=first["years"],
            min=YEARS_RANGE[0],
            max=YEARS_RANGE[1],
            step=YEARS_STEP,
            readout_format=".0f",
            description="Horizon [years]",
            **slider(),
        )
        self.figure_view = w.Image(format="png", layout=w.Layout(width=f"{FIGURE_INCHES[0] * WIDGET_DPI:.0f}px"))
        self.table_view = w.HTML()
        self.message = w.HTML()
        self.widget = w.HBox(
            [
                w.VBox(list(self.controls.values())),
                w.VBox([self.figure_view, self.message, self.table_view]),
            ],
            layout=w.Layout(flex_flow="row wrap"),  # the plot goes under the controls on a narrow screen
        )
        for control in self.controls.values():
            control.observe(self.update, names="value")
        self.update()

    def values(self) -> dict[str, Any]:
        """The controls' current values as the keyword arguments of :func:`explore` (unchecked)."""
        c = self.controls
        return {
            "age": c["age"].value,
            "t_scores": {site: c[site].value for site in SITES},
            "ai_start": c["ai_years"].value[0],
            "ai_stop": c["ai_years"].value[1],
            "therapy": None if c["therapy"].value == NO_THERAPY else c["therapy"].value,
            "therapy_start": c["therapy_years"].value[0],
            "therapy_stop": c["therapy_years"].value[1],
            "params": c["params"].value,
            "years": c["years"].value,
        }

    def update(self, change: object = None) -> Exploration | None:
        """Recompute from the controls and redraw: the callback every control calls when its value changes.

        Parameters
        ----------
        change : object, optional
            The traitlets change notification (unused).

        Returns
        -------
        Exploration or None
            The new result, also in :attr:`result`; None if the controls hold
            bad input (e.g. a course whose stop equals its start), which is
            then shown in :attr:`message` instead of being raised.
        """
        from .export import figure_bytes

        self.controls["therapy_years"].disabled = self.controls["therapy"].value == NO_THERAPY
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # extrapolation is reported in the message, not on stderr
                result = explore(**self.values(), thresholds=self.thresholds)
        except (TypeError, ValueError) as exc:
            self.result = None
            self.figure_view.layout.display = "none"
            self.table_view.value = ""
            self.message.value = f'<p style="color:#D55E00"><b>Not updated:</b> {html.escape(str(exc))}</p>'
            return None
        self.result = result
        self.figure_view.value = figure_bytes(result.figure, "png", dpi=WIDGET_DPI)
        self.figure_view.layout.display = None
        self.table_view.value = table_html(result.table)
        self.message.value = "".join(f"<p><b>Note:</b> {html.escape(n)}</p>" for n in result.notes)
        return result

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget's view, with a short text for where widgets cannot be shown (a static notebook)."""
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            bundle["text/plain"] = "bmdsim explorer (the controls need a running Python kernel with ipywidgets)"
        return bundle

    def __repr__(self) -> str:
        return f"<bmdsim explorer: {self.values()!r}>"


def explorer_widgets(thresholds: Iterable[float] | np.ndarray = DEFAULT_THRESHOLDS, **first: Any) -> Explorer:
    """Build the explorer's ipywidgets, wire them to :func:`explore`, and draw the first state.

    Parameters
    ----------
    thresholds : iterable of float
        T-score thresholds [SD] of the table and the plot (not a control).
    **first
        Keyword arguments of :func:`explore` that replace those of
        :data:`FIRST_STATE` in the first state, e.g. ``age=70``. ``t_scores``
        must give all three sites (one slider each).

    Returns
    -------
    Explorer
        Display it to use it. Its :attr:`Explorer.result` holds the first
        state's :class:`Exploration`.

    Raises
    ------
    TypeError, ValueError
        If a first-state value is unknown or out of the widgets' range (it is
        checked as by :func:`explore`, never clipped by a slider).
    ImportError
        If ipywidgets is not installed (``pip install "bmdsim[notebooks]"``).
    """
    from . import plot

    unknown = sorted(set(first) - set(FIRST_STATE))
    if unknown:
        raise TypeError(f"explorer_widgets got an unknown field {unknown[0]!r}; fields are: {', '.join(FIRST_STATE)}")
    state = check_inputs(**(FIRST_STATE | first))
    missing = [s for s in SITES if s not in state["t_scores"]]
    if missing:
        raise ValueError(f"t_scores must give a T-score for every site (one slider each); missing {missing[0]!r}")
    thr = plot.check_thresholds(thresholds, allow_empty=False)
    explorer = Explorer(state, thr)
    if explorer.result is None:  # pragma: no cover - checked inputs always simulate
        raise ValueError(explorer.message.value)
    return explorer


__all__ = [
    "AGE_RANGE",
    "COURSE_RANGE",
    "FIRST_STATE",
    "NO_THERAPY",
    "TABLE_COLUMNS",
    "TABLE_UNITS",
    "T_SCORE_RANGE",
    "THERAPY_CHOICES",
    "YEARS_RANGE",
    "Exploration",
    "Explorer",
    "check_inputs",
    "crossing_frame",
    "explore",
    "explorer_widgets",
    "table_html",
]
