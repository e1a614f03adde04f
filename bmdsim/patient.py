"""Patients: age and baseline BMD or T-score per site.

A :class:`Patient` describes one woman or many (1-D arrays of equal length)
at the baseline scan, time zero of a simulation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from . import limits
from ._validation import as_float_array, check_allocation, check_range
from .reference import YoungAdultReference
from .sites import SITES, check_site

#: The sexes bmdsim models. Men have their own natural loss and AI excess (:mod:`bmdsim.profiles`);
#: their T-scores use the same (female) young-adult reference, as ISCD 2013 recommends.
SEXES = ("female", "male")


def check_sex(sex: object, name: str = "sex") -> str:
    """Return ``sex`` if it is one of :data:`SEXES`; otherwise raise naming ``name``."""
    if not isinstance(sex, str):
        raise TypeError(f"{name} must be one of {', '.join(map(repr, SEXES))}, got {type(sex).__name__}")
    if sex not in SEXES:
        shown = repr(sex) if len(sex) <= 40 else repr(sex[:40] + "...")
        raise ValueError(f"{name} must be one of {', '.join(map(repr, SEXES))}, got {shown}")
    return sex


def _site_values(field_name: str, values: object) -> dict[str, np.ndarray]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise TypeError(f"{field_name} must be a mapping of site name to value(s), got {type(values).__name__}")
    out = {}
    for site, value in values.items():
        check_site(site, f"{field_name} site")
        out[site] = as_float_array(f"{field_name}[{site!r}]", value)
    return out


@dataclass(frozen=True, init=False)
class Patient:
    """One patient, or many at once, at the baseline scan.

    Parameters
    ----------
    age : float or 1-D array
        Age at baseline [years], in ``limits.AGE_YEARS``.
    bmd : mapping of site -> float or 1-D array, optional
        Areal BMD at baseline [g/cm2], in ``limits.BMD_G_CM2``.
    t_score : mapping of site -> float or 1-D array, optional
        T-score at baseline [SD], in ``limits.T_SCORE``; converted to BMD with
        the simulation's young-adult reference.
    sex : {"female", "male"}
        One sex for every patient of this object (default ``"female"``). Men
        have their own natural loss and AI excess (:mod:`bmdsim.profiles`).

    Each site is given either as a BMD or as a T-score, not both. Sites not
    given are not simulated. Scalars and arrays may be mixed; arrays must all
    have the same length ``n``, and scalars apply to every patient.

    Raises
    ------
    TypeError
        If a value is not a real number or a 1-D array of real numbers
        (booleans, strings and complex numbers are refused), or a mapping is
        not a mapping of site names.
    ValueError
        If a value is NaN, infinite, empty or out of its range, arrays differ
        in length, or an array would exceed :data:`bmdsim.limits.MAX_ARRAY_BYTES`.

    Examples
    --------
    >>> Patient(age=63, t_score={"lumbar_spine": -1.2, "femoral_neck": -1.5}).n
    1
    """

    age: np.ndarray
    bmd: Mapping[str, np.ndarray] = field(default_factory=dict)
    t_score: Mapping[str, np.ndarray] = field(default_factory=dict)
    n: int = 1
    is_scalar: bool = True
    sex: str = "female"

    def __init__(
        self,
        age: float | np.ndarray,
        bmd: Mapping[str, float | np.ndarray] | None = None,
        t_score: Mapping[str, float | np.ndarray] | None = None,
        sex: str = "female",
    ) -> None:
        object.__setattr__(self, "sex", check_sex(sex))
        age_arr = as_float_array("age", age)
        check_range("age", age_arr, *limits.AGE_YEARS, unit="years")
        bmd_d = _site_values("bmd", bmd)
        t_d = _site_values("t_score", t_score)
        both = sorted(set(bmd_d) & set(t_d))
        if both:
            raise ValueError(f"site {both[0]!r} is given both as bmd and as t_score; give one of them per site")
        if not bmd_d and not t_d:
            raise ValueError(f"a patient needs a bmd or a t_score for at least one site of {', '.join(SITES)}")
        for site, arr in bmd_d.items():
            check_range(f"bmd[{site!r}]", arr, *limits.BMD_G_CM2, unit="g/cm2")
        for site, arr in t_d.items():
            check_range(f"t_score[{site!r}]", arr, *limits.T_SCORE, unit="SD")

        arrays = {"age": age_arr} | {f"bmd[{k!r}]": v for k, v in bmd_d.items()}
        arrays |= {f"t_score[{k!r}]": v for k, v in t_d.items()}
        lengths = {name: a.size for name, a in arrays.items() if a.ndim == 1}
        sizes = set(lengths.values())
        if len(sizes) > 1:
            detail = ", ".join(f"{k}: {v}" for k, v in lengths.items())
            raise ValueError(f"patient arrays must all have the same length; got {detail}")
        n = sizes.pop() if sizes else 1
        check_allocation(f"a Patient array of {n} patients ({', '.join(arrays)})", float(n), hint="use fewer patients")
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "is_scalar", not lengths)
        object.__setattr__(self, "age", np.broadcast_to(age_arr, (n,)).copy())
        object.__setattr__(self, "bmd", {k: np.broadcast_to(v, (n,)).copy() for k, v in bmd_d.items()})
        object.__setattr__(self, "t_score", {k: np.broadcast_to(v, (n,)).copy() for k, v in t_d.items()})

    @property
    def sites(self) -> tuple[str, ...]:
        """Sites with a baseline value, in the order of :data:`bmdsim.SITES`."""
        return tuple(s for s in SITES if s in self.bmd or s in self.t_score)

    def baseline_bmd(self, site: str, reference: YoungAdultReference) -> np.ndarray:
        """Baseline BMD [g/cm2] at ``site``, shape ``(n,)``, converting a T-score with ``reference``.

        Raises
        ------
        TypeError
            If ``reference`` is not a :class:`bmdsim.YoungAdultReference`.
        ValueError
            If ``site`` has no baseline value, or its T-score converts to a non-positive BMD.
        """
        check_site(site)
        if not isinstance(reference, YoungAdultReference):
            raise TypeError(f"reference must be a bmdsim.YoungAdultReference, got {type(reference).__name__}")
        if site in self.bmd:
            return self.bmd[site]
        if site in self.t_score:
            out = reference.bmd(site, self.t_score[site])
            if np.any(out <= 0):
                raise ValueError(
                    f"t_score[{site!r}] converts to a non-positive BMD with reference {reference.name!r}; "
                    "check the T-score and the reference"
                )
            return out
        raise ValueError(f"site {site!r} has no baseline value for this patient; given sites are {self.sites}")
