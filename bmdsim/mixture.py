"""Cohorts that mix patient profiles: a share of premenopausal women on ovarian suppression, for example.

A cohort of :func:`bmdsim.simulate_cohort` holds one regimen and one
population. A population of several profiles (postmenopausal women on an AI,
premenopausal women on goserelin and an AI, women whose chemotherapy ended
their menstruation, ...) is a :class:`MixedCohort`: one sub-cohort per
:class:`Subgroup`, each on its own fast path, pooled for every summary.

Sizes follow the shares by largest remainder, so they add up to ``n``
exactly; each subgroup gets its own seed, derived from the mixture's seed and
the subgroup's position, so a subgroup's women do not change when another
subgroup is added after it. Pooled summaries are exact for the pooled women:
``fraction_below`` is the size-weighted mean of the subgroups' fractions, and
the percentiles are those of all crossing times together.

Examples
--------
>>> import bmdsim
>>> from bmdsim import Exposure, Regimen
>>> from bmdsim.mixture import Subgroup, simulate_mixture
>>> young = bmdsim.Population(
...     age=bmdsim.TruncatedNormal(43, 4, 30, 55), t_score={"lumbar_spine": bmdsim.TruncatedNormal(0, 1, -4, 4)}
... )
>>> old = bmdsim.Population(
...     age=bmdsim.TruncatedNormal(64, 8, 50, 85), t_score={"lumbar_spine": bmdsim.TruncatedNormal(-1, 1, -4, 4)}
... )
>>> ofs_ai = Regimen([Exposure("ovarian_suppression", 0, 3), Exposure("aromatase_inhibitor", 0, 5)])
>>> ai = Regimen([Exposure("aromatase_inhibitor", 0, 5)])
>>> groups = [Subgroup("premenopausal", 0.3, ofs_ai, young), Subgroup("postmenopausal", 0.7, ai, old)]
>>> mix = simulate_mixture(groups, n=10_000, years=10, seed=1)
>>> mix.sizes
{'premenopausal': 3000, 'postmenopausal': 7000}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import tables
from ._validation import as_finite_float, as_int, bounded_items, check_text, named_items
from .cohort import (
    DEFAULT_PERCENTILES,
    CohortResult,
    CrossingPercentiles,
    FractionBelow,
    Population,
    fraction_by,
    simulate_cohort,
)
from .measurement import check_seed
from .regimen import Regimen
from .summary import wilson_interval

if TYPE_CHECKING:  # pragma: no cover - annotations only
    import pandas as pd

#: Most subgroups in one mixture: a handful of profiles, each a cohort of its own.
MAX_SUBGROUPS = 20

#: Largest distance [1] of the shares' sum from 1 that is read as rounding.
SHARE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Subgroup:
    """One profile in a :class:`MixedCohort`: its name, share of the women, regimen and population.

    Parameters
    ----------
    name : str
        Label in tables (unique within a mixture).
    share : float
        Share of the mixture's women [1], in (0, 1].
    regimen : Regimen
        This subgroup's regimen (for example ovarian suppression and an AI).
    population : Population, optional
        Who this subgroup's women are; the default population
        (:func:`bmdsim.cohort.default_population`) if None.
    """

    name: str
    share: float
    regimen: Regimen
    population: Population | None = None

    def __post_init__(self) -> None:
        check_text("Subgroup name", self.name)
        if not self.name:
            raise ValueError("Subgroup name must not be empty")
        share = as_finite_float(f"Subgroup {self.name!r} share", self.share)
        if not 0.0 < share <= 1.0:
            raise ValueError(f"Subgroup {self.name!r} share must be in (0, 1], got {share:g}")
        object.__setattr__(self, "share", share)
        if not isinstance(self.regimen, Regimen):
            raise TypeError(
                f"Subgroup {self.name!r} regimen must be a bmdsim.Regimen, got {type(self.regimen).__name__}"
            )
        if self.population is not None and not isinstance(self.population, Population):
            raise TypeError(
                f"Subgroup {self.name!r} population must be a bmdsim.Population or None, "
                f"got {type(self.population).__name__}"
            )


def subgroup_sizes(shares: Sequence[float], n: int) -> list[int]:
    """Sizes ``n_i`` that add up to ``n``, as close to ``share_i * n`` as whole numbers allow (largest remainder).

    Ties in the remainder go to the earlier subgroup.
    """
    exact = np.asarray(shares, dtype=float) * n
    sizes = np.floor(exact).astype(np.int64)
    left = n - int(sizes.sum())
    order = np.argsort(-(exact - sizes), kind="stable")
    sizes[order[:left]] += 1
    return [int(s) for s in sizes]


def _subgroup_seed(seed: int, index: int) -> int:
    """The seed of subgroup ``index``: a 64-bit integer derived from the mixture's seed and the index."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, dtype=np.uint64)[0])


