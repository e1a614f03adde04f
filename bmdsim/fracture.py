"""Relative fracture risk from the BMD trajectory.

Each standard deviation of BMD lost multiplies the risk of fracture by a
gradient (Marshall et al. 1996): 1.5 for any fracture with BMD at any site,
2.3 for vertebral fractures with lumbar-spine BMD, 2.6 for hip fractures with
hip BMD. With T-scores ``T(t)`` the relative risk against a reference
T-score ``T_ref`` is

.. math:: \\mathrm{RR}(t) = g^{\\,T_\\mathrm{ref} - T(t)}

and ``T_ref`` defaults to the patient's own baseline T-score, so the result
reads "how much higher than at the baseline scan".

Limits
------
This is a *relative* risk from BMD alone. It is not an absolute fracture
probability and not FRAX: it ignores age, prior fracture, falls and every
other clinical risk factor, and the gradients come from cohorts of women not
treated for breast cancer. An optional multiplier for aromatase-inhibitor use
(Tseng et al. 2018, 1.17) applies while a patient is on the drug; because
part of that excess is carried by the BMD loss the gradient already counts,
applying both overstates the risk (off by default).
"""

from __future__ import annotations

import numpy as np

from . import _data
from ._validation import as_finite_float, check_choice
from .simulation import Trajectory

_FILE = "fracture_risk.json"


def outcomes() -> dict[str, tuple[str, ...]]:
    """Fracture outcomes with the sites whose BMD predicts them."""
    return {k: tuple(v["sites"]) for k, v in _data.read_json(_FILE)["gradients"].items()}


def gradient(outcome: str, site: str, bound: str = "estimate") -> float:
    """Relative risk per 1 SD decrease in BMD at ``site`` for ``outcome``.

    Parameters
    ----------
    outcome : {"any", "vertebral", "hip"}
    site : str
        Must predict ``outcome``: any site for "any", the lumbar spine for
        "vertebral", a hip site for "hip".
    bound : {"estimate", "low", "high"}
        The point estimate or a limit of its 95 % confidence interval.
    """
    table = _data.read_json(_FILE)["gradients"]
    check_choice("outcome", outcome, table)
    entry = table[outcome]
    if site not in entry["sites"]:
        raise ValueError(
            f"site {site!r} does not predict {outcome!r} fractures in the source; "
            f"use one of {', '.join(entry['sites'])}"
        )
    check_choice("bound", bound, ("estimate", "low", "high"))
    return float({"estimate": entry["rr_per_sd"], "low": entry["ci95"][0], "high": entry["ci95"][1]}[bound])


def relative_risk(
    traj: Trajectory,
    site: str,
    outcome: str = "any",
    reference_t_score: float | None = None,
    bound: str = "estimate",
    ai_multiplier: bool = False,
) -> np.ndarray:
    """Relative fracture risk at :attr:`Trajectory.time`, from the T-score at ``site``.

    Parameters
    ----------
    traj : Trajectory
    site : str
    outcome : {"any", "vertebral", "hip"}
    reference_t_score : float, optional
        T-score [SD] at which the relative risk is 1; the patient's baseline if None.
    bound : {"estimate", "low", "high"}
        Which gradient to use (point estimate or 95 % CI limit).
    ai_multiplier : bool
        Multiply by the AI-use relative risk (1.17) while on an aromatase
        inhibitor. Off by default: it partly double counts BMD loss.

    Returns
    -------
    ndarray
        Shape of ``traj.t_score(site)``: ``(m,)`` or ``(n, m)``.
    """
    g = gradient(outcome, site, bound)
    t = np.asarray(traj.t_score(site))
    if reference_t_score is None:
        ref = t[..., :1]
    else:
        ref = as_finite_float("reference_t_score", reference_t_score)
    rr = g ** (ref - t)
    if ai_multiplier:
        mult = _data.read_json(_FILE)["aromatase_inhibitor_multiplier"]["rr"]
        on = np.zeros(t.shape, dtype=bool)
        for e in traj.regimen:
            if e.agent == "aromatase_inhibitor":
                start, stop = traj.exposure_times(e)
                start = np.asarray(start, dtype=float)[..., None] if np.ndim(start) else start
                stop = np.asarray(stop, dtype=float)[..., None] if np.ndim(stop) else stop
                on |= (traj.time >= start) & (traj.time < stop)
        rr = np.where(on, rr * mult, rr)
    return rr
