"""Fit the shipped parameter sets to the published data in ``data/``.

Every *derived* and *fitted* value in ``data/parameters/*.json`` is produced
here, from the target files in ``data/targets/``, with :mod:`scipy.optimize`.
Nothing is tuned by hand: ``python -m bmdsim.calibration --write`` rewrites
the shipped values, and the test suite refits and compares.

What calibrates what
--------------------
``atac_bone.json`` (Eastell 2011, off treatment)
    The recovery time constant after an AI stops, shared by every set: an
    exponential approach fitted to the lumbar-spine change 1 and 2 years
    after anastrozole stopped.
``atac_bone.json`` (Eastell 2008, tamoxifen arm)
    Tamoxifen's net change [%/yr], as the constant rate that gives the 5-year
    change.
``brex_2024.json`` (Blomqvist 2024)
    ``consensus``: the recovery fraction per site, fitted to the
    withdrawal-minus-no-withdrawal contrast over years 5-10. ``brex``: the
    recovery fraction and the natural loss per site, fitted to all four arms.
    Sites without a BREX figure (total hip) are tied to the femoral neck.

Which regimen stands for each BREX arm is stated, with the reason, in
``brex_2024.json``: withdrawal is a 5-year AI course stopped at year 5; no
withdrawal is natural loss alone over years 5-10.

Trial stages (bone-protective therapies, the ``trials`` set)
------------------------------------------------------------
Each set's ``calibration.stages`` lists further least-squares fits, run in
order after the BREX fit. A stage names the observations it fits
(``"<targets file>"`` for every calibration observation of a file, or
``"<file>:<id>"``), its free parameters and its ties. An observation is the
change of one arm between two times, or the difference between two arms
(``minus``), each arm a regimen given in the target file. Residuals are
weighted by ``sqrt(n / n_max)`` with ``n`` the number of women behind each
figure; the point fit does not use the targets' standard errors (below).
Observations with ``role: "validation"`` are never fitted;
:mod:`bmdsim.validation` reports them.

Parameter uncertainty (parametric bootstrap)
--------------------------------------------
``data/calibration_uncertainty.json`` gives every calibration observation a
standard error [percentage points]: from its reported 95 % CI or SE where the
paper gives one, from a reported P value (Altman and Bland 2011), or else
``s sqrt(1/n1 + 1/n2)`` (``s / sqrt(n)`` for one arm) with ``s``, the SD of one
woman's percent change, pooled by :func:`pooled_sd` from the targets that
report both a CI and arm sizes. :func:`calibration_draws` draws every target
from ``N(observed, SE^2)`` (draw ``k`` seeded with ``SeedSequence(seed,
spawn_key=(k,))``, the same targets for every set), reruns the whole staged
calibration of a set exactly as the point fit, and records the fitted and
derived values. The two ATAC figures behind the recovery time constant are
not drawn (an exact two-point fit that a draw sends to its bound about 40 % of
the time, after which BREX cannot be fitted; see
``calibration_uncertainty.json``), so that constant keeps its point value.
``python -m bmdsim.calibration --draws --write`` writes them
to ``data/parameter_draws/<set>.json``; :func:`bmdsim.parameter_draws` reads
them back as parameter sets. What the draws cover: the sampling error of the
published figures, propagated through the calibration. What they do not: the
model's structure, the readings and assumptions recorded in ``data/`` (e.g.
which regimen a BREX group stands for), correlations between figures of one
trial (every figure is drawn independently), and fixed parameters.

``ovarian_suppression.json`` and ``glucocorticoid.json`` (patient profiles, :mod:`bmdsim.profiles`)
    A stage each in every set: the loss of ovarian function in premenopausal
    women (Shapiro 2001, ZEBRA), and the excess loss on oral glucocorticoids
    (placebo arms of Adachi 1997, Cohen 1999, Eastell 2000). Their recovery
    after a stop borrows the AI's recovery time constant; ovarian
    suppression's recovery fraction is derived from ZIPP
    (:func:`ovarian_recovery_fraction`).

``antiresorptive_offset.json`` and ``vibration.json`` give derived values
(offset time constants, the vibration gain) in every set; see those files.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.optimize import least_squares
from scipy.special import ndtri

from . import _data, tables
from .model import SiteModel
from .parameters import ParameterSet, available_parameter_sets, parameter_set_from_dict, parameter_specs
from .patient import Patient
from .regimen import Exposure, Regimen
from .simulation import simulate
from .sites import SITES

if TYPE_CHECKING:  # pragma: no cover - annotations only; pandas is imported when a table is made
    import pandas as pd

#: Significant digits kept when fitted values are written to JSON.
_DIGITS = 10
#: Fitted values smaller than this in magnitude are written as 0: they sit at a
#: bound of 0, and the solver's leftovers (1e-30 and the like) are noise that a refit
#: does not reproduce to relative precision.
_ZERO = 1e-9
#: The standard errors of the targets and the bootstrap settings.
_UNCERTAINTY_FILE = "calibration_uncertainty.json"
#: Folder of ``data/`` holding the calibration draws of each shipped set.
DRAWS_FOLDER = "parameter_draws"


@dataclass(frozen=True)
class Residual:
    """One calibration target: what was published, what the model gives."""

    target: str
    observed: float
    model: float

    @property
    def error(self) -> float:
        """Model minus observed [percentage points]."""
        return self.model - self.observed


def recovery_time_constant(atac: dict[str, Any] | None = None) -> float:
    """Recovery time constant [years] from the ATAC off-treatment spine data.

    Fits ``ln(1 + g(s) / 100) = A (1 - exp(-s / T))`` to the changes ``g`` at
    ``s`` = 1 and 2 years after anastrozole stopped (Eastell et al. 2011).
    """
    atac = atac or _data.read_json("targets/atac_bone.json")
    off = atac["off_treatment"]
    s = np.asarray(off["years_after_stop"], dtype=float)
    y = np.log1p(np.asarray(off["pct_change"], dtype=float) / 100.0)

    def resid(theta: np.ndarray) -> np.ndarray:
        amplitude, tau = theta
        return amplitude * -np.expm1(-s / tau) - y

    fit = least_squares(resid, x0=[y[-1], 1.0], bounds=([0.0, 0.05], [1.0, 20.0]), xtol=1e-15, ftol=1e-15, gtol=1e-15)
    return float(fit.x[1])


def ovarian_recovery_fraction(tau: float, doc: dict[str, Any] | None = None) -> float:
    """Recovery fraction [1] of ovarian suppression: the long-run share of a course's loss regained after its stop.

    ZIPP's goserelin arm (``data/targets/ovarian_suppression.json``, recovery
    block): a loss ``g_loss`` [%] over the course, then a gain ``g_back`` [%]
    in the ``s`` years after the stop. With recovery
    ``f (1 - exp(-s / tau))`` of the course's log-loss,
    ``f = ln(1 + g_back/100) / -ln(1 + g_loss/100) / (1 - exp(-s / tau))``,
    at most 1.

    Parameters
    ----------
    tau : float
        Recovery time constant [years] (the AI's, :func:`recovery_time_constant`).
    doc : dict, optional
        The target file; read from ``data/`` if None.
    """
    doc = doc or _data.read_json("targets/ovarian_suppression.json")
    rec = doc["recovery"]
    share = math.log1p(rec["regained_pct"] / 100.0) / -math.log1p(rec["loss_pct"] / 100.0)
    return min(1.0, share / -math.expm1(-rec["regained_years"] / tau))


def male_age_slope(doc: dict[str, Any] | None = None) -> float:
    """Log-rate slope [1/yr] of men's natural loss: ``ln(ratio) / (age_high - age_low)``.

    From MrOS's loss at 85 against 65 years (``data/targets/men.json``,
    ``age_slope`` block: the ratio of absolute losses, read as a ratio of rates).
    """
    doc = doc or _data.read_json("targets/men.json")
    block = doc["age_slope"]
    return math.log(block["loss_ratio"]) / (block["age_high"] - block["age_low"])


def tamoxifen_net_change(atac: dict[str, Any] | None = None) -> dict[str, float]:
    """Tamoxifen's net change [%/yr] per site from the ATAC 5-year tamoxifen arm."""
    atac = atac or _data.read_json("targets/atac_bone.json")
    tam = atac["tamoxifen_on_treatment"]
    out = {site: 100.0 * math.log1p(g / 100.0) / tam["years"] for site, g in tam["pct_change"].items()}
    out["femoral_neck"] = out[tam["femoral_neck_from"]]
    return out


