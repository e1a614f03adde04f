"""Validation report: every published trial figure against the model, per parameter set.

For every observation in the trial target files (``data/targets/*.json``
with ``arms`` and ``observations``) the report gives the published change,
each parameter set's prediction for the same regimen and timepoint, and the
error in percentage points (model minus published). Observations a set was
fitted to are flagged for that set (a set fitted to a *difference* between
BREX arms, like ``consensus``, is not counted as fitted to the arms); its mean absolute error (MAE) is given
both over the observations it was *not* fitted to (held out) and over the
observations no set was fitted to (role ``validation``).

Reading the signs: a positive error means the model gives a *higher* BMD
change than published (less loss or more gain); a negative error means more
loss or less gain than published. :meth:`ValidationReport.bias_summary`
turns the held-out errors into one sentence per trial and set.

Example
-------
>>> from bmdsim.validation import validation_report
>>> report = validation_report()
>>> print(report.table())  # doctest: +SKIP
>>> report.mae("consensus")  # doctest: +SKIP
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _data, tables
from .calibration import observation_label, observation_model
from .cohort import LOWEST, Population, TruncatedNormal, default_population, simulate_cohort
from .parameters import ParameterSet, available_parameter_sets, load_parameters
from .regimen import Exposure, Regimen
from .therapies import ExtrapolationWarning

if TYPE_CHECKING:  # pragma: no cover - annotations only; pandas is imported when a table is made
    import pandas as pd

#: Mean signed errors smaller than this [percentage points] are reported as "close".
CLOSE_PCT_POINTS = 0.5
#: Published shares of women moving between T-score categories (validation only).
TRANSITIONS_FILE = "transitions.json"
#: Row selections of :meth:`ValidationReport.mae` and :meth:`ValidationReport.mae_frame`.
ROW_SELECTIONS: tuple[str, ...] = ("held_out", "validation", "all")
#: Units of the validation tables' columns (the shared ones are in :data:`bmdsim.tables.UNITS`).
VALIDATION_UNITS: dict[str, str] = {
    "observation": "'<targets file>:<id>' of the published figure (data/targets)",
    "trial": "targets file (data/targets/<trial>.json)",
    "label": "site, arm(s) and period",
    "citation": "key of data/citations.json",
    "role": "calibration (fitted by at least one set) or validation (fitted by none)",
    "n_women": "women behind the figure (NaN: not given)",
    "fitted": "True: the parameter set was fitted to this row",
    "published_pct": "published change of BMD, per cent (percentage points for a difference between arms)",
    "model_pct": "the set's value, per cent (percentage points for a difference between arms)",
    "error_pct_points": "model - published, percentage points (negative: too much loss or too little gain)",
    "rows": "rows averaged: held_out (not fitted by the set), validation (fitted by no set) or all",
    "n_rows": "number of rows averaged",
    "mae_pct_points": "mean absolute error, percentage points",
    "bias_pct_points": "mean of model - published, percentage points",
    "transition": "id of the published transition (data/transitions.json)",
    "description": "what the published share is",
    "published_share_pct": "published share of women, per cent",
    "model_share_pct": "the model's share of women as DXA scans show them, per cent",
    "contrast": "published contrast: the first row minus the second (see bmdsim.validation.THERAPY_CHECKS)",
    "published_pct_points": "published contrast, percentage points",
    "model_pct_points": "the set's contrast, percentage points",
    "source": "'published' or a parameter set",
    "share_removed": "share of the AI's excess loss removed by risedronate (0: none, 1: all)",
}


def trial_files(profiles: bool = False) -> tuple[str, ...]:
    """Names of the target files in the trial format (arms and observations), sorted.

    Parameters
    ----------
    profiles : bool
        False (default): the trials of postmenopausal women starting an AI
        or a bone-protective drug, which the headline MAE and bias summarise.
        True: the files of the patient profiles (a top-level ``"profile"``
        key, see :mod:`bmdsim.profiles`), reported apart.
    """
    folder = _data.data_dir() / "targets"
    names = []
    for path in sorted(folder.glob("*.json")):
        doc = _data.read_json(f"targets/{path.name}")
        if "arms" in doc and "observations" in doc and ("profile" in doc) == bool(profiles):
            names.append(path.stem)
    return tuple(names)


def _fitted_ids(params_doc: dict[str, Any]) -> set[str]:
    """``"<file>:<id>"`` of every observation a parameter-set document is fitted to."""
    cal = params_doc.get("calibration", {})
    refs = []
    if "targets" in cal and cal.get("fit") == "arms":
        refs.append(cal["targets"])  # a "contrast" fit matches differences of arms, not the arms themselves
    for stage in cal.get("stages", []):
        refs += stage["observations"]
    out = set()
    for ref in refs:
        name, _, wanted = ref.partition(":")
        doc = _data.read_json(f"targets/{name}.json")
        for obs in doc["observations"]:
            if (not wanted or obs["id"] == wanted) and obs.get("role", doc.get("role")) == "calibration":
                out.add(f"{name}:{obs['id']}")
    return out


@dataclass(frozen=True)
class ValidationReport:
    """Published figures and each set's predictions, as arrays.

    Attributes
    ----------
    keys : tuple of str
        ``"<file>:<id>"`` of each observation (row).
    labels : tuple of str
        Site, arm(s) and period of each row.
    citations : tuple of str
        Citation key of each row (see ``data/citations.json``).
    roles : tuple of str
        ``"calibration"`` (fitted by at least one set) or ``"validation"``.
    n : (m,) ndarray
        Women behind each figure.
    observed : (m,) ndarray
        Published change [%] or difference between arms [percentage points].
    predicted : dict of str to (m,) ndarray
        Model value per set, same units.
    fitted : dict of str to (m,) bool ndarray
        True where the set was fitted to the row.
    """

    keys: tuple[str, ...]
    labels: tuple[str, ...]
    citations: tuple[str, ...]
    roles: tuple[str, ...]
    n: np.ndarray
    observed: np.ndarray
    predicted: dict[str, np.ndarray]
    fitted: dict[str, np.ndarray]

    @property
    def sets(self) -> tuple[str, ...]:
        """Parameter sets in the report."""
        return tuple(self.predicted)

    def error(self, params: str) -> np.ndarray:
        """Model minus published [percentage points], per row."""
        return self.predicted[params] - self.observed

    def mae(self, params: str, rows: str = "held_out") -> float:
        """Mean absolute error [percentage points] of ``params``.

        Parameters
        ----------
        rows : {"held_out", "validation", "all"}
            Rows the set was not fitted to; rows with role validation (no set
            was fitted to them); or every row.
        """
        return float(np.mean(np.abs(self.error(params)[self._mask(params, rows)])))

    def bias(self, params: str, rows: str = "held_out") -> float:
        """Mean signed error [percentage points] (model minus published; negative: too much loss or too little gain)."""
        return float(np.mean(self.error(params)[self._mask(params, rows)]))

    def _mask(self, params: str, rows: str) -> np.ndarray:
        if rows == "held_out":
            return ~self.fitted[params]
        if rows == "validation":
            return np.array([r == "validation" for r in self.roles])
        if rows == "all":
            return np.ones(self.observed.size, dtype=bool)
        raise ValueError(f"unknown rows {rows!r}; valid values are: all, held_out, validation")

    def table(self) -> str:
        """Every row with published value, each set's prediction and error; ``*`` marks rows a set was fitted to."""
        head = f"{'observation':<34} {'site, arm, period':<58} {'pub.':>6}"
        for s in self.sets:
            head += f" {s[:9] + ' model':>15} {'err':>6}"
        lines = [head]
        for i, key in enumerate(self.keys):
            line = f"{key[:34]:<34} {self.labels[i][:58]:<58} {self.observed[i]:>6.2f}"
            for s in self.sets:
                mark = "*" if self.fitted[s][i] else " "
                line += f" {self.predicted[s][i]:>14.2f}{mark} {self.error(s)[i]:>+6.2f}"
            lines.append(line)
        lines.append("* = the set was fitted to this row; err = model - published [percentage points]")
        return "\n".join(lines)

    def mae_table(self) -> str:
        """MAE and bias per set over held-out rows, over validation-only rows; MAE over all rows."""
        lines = [
            f"{'set':<10} {'MAE held out':>13} {'bias':>6} {'(rows)':>7}"
            f" {'MAE validation':>15} {'bias':>6} {'(rows)':>7} {'MAE all':>8}"
        ]
        for s in self.sets:
            held, val = self._mask(s, "held_out"), self._mask(s, "validation")
            lines.append(
                f"{s:<10} {self.mae(s):>13.2f} {self.bias(s):>+6.2f} {int(held.sum()):>7d}"
                f" {self.mae(s, 'validation'):>15.2f} {self.bias(s, 'validation'):>+6.2f} {int(val.sum()):>7d}"
                f" {self.mae(s, 'all'):>8.2f}"
            )
        lines.append("bias = mean of model - published [percentage points]; negative: too much loss or too little gain")
        return "\n".join(lines)

    def bias_by_trial(self, params: str) -> dict[str, tuple[float, int]]:
        """Mean signed error [percentage points] and row count per trial file, over rows held out from ``params``."""
        return self._by_trial(params, self.error(params))

    def mae_by_trial(self, params: str) -> dict[str, tuple[float, int]]:
        """Mean absolute error [percentage points] and row count per trial file, over rows held out from ``params``."""
        return self._by_trial(params, np.abs(self.error(params)))

    def _by_trial(self, params: str, values: np.ndarray) -> dict[str, tuple[float, int]]:
        """Mean of ``values`` and row count per trial file, over rows held out from ``params``."""
        held = self._mask(params, "held_out")
        out: dict[str, tuple[float, int]] = {}
        for trial in dict.fromkeys(k.split(":")[0] for k in self.keys):
            rows = held & np.array([k.split(":")[0] == trial for k in self.keys])
            if rows.any():
                out[trial] = (float(values[rows].mean()), int(rows.sum()))
        return out

    def bias_summary(self, params: str) -> str:
        """One line per trial: where ``params`` gives higher or lower changes than published (held-out rows)."""
        lines = [f"{params}: held-out rows, mean of model - published per trial"]
        for trial, (bias, count) in self.bias_by_trial(params).items():
            if abs(bias) < CLOSE_PCT_POINTS:
                verdict = "close"
            elif bias > 0:
                verdict = "model too high (too little loss or too much gain)"
            else:
                verdict = "model too low (too much loss or too little gain)"
            lines.append(f"  {trial:<18} {bias:+6.2f} pp over {count:>2d} rows: {verdict}")
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """:meth:`table` as a tidy DataFrame: one row per published figure and parameter set.

        Returns
        -------
        pandas.DataFrame
            Columns ``observation``, ``trial``, ``label``, ``citation``,
            ``role``, ``n_women``, ``parameter_set``, ``fitted`` (bool),
            ``published_pct``, ``model_pct`` and ``error_pct_points``; values
            equal :attr:`observed`, :attr:`predicted` and :meth:`error`. Rows
            ordered by set (as :attr:`sets`), then observation. Units in
            ``df.attrs["units"]``.
        """
        m, k = len(self.keys), len(self.sets)
        columns = {
            "observation": list(self.keys) * k,
            "trial": [key.split(":")[0] for key in self.keys] * k,
            "label": list(self.labels) * k,
            "citation": list(self.citations) * k,
            "role": list(self.roles) * k,
            "n_women": np.tile(np.asarray(self.n, dtype=float), k),
            "parameter_set": np.repeat(np.array(self.sets, dtype=object), m),
            "fitted": np.concatenate([np.asarray(self.fitted[s], dtype=bool) for s in self.sets]) if k else [],
            "published_pct": np.tile(np.asarray(self.observed, dtype=float), k),
            "model_pct": np.concatenate([np.asarray(self.predicted[s], dtype=float) for s in self.sets]) if k else [],
            "error_pct_points": np.concatenate([self.error(s) for s in self.sets]) if k else [],
        }
        return tables.frame(columns, "Published trial figures against each parameter set", VALIDATION_UNITS)

    def mae_frame(self) -> pd.DataFrame:
        """:meth:`mae_table` as a tidy DataFrame: one row per parameter set and row selection.

        Returns
        -------
        pandas.DataFrame
            Columns ``parameter_set``, ``rows`` (``held_out``, ``validation``,
            ``all``), ``n_rows`` (int64), ``mae_pct_points`` and
            ``bias_pct_points`` (as :meth:`mae` and :meth:`bias`).
        """
        pairs = [(s, rows) for s in self.sets for rows in ROW_SELECTIONS]
        columns = {
            "parameter_set": [s for s, _ in pairs],
            "rows": [rows for _, rows in pairs],
            "n_rows": np.array([int(self._mask(s, rows).sum()) for s, rows in pairs], dtype=np.int64),
            "mae_pct_points": np.array([self.mae(s, rows) for s, rows in pairs], dtype=float),
            "bias_pct_points": np.array([self.bias(s, rows) for s, rows in pairs], dtype=float),
        }
        return tables.frame(columns, "Mean absolute error and bias per parameter set", VALIDATION_UNITS)

    def _repr_html_(self) -> str:
        return tables.html_sections(
            f"Validation report: {len(self.keys)} published figures, parameter sets {', '.join(self.sets)}",
            [("Errors per set", self.mae_frame(), False), ("Every figure and set", self.to_frame(), False)],
            notes=("Tables: .mae_frame(), .to_frame() (every row).",),
        )


