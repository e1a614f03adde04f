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

import numpy as np

from . import _data, limits
from ._validation import as_finite_float, check_choice, check_range
from .sites import SITES, check_site

_REFERENCE_FILE = "reference_young_adult.json"


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
        for site in self.mean:
            check_site(site, "reference site")
        if set(self.mean) != set(self.sd):
            raise ValueError(
                f"reference mean and sd must cover the same sites, got mean for {sorted(self.mean)} "
                f"and sd for {sorted(self.sd)}"
            )
        for site in self.mean:
            m = as_finite_float(f"reference mean for {site}", self.mean[site])
            s = as_finite_float(f"reference sd for {site}", self.sd[site])
            check_range(f"reference mean for {site}", np.asarray(m), *limits.REFERENCE_MEAN_G_CM2, unit="g/cm2")
            check_range(f"reference sd for {site}", np.asarray(s), *limits.REFERENCE_SD_G_CM2, unit="g/cm2")

    @classmethod
    def from_values(
        cls, values: Mapping[str, tuple[float, float]], name: str = "custom", source: str = "user supplied"
    ) -> YoungAdultReference:
        """Build a reference from ``{site: (mean, sd)}`` in g/cm2.

        Sites not given fall back to the default reference, so a user can
        replace only the lumbar-spine reference of their DXA maker.
        """
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
        """T-score of areal BMD ``bmd`` [g/cm2] at ``site``."""
        mean, sd = self._pair(site)
        return (np.asarray(bmd, dtype=float) - mean) / sd

    def bmd(self, site: str, t_score: np.ndarray | float) -> np.ndarray:
        """Areal BMD [g/cm2] at ``site`` that has the T-score ``t_score``."""
        mean, sd = self._pair(site)
        return mean + np.asarray(t_score, dtype=float) * sd


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
