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
figure (reported confidence intervals are not available for every target,
so they are recorded but not used). Observations with ``role:
"validation"`` are never fitted; :mod:`bmdsim.validation` reports them.

``antiresorptive_offset.json`` and ``vibration.json`` give derived values
(offset time constants, the vibration gain) in every set; see those files.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from . import _data
from .model import SiteModel
from .parameters import ParameterSet, _specs, available_parameter_sets, parameter_set_from_dict
from .patient import Patient
from .regimen import Exposure, Regimen
from .simulation import simulate

#: Significant digits kept when fitted values are written to JSON.
_DIGITS = 10
#: Fitted values smaller than this in magnitude are written as 0: they sit at a
#: bound of 0, and the solver's leftovers (1e-30 and the like) are noise that a refit
#: does not reproduce to relative precision.
_ZERO = 1e-9


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


def _regimen(arm: dict[str, Any]) -> Regimen:
    return Regimen([Exposure(e["agent"], start=e["start"], stop=e["stop"]) for e in arm["exposures"]])


def arm_change(params: ParameterSet, arm: dict[str, Any], site: str, start: float, stop: float, age: float) -> float:
    """Exact percent change of BMD at ``site`` from ``start`` to ``stop`` [years] under one arm's regimen."""
    loss = SiteModel(params, _regimen(arm), site).log_loss(np.array([start, stop], dtype=float), age)
    return float(100.0 * np.expm1(-(loss[1] - loss[0])))


def observation_model(params: ParameterSet, doc: dict[str, Any], obs: dict[str, Any]) -> float:
    """The model's value of one observation of a target file [per cent, or percentage points for a contrast]."""
    age = doc["baseline_age_years"]
    args = (obs["site"], obs["from_years"], obs["to_years"], age)
    value = arm_change(params, doc["arms"][obs["arm"]], *args)
    if "minus" in obs:
        value -= arm_change(params, doc["arms"][obs["minus"]], *args)
    return value


def observation_label(obs: dict[str, Any]) -> str:
    """A short readable name of an observation: site, arm(s) and period in months."""
    arm = obs["arm"] + (f" - {obs['minus']}" if "minus" in obs else "")
    months = f"{12 * obs['from_years']:g}-{12 * obs['to_years']:g} mo"
    return f"{obs['site']} {arm} {months}"


def stage_observations(refs: list[str]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Resolve a stage's observation references to ``(file, document, observation)`` triples.

    ``"<file>"`` selects every observation of the file whose role is
    calibration; ``"<file>:<id>"`` one observation, which must have that role.
    """
    out = []
    for ref in refs:
        name, _, wanted = ref.partition(":")
        doc = _data.read_json(f"targets/{name}.json")
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
    specs = _specs()
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
    x0 = np.array([1.0 if k.startswith("natural.") else x for k, x in zip(free, x0, strict=True)])
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


def calibrate(doc: dict[str, Any]) -> tuple[dict[str, Any], list[Residual]]:
    """Refit one parameter-set document (the JSON layout of ``data/parameters``).

    Returns the updated document and the residuals of its targets. The fit
    starts from the middle of each parameter's allowed range, never from the
    shipped value, so a refit reproduces the shipped file exactly.
    """
    doc = copy.deepcopy(doc)
    entries = doc["parameters"]
    tau = recovery_time_constant()
    entries["aromatase_inhibitor.recovery_time_constant_years"]["value"] = float(f"{tau:.{_DIGITS}g}")
    for site, rate in tamoxifen_net_change().items():
        entries[f"tamoxifen.{site}.net_change_pct_per_year"]["value"] = float(f"{rate:.{_DIGITS}g}")
    for agent, t_off in offset_time_constants().items():
        entries[f"{agent}.offset_time_constant_years"]["value"] = _rounded(t_off)
    for site, gain in vibration_gain().items():
        entries[f"vibration.{site}.gain_pct_per_year"]["value"] = _rounded(gain)

    cal = doc["calibration"]
    residuals: list[Residual] = []
    if "targets" in cal:
        targets = _data.read_json(f"targets/{cal['targets']}.json")
        _fit(
            doc,
            cal["free"],
            cal.get("tied", {}),
            lambda ps: [r.error for r in _brex_residuals(ps, targets, cal["fit"])],
        )
        residuals += _brex_residuals(parameter_set_from_dict(doc), targets, cal["fit"])
    for stage in cal.get("stages", []):
        items = stage_observations(stage["observations"])
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
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    raise SystemExit(main())
