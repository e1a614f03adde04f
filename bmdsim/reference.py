"""Young-adult reference data: conversion between BMD and T-score.

The T-score of a measurement is its distance from the mean of young adult
women, in units of their standard deviation:

.. math:: T = (\\mathrm{BMD} - \\mu_\\mathrm{site}) / \\sigma_\\mathrm{site}

The default reference (``data/reference_young_adult.json``) uses NHANES III
non-Hispanic white women aged 20-29 for the femoral neck and total hip, as the
WHO recommends. Lumbar-spine T-scores are calculated with the DXA maker's own
reference, which differs between makers; the default spine reference is a
documented, replaceable choice. Pass your own with
:meth:`YoungAdultReference.from_values`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from . import _data, limits
from ._validation import as_finite_float, as_float_array, check_choice, check_range, check_text
from .sites import SITES, check_site

_REFERENCE_FILE = "reference_young_adult.json"


def _real_values(name: str, value: object) -> np.ndarray:
    """``value`` as a finite, real float array of any shape (or a scalar, or a 1-D list); else raise naming ``name``."""
    if isinstance(value, np.ndarray) and value.ndim > 1:  # (patients, times) arrays from a simulation
        return as_float_array(name, value.reshape(-1)).reshape(value.shape)
    return as_float_array(name, value)


def _mapping(name: str, value: object) -> Mapping:
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping of site name to value, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class YoungAdultReference:
    """Young-adult mean and SD of areal BMD per site.

    Parameters
    ----------
    mean : mapping of site -> float
        Young-adult mean BMD [g/cm2].
    sd : mapping of site -> float
        Young-adult standard deviation of BMD [g/cm2].
    name : str
        A label for tables and captions.
    sources : mapping of site -> str
        Where each site's numbers come from.
    """

    mean: Mapping[str, float]
    sd: Mapping[str, float]
    name: str = "custom"
    sources: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_text("reference name", self.name)
        for label, values in (("mean", self.mean), ("sd", self.sd), ("sources", self.sources)):
            for site in _mapping(f"reference {label}", values):
                check_site(site, "reference site")
        if set(self.mean) != set(self.sd):
            raise ValueError(
                f"reference mean and sd must cover the same sites, got mean for {sorted(self.mean)} "
                f"and sd for {sorted(self.sd)}"
            )
        mean, sd = {}, {}
        for site in self.mean:
            mean[site] = as_finite_float(f"reference mean for {site}", self.mean[site])
            sd[site] = as_finite_float(f"reference sd for {site}", self.sd[site])
            check_range(
                f"reference mean for {site}", np.asarray(mean[site]), *limits.REFERENCE_MEAN_G_CM2, unit="g/cm2"
            )
            check_range(f"reference sd for {site}", np.asarray(sd[site]), *limits.REFERENCE_SD_G_CM2, unit="g/cm2")
        sources = {site: check_text(f"reference source for {site}", text) for site, text in self.sources.items()}
        # Read-only copies of the checked values: changing the caller's dicts cannot bypass the checks.
        object.__setattr__(self, "mean", MappingProxyType(mean))
        object.__setattr__(self, "sd", MappingProxyType(sd))
        object.__setattr__(self, "sources", MappingProxyType(sources))

    @classmethod
    def from_values(
        cls, values: Mapping[str, tuple[float, float]], name: str = "custom", source: str = "user supplied"
    ) -> YoungAdultReference:
        """Build a reference from ``{site: (mean, sd)}`` in g/cm2.

        Sites not given fall back to the default reference, so a user can
        replace only the lumbar-spine reference of their DXA maker.

        Parameters
        ----------
        values : mapping of site -> (mean, sd)
            Young-adult mean and SD of BMD [g/cm2] per site.
        name : str
            A label for tables and captions.
        source : str
            Where the given values come from.
        """
        _mapping("reference values", values)
        check_text("reference name", name)
        check_text("reference source", source)
        default = load_reference()
        mean = dict(default.mean)
        sd = dict(default.sd)
        sources = dict(default.sources)
        for site, pair in values.items():
            check_site(site, "reference site")
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError(f"reference value for {site} must be a (mean, sd) pair in g/cm2, got {pair!r}")
            mean[site], sd[site] = pair
            sources[site] = source
        return cls(mean=mean, sd=sd, name=name, sources=sources)

    def _pair(self, site: str) -> tuple[float, float]:
        check_site(site)
        if site not in self.mean:
            raise ValueError(f"reference {self.name!r} has no values for site {site!r}; it covers {sorted(self.mean)}")
        return float(self.mean[site]), float(self.sd[site])

    def t_score(self, site: str, bmd: np.ndarray | float) -> np.ndarray:
        """T-score [SD] of areal BMD ``bmd`` [g/cm2] at ``site``.

        Parameters
        ----------
        site : str
            A site the reference covers.
        bmd : float or array
            Areal BMD [g/cm2], finite and non-negative; any shape.

        Returns
        -------
        ndarray
            T-scores [SD], the shape of ``bmd``.

        Raises
        ------
        TypeError
            If ``bmd`` is not real (booleans, strings, complex numbers are refused).
        ValueError
            If ``bmd`` is NaN, infinite, negative, or so large that its T-score overflows.
        """
        mean, sd = self._pair(site)
        arr = _real_values("bmd", bmd)
        check_range("bmd", arr, 0.0, np.inf, unit="g/cm2")
        with np.errstate(over="ignore"):
            out = (arr - mean) / sd
        if not np.all(np.isfinite(out)):
            raise ValueError(f"bmd at {site} is too large for a finite T-score, got {float(np.max(arr)):g} g/cm2")
        return out

    def bmd(self, site: str, t_score: np.ndarray | float) -> np.ndarray:
        """Areal BMD [g/cm2] at ``site`` that has the T-score ``t_score``.

        Parameters
        ----------
        site : str
            A site the reference covers.
        t_score : float or array
            T-scores [SD], finite; any shape.

        Returns
        -------
        ndarray
            ``mean + t_score * sd`` [g/cm2], the shape of ``t_score``. Not
            clipped: a T-score far below the mean gives a BMD at or below
            zero, which no bone reaches.
        """
        mean, sd = self._pair(site)
        return mean + _real_values("t_score", t_score) * sd


def available_references() -> tuple[str, ...]:
    """Names of the reference data sets shipped in ``data/``."""
    return tuple(_data.read_json(_REFERENCE_FILE)["references"])


def load_reference(name: str = "default") -> YoungAdultReference:
    """Load a shipped young-adult reference by name.

    Parameters
    ----------
    name : str
        One of :func:`available_references` (default ``"default"``).

    Returns
    -------
    YoungAdultReference

    References
    ----------
    See ``data/reference_young_adult.json`` and ``data/citations.json`` for the
    source of every value.
    """
    refs = _data.read_json(_REFERENCE_FILE)["references"]
    check_choice("reference", name, refs)
    entry = refs[name]
    sites = entry["sites"]
    return YoungAdultReference(
        mean={s: sites[s]["mean_g_cm2"] for s in SITES if s in sites},
        sd={s: sites[s]["sd_g_cm2"] for s in SITES if s in sites},
        name=name,
        sources={s: f"{sites[s]['citation']}: {sites[s]['where']}" for s in SITES if s in sites},
    )