def _set_value(values: dict[str, Any], key: str, x: float) -> None:
    values[key] = [x] if isinstance(values[key], (list, tuple)) else x


def _scalar(value: Any) -> float:
    return float(value[0]) if isinstance(value, (list, tuple)) else float(value)


def _brex_residuals(params: ParameterSet, targets: dict[str, Any], mode: str) -> list[Residual]:
    sites = sorted({o["site"] for o in targets["observations"]})
    patient = Patient(age=targets["baseline_age_years"], bmd={s: 1.0 for s in sites})
    model: dict[tuple[str, str], float] = {}
    for arm, spec in targets["arms"].items():
        regimen = Regimen([Exposure(e["agent"], start=e["start"], stop=e["stop"]) for e in spec["exposures"]])
        horizon = max(o["to_years"] for o in targets["observations"])
        traj = simulate(patient, regimen, years=horizon, step=horizon, params=params)
        for o in targets["observations"]:
            if o["arm"] == arm:
                model[(o["site"], arm)] = float(traj.percent_change(o["site"], o["from_years"], o["to_years"]))
    observed = {(o["site"], o["arm"]): o["pct_change"] for o in targets["observations"]}
    if mode == "arms":
        return [Residual(f"{s} {a}", observed[(s, a)], model[(s, a)]) for (s, a) in sorted(observed)]
    if mode == "contrast":
        out = []
        for s in sites:
            obs = observed[(s, "withdrawal")] - observed[(s, "no_withdrawal")]
            mod = model[(s, "withdrawal")] - model[(s, "no_withdrawal")]
            out.append(Residual(f"{s} withdrawal - no withdrawal", obs, mod))
        return out
    raise ValueError(f"unknown calibration fit {mode!r}; valid values are: arms, contrast")