class MixedCohort:
    """Several profiles' cohorts, pooled: what :func:`simulate_mixture` returns.

    Attributes
    ----------
    groups : dict of str -> CohortResult
        Each subgroup's cohort, in the order given.
    sizes : dict of str -> int
        Women per subgroup; they add up to :attr:`n`.
    n : int
        Women in all.
    years : float
        Horizon [years].
    sites : tuple of str
        Sites every subgroup simulates.
    """

    def __init__(self, groups: Mapping[str, CohortResult]) -> None:
        self.groups = dict(groups)
        self.sizes = {name: result.n for name, result in self.groups.items()}
        self.n = sum(self.sizes.values())
        first = next(iter(self.groups.values()))
        self.years = first.years
        self.sites = tuple(s for s in first.sites if all(s in r.sites for r in self.groups.values()))

    def __repr__(self) -> str:
        parts = ", ".join(f"{name}: {size}" for name, size in self.sizes.items())
        return f"MixedCohort(n={self.n}, years={self.years:g}; {parts})"

    def _site(self, site: str) -> str:
        if site not in self.sites:
            raise ValueError(f"site {site!r} is not simulated in every subgroup; choose one of {', '.join(self.sites)}")
        return site

    def crossing_time(self, site: str, threshold: float) -> np.ndarray:
        """Exact crossing times [years] of every woman, the subgroups one after another, shape ``(n,)``.

        As :meth:`bmdsim.CohortResult.crossing_time` (0 at or below at
        baseline, inf not within the horizon).
        """
        site = self._site(site)
        return np.concatenate([r.crossing_time(site, threshold) for r in self.groups.values()])

    def fraction_below(self, site: str, threshold: float, times: Iterable[float]) -> FractionBelow:
        """Share of all women who have reached ``threshold`` by each time, with a Wilson band.

        Returns
        -------
        FractionBelow
            ``time``, ``fraction`` (the subgroups' fractions weighted by their
            sizes), ``low`` and ``high`` (95 % Wilson interval for ``n``
            women: sampling of the synthetic cohort only). Parameter draws are
            not pooled.
        """
        site = self._site(site)
        tt = next(iter(self.groups.values())).check_times(times)
        fraction = sum(fraction_by(r.crossing_time(site, threshold), tt) * r.n for r in self.groups.values()) / self.n
        low, high = wilson_interval(fraction, self.n)
        return FractionBelow({"time": tt, "fraction": fraction, "low": low, "high": high}, site, threshold)

    def crossing_percentiles(
        self, site: str, threshold: float, q: Sequence[float] = DEFAULT_PERCENTILES
    ) -> CrossingPercentiles:
        """Percentiles [years] of time to crossing over all women: ``{q: time}`` (inf: fewer than q % cross)."""
        qq = np.atleast_1d(np.asarray(bounded_items(q, 101, "q must hold at most 101 percentiles"), dtype=float))
        if qq.size == 0 or not np.all(np.isfinite(qq)) or np.any((qq < 0) | (qq > 100)):
            raise ValueError(f"q must hold 1 to 101 percentiles in [0, 100], got {[float(v) for v in qq]}")
        values = np.percentile(self.crossing_time(site, threshold), qq, method="inverted_cdf")
        return CrossingPercentiles({float(a): float(v) for a, v in zip(qq, values, strict=True)}, site, threshold)

    def fraction_frame(self, site: str, threshold: float, times: Iterable[float]) -> pd.DataFrame:
        """Share below ``threshold`` by each time, per subgroup and pooled, as a tidy table.

        Returns
        -------
        pandas.DataFrame
            Columns ``group`` (a subgroup's name, or ``"all"``), ``share_of_cohort``
            [1], ``n_women``, ``site``, ``threshold_t_score_sd`` [SD],
            ``time_years`` [years] and ``fraction_below`` [1].
        """
        site = self._site(site)
        pooled = self.fraction_below(site, threshold, times)
        tt = pooled["time"]
        rows: dict[str, list[Any]] = {
            k: [] for k in ("group", "share_of_cohort", "n_women", "time_years", "fraction_below")
        }
        parts = [(name, r.n, fraction_by(r.crossing_time(site, threshold), tt)) for name, r in self.groups.items()]
        parts.append(("all", self.n, pooled["fraction"]))
        for name, size, fraction in parts:
            rows["group"] += [name] * tt.size
            rows["share_of_cohort"] += [size / self.n] * tt.size
            rows["n_women"] += [size] * tt.size
            rows["time_years"] += list(tt)
            rows["fraction_below"] += list(fraction)
        columns = {
            "group": rows["group"],
            "share_of_cohort": np.asarray(rows["share_of_cohort"], dtype=float),
            "n_women": np.asarray(rows["n_women"], dtype=np.int64),
            "site": [site] * len(rows["group"]),
            "threshold_t_score_sd": np.full(len(rows["group"]), float(threshold)),
            "time_years": np.asarray(rows["time_years"], dtype=float),
            "fraction_below": np.asarray(rows["fraction_below"], dtype=float),
        }
        units = {
            "group": "label of the subgroup (a profile), or all for the pooled cohort",
            "n_women": "women in the subgroup",
            "share_of_cohort": "1 (share of all women)",
            "fraction_below": "1 (share of the group at or below the threshold by then)",
        }
        return tables.frame(columns, f"Share below T = {threshold:g} at {site}, per subgroup and pooled", units)