def validation_report(sets: Sequence[str] | None = None, profiles: bool = False) -> ValidationReport:
    """Compare every trial observation in ``data/targets`` with the model.

    Parameters
    ----------
    sets : sequence of str, optional
        Shipped parameter-set names; all of them by default.
    profiles : bool
        False (default): the postmenopausal trials. True: the patient
        profiles' files instead (:func:`trial_files`), e.g. premenopausal
        women on ovarian suppression.

    Returns
    -------
    ValidationReport
    """
    sets = tuple(sets) if sets is not None else available_parameter_sets()
    loaded = {s: load_parameters(s) for s in sets}
    fitted_ids = {s: _fitted_ids(_data.read_json(f"parameters/{s}.json")) for s in sets}
    keys, labels, cites, roles, n, observed = [], [], [], [], [], []
    predicted: dict[str, list[float]] = {s: [] for s in sets}
    for name in trial_files(profiles):
        doc = _data.read_json(f"targets/{name}.json")
        for obs in doc["observations"]:
            keys.append(f"{name}:{obs['id']}")
            labels.append(observation_label(obs))
            cites.append(obs.get("citation", doc.get("citation", "")))
            roles.append(obs.get("role", doc.get("role")))
            n.append(obs.get("n", doc.get("n", np.nan)))
            observed.append(obs["pct_change"])
            for s in sets:
                predicted[s].append(observation_model(loaded[s], doc, obs))
    return ValidationReport(
        keys=tuple(keys),
        labels=tuple(labels),
        citations=tuple(cites),
        roles=tuple(roles),
        n=np.asarray(n, dtype=float),
        observed=np.asarray(observed, dtype=float),
        predicted={s: np.asarray(v) for s, v in predicted.items()},
        fitted={s: np.array([k in fitted_ids[s] for k in keys]) for s in sets},
    )