def brex_residuals(params: ParameterSet, mode: str = "arms") -> list[Residual]:
    """Model against BREX for ``params``: the four arms (``"arms"``) or the two contrasts (``"contrast"``)."""
    return _brex_residuals(params, _data.read_json("targets/brex_2024.json"), mode)


def offset_time_constants(doc: dict[str, Any] | None = None) -> dict[str, float]:
    """Offset time constant [years] of each antiresorptive from ``antiresorptive_offset.json``.

    ``T_off = years_after_stop / ln(1 / remaining_fraction)``: the time
    constant with which only ``remaining_fraction`` of the gain is left
    ``years_after_stop`` after the stop.
    """
    doc = doc or _data.read_json("targets/antiresorptive_offset.json")
    fraction = doc["remaining_fraction"]
    out = {}
    for group in ("denosumab",):  # bisphosphonates: fitted to ARIBON's off-treatment change (a stage)
        for agent in doc[group]["agents"]:
            out[agent] = doc[group]["years_after_stop"] / math.log(1.0 / fraction)
    return out


def vibration_gain(doc: dict[str, Any] | None = None) -> dict[str, float]:
    """Vibration gain rate [%/yr] per site: the mean over the studies in ``vibration.json``, as a log rate."""
    doc = doc or _data.read_json("targets/vibration.json")
    years = doc["months"] / 12.0
    sites = doc["studies"][0]["pct_less_loss"]
    return {
        site: float(np.mean([100.0 * math.log1p(s["pct_less_loss"][site] / 100.0) / years for s in doc["studies"]]))
        for site in sites
    }


@functools.lru_cache(maxsize=256)
def _regimen_of(exposures: tuple[tuple[str, float, float | None], ...]) -> Regimen:
    return Regimen([Exposure(agent, start=start, stop=stop) for agent, start, stop in exposures])


def _regimen(arm: dict[str, Any]) -> Regimen:
    """The regimen of one arm of a target file (built once per distinct arm: fits evaluate arms thousands of times)."""
    return _regimen_of(tuple((e["agent"], e["start"], e["stop"]) for e in arm["exposures"]))


def arm_change(
    params: ParameterSet, arm: dict[str, Any], site: str, start: float, stop: float, age: float, sex: str = "female"
) -> float:
    """Exact percent change of BMD at ``site`` from ``start`` to ``stop`` [years] under one arm's regimen."""
    loss = SiteModel(params, _regimen(arm), site, sex).log_loss(np.array([start, stop], dtype=float), age)
    return float(100.0 * np.expm1(-(loss[1] - loss[0])))


def observation_model(params: ParameterSet, doc: dict[str, Any], obs: dict[str, Any]) -> float:
    """The model's value of one observation of a target file [per cent, or percentage points for a contrast]."""
    age = obs.get("baseline_age_years", doc["baseline_age_years"])  # an observation may give its arm's own age
    args = (obs["site"], obs["from_years"], obs["to_years"], age, doc.get("sex", "female"))  # a file of men says so
    value = arm_change(params, doc["arms"][obs["arm"]], *args)
    if "minus" in obs:
        value -= arm_change(params, doc["arms"][obs["minus"]], *args)
    return value


def observation_label(obs: dict[str, Any]) -> str:
    """A short readable name of an observation: site, arm(s) and period in months."""
    arm = obs["arm"] + (f" - {obs['minus']}" if "minus" in obs else "")
    months = f"{12 * obs['from_years']:g}-{12 * obs['to_years']:g} mo"
    return f"{obs['site']} {arm} {months}"


def _target_doc(name: str, targets: Mapping[str, dict[str, Any]] | None) -> dict[str, Any]:
    """The target file ``name``: from ``targets`` if it holds it (a bootstrap draw), else from ``data/``."""
    if targets is not None and name in targets:
        return targets[name]
    return _data.read_json(f"targets/{name}.json")