def simulate_mixture(subgroups: Sequence[Subgroup], n: int, years: float, seed: int, **kwargs: Any) -> MixedCohort:
    """Simulate a cohort that mixes profiles: one :func:`bmdsim.simulate_cohort` per subgroup, pooled.

    Parameters
    ----------
    subgroups : sequence of Subgroup
        1 to :data:`MAX_SUBGROUPS` subgroups with distinct names; their
        shares must add up to 1 (within :data:`SHARE_TOLERANCE`).
    n : int
        Women in all; each subgroup gets at least one.
    years : float
        Horizon [years].
    seed : int
        Seed of the mixture; each subgroup's seed is derived from it and the
        subgroup's position.
    **kwargs
        Further keywords of :func:`bmdsim.simulate_cohort` for every
        subgroup (``params``, ``variability``, ``chunk_size``, ``workers``,
        ``measurement_error``, ``executor``); not ``parameter_draws`` (draws
        are not pooled) and not ``population`` (give it per subgroup).

    Returns
    -------
    MixedCohort

    Raises
    ------
    TypeError
        If a subgroup is not a :class:`Subgroup`.
    ValueError
        If names repeat, shares do not add up to 1, a subgroup would get no
        woman, or a keyword is not allowed; and whatever
        :func:`bmdsim.simulate_cohort` refuses.
    """
    items = named_items(subgroups, Subgroup, "subgroups", MAX_SUBGROUPS, "bmdsim.mixture.Subgroup")
    total = sum(g.share for g in items)
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise ValueError(
            f"subgroup shares must add up to 1, got {total:.12g} ({', '.join(f'{g.share:g}' for g in items)})"
        )
    why = {
        "parameter_draws": "parameter draws are not pooled across subgroups",
        "population": "give each Subgroup its population",
    }
    for key, reason in why.items():
        if key in kwargs:
            raise ValueError(f"simulate_mixture does not take {key}: {reason}")
    n = as_int("n", n, 1, 2**63 - 1)
    seed = check_seed(seed)
    sizes = subgroup_sizes([g.share for g in items], n)
    for g, size in zip(items, sizes, strict=True):
        if size < 1:
            raise ValueError(f"subgroup {g.name!r} (share {g.share:g}) gets no woman of n = {n}; raise n or the share")
    groups = {}
    for i, (g, size) in enumerate(zip(items, sizes, strict=True)):
        extra = {} if g.population is None else {"population": g.population}
        groups[g.name] = simulate_cohort(size, g.regimen, years, _subgroup_seed(seed, i), **extra, **kwargs)
    return MixedCohort(groups)


__all__ = ["MAX_SUBGROUPS", "MixedCohort", "Subgroup", "simulate_mixture", "subgroup_sizes"]