def _population_at(sites: Sequence[str], age: Mapping[str, float] | None = None) -> Population:
    """The default population restricted to ``sites`` (their correlations kept), with the row's ``age`` if given."""
    pop = default_population()
    pairs = pop.correlation.items() if isinstance(pop.correlation, Mapping) else ()
    ages = pop.age if age is None else TruncatedNormal(age["mean"], age["sd"], age["low"], age["high"])
    return Population(
        age=ages,
        t_score={s: pop.t_score[s] for s in sites},
        correlation={pair: v for pair, v in pairs if pair[0] in sites and pair[1] in sites},
        name=f"{pop.name}, {' and '.join(sites)}",
        age_correlation=pop.age_correlation,
    )


def transition_model(params: ParameterSet, row: Mapping[str, Any], n: int, seed: int) -> float:
    """The model's share [per cent] of one published transition (a row of ``data/transitions.json``).

    ``n`` women of the default population (restricted to the row's sites, with
    the row's age distribution if it gives one, ``age_years``, and the default
    between-patient spread) take the row's regimen; women are
    classified by their lowest measured T-score at the row's sites (what DXA
    shows, the shipped precision). The share is of the women in a ``from``
    category at ``from_years`` who are in a ``to`` category at ``to_years``.
    """
    regimen = Regimen(
        [
            Exposure(e["agent"], start=e["start"], stop=math.inf if e["stop"] is None else e["stop"])
            for e in row["regimen"]
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)  # a 5-year course past a 2-year calibration: shown
        result = simulate_cohort(
            n,
            regimen,
            float(row["to_years"]),
            seed,
            population=_population_at(row["sites"], row.get("age_years")),
            params=params,
        )
    tr = result.transitions(row["from_years"], row["to_years"], site=LOWEST, measured=True, cuts=row["cuts"])
    names = list(tr["categories"])
    rows = [names.index(c) for c in row["from"]]
    cols = [names.index(c) for c in row["to"]]
    count = tr["count"][np.ix_(rows, cols)].sum()
    total = tr["row_total"][rows].sum()
    return float(100.0 * count / total) if total else math.nan


@dataclass(frozen=True)
class TransitionReport:
    """Published shares of women moving between T-score categories against every set's model share.

    Attributes
    ----------
    ids, descriptions, citations : tuple of str
    published : ndarray
        Published shares [per cent].
    predicted : dict of set name -> ndarray
        The model's shares [per cent] (:func:`transition_model`).
    """

    ids: tuple[str, ...]
    descriptions: tuple[str, ...]
    citations: tuple[str, ...]
    published: np.ndarray
    predicted: dict[str, np.ndarray]

    @property
    def sets(self) -> tuple[str, ...]:
        return tuple(self.predicted)

    def error(self, params: str) -> np.ndarray:
        """Model minus published [percentage points], per row."""
        return self.predicted[params] - self.published

    def mean_abs_error(self, params: str) -> float:
        """Mean absolute difference [percentage points] over the rows."""
        return float(np.nanmean(np.abs(self.error(params))))

    def table(self) -> str:
        """One row per published transition: published share and each set's share, with the difference."""
        head = f"{'transition':42s} {'pub. %':>6s}" + "".join(f" {s + ' %':>14s} {'err':>6s}" for s in self.sets)
        lines = [head]
        for i, key in enumerate(self.ids):
            cells = "".join(f" {self.predicted[s][i]:14.1f} {self.error(s)[i]:+6.1f}" for s in self.sets)
            lines.append(f"{key[:42]:42s} {self.published[i]:6.1f}" + cells)
        lines.append("err = model - published [percentage points]; model: what DXA scans show (measured)")
        lines.append("")
        lines.append("mean absolute difference: " + ", ".join(f"{s} {self.mean_abs_error(s):.1f}" for s in self.sets))
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """:meth:`table` as a tidy DataFrame: one row per published transition and parameter set.

        Returns
        -------
        pandas.DataFrame
            Columns ``transition``, ``description``, ``citation``,
            ``parameter_set``, ``published_share_pct``, ``model_share_pct``
            and ``error_pct_points`` (NaN where the model has no woman in the
            ``from`` categories); values equal :attr:`published`,
            :attr:`predicted` and :meth:`error`.
        """
        m, k = len(self.ids), len(self.sets)
        columns = {
            "transition": list(self.ids) * k,
            "description": list(self.descriptions) * k,
            "citation": list(self.citations) * k,
            "parameter_set": np.repeat(np.array(self.sets, dtype=object), m),
            "published_share_pct": np.tile(np.asarray(self.published, dtype=float), k),
            "model_share_pct": np.concatenate([np.asarray(self.predicted[s], dtype=float) for s in self.sets])
            if k
            else [],
            "error_pct_points": np.concatenate([self.error(s) for s in self.sets]) if k else [],
        }
        return tables.frame(
            columns, "Women moving between T-score categories: published against model", VALIDATION_UNITS
        )

    def _repr_html_(self) -> str:
        return tables.html(self.to_frame())


def transition_report(sets: Sequence[str] | None = None, n: int | None = None) -> TransitionReport:
    """Compare every published transition in ``data/transitions.json`` with the model of each set.

    Parameters
    ----------
    sets : sequence of str, optional
        Shipped parameter-set names; all of them by default.
    n : int, optional
        Women simulated per row and set (the data file's ``model.n`` by default).
    """
    doc = _data.read_json(TRANSITIONS_FILE)
    sets = tuple(sets) if sets is not None else available_parameter_sets()
    n = int(doc["model"]["n"]) if n is None else n
    seed = int(doc["model"]["seed"])
    rows = doc["rows"]
    predicted = {s: np.array([transition_model(load_parameters(s), r, n, seed) for r in rows]) for s in sets}
    return TransitionReport(
        ids=tuple(r["id"] for r in rows),
        descriptions=tuple(r["description"] for r in rows),
        citations=tuple(r["citation"] for r in rows),
        published=np.array([float(r["published_pct"]) for r in rows]),
        predicted=predicted,
    )


#: Contrasts between published rows that test two hypotheses of the therapy model, as
#: ``(label, row, minus row)``: whether a bisphosphonate suppresses the extra loss an AI causes (the
#: model adds the drug's gain to an unchanged AI loss), and whether the gain depends on baseline BMD
#: (the model's gain does not). The rows are observations in ``data/targets``; no number lives here.
THERAPY_CHECKS: tuple[tuple[str, str, str], ...] = (
    (
        "AI excess loss, no bisphosphonate, LS 36 mo",
        "ibis2_bone:ibis2_ls_36m_placebo",
        "ibis2_bone:ibis2_ls_36m_anastrozole",
    ),
    (
        "AI excess loss, no bisphosphonate, TH 36 mo",
        "ibis2_bone:ibis2_th_36m_placebo",
        "ibis2_bone:ibis2_th_36m_anastrozole",
    ),
    (
        "AI excess loss on risedronate, LS 36 mo",
        "ibis2_bone:ibis2_s3_ls_36m_pla_ris",
        "ibis2_bone:ibis2_s3_ls_36m_ana_ris",
    ),
    (
        "AI excess loss on risedronate, TH 36 mo",
        "ibis2_bone:ibis2_s3_th_36m_pla_ris",
        "ibis2_bone:ibis2_s3_th_36m_ana_ris",
    ),
    (
        "risedronate arm, T < -2 minus T -1 to -2, LS 24 mo",
        "sabre_2010:sabre_h_ls_24m_risedronate",
        "sabre_2010:sabre_m_ls_24m_risedronate",
    ),
    (
        "risedronate arm, T < -2 minus T -1 to -2, TH 24 mo",
        "sabre_2010:sabre_h_th_24m_risedronate",
        "sabre_2010:sabre_m_th_24m_risedronate",
    ),
    (
        "AI + risedronate, T < -2.5 minus T -2.5 to -1, LS 36 mo",
        "ibis2_bone:ibis2_s3_ls_36m_ana_ris",
        "ibis2_bone:ibis2_s2_ls_36m_ana_ris",
    ),
    (
        "AI + risedronate, T < -2.5 minus T -2.5 to -1, TH 36 mo",
        "ibis2_bone:ibis2_s3_th_36m_ana_ris",
        "ibis2_bone:ibis2_s2_th_36m_ana_ris",
    ),
)


@dataclass(frozen=True)
class TherapyCheck:
    """Published contrasts of :data:`THERAPY_CHECKS` against each set's model.

    Attributes
    ----------
    labels : tuple of str
    published : ndarray
        Published contrast [percentage points]: the first row minus the second.
    predicted : dict of set name -> ndarray
        The same contrast in the model [percentage points].
    """

    labels: tuple[str, ...]
    published: np.ndarray
    predicted: dict[str, np.ndarray]

    def suppression(self, values: np.ndarray) -> dict[str, float]:
        """Share of the AI's excess loss a bisphosphonate removes, per site, from the first four contrasts.

        ``1 - (excess on risedronate) / (excess without)``: 0 means the drug
        adds its gain to an unchanged AI loss (the model's rule), 1 that it
        removes the AI's excess entirely.
        """
        return {"lumbar_spine": float(1 - values[2] / values[0]), "total_hip": float(1 - values[3] / values[1])}

    def table(self) -> str:
        """One line per contrast, then the suppression each column implies."""
        sets = tuple(self.predicted)
        lines = [f"{'contrast (first row minus second)':56s} {'pub.':>6s}" + "".join(f" {s:>10s}" for s in sets)]
        for i, label in enumerate(self.labels):
            cells = "".join(f" {self.predicted[s][i]:10.2f}" for s in sets)
            lines.append(f"{label[:56]:56s} {self.published[i]:6.2f}" + cells)
        columns = {"published": self.published} | self.predicted
        for site in ("lumbar_spine", "total_hip"):
            shares = ", ".join(f"{name} {self.suppression(v)[site]:.2f}" for name, v in columns.items())
            lines.append(f"share of the AI's excess loss removed by risedronate, {site}: {shares}")
        lines.append(
            "IBIS-II rows compare strata (III against I and II) and SABRE rows open-label strata: not randomised"
        )
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """The contrasts as a tidy DataFrame: one row per contrast and parameter set.

        Returns
        -------
        pandas.DataFrame
            Columns ``contrast``, ``parameter_set``, ``published_pct_points``,
            ``model_pct_points`` and ``error_pct_points`` (model - published);
            values equal :attr:`published` and :attr:`predicted`.
        """
        sets = tuple(self.predicted)
        m, k = len(self.labels), len(sets)
        model = np.concatenate([np.asarray(self.predicted[s], dtype=float) for s in sets]) if k else np.empty(0)
        published = np.tile(np.asarray(self.published, dtype=float), k)
        columns = {
            "contrast": list(self.labels) * k,
            "parameter_set": np.repeat(np.array(sets, dtype=object), m),
            "published_pct_points": published,
            "model_pct_points": model,
            "error_pct_points": model - published,
        }
        return tables.frame(columns, "Therapy-model contrasts: published against each set", VALIDATION_UNITS)

    def suppression_frame(self) -> pd.DataFrame:
        """:meth:`suppression` of the published contrasts and of each set: one row per source and site.

        Returns
        -------
        pandas.DataFrame
            Columns ``source`` (``published`` or a set), ``site`` and
            ``share_removed`` (0: the drug adds its gain to an unchanged AI
            loss, the model's rule; 1: it removes the AI's excess).
        """
        sources = {"published": self.published} | dict(self.predicted)
        shares = {name: self.suppression(values) for name, values in sources.items()}
        columns = {
            "source": [name for name, by_site in shares.items() for _ in by_site],
            "site": [site for by_site in shares.values() for site in by_site],
            "share_removed": [v for by_site in shares.values() for v in by_site.values()],
        }
        return tables.frame(columns, "Share of the AI's excess loss removed by risedronate", VALIDATION_UNITS)

    def _repr_html_(self) -> str:
        return tables.html_sections(
            "How a bisphosphonate combines with AI loss (published contrasts against each set)",
            [("Contrasts", self.to_frame(), False), ("Share of the excess removed", self.suppression_frame(), False)],
            notes=("IBIS-II rows compare strata and SABRE rows open-label strata: not randomised.",),
        )


def therapy_checks(sets: Sequence[str] | None = None) -> TherapyCheck:
    """Test the therapy model's combination rule and its BMD-independent gain against published contrasts.

    Parameters
    ----------
    sets : sequence of str, optional
        Shipped parameter-set names; all of them by default.

    Returns
    -------
    TherapyCheck
        Published and model contrasts of :data:`THERAPY_CHECKS`.

    Notes
    -----
    IBIS-II (Sestak 2014, validation data) gave anastrozole or placebo to
    women with and without risedronate: the AI's extra loss at 3 years
    with risedronate (stratum III) is compared with that without it (strata
    I and II). SABRE's and IBIS-II's strata by baseline T-score show how much
    the gain on a bisphosphonate depends on baseline BMD.
    """
    sets = tuple(sets) if sets is not None else available_parameter_sets()
    loaded = {s: load_parameters(s) for s in sets}
    docs: dict[str, dict[str, Any]] = {}

    def row(key: str) -> tuple[dict[str, Any], dict[str, Any]]:
        name, _, ident = key.partition(":")
        doc = docs.setdefault(name, _data.read_json(f"targets/{name}.json"))
        return doc, next(o for o in doc["observations"] if o["id"] == ident)

    published, predicted = [], {s: [] for s in sets}
    for _, plus, minus in THERAPY_CHECKS:
        (d1, o1), (d2, o2) = row(plus), row(minus)
        published.append(o1["pct_change"] - o2["pct_change"])
        for s in sets:
            predicted[s].append(observation_model(loaded[s], d1, o1) - observation_model(loaded[s], d2, o2))
    return TherapyCheck(
        labels=tuple(c[0] for c in THERAPY_CHECKS),
        published=np.asarray(published, dtype=float),
        predicted={s: np.asarray(v, dtype=float) for s, v in predicted.items()},
    )


def main() -> int:
    """Print the validation table, the MAE per set and the bias summaries."""
    report = validation_report()
    print(report.table())
    print()
    print(report.mae_table())
    for s in report.sets:
        print()
        print(report.bias_summary(s))
    print()
    print("Patient profiles (bmdsim.profiles; data/targets files with a 'profile' key), apart from the trials above")
    profiles = validation_report(report.sets, profiles=True)
    print(profiles.table())
    print()
    print("MAE and bias per profile over its held-out rows [percentage points]")
    for s in profiles.sets:
        bias = profiles.bias_by_trial(s)
        for trial, (mae, count) in profiles.mae_by_trial(s).items():
            print(f"  {s:<10} {trial:<20} MAE {mae:5.2f}  bias {bias[trial][0]:+6.2f}  ({count} rows)")
    print()
    print("Women moving between T-score categories (data/transitions.json, validation only)")
    print(transition_report().table())
    print()
    print("How a bisphosphonate combines with AI loss, and whether its gain depends on baseline BMD")
    print(therapy_checks().table())
    print()
    print("Fracture rates: model against published (data/targets/fracture_rates.json)")
    from .fracture_incidence import fracture_validation  # imports the cohort machinery only when printed

    print(fracture_validation().to_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