def stage_observations(
    refs: list[str], targets: Mapping[str, dict[str, Any]] | None = None
) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Resolve a stage's observation references to ``(file, document, observation)`` triples.

    ``"<file>"`` selects every observation of the file whose role is
    calibration; ``"<file>:<id>"`` one observation, which must have that role.
    ``targets`` (file name -> document) replaces files read from ``data/``.
    """
    out = []
    for ref in refs:
        name, _, wanted = ref.partition(":")
        doc = _target_doc(name, targets)
        found = False
        for obs in doc["observations"]:
            role = obs.get("role", doc.get("role"))
            if (wanted and obs["id"] != wanted) or role != "calibration":
                continue
            out.append((name, doc, obs))
            found = True
        if not found:
            raise ValueError(f"calibration stage refers to {ref!r}, which has no calibration observation")
    return out


def _weights(items: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> np.ndarray:
    n = np.array([obs.get("n", doc.get("n")) for _, doc, obs in items], dtype=float)
    return np.sqrt(n / n.max())


def _round(v: float) -> float:
    return 0.0 if abs(v) < _ZERO else float(f"{v:.{_DIGITS}g}")


def _rounded(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_round(v) for v in value]
    return _round(value)


def _fit(
    doc: dict[str, Any],
    free: list[str],
    tied: dict[str, str],
    resid_of: Any,
    start: dict[str, float] | None = None,
) -> None:
    """Least-squares fit of ``free`` (and their ``tied`` copies) in ``doc``, in place.

    Starts from the middle of each parameter's allowed range (1 %/yr for
    natural rates) unless ``start`` names a starting value; never from the
    values already in ``doc``, so a refit reproduces the shipped file.
    """
    entries = doc["parameters"]
    specs = parameter_specs()
    low = np.array([specs[k].low for k in free])
    high = np.array([specs[k].high for k in free])
    values = {k: v["value"] for k, v in entries.items()}

    def build(theta: np.ndarray) -> ParameterSet:
        vals = dict(values)
        for key, x in zip(free, theta, strict=True):
            _set_value(vals, key, float(x))
        for key, source in tied.items():
            _set_value(vals, key, _scalar(vals[source]))
        return parameter_set_from_dict(doc | {"parameters": {k: entries[k] | {"value": vals[k]} for k in entries}})

    x0 = 0.5 * (low + high)
    x0 = np.array([1.0 if k.endswith(".rates_pct_per_year") else x for k, x in zip(free, x0, strict=True)])
    x0 = np.array([(start or {}).get(k, x) for k, x in zip(free, x0, strict=True)])
    fit = least_squares(
        lambda theta: resid_of(build(theta)), x0=x0, bounds=(low, high), xtol=1e-14, ftol=1e-14, gtol=1e-14
    )
    final = build(fit.x)
    for key in list(free) + list(tied):
        entries[key]["value"] = _rounded(final.values[key])


def _stage_residuals(params: ParameterSet, items) -> list[Residual]:
    return [
        Residual(f"{name}:{obs['id']}", obs["pct_change"], observation_model(params, doc, obs))
        for name, doc, obs in items
    ]


def calibrate(
    doc: dict[str, Any], targets: Mapping[str, dict[str, Any]] | None = None
) -> tuple[dict[str, Any], list[Residual]]:
    """Refit one parameter-set document (the JSON layout of ``data/parameters``).

    Parameters
    ----------
    doc : dict
        A parameter-set document; not modified.
    targets : mapping of file name -> document, optional
        Target files to use instead of those in ``data/targets`` (a bootstrap
        draw, see :func:`perturbed_targets`); files not given are read from ``data/``.

    Returns
    -------
    tuple
        The updated document and the residuals of its targets.

    Notes
    -----
    Each fit starts from the middle of each parameter's allowed range (or the
    stage's ``start``), never from the values in ``doc``, so a refit
    reproduces the shipped file exactly and a bootstrap draw is fitted the
    same way as the point values.
    """
    doc = copy.deepcopy(doc)
    entries = doc["parameters"]
    atac = _target_doc("atac_bone", targets)
    tau = recovery_time_constant(atac)
    entries["aromatase_inhibitor.recovery_time_constant_years"]["value"] = float(f"{tau:.{_DIGITS}g}")
    for agent in ("ovarian_suppression", "glucocorticoid"):  # the profiles borrow the AI's recovery kinetics
        if f"{agent}.recovery_time_constant_years" in entries:
            entries[f"{agent}.recovery_time_constant_years"]["value"] = float(f"{tau:.{_DIGITS}g}")
    if "natural_male.reference_age_years" in entries:
        slope = _rounded(male_age_slope(_target_doc("men", targets)))
        for site in ("femoral_neck", "total_hip"):  # the spine has no natural loss in men (data/targets/men.json)
            entries[f"natural_male.{site}.age_slope_per_year"]["value"] = slope
    if "ovarian_suppression.recovery_time_constant_years" in entries:
        fraction = _rounded(ovarian_recovery_fraction(tau, _target_doc("ovarian_suppression", targets)))
        for site in SITES:
            entries[f"ovarian_suppression.{site}.recovery_fraction"]["value"] = fraction
    for site, rate in tamoxifen_net_change(atac).items():
        entries[f"tamoxifen.{site}.net_change_pct_per_year"]["value"] = float(f"{rate:.{_DIGITS}g}")
    for agent, t_off in offset_time_constants().items():
        entries[f"{agent}.offset_time_constant_years"]["value"] = _rounded(t_off)
    for site, gain in vibration_gain().items():
        entries[f"vibration.{site}.gain_pct_per_year"]["value"] = _rounded(gain)

    cal = doc["calibration"]
    residuals: list[Residual] = []
    if "targets" in cal:
        brex = _target_doc(cal["targets"], targets)
        _fit(
            doc,
            cal["free"],
            cal.get("tied", {}),
            lambda ps: [r.error for r in _brex_residuals(ps, brex, cal["fit"])],
        )
        residuals += _brex_residuals(parameter_set_from_dict(doc), brex, cal["fit"])
    for stage in cal.get("stages", []):
        items = stage_observations(stage["observations"], targets)
        weights = _weights(items)
        _fit(
            doc,
            stage["free"],
            stage.get("tied", {}),
            lambda ps, items=items, weights=weights: weights * [r.error for r in _stage_residuals(ps, items)],
            start=stage.get("start"),
        )
        residuals += _stage_residuals(parameter_set_from_dict(doc), items)
    return doc, residuals


def calibrate_all(write: bool = False) -> dict[str, list[Residual]]:
    """Refit every shipped parameter set; with ``write=True`` rewrite its JSON file."""
    reports = {}
    for name in available_parameter_sets():
        doc = _data.read_json(f"parameters/{name}.json")
        new, residuals = calibrate(doc)
        reports[name] = residuals
        if write:
            path = _data.data_dir() / "parameters" / f"{name}.json"
            path.write_text(json.dumps(new, indent=2) + "\n", encoding="utf-8")
    return reports


# -- parameter uncertainty: standard errors of the targets and the parametric bootstrap -------------------------
def _atac_ids(atac: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """ATAC figure id -> (part of atac_bone.json, index or site) of its value."""
    out: dict[str, tuple[str, Any]] = {}
    for i, key in enumerate(atac["off_treatment"]["ids"]):
        out[key] = ("off_treatment", i)
    for site, key in atac["tamoxifen_on_treatment"]["ids"].items():
        out[key] = ("tamoxifen_on_treatment", site)
    return out


def _locate(key: str, docs: Mapping[str, dict[str, Any]] | None = None) -> tuple[dict[str, Any], Any, str, str]:
    """Where observation ``key`` (``"<file>:<id>"``) keeps its value: (container, index, site, role)."""
    name, sep, ident = key.partition(":")
    if not sep or not ident:
        raise ValueError(f"observation key {key!r} must be '<targets file>:<observation id>'")
    doc = _target_doc(name, docs)
    if name == "atac_bone":
        where = _atac_ids(doc)
        if ident not in where:
            raise ValueError(f"no observation {ident!r} in targets/atac_bone.json; ids are {', '.join(sorted(where))}")
        part, index = where[ident]
        site = doc[part]["site"] if part == "off_treatment" else index
        return doc[part]["pct_change"], index, site, doc["role"]
    for obs in doc.get("observations", []):
        if obs["id"] == ident:
            return obs, "pct_change", obs["site"], obs.get("role", doc.get("role"))
    raise ValueError(f"no observation {ident!r} in targets/{name}.json")


def observed_value(key: str, docs: Mapping[str, dict[str, Any]] | None = None) -> float:
    """The published value [per cent or percentage points] of observation ``key`` (``"<file>:<id>"``)."""
    container, index, _, _ = _locate(key, docs)
    return float(container[index])


def _ci_se(ci: list[float]) -> float:
    low, high = ci
    return (high - low) / (2.0 * float(ndtri(0.975)))


def pooled_sd_sources(doc: dict[str, Any] | None = None) -> dict[str, tuple[str, float, float]]:
    """Each source of :func:`pooled_sd`: key -> (site, degrees of freedom ``n1 + n2 - 2``, ``s_i`` [points])."""
    doc = doc or _data.read_json(_UNCERTAINTY_FILE)
    out = {}
    for key in doc["pooled_sd"]["sources"]:
        entry = doc["observations"][key]
        n1, n2 = entry["arms_n"]
        out[key] = (_locate(key)[2], n1 + n2 - 2.0, _ci_se(entry["ci95"]) / math.sqrt(1.0 / n1 + 1.0 / n2))
    return out


def pooled_sd(doc: dict[str, Any] | None = None) -> dict[str, float]:
    """SD [percentage points] of one woman's percent change at each site, pooled from reported CIs.

    For each source listed in ``calibration_uncertainty.json`` (``pooled_sd.sources``:
    targets with a 95 % CI and arm sizes ``n1``, ``n2``), ``s_i = SE_i /
    sqrt(1/n1 + 1/n2)`` with ``SE_i`` the CI's half-width over ``z(0.975)``.
    Per site ``s = sqrt(sum(df_i s_i^2) / sum(df_i))``, ``df_i = n1 + n2 - 2``;
    a site without a source takes the file's ``fallback`` (``"all_sites"``:
    the pool of every source).
    """
    doc = doc or _data.read_json(_UNCERTAINTY_FILE)
    pools: dict[str, list[tuple[float, float]]] = {}
    for site, df, s_i in pooled_sd_sources(doc).values():
        pools.setdefault(site, []).append((df, s_i))

    def pool(items: list[tuple[float, float]]) -> float:
        return math.sqrt(sum(df * s * s for df, s in items) / sum(df for df, _ in items))

    out = {site: pool(items) for site, items in pools.items()}
    for site, rule in doc["pooled_sd"].get("fallback", {}).items():
        if rule != "all_sites":
            raise ValueError(f"pooled_sd.fallback[{site!r}] must be 'all_sites', got {rule!r}")
        out[site] = pool([item for items in pools.values() for item in items])
    missing = [site for site in SITES if site not in out]
    if missing:
        raise ValueError(f"pooled_sd has no source or fallback for {', '.join(missing)}")
    return {site: out[site] for site in SITES}


def target_standard_errors(doc: dict[str, Any] | None = None) -> dict[str, float]:
    """Standard error [percentage points] of every observation in ``calibration_uncertainty.json``.

    ``se_from`` ``"ci95"``: the CI's half-width / ``z(0.975)``; ``"reported_se"``:
    as given; ``"p_value"``: ``|value| / z(1 - p/2)`` (Altman and Bland, BMJ
    2011;343:d2090); ``"pooled_sd"``: ``s sqrt(1/n1 + 1/n2)`` for a difference
    (``arms_n``) or ``s / sqrt(n)`` for one arm (``n``), with ``s`` from
    :func:`pooled_sd` at the observation's site, times ``sqrt(pi / 2)`` for a median.
    """
    doc = doc or _data.read_json(_UNCERTAINTY_FILE)
    sd = pooled_sd(doc)
    out = {}
    for key, entry in doc["observations"].items():
        container, index, site, _ = _locate(key)
        how = entry["se_from"]
        if how == "ci95":
            se = _ci_se(entry["ci95"])
        elif how == "reported_se":
            se = float(entry["se"])
        elif how == "p_value":
            se = abs(float(container[index])) / float(ndtri(1.0 - entry["p_value"] / 2.0))
        elif how == "pooled_sd":
            if "arms_n" in entry:
                n1, n2 = entry["arms_n"]
                se = sd[site] * math.sqrt(1.0 / n1 + 1.0 / n2)
            else:
                se = sd[site] / math.sqrt(entry["n"])
            if entry.get("statistic") == "median":
                se *= math.sqrt(math.pi / 2.0)
        else:
            raise ValueError(f"{key}: se_from must be one of ci95, reported_se, p_value, pooled_sd; got {how!r}")
        if not (math.isfinite(se) and se >= 0):
            raise ValueError(f"{key}: standard error must be finite and >= 0, got {se!r}")
        out[key] = se
    return out


def drawn_observations(doc: dict[str, Any] | None = None) -> list[str]:
    """Keys of the observations a bootstrap draw perturbs, sorted (the order of each draw's random numbers).

    Those of ``calibration_uncertainty.json`` with role calibration, except
    entries marked ``"drawn": false`` (each says why).
    """
    doc = doc or _data.read_json(_UNCERTAINTY_FILE)
    return sorted(
        key
        for key, entry in doc["observations"].items()
        if entry.get("drawn", True) and _locate(key)[3] == "calibration"
    )


def perturbed_targets(draw: int, seed: int, se: Mapping[str, float] | None = None) -> dict[str, dict[str, Any]]:
    """The target files of bootstrap draw ``draw``: every calibration observation from ``N(value, SE^2)``.

    Parameters
    ----------
    draw : int
        Draw index (``>= 0``); its random numbers come from
        ``np.random.SeedSequence(seed, spawn_key=(draw,))``, one standard normal
        per key of :func:`drawn_observations`, in that order.
    seed : int
        Seed of the bootstrap.
    se : mapping of key -> float, optional
        Standard errors [percentage points]; :func:`target_standard_errors` if None.
        Must cover every drawn key (0 keeps a target at its published value).

    Returns
    -------
    dict of file name -> document
        Fresh copies of the target files, values replaced; pass to :func:`calibrate`.
    """
    se = target_standard_errors() if se is None else dict(se)
    keys = drawn_observations()
    missing = [k for k in keys if k not in se]
    if missing:
        raise ValueError(f"se lacks the standard errors of {', '.join(missing)}")
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(draw,)))
    z = rng.standard_normal(len(keys))
    docs = {name: _data.read_json(f"targets/{name}.json") for name in sorted({k.split(":")[0] for k in keys})}
    for key, zk in zip(keys, z, strict=True):
        container, index, _, _ = _locate(key, docs)
        container[index] = float(container[index]) + float(se[key]) * float(zk)
    return docs


def varied_parameters(doc: dict[str, Any]) -> list[str]:
    """Keys of a parameter-set document whose role is fitted or derived (what a draw records)."""
    return [k for k, v in doc["parameters"].items() if v["role"] in ("fitted", "derived")]


def calibration_draws(
    name: str,
    count: int | None = None,
    seed: int | None = None,
    se: Mapping[str, float] | None = None,
    first: int = 0,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Parametric bootstrap of one shipped set's calibration: the document of ``data/parameter_draws/<name>.json``.

    Parameters
    ----------
    name : str
        A shipped parameter set.
    count, seed : int, optional
        Number of draws and seed; the ``bootstrap`` settings of
        ``calibration_uncertainty.json`` if None.
    se : mapping, optional
        Standard errors of the targets (see :func:`perturbed_targets`).
    first : int
        Index of the first draw (draws ``first .. first + count - 1``), so a
        test can refit a few draws of the shipped file.
    progress : callable, optional
        Called with each finished draw's index.

    Returns
    -------
    dict
        ``set``, ``seed``, ``count``, ``first``, ``method``, ``pooled_sd_pct``,
        ``target_se_pct`` and ``parameters``: key -> list of the draws' values
        (fitted and derived parameters only; the others keep the set's values).
    """
    settings = _data.read_json(_UNCERTAINTY_FILE)["bootstrap"]
    count = settings["draws"] if count is None else count
    seed = settings["seed"] if seed is None else seed
    for label, value, low in (("count", count, 1), ("seed", seed, 0), ("first", first, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{label} must be an integer >= {low}, got {value!r}")
    if name not in available_parameter_sets():
        raise ValueError(f"no shipped parameter set {name!r}; shipped: {', '.join(available_parameter_sets())}")
    doc = _data.read_json(f"parameters/{name}.json")
    se = target_standard_errors() if se is None else dict(se)
    keys = varied_parameters(doc)
    values: dict[str, list[Any]] = {k: [] for k in keys}
    for k in range(first, first + count):
        new, _ = calibrate(doc, perturbed_targets(k, seed, se))
        for key in keys:
            values[key].append(new["parameters"][key]["value"])
        if progress is not None:
            progress(k)
    return {
        "_about": (
            "Calibration draws of the parameter set, written by `python -m bmdsim.calibration --draws --write`; "
            "do not edit. Read with bmdsim.parameter_draws. See bmdsim.calibration and "
            "data/calibration_uncertainty.json."
        ),
        "set": name,
        "seed": int(seed),
        "count": int(count),
        "first": int(first),
        "method": (
            "Parametric bootstrap: every calibration observation drawn from N(published value, SE^2), "
            "independently (draw k: numpy SeedSequence(seed, spawn_key=(k,)), one standard normal per observation "
            "in sorted key order, the same for every set); the whole staged calibration refitted exactly as the "
            "point fit (same starting values, same sqrt(n) weights). Parameters not listed here keep the set's "
            "values in every draw."
        ),
        "pooled_sd_pct": {site: _round(v) for site, v in pooled_sd().items()},
        "pooled_sd_sources": {
            key: {"site": site, "df": df, "sd_pct": _round(s_i)} for key, (site, df, s_i) in pooled_sd_sources().items()
        },
        "target_se_pct": {k: _round(se[k]) for k in drawn_observations()},
        "parameters": values,
    }


def _draws_json(doc: dict[str, Any]) -> str:
    """The draws document as JSON, one line per parameter (its list of draws)."""
    head = json.dumps({k: v for k, v in doc.items() if k != "parameters"}, indent=1)
    rows = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in doc["parameters"].items())
    return head[:-2] + ',\n "parameters": {\n' + rows + "\n }\n}\n"


def write_draws(
    names: list[str] | None = None, count: int | None = None, progress: Callable[[str, int], None] | None = None
) -> dict[str, dict[str, Any]]:
    """Compute the draws of every shipped set (or ``names``) and write ``data/parameter_draws/<set>.json``."""
    out = {}
    folder = _data.data_dir() / DRAWS_FOLDER
    folder.mkdir(exist_ok=True)
    for name in names or available_parameter_sets():
        doc = calibration_draws(
            name, count=count, progress=(lambda k, name=name: progress(name, k)) if progress else None
        )
        (folder / f"{name}.json").write_text(_draws_json(doc), encoding="utf-8")
        out[name] = doc
    return out


#: Units of :func:`residuals_frame`'s columns.
RESIDUAL_UNITS: dict[str, str] = {
    "parameter_set": tables.UNITS["parameter_set"],
    "target": "the calibration target (site and arm, or '<targets file>:<id>')",
    "observed_pct": "published change of BMD, per cent (percentage points for a difference between arms)",
    "model_pct": "the fitted model's value, per cent (percentage points for a difference between arms)",
    "error_pct_points": "model - observed, percentage points",
}


def residuals_frame(residuals: Mapping[str, Sequence[Residual]] | Sequence[Residual]) -> pd.DataFrame:
    """Calibration residuals as a tidy DataFrame: one row per parameter set and target.

    Parameters
    ----------
    residuals : mapping of set name -> sequence of Residual, or sequence of Residual
        What :func:`calibrate_all` returns (or :func:`calibrate`'s second
        item, :func:`brex_residuals`: one set's residuals, ``parameter_set``
        then empty).

    Returns
    -------
    pandas.DataFrame
        Columns ``parameter_set``, ``target``, ``observed_pct``,
        ``model_pct`` and ``error_pct_points`` (:attr:`Residual.error`); the
        numbers of :func:`format_report`, unrounded.

    Raises
    ------
    TypeError
        If ``residuals`` is not a mapping of sequences of :class:`Residual`
        or a sequence of them.
    """
    if isinstance(residuals, Mapping):
        groups = list(residuals.items())
    elif isinstance(residuals, Sequence) and not isinstance(residuals, (str, bytes)):
        groups = [("", residuals)]
    else:
        raise TypeError(
            "residuals must be a mapping of parameter-set name to Residual lists (calibrate_all) or a list of "
            f"Residual, got {type(residuals).__name__}"
        )
    rows: list[tuple[str, Residual]] = []
    for name, items in groups:
        if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
            raise TypeError(f"residuals[{name!r}] must be a list of Residual, got {type(items).__name__}")
        for i, r in enumerate(items):
            if not isinstance(r, Residual):
                raise TypeError(
                    f"residuals[{name!r}][{i}] must be a bmdsim.calibration.Residual, got {type(r).__name__}"
                )
            rows.append((str(name), r))
    columns = {
        "parameter_set": [name for name, _ in rows],
        "target": [r.target for _, r in rows],
        "observed_pct": np.array([r.observed for _, r in rows], dtype=float),
        "model_pct": np.array([r.model for _, r in rows], dtype=float),
        "error_pct_points": np.array([r.error for _, r in rows], dtype=float),
    }
    return tables.frame(columns, "Calibration residuals: published targets against the fitted model", RESIDUAL_UNITS)


def format_report(reports: dict[str, list[Residual]]) -> str:
    """The residuals as a plain-text table, in percentage points."""
    lines = [f"{'set':<10} {'target':<42} {'observed':>9} {'model':>9} {'error':>7}"]
    for name, residuals in reports.items():
        for r in residuals:
            lines.append(f"{name:<10} {r.target:<42} {r.observed:>9.2f} {r.model:>9.2f} {r.error:>7.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bmdsim.calibration", description="Refit the shipped parameter sets to data/targets."
    )
    parser.add_argument("--write", action="store_true", help="rewrite data/parameters/*.json with the fitted values")
    parser.add_argument(
        "--draws",
        action="store_true",
        help="run the parametric bootstrap instead (with --write: rewrite data/parameter_draws/*.json)",
    )
    parser.add_argument("--count", type=int, default=None, help="number of draws (default: the data file's)")
    args = parser.parse_args(argv)
    if args.draws:
        return _main_draws(args.count, args.write)
    reports = calibrate_all(write=args.write)
    print(f"recovery time constant (ATAC 2011): {recovery_time_constant():.3f} years")
    print(
        "tamoxifen net change (ATAC 2008), %/yr: "
        + ", ".join(f"{k} {v:+.3f}" for k, v in tamoxifen_net_change().items())
    )
    print(
        "offset time constants (antiresorptive_offset.json), years: "
        + ", ".join(f"{k} {v:.3f}" for k, v in offset_time_constants().items())
    )
    print(
        "vibration gain (vibration.json, evidence very low), %/yr: "
        + ", ".join(f"{k} {v:.3f}" for k, v in vibration_gain().items())
    )
    print(format_report(reports))
    if args.write:
        print("wrote data/parameters/*.json")
    return 0


def _main_draws(count: int | None, write: bool) -> int:
    import time

    print(
        "pooled SD of one woman's percent change [points]: " + ", ".join(f"{k} {v:.3f}" for k, v in pooled_sd().items())
    )
    se = target_standard_errors()
    drawn = set(drawn_observations())
    for key in sorted(se):
        role = "" if key in drawn else ("  (not drawn)" if _locate(key)[3] == "calibration" else "  (pooled SD only)")
        print(f"  SE {key:<40} {observed_value(key):>7.2f} +/- {se[key]:.3f}{role}")
    for name in available_parameter_sets():
        start = time.perf_counter()
        if write:
            doc = write_draws([name], count=count)[name]
        else:
            doc = calibration_draws(name, count=count)
        seconds = time.perf_counter() - start
        print(f"{name}: {doc['count']} draws in {seconds:.1f} s (seed {doc['seed']})")
        for key, vals in doc["parameters"].items():
            arr = np.array([_scalar(v) if v is not None else np.nan for v in vals])
            lo, mid, hi = np.nanpercentile(arr, [2.5, 50, 97.5])
            if hi > lo:
                print(f"  {key:<58} {mid:>9.4g}  [{lo:.4g}, {hi:.4g}]")
    if write:
        print(f"wrote data/{DRAWS_FOLDER}/*.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
