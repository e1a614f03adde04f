"""Exact first-crossing times of a BMD threshold.

Convention
----------
A threshold ``T*`` is *crossed* at the first time ``t`` in ``[0, horizon]``
at which the T-score is **at or below** ``T*`` (the WHO convention: a T-score
of -2.5 is osteoporosis). The result is ``0.0`` if the T-score is already at
or below the threshold at baseline, and ``inf`` if it is not reached within
the horizon (or if the threshold corresponds to a BMD at or below zero).

Method
------
With ``BMD(t) = BMD(0) exp(-L(t))``, the T-score is at or below ``T*`` exactly
when ``L(t) >= c`` with ``c = ln(BMD(0) / BMD*)`` and ``BMD* = mu + T* sigma``.
``L`` and its derivative are known in closed form (:mod:`bmdsim.model`).

1. Checkpoints: every breakpoint of the regimen, the ages at which natural
   loss changes rate (per patient), and a uniform grid no wider than
   ``SiteModel.checkpoint_spacing`` (a quarter of the model's shortest time
   constant, at most a month).
2. In each cell between checkpoints, the maximum of ``L`` is at an end, or at
   an interior point where the rate changes sign from + to -; such a point is
   found by bisection on the rate.
3. The first cell whose maximum reaches ``c`` brackets the crossing, which a
   vectorised, safeguarded regula falsi (Illinois) refines to 1e-10 years.

This is exact as long as the rate changes sign at most once inside a cell. A
sum of ``k`` exponential terms has at most ``k - 1`` sign changes, so the
natural + aromatase-inhibitor + recovery model meets this everywhere, and
cells a quarter of the shortest time constant long make more than one sign
change inside a cell implausible for any registered agent.

Speed
-----
When ``L`` does not depend on age (natural loss constant over the ages the
patients pass through) every patient shares one curve. When natural loss is
smooth in age (an age slope), a woman's rate follows her baseline age rounded
to the middle of its year (:data:`bmdsim.agents.AGE_GROUP_YEARS`), so the
women of one age group share one curve: patients are grouped by age and each
group takes the shared path (at most one table per year of age and site; the
women are sorted by group once, by an integer sort, for all thresholds of a
site: :func:`first_crossings`). It is tabulated once on a dense grid
(``TABLE_REFINE`` sub-cells per checkpoint cell), the running maximum of the
table is searched for every target at once (a bucketed lookup on its distinct
values, equal to ``np.searchsorted`` and checked against it), the cubic
Hermite interpolant is inverted on the bracket found, and each answer is
checked on the exact closed form (two evaluations per target; a target that
fails the check falls back to the Illinois method on its bracket). Cost
``O(m log m + n)`` for ``n`` targets and ``m`` grid points, with no
per-target iteration on the closed form. Otherwise the
checkpoints are evaluated per patient, in chunks, still without a Python loop
per patient or per time step.

Courses that start per patient (:class:`bmdsim.AtThreshold`, at the
crossing itself or at a scan) have no effect before they start (as every
agent model's course, :class:`bmdsim.agents.AgentModel`), so up to her
first start a patient follows the curve without them, which is shared as
above: a target reached on it by then is answered there (``SPLIT_AT_START``).
Only the others are searched after the start. With one such course, by an
agent whose effect depends only on the time since the start
(:attr:`bmdsim.agents.AgentModel.shift_invariant`), the log-loss after a start
``s`` is ``F(t) + D(t - s)``: ``F`` the shared curve without the course, ``D``
the course's own log-loss from a start at 0, each tabulated once with upper
bounds on dyadic blocks of time. A search per target, vectorised over all
targets, skips every block whose bound (``F``'s plus ``D``'s) stays below the
target, splits the others down to blocks of ``BOUND_BLOCK_YEARS``, and settles
those on the closed form (ends, interior maximum, then the cubic inversion and
exact check above): every block before the answer is shown to stay below the
target, so the answer is the first crossing, for a start at any time. Other
courses that start at a scan start at one of a few scan times, so patients
fall into a few groups with identical exposure times: each group shares one
curve (its courses fixed at the group's times) and takes the fast path above.

Chunking
--------
Which path a patient takes, and the curve she is read from, depend on her own
inputs and the regimen only, never on the other patients of the call: a
shared curve is always tabulated, checked and refined at one canonical
patient (:func:`canonical_state`: the middle of her age group, or a fixed age
in her run of equal-rate age bands), and with age bands the shared path is
chosen per patient. So crossing times are the same to the last bit however
patients are split into chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .agents import NaturalLoss
from .model import MAX_CHECKPOINT_SPACING_YEARS, PatientState, SiteModel
from .regimen import Exposure

#: Bracket width [years] at which root refinement stops (about 3 ms).
ROOT_TOLERANCE_YEARS = 1e-10
#: Offset [years] at which one-sided rates are read just inside a cell.
_SIDE = 1e-9
#: Most scan times per event-started course for which patients are grouped by start (see Speed).
MAX_SCAN_GROUPS = 1000
#: Finest block [years] of the bound search after a per-patient start (see Speed): 2**-8 years, about 1.4 days.
BOUND_BLOCK_YEARS = 2.0**-8
#: Levels of blocks descended per step of the bound search: each step bounds a window of 2**this blocks.
BOUND_WINDOW_LEVELS = 4
#: Most finest blocks settled on the closed form per search in one step of the bound search.
BOUND_SETTLE_BLOCKS = 2
#: Half-width [years] of the narrow bracket of an interior maximum around the cubic's estimate (_peak_bracket).
PEAK_BRACKET_YEARS = 1e-6
#: Most steps of one bound search; a target still open then takes the per-patient search (see _bound_search).
BOUND_SEARCH_STEPS = 24
#: Margin [log-loss] added to every tabulated bound, for rounding between a table and the closed form.
BOUND_MARGIN = 1e-12
#: How far [years] before the crossing of the curve without a course that never adds loss the search after its
#: start begins (far more than ROOT_TOLERANCE_YEARS, the most that crossing can lie before its computed value).
PRE_CROSSING_MARGIN_YEARS = 1e-6
#: Answer event-started curves before their first start from the curve without event courses (see Speed);
#: False searches every such patient on her own curve from time 0 (the per-patient reference).
SPLIT_AT_START = True
#: Patients per chunk in the per-patient path (bounds memory).
CHUNK_PATIENTS = 20_000
#: Sub-cells per checkpoint cell in the table that inverts a shared curve.
TABLE_REFINE = 64
#: Time scales after a fast component's start or stop that keep fine checkpoints (see checkpoint_times).
FINE_SPAN_SCALES = 20.0
#: Buckets per distinct value of a table's running maximum in its lookup (see _table_lookup).
LOOKUP_BUCKETS = 4
#: Newton steps on the cubic interpolant of the shared curve (from a linear start).
CUBIC_NEWTON_STEPS = 2


def checkpoint_times(model: SiteModel, horizon: float) -> np.ndarray:
    """Sorted checkpoints shared by all patients: 0, breakpoints, a grid, the horizon.

    The grid is uniform at :data:`bmdsim.model.MAX_CHECKPOINT_SPACING_YEARS`,
    and finer (a quarter of the time scale) for :data:`FINE_SPAN_SCALES` time
    scales after each fixed start or stop of a component with a shorter time
    scale: a fast component (an AI's front-loaded loss, a therapy's onset)
    has decayed to exp(-20) of its size beyond that, so cells stay short
    where the rate changes fast and a month long elsewhere. A fast component
    of a course that starts per patient (on an event) keeps the fine grid
    everywhere, since its start is not a shared checkpoint.
    """
    coarse = MAX_CHECKPOINT_SPACING_YEARS
    fast = [(e, scale) for agent, e, p in model.terms for scale in agent.time_scales(p) if scale / 4.0 < coarse]
    if any(e.is_event for e, _ in fast):
        coarse = model.checkpoint_spacing()
        fast = []
    pieces = [np.linspace(0.0, horizon, int(np.ceil(horizon / coarse)) + 1)]
    pieces.append(np.array([t for t in model.breakpoints() if 0.0 < t < horizon]))
    for e, scale in fast:
        for b in (e.start, e.stop):
            lo, hi = max(float(b), 0.0), min(float(b) + FINE_SPAN_SCALES * scale, horizon)
            if np.isfinite(b) and hi > lo:
                pieces.append(np.linspace(lo, hi, int(np.ceil((hi - lo) / (scale / 4.0))) + 1))
    return np.unique(np.concatenate(pieces))


def _bracketed_root(g: Callable[[np.ndarray, np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Vectorised Illinois method for ``g(t, idx) = 0`` with ``g(lo) < 0 <= g(hi)``.

    ``idx`` selects which problems are being evaluated. Returns points at
    which ``g >= 0`` within ``ROOT_TOLERANCE_YEARS`` of the first root in the
    bracket (the root is unique in every bracket this module builds).
    """
    lo = lo.astype(float).copy()
    hi = hi.astype(float).copy()
    idx_all = np.arange(lo.size)
    flo = g(lo, idx_all)
    fhi = g(hi, idx_all)
    last = np.zeros(lo.size, dtype=np.int8)  # which end moved last: -1 low, +1 high
    for iteration in range(200):
        act = np.nonzero(hi - lo > ROOT_TOLERANCE_YEARS)[0]
        if act.size == 0:
            break
        a, b, fa, fb = lo[act], hi[act], flo[act], fhi[act]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = b - fb * (b - a) / (fb - fa)
        mid = 0.5 * (a + b)
        bad = ~np.isfinite(x) | (x <= a) | (x >= b)
        if iteration % 3 == 2:  # a bisection every third step guarantees shrinking
            bad[:] = True
        x = np.where(bad, mid, x)
        fx = g(x, act)
        up = fx >= 0
        # Move the end on the same side as x; Illinois: halve the other end's value if it stayed twice.
        i_up, i_dn = act[up], act[~up]
        hi[i_up], fhi[i_up] = x[up], fx[up]
        stay = i_up[last[i_up] == 1]
        flo[stay] *= 0.5
        last[i_up] = 1
        lo[i_dn], flo[i_dn] = x[~up], fx[~up]
        stay = i_dn[last[i_dn] == -1]
        fhi[stay] *= 0.5
        last[i_dn] = -1
    return hi


def _interior_maxima(model: SiteModel, left: np.ndarray, right: np.ndarray, state: PatientState) -> np.ndarray:
    """Points in ``(left, right)`` where the rate goes from + to - (bisection on the rate)."""
    a = left + _SIDE
    b = right - _SIDE
    for _ in range(60):
        m = 0.5 * (a + b)
        pos = model.rate(m, state) > 0
        a = np.where(pos, m, a)
        b = np.where(pos, b, m)
    return 0.5 * (a + b)


def _cell_maxima(model: SiteModel, times: np.ndarray, state: PatientState):
    """For each cell: whether it has an interior maximum, where, and ``L`` there.

    ``times`` has cells along the last axis; ``state`` broadcasts against it.
    """
    left, right = times[..., :-1], times[..., 1:]
    width = right - left
    long_enough = width > 4 * _SIDE
    r_left = model.rate(left + _SIDE, state)
    r_right = model.rate(right - _SIDE, state)
    has_max = long_enough & (r_left > 0) & (r_right < 0)
    t_star = np.where(has_max, 0.5 * (left + right), np.nan)
    l_star = np.full(np.shape(has_max), -np.inf)
    if np.any(has_max):
        pos = np.nonzero(has_max)
        sub = state.broadcast_take(has_max.shape, pos) if np.ndim(state.age) else state
        t_found = _interior_maxima(model, left[pos], right[pos], sub)
        t_star[pos] = t_found
        l_star[pos] = model.log_loss(t_found, sub)
    return has_max, t_star, l_star


def first_crossing(
    model: SiteModel, state: PatientState | np.ndarray, target: np.ndarray, horizon: float
) -> np.ndarray:
    """First time ``t`` in ``[0, horizon]`` with ``L(t) >= target``, per patient.

    Parameters
    ----------
    model : SiteModel
    state : PatientState
        The patients: ages and per-patient exposure times, arrays of shape (n,).
    target : (n,) array
        ``c = ln(BMD(0) / BMD*)``; ``inf`` for a threshold that can never be reached.
    horizon : float
        Last time considered [years].

    Returns
    -------
    (n,) array
        Crossing times [years]: 0 where ``target <= 0``, ``inf`` where the
        threshold is not reached by ``horizon``.
    """
    if not isinstance(state, PatientState):
        state = PatientState(np.asarray(state, dtype=float))  # plain ages
    target = np.asarray(target, dtype=float)
    out = np.full(target.shape, np.inf)
    out[target <= 0] = 0.0
    todo = np.nonzero((target > 0) & np.isfinite(target))[0]
    if todo.size == 0:
        return out
    if model.is_shared(state, horizon):
        one = PatientState(float(np.asarray(state.age).ravel()[0]))
        out[todo] = _first_crossing_shared(model, one, target[todo], horizon)
    elif not model.natural.grouped and not state.spans:
        # Natural loss in age bands: a woman whose whole horizon lies in one run of equal rates shares that run's
        # curve; decided per woman (not per call), so the path and the answer do not depend on who else is in it.
        age = np.asarray(state.age)[todo]
        run = _shared_runs(model, age, horizon)
        for r in np.unique(run[run >= 0]):  # a loop over runs of age bands (a handful)
            idx = np.flatnonzero(run == r)
            out[todo[idx]] = _first_crossing_shared(model, PatientState(float(age[idx[0]])), target[todo[idx]], horizon)
        rest = todo[run < 0]
        for start in range(0, rest.size, CHUNK_PATIENTS):
            sel = rest[start : start + CHUNK_PATIENTS]
            out[sel] = _first_crossing_per_patient(model, state.take(sel), target[sel], horizon)
    elif model.natural.grouped and not state.spans:
        # Natural loss smooth in age: women of one age group share a curve (bmdsim.agents.AGE_GROUP_YEARS).
        out[todo] = _grouped_crossings(model, np.asarray(state.age)[todo], target[None, todo], horizon)[0]
    elif state.spans and SPLIT_AT_START and np.ndim(state.age) == 1:
        out[todo] = _event_crossings(model, state.take(todo), target[None, todo], horizon)[0]
    elif _scan_started(state, horizon):
        out[todo] = _scan_group_crossings(model, state.take(todo), target[None, todo], horizon)[0]
    else:
        for start in range(0, todo.size, CHUNK_PATIENTS):
            sel = todo[start : start + CHUNK_PATIENTS]
            out[sel] = _first_crossing_per_patient(model, state.take(sel), target[sel], horizon)
    return out


def first_crossings(
    model: SiteModel, state: PatientState | np.ndarray, targets: Sequence[np.ndarray], horizon: float
) -> list[np.ndarray]:
    """:func:`first_crossing` for several targets of the same patients (e.g. several thresholds) at once.

    The same answers to the last bit as one :func:`first_crossing` call per
    target array. With natural loss smooth in age the patients are grouped
    by age once and each group's curve is read for every target in one
    pass, which saves a sort and the fixed cost of each group per target.

    Parameters
    ----------
    model : SiteModel
    state : PatientState or (n,) array of ages
    targets : sequence of (n,) arrays
        ``c = ln(BMD(0) / BMD*)`` per patient, one array per threshold (see :func:`crossing_target`).
    horizon : float
        Last time considered [years].

    Returns
    -------
    list of (n,) arrays
        Crossing times [years], one array per target array, in order.
    """
    if not isinstance(state, PatientState):
        state = PatientState(np.asarray(state, dtype=float))
    targets = [np.asarray(t, dtype=float) for t in targets]
    if len(targets) >= 2 and state.spans and SPLIT_AT_START and np.ndim(state.age) == 1:
        stacked = np.stack(targets)
        result = np.where(stacked <= 0, 0.0, np.inf)
        found = _event_crossings(model, state, np.where(stacked > 0, stacked, np.inf), horizon)  # inf: skipped
        return list(np.where(stacked > 0, found, result))
    if len(targets) < 2 or not model.natural.grouped or state.spans or np.ndim(state.age) != 1:
        return [first_crossing(model, state, t, horizon) for t in targets]
    return list(_grouped_crossings(model, np.asarray(state.age), np.stack(targets), horizon))


def _grouped_crossings(model: SiteModel, age: np.ndarray, target: np.ndarray, horizon: float) -> np.ndarray:
    """Crossings for natural loss smooth in age: ``target`` has shape (k, n) for the n women of ``age``.

    Women are sorted by age group once (an integer counting sort; the order
    of targets does not matter to the lookup), and each group's shared curve
    answers all its targets in one call.
    """
    if age.size == 0:
        return np.full(target.shape, np.inf)
    key = model.natural.group_key(age)
    low = int(key.min())
    order = np.argsort((key - low).astype(np.uint16) if int(key.max()) - low < 2**16 else key, kind="stable")
    sorted_key = key[order]
    tgt = target[:, order]
    result = np.where(tgt <= 0, 0.0, np.inf)
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(sorted_key)) + 1, [key.size]))
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):  # a loop over age groups (one per year of age)
        c = tgt[:, a:b]
        live = (c > 0) & np.isfinite(c)
        block = result[:, a:b]
        block[live] = _first_crossing_shared(model, PatientState(float(age[order[a]])), c[live], horizon)
    out = np.empty(target.shape)
    out[:, order] = result
    return out


def crossing_target(b0: np.ndarray, b_star: float, multiplier: np.ndarray | None = None) -> np.ndarray:
    """Log-loss each patient must reach to be at or below ``BMD*``: ``c = ln(BMD(0) / BMD*)``.

    ``0`` if already at or below at baseline, ``inf`` if ``BMD* <= 0`` (never
    reached). With a per-patient ``multiplier`` m on the log-loss,
    ``m L(t) >= c`` is searched as ``L(t) >= c / m`` (m > 0), so crossings stay
    exact and the curve stays shared.
    """
    b0 = np.asarray(b0, dtype=float)
    if b_star <= 0:
        return np.full(b0.shape, np.inf)
    tiny = np.nextafter(0, 1)
    # At or below at baseline, compared in BMD: mu + T sd is monotone in T in floating point, so a
    # patient given exactly the threshold's T-score is at it (no round-off through T or the logarithm).
    c = np.where(b0 <= b_star, 0.0, np.maximum(np.log(b0 / b_star), tiny))
    if multiplier is None:
        return c
    return np.where(c > 0, np.maximum(c / multiplier, tiny), c)


def _scan_started(state: PatientState, horizon: float) -> bool:
    """True if every per-patient course starts at a scan, with at most MAX_SCAN_GROUPS scans in the horizon."""
    for e in state.spans:
        interval = getattr(e.start, "scan_interval", None)
        if interval is None or horizon / interval + 1 > MAX_SCAN_GROUPS:
            return False
    return bool(state.spans)


def _scan_group_key(state: PatientState, horizon: float) -> np.ndarray:
    """A small non-negative integer per patient, equal for patients whose courses start at the same scans.

    Each event-started course contributes its scan index plus one (0 if it
    never starts); the indices are combined in a mixed radix. No sorting, so
    grouping costs O(n) per group.
    """
    key = np.zeros(np.size(state.age), dtype=np.int64)
    radix = 1
    for e, (start, _) in state.spans.items():
        interval, delay = e.start.scan_interval, e.start.delay
        slots = int(np.ceil(horizon / interval)) + 3  # "never", then scans 0 .. the first at or after horizon
        seen = np.isfinite(start)
        k = np.where(seen, np.rint((np.where(seen, start, 0.0) - delay) / interval) + 1, 0).astype(np.int64)
        key += np.clip(k, 0, slots - 1) * radix
        radix *= slots
    return key


def _scan_group_crossings(model: SiteModel, state: PatientState, target: np.ndarray, horizon: float) -> np.ndarray:
    """Crossings of patients whose courses start at scans, ``target`` (k, n): one shared curve per scan group.

    Patients with the same scan times share the model with those courses fixed (:func:`_fixed_model`), whose
    curves take the shared path for all ``k`` targets at once.
    """
    times = state.per_patient_times()
    key = _scan_group_key(state, horizon)
    out = np.full(target.shape, np.inf)
    for g in np.flatnonzero(np.bincount(key)):  # a loop over scan-time groups (bounded by the regimen)
        idx = np.flatnonzero(key == g)
        row = times[idx[0]]
        if not np.all(times[idx] == row):  # cannot happen for starts computed at scans; stay exact if it does
            out[:, idx] = _first_crossing_per_patient(model, state.take(idx), target[:, idx], horizon)
            continue
        fixed = _fixed_model(model, tuple(state.spans), tuple(row), horizon)
        ages = PatientState(np.asarray(state.age)[idx])
        out[:, idx] = np.stack(first_crossings(fixed, ages, list(target[:, idx]), horizon))
    return out


def without_courses(model: SiteModel, courses: tuple[Exposure, ...]) -> SiteModel:
    """``model`` without the terms of ``courses``: the curve before any of them starts (cached on ``model``).

    Parameters
    ----------
    model : SiteModel
    courses : tuple of Exposure
        Courses of ``model``'s regimen, e.g. those that start on an event not yet resolved.

    Returns
    -------
    SiteModel
        The same object for the same ``courses`` on every call, so that its crossing tables are built once
        (e.g. once for all chunks of a cohort that share ``model``).
    """
    cache = model.cache("without_courses")
    if courses not in cache:
        terms = [term for term in model.terms if term[1] not in courses]
        cache[courses] = SiteModel.from_parts(model.site, model.natural, terms, model.sex)
    return cache[courses]


def _event_crossings(model: SiteModel, state: PatientState, target: np.ndarray, horizon: float) -> np.ndarray:
    """Crossings of patients with per-patient courses (``state.spans``); ``target`` (k, n) positive, inf to skip.

    A course has no effect before it starts, so up to her first start a patient follows the model without the
    event-started courses, whose curves are shared (one per age group): a target reached on that curve by the
    first start is answered there. Only the others are searched after the start: by the bound search
    (:func:`_bound_search`) when one shift-invariant course starts per patient, else by scan group when every
    course starts at a scan, else on each patient's own curve (:func:`_first_crossing_per_patient`).
    """
    base = without_courses(model, tuple(state.spans))
    age = np.asarray(state.age)
    first = np.min(
        np.stack([np.broadcast_to(np.asarray(a, dtype=float), age.shape) for a, _ in state.spans.values()]), axis=0
    )
    out = np.stack(first_crossings(base, PatientState(age), list(target), horizon))
    need = (out > first) & (first < horizon) & np.isfinite(target)
    rows = np.flatnonzero(need.any(axis=0))
    if rows.size == 0:
        return out
    sub = state.take(rows)
    c = np.where(need[:, rows], target[:, rows], np.inf)
    if _bound_search_applies(model, sub):
        (course,) = sub.spans
        start = np.asarray(sub.spans[course][0], dtype=float)
        begin = np.broadcast_to(start, c.shape)
        if _course_bounds(model, course, horizon)[2] <= 0.0:  # the course never adds loss: not before F crosses
            begin = np.maximum(begin, out[:, rows] - PRE_CROSSING_MARGIN_YEARS)
        after = _bound_search(model, base, sub, c, begin, horizon)
    elif _scan_started(sub, horizon):
        after = _scan_group_crossings(model, sub, c, horizon)
    else:
        after = np.empty(c.shape)
        for start in range(0, rows.size, CHUNK_PATIENTS):
            part = slice(start, start + CHUNK_PATIENTS)
            after[:, part] = _first_crossing_per_patient(model, sub.take(part), c[:, part], horizon)
    out[:, rows] = np.where(need[:, rows], after, out[:, rows])
    return out


def _bound_search_applies(model: SiteModel, state: PatientState) -> bool:
    """True if the patients' curves after their start are a shared curve plus one shifted course (see Speed).

    One course started per patient, by an agent whose effect depends only on the time since the start
    (:attr:`bmdsim.agents.AgentModel.shift_invariant`), and natural loss that gives each age group one curve.
    """
    if len(state.spans) != 1 or np.ndim(state.age) != 1:
        return False
    (course,) = state.spans
    agent = next(a for a, e, _ in model.terms if e is course)
    natural = model.natural
    return bool(agent.shift_invariant) and (natural.grouped or natural.edges.size == 0)


def _block_maxima(grid: np.ndarray, values: np.ndarray, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Upper bounds of a tabulated curve on blocks ``[k b, (k + 1) b]``, ``b = BOUND_BLOCK_YEARS 2**level``.

    The curve has no interior maximum inside a cell of ``grid`` (the tables add them to the grid), so its
    maximum over a cell is at an end; a block's bound is the largest cell end of every cell that meets it,
    plus ``BOUND_MARGIN``. Returns the bounds of every level in one array (each level followed by a window's
    worth of ``-inf``) and the offset of each level in it; blocks past ``horizon`` are ``-inf``.
    """
    blocks = int(np.ceil(horizon / BOUND_BLOCK_YEARS))
    top = int(np.ceil(np.log2(max(blocks, 1))))
    cell = np.maximum(values[:-1], values[1:])
    cell = cell + BOUND_MARGIN * (1.0 + np.abs(cell))
    first = np.minimum(np.floor(grid[:-1] / BOUND_BLOCK_YEARS).astype(np.intp), blocks - 1)
    last = np.minimum(np.floor(grid[1:] / BOUND_BLOCK_YEARS).astype(np.intp), blocks - 1)
    level = np.full(2**top, -np.inf)
    for step in range(int((last - first).max(initial=0)) + 1):  # a cell meets one or two blocks
        block = np.minimum(first + step, last)  # nondecreasing: the grid is sorted
        heads = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
        level[block[heads]] = np.maximum(level[block[heads]], np.maximum.reduceat(cell, heads))
    levels = [level]
    while levels[-1].size > 1:
        levels.append(np.maximum(levels[-1][0::2], levels[-1][1::2]))
    pad = np.full(2**BOUND_WINDOW_LEVELS + 1, -np.inf)  # room for a window that runs past the last block
    offsets = np.cumsum([0] + [lv.size + pad.size for lv in levels])[:-1]
    return np.concatenate([np.concatenate((lv, pad)) for lv in levels]), offsets


def _course_bounds(model: SiteModel, course: Exposure, horizon: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Block bounds (:func:`_block_maxima`) of a shift-invariant course's log-loss from a start at 0, and its maximum.

    Cached on ``model``; the maximum is over the table (no margin), ``>= 0`` since the log-loss is 0 at the start.
    """
    cache = model.cache("course_bounds")
    key = (course, float(horizon))
    if key not in cache:
        agent, p = next((a, v) for a, e, v in model.terms if e is course)
        fixed = Exposure(course.agent, start=0.0, stop=float(course.duration))
        alone = SiteModel.from_parts(model.site, NaturalLoss((), (0.0,)), [(agent, fixed, p)], model.sex)
        grid, values = _table_at(alone, PatientState(0.0), horizon)[:2]
        cache[key] = _block_maxima(grid, values, horizon) + (float(values.max()),)
    return cache[key]


def _base_bounds(base: SiteModel, age: float, horizon: float) -> np.ndarray:
    """Block bounds of the shared curve of ``base`` at canonical ``age`` (cached on ``base``)."""
    cache = base.cache("block_bounds")
    key = (float(horizon), float(age))
    if key not in cache:
        grid, values = _shared_table(base, PatientState(float(age)), horizon)[:2]
        cache[key] = _block_maxima(grid, values[np.arange(grid.size)], horizon)[0]
    return cache[key]


def _stacked_base_bounds(
    base: SiteModel, ages: np.ndarray, group: np.ndarray, keys: np.ndarray, horizon: float
) -> np.ndarray:
    """The block bounds of the age groups ``keys`` (sorted) one after another (cached on ``base`` by ``keys``)."""
    cache = base.cache("stacked_block_bounds")
    key = (float(horizon), keys.tobytes())
    stacked = cache.get(key)
    if stacked is None:
        tables = []
        for g in keys:  # a loop over age groups (one per year of age)
            age = float(ages[np.argmax(group == g)])
            tables.append(_base_bounds(base, float(canonical_state(base, PatientState(age), horizon).age), horizon))
        stacked = np.concatenate(tables)
        if len(cache) >= 4:  # a few sets of age groups (chunks of one make-up share one) are enough
            cache.clear()
        cache[key] = stacked
    return stacked


def _trailing_zeros(k: np.ndarray) -> np.ndarray:
    """Number of trailing zero bits of each positive integer in ``k``."""
    return np.log2(k & -k).astype(np.int64)


def _bound_search(
    model: SiteModel, base: SiteModel, state: PatientState, target: np.ndarray, begin: np.ndarray, horizon: float
) -> np.ndarray:
    """First crossings after each patient's start of one shifted course; ``target`` (k, n) positive, inf to skip.

    After a start ``s`` the log-loss is ``F(t) + D(t - s)``: ``F`` the patient's shared curve without the
    course (``base``), ``D`` the course's own log-loss from a start at 0. Both are tabulated once, with upper
    bounds on dyadic blocks (:func:`_block_maxima`). A block ``[s + k w, s + (k + 1) w]`` with
    ``w = BOUND_BLOCK_YEARS 2**level`` is bounded by ``D``'s block ``k`` plus the larger of the two blocks of
    ``F`` that cover it (one when ``s`` is a multiple of ``w``). The search, vectorised over targets, bounds a
    window of ``2**BOUND_WINDOW_LEVELS`` blocks per step: it skips the window if every bound is below the
    target (and moves up where the next window starts a larger block), else goes down to the window of the
    first block that is not skipped, and at the finest level settles the first ``BOUND_SETTLE_BLOCKS`` such
    blocks on the exact closed form (:func:`_settle_blocks`). Every block before the answer has been shown
    to stay below the target, so the answer is the first crossing. No target is reached before ``begin``
    (k, n), where the search starts. A search still open after ``BOUND_SEARCH_STEPS`` steps (a curve that
    stays within a bound's slack of the target for long) is finished by the per-patient search; which
    searches those are depends on each target alone.
    """
    (course,) = state.spans
    start, stop = (np.asarray(x, dtype=float) for x in state.spans[course])
    d_bounds, offsets, _ = _course_bounds(model, course, horizon)
    top = offsets.size - 1
    out = np.full(target.shape, np.inf)
    kk, col = np.nonzero(np.isfinite(target) & (begin < horizon))
    if col.size == 0:
        return out
    ages = np.asarray(state.age, dtype=float)
    group = base.natural.group_key(ages) if base.natural.grouped else np.zeros(ages.size, dtype=np.int64)
    keys, inverse = np.unique(group[col], return_inverse=True)
    f_bounds = _stacked_base_bounds(base, ages[col], group[col], keys, horizon)
    fid = inverse.astype(np.int64) * (f_bounds.size // keys.size)
    c = target[kk, col]
    s = start[col]
    first_block = np.floor(s / BOUND_BLOCK_YEARS).astype(np.int64)
    on_grid = first_block * BOUND_BLOCK_YEARS == s
    # Start at a level that steps down to the finest in whole windows (blocks of 2**8 finest ones: 1 year).
    first_level = BOUND_WINDOW_LEVELS * (max(top - BOUND_WINDOW_LEVELS, 0) // BOUND_WINDOW_LEVELS)
    level = np.full(col.size, first_level, dtype=np.int64)
    k = np.floor((np.maximum(begin[kk, col], s) - s) / (BOUND_BLOCK_YEARS * np.exp2(level))).astype(np.int64)
    found = np.full(col.size, np.inf)
    breaks = np.array([t for t in model.breakpoints() if 0.0 < t < horizon])
    window = 2**BOUND_WINDOW_LEVELS
    f_windows = np.lib.stride_tricks.sliding_window_view(f_bounds, window + 1)  # a window's bounds: one row copy
    d_windows = np.lib.stride_tricks.sliding_window_view(d_bounds, window)
    act = np.arange(col.size)
    for _ in range(BOUND_SEARCH_STEPS):  # one step of every open search per pass: a window of blocks at one level
        lv, kb = level[act], k[act]
        live = s[act] + kb * (BOUND_BLOCK_YEARS * np.exp2(lv)) < horizon
        act, lv, kb = act[live], lv[live], kb[live]
        if act.size == 0:
            break
        f_cover = f_windows[fid[act] + offsets[lv] + (first_block[act] >> lv) + kb]  # rows of window + 1 bounds
        # A start on the block grid of this level (a scan, or 0) lines the blocks up with F's: one block covers.
        apart = ~on_grid[act] | ((first_block[act] & ((1 << lv) - 1)) != 0)
        bound = np.maximum(f_cover[:, :-1], f_cover[:, 1:], out=f_cover[:, :-1].copy(), where=apart[:, None])
        bound += d_windows[offsets[lv] + kb]
        flagged = bound >= c[act][:, None]
        first = np.argmax(flagged, axis=1)
        any_flag = flagged[np.arange(act.size), first]
        down = any_flag & (lv > 0)  # split the first block that may reach the target into the next window
        step = np.minimum(lv[down], BOUND_WINDOW_LEVELS)
        level[act[down]] = lv[down] - step
        k[act[down]] = (kb[down] + first[down]) << step
        leaf = np.flatnonzero(any_flag & (lv == 0))
        settled = np.zeros(act.size, dtype=bool)
        nxt = kb + window
        if leaf.size:  # finest blocks that may reach the target: settle the first few on the closed form at once
            marked = flagged[leaf]
            marked &= np.cumsum(marked, axis=1) <= BOUND_SETTLE_BLOCKS
            pair, pos = np.nonzero(marked)  # in order of time within each window
            rows = act[leaf[pair]]
            low = s[rows] + (kb[leaf[pair]] + pos) * BOUND_BLOCK_YEARS
            high = np.minimum(low + BOUND_BLOCK_YEARS, horizon)
            won, root = _settle_blocks(model, state.take(col[rows]), low, high, c[rows], breaks, stop[col[rows]], pair)
            found[rows[won]] = root
            settled[leaf[pair[won]]] = True
            # Past the last block settled when more were flagged than settled, else past the window.
            last = np.zeros(leaf.size, dtype=np.int64)
            np.maximum.at(last, pair, pos + 1)
            more = flagged[leaf].sum(axis=1) > BOUND_SETTLE_BLOCKS
            nxt[leaf[more]] = kb[leaf[more]] + last[more]
        moved = ~down & ~settled  # every block up to nxt stays below the target: on, and up where aligned
        nxt = nxt[moved]
        climb = np.minimum(_trailing_zeros(nxt), top - lv[moved])
        k[act[moved]] = nxt >> climb
        level[act[moved]] = lv[moved] + climb
        act = act[~settled]
    if act.size:  # the few searches still open (a curve within a bound's slack of the target for long)
        shown = s[act] + k[act] * (BOUND_BLOCK_YEARS * np.exp2(level[act]))  # below the target up to here
        found[act] = _first_crossing_per_patient(model, state.take(col[act]), c[act], horizon, shown)
    out[kk, col] = found
    return out


def _settle_blocks(
    model: SiteModel,
    state: PatientState,
    low: np.ndarray,
    high: np.ndarray,
    target: np.ndarray,
    breaks: np.ndarray,
    stop: np.ndarray,
    owner: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The first crossing in a few blocks ``[low, high]`` per search, the curve below the target before each.

    ``owner`` (nondecreasing) says which search each block belongs to; the blocks of a search are in order of
    time, and the curve stays below the target between them. Each block is cut at the breakpoints inside it
    (``breaks``, shared, and the patient's ``stop``), so that in each piece the rate changes sign at most once
    (see Method): a piece is crossed if it starts at or above the target, ends at or above it, or has an
    interior maximum at or above it. The earliest crossed piece of a search holds its first crossing, refined
    by :func:`_refine`. Returns the index of each search's crossed block (searches without one have none) and
    the crossing in it.
    """
    n = low.size
    cuts = np.concatenate((np.broadcast_to(breaks, (n, breaks.size)), stop[:, None]), axis=1)
    inside = (cuts > low[:, None]) & (cuts < high[:, None])
    most = int(inside.sum(axis=1).max(initial=0))  # usually 0 or 1: a finest block rarely holds a breakpoint
    cuts = np.where(inside, cuts, high[:, None])
    cuts = cuts.min(axis=1, keepdims=True) if most == 1 else np.sort(cuts, axis=1)[:, :most]
    ends = np.concatenate((low[:, None], cuts, high[:, None]), axis=1)
    values = model.log_loss(ends, state.column())
    reached = values >= target[:, None]
    any_end = reached.any(axis=1)
    first_end = np.where(any_end, np.argmax(reached, axis=1), ends.shape[1])
    # Only blocks up to the earliest one of their search that reaches the target at a piece end can hold it.
    heads = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    earliest = np.minimum.reduceat(np.where(any_end, np.arange(n), n), heads)
    candidate = np.arange(n) <= earliest[np.searchsorted(heads, np.arange(n), side="right") - 1]
    # Interior maxima matter only in pieces whose ends are both below the target (before the first end reached).
    peak_piece = np.full(n, -1)
    t_peak = np.zeros(n)
    l_peak = np.zeros(n)
    check = np.flatnonzero(candidate & (first_end > 1))
    if check.size:
        left, right = ends[check, :-1], ends[check, 1:]
        rates = model.rate(np.concatenate((left + _SIDE, right - _SIDE), axis=1), state.take(check).column())
        before = np.arange(left.shape[1])[None, :] < first_end[check, None] - 1
        rising, falling = rates[:, : left.shape[1]] > 0, rates[:, left.shape[1] :] < 0
        row, piece = np.nonzero(before & (right - left > 4 * _SIDE) & rising & falling)
        if row.size:  # the maximum where the rate turns from + to -: Illinois on the rate
            at = state.take(check[row])
            lo, hi = left[row, piece] + _SIDE, right[row, piece] - _SIDE
            lo, hi = _peak_bracket(
                model,
                at,
                lo,
                hi,
                values[check[row], piece],
                values[check[row], piece + 1],
                rates[row, piece],
                rates[row, left.shape[1] + piece],
            )
            t_star = _bracketed_root(lambda t, i: -model.rate(t, at.take(i)), lo, hi)
            l_star = model.log_loss(t_star, at)
            over = np.flatnonzero(l_star >= target[check[row]])
            first, earliest = np.unique(row[over], return_index=True)  # the earliest such piece of each block
            pick = over[earliest]
            rows = check[first]
            peak_piece[rows], t_peak[rows], l_peak[rows] = piece[pick], t_star[pick], l_star[pick]
    crossed = np.flatnonzero(candidate & (any_end | (peak_piece >= 0)))
    won = crossed[np.r_[True, owner[crossed[1:]] != owner[crossed[:-1]]]] if crossed.size else crossed
    at_start = first_end[won] == 0
    by_peak = ~at_start & (peak_piece[won] >= 0)
    j = np.where(by_peak, peak_piece[won], np.maximum(first_end[won] - 1, 0))
    lo, v_lo = ends[won, j], values[won, j]
    hi = np.where(by_peak, t_peak[won], ends[won, np.minimum(j + 1, ends.shape[1] - 1)])
    v_hi = np.where(by_peak, l_peak[won], values[won, np.minimum(j + 1, ends.shape[1] - 1)])
    root = lo.copy()
    solve = np.flatnonzero(~at_start)
    if solve.size:
        w = won[solve]
        root[solve] = _refine(model, state.take(w), lo[solve], hi[solve], v_lo[solve], v_hi[solve], target[w])
    return won, root


def _peak_bracket(
    model: SiteModel,
    state: PatientState,
    lo: np.ndarray,
    hi: np.ndarray,
    v_lo: np.ndarray,
    v_hi: np.ndarray,
    r_lo: np.ndarray,
    r_hi: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """A narrower bracket of the point in ``(lo, hi)`` where the rate turns from + to -, where one is found.

    The cubic Hermite interpolant (values ``v``, rates ``r`` at the ends) puts the turn near the root of its
    derivative; ``PEAK_BRACKET_YEARS`` either side of it is kept if the exact rate is still + before and - after,
    else the whole bracket. Either is a bracket of the turn for the Illinois method, the narrow one in fewer steps.
    """
    h = hi - lo
    r0, r1 = h * r_lo, h * r_hi
    a2, a3 = 3.0 * (v_hi - v_lo) - 2.0 * r0 - r1, 2.0 * (v_lo - v_hi) + r0 + r1
    a, b = np.zeros(lo.size), np.ones(lo.size)
    for _ in range(40):  # bisection on the derivative of the cubic (+ at 0, - at 1): arithmetic only
        m = 0.5 * (a + b)
        up = (3.0 * a3 * m + 2.0 * a2) * m + r0 > 0
        a, b = np.where(up, m, a), np.where(up, b, m)
    guess = lo + 0.5 * (a + b) * h
    near_lo = np.maximum(guess - PEAK_BRACKET_YEARS, lo)
    near_hi = np.minimum(guess + PEAK_BRACKET_YEARS, hi)
    rates = model.rate(np.stack((near_lo, near_hi), axis=1), state.column())
    ok = (rates[:, 0] > 0) & (rates[:, 1] < 0)
    return np.where(ok, near_lo, lo), np.where(ok, near_hi, hi)


def _refine(
    model: SiteModel,
    state: PatientState,
    lo: np.ndarray,
    hi: np.ndarray,
    v_lo: np.ndarray,
    v_hi: np.ndarray,
    c: np.ndarray,
) -> np.ndarray:
    """The one crossing of ``c`` per patient in ``(lo, hi]`` (``L(lo) = v_lo < c <= L(hi) = v_hi``), to the tolerance.

    As :func:`_first_crossing_shared` does for a shared curve: the cubic Hermite interpolant of ``L`` on the
    bracket (exact values and rates at its ends) is inverted by Newton steps, and the answer ``x`` is checked
    on the closed form, ``L(x - d) < c <= L(x + d)`` with ``d = ROOT_TOLERANCE_YEARS / 2``; a miss is corrected
    once by a Newton step on the checked values, and what still misses is refined by the Illinois method.
    """
    column = state.column()
    rates = model.rate(np.stack((lo, hi - _SIDE * 1e-3), axis=1), column)
    h = hi - lo
    r0, r1 = h * rates[:, 0], h * rates[:, 1]
    a1, a2, a3 = r0, 3.0 * (v_hi - v_lo) - 2.0 * r0 - r1, 2.0 * (v_lo - v_hi) + r0 + r1
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (c - v_lo) / (v_hi - v_lo)
        for _ in range(CUBIC_NEWTON_STEPS + 1):
            q = ((a3 * s + a2) * s + a1) * s + v_lo - c
            dq = (3.0 * a3 * s + 2.0 * a2) * s + a1
            s = np.minimum(np.maximum(s - q / dq, 0.0), 1.0)
    half = 0.5 * ROOT_TOLERANCE_YEARS
    x = lo + s * h
    out = np.full(lo.shape, np.nan)
    todo = np.arange(lo.size)
    for attempt in range(2):  # the cubic's answer, then one Newton correction from the checked values
        xs = x[todo]
        ends = model.log_loss(np.stack((xs - half, xs + half), axis=1), state.take(todo).column())
        ok = np.isfinite(xs) & (xs - half > lo[todo]) & (xs + half <= hi[todo])
        ok &= (ends[:, 0] < c[todo]) & (ends[:, 1] >= c[todo])
        out[todo[ok]] = xs[ok] + half
        todo, ends = todo[~ok], ends[~ok]
        if todo.size == 0 or attempt:
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = (ends[:, 1] - ends[:, 0]) / (2.0 * half)
            x[todo] = np.clip(x[todo] - (0.5 * (ends[:, 0] + ends[:, 1]) - c[todo]) / slope, lo[todo], hi[todo])
    if todo.size:
        sub, cb = state.take(todo), c[todo]
        out[todo] = _bracketed_root(lambda t, i: model.log_loss(t, sub.take(i)) - cb[i], lo[todo], hi[todo])
    return out


def _fixed_model(model: SiteModel, events: tuple, times: tuple[float, ...], horizon: float) -> SiteModel:
    """``model`` with each event-started course fixed at ``times`` (start, stop pairs); cached on ``model``.

    A course that never starts (start ``inf``) or starts after ``horizon`` is
    dropped. The fixed model gives the same ``L(t)`` on ``[0, horizon]`` as
    ``model`` for a patient with those exposure times.
    """
    cache = model.cache("fixed_models")
    key = (events, times, float(horizon))
    fixed = cache.get(key)
    if fixed is None:
        spans = {e: (times[2 * k], times[2 * k + 1]) for k, e in enumerate(events)}
        terms = []
        for agent, e, p in model.terms:
            if e in spans:
                start, stop = spans[e]
                if not start < horizon:
                    continue  # never starts, or only after the horizon: no effect on L in [0, horizon]
                e = Exposure(e.agent, start=float(start), stop=float(stop))
            terms.append((agent, e, p))
        fixed = SiteModel.from_parts(model.site, model.natural, terms, model.sex)
        cache[key] = fixed
    return fixed


def _earliest(model: SiteModel) -> float:
    """Earliest time [years] that matters for natural loss: 0, or the first fixed start before baseline."""
    return min([0.0] + [float(e.start) for _, e, _ in model.terms if not e.is_event])


def _band_runs(natural: NaturalLoss) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of age bands with equal rates: the run of each band, and each run's lowest and highest age [years]."""
    run_of_band = np.concatenate(([0], np.cumsum(natural.rates[1:] != natural.rates[:-1])))
    lower = np.concatenate(([-np.inf], natural.edges))
    upper = np.concatenate((natural.edges, [np.inf]))
    runs = np.arange(run_of_band[-1] + 1)
    low = np.array([lower[run_of_band == r][0] for r in runs])
    high = np.array([upper[run_of_band == r][-1] for r in runs])
    return run_of_band, low, high


def _shared_runs(model: SiteModel, age: np.ndarray, horizon: float) -> np.ndarray:
    """Per patient, the run of equal natural-loss rates that holds all of ``[age + earliest, age + horizon]``, or -1.

    The same test as :meth:`SiteModel.is_shared` applied to each patient on
    her own (bands without age slope), so a patient's path never depends on
    the other patients of the call.
    """
    edges = model.natural.edges
    run_of_band, _, _ = _band_runs(model.natural)
    first = run_of_band[np.searchsorted(edges, age + _earliest(model), side="right")]
    last = run_of_band[np.searchsorted(edges, age + horizon, side="left")]
    return np.where(first == last, first, -1)


def canonical_state(model: SiteModel, state: PatientState, horizon: float) -> PatientState:
    """The one patient whose curve stands for every patient sharing ``state``'s curve.

    With a slope in age, the middle of her age group; with age bands, a fixed
    age inside the run of equal rates that holds her horizon. The table, the
    exact checks and the refinement all use it, so every crossing, to the
    last bit, depends on the patient's own inputs only: not on which
    patients, chunk or thread came first (``L`` computed at two ages of one
    band agrees only to rounding).

    Parameters
    ----------
    model : SiteModel
    state : PatientState
        One patient (a scalar age [years], no per-patient exposure times)
        whose log-loss on ``[0, horizon]`` is shared (:meth:`SiteModel.is_shared`).
    horizon : float
        Last time considered [years].

    Returns
    -------
    PatientState
        The canonical patient (a scalar age [years]).
    """
    natural = model.natural
    if natural.grouped:
        return PatientState(float(natural.effective_age(float(state.age))))
    run_of_band, low, high = _band_runs(natural)
    run = run_of_band[int(np.searchsorted(natural.edges, float(state.age), side="right"))]
    age = max(float(low[run]) - _earliest(model), 0.0)
    if age + horizon > high[run]:
        age = float(high[run]) - horizon
    return PatientState(age)


def _shared_table(model: SiteModel, state: PatientState, horizon: float) -> tuple[np.ndarray, ...]:
    """Dense table of a shared curve: grid, ``L``, rates just after / before each cell, lookup of its running maximum.

    ``state`` is canonical (:func:`canonical_state`). Kept on the model
    (keyed by horizon and that age), so that chunks and thresholds that
    share a model build it once.
    """
    cache = model.cache("shared_tables")
    key = (float(horizon), float(state.age))
    if key not in cache:
        if model.natural.grouped:  # one table per age group, combined from two base curves (see _grouped_table)
            table = _grouped_table(model, key[1], horizon)
        else:
            table = _table_at(model, state, horizon)
        cache[key] = table[:4] + (_table_lookup(table[4]),)  # the running maximum is kept as its lookup only
    return cache[key]


def _dense_grid(times: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
    """Every checkpoint cell cut into TABLE_REFINE sub-cells, with the last checkpoint and ``extra`` points."""
    frac = np.arange(TABLE_REFINE) / TABLE_REFINE
    grid = (times[:-1, None] + np.diff(times)[:, None] * frac).ravel()
    return np.unique(np.concatenate((grid, times[-1:], np.empty(0) if extra is None else extra)))


def _grouped_base(model: SiteModel, horizon: float) -> tuple[np.ndarray, ...]:
    """Checkpoints, dense grid, and ``A``, ``B`` with their one-sided rates on the grid (cached on ``model``).

    With natural loss smooth in age, the log-loss of a woman whose natural
    rate is ``w`` times the rate at the reference age is ``A(t) + w B(t)``
    exactly: ``A`` is the model without natural loss and ``B`` the natural
    part at the reference age (tamoxifen's cancellation of natural loss is
    linear in it too). So every age group's table is a linear combination.
    """
    cache = model.cache("grouped_bases")
    key = float(horizon)
    if key not in cache:
        natural = model.natural
        zero = SiteModel.from_parts(model.site, NaturalLoss((), (0.0,)), model.terms, model.sex)
        at_ref = PatientState(float(natural.effective_age(natural.reference_age)))
        w_ref = float(np.exp(natural.slope * (at_ref.age - natural.reference_age)))
        times = checkpoint_times(model, horizon)
        grid = _dense_grid(times)
        before = grid[1:] - _SIDE * 1e-3
        a = (zero.log_loss(grid, at_ref), zero.rate(grid[:-1], at_ref), zero.rate(before, at_ref))
        full = (model.log_loss(grid, at_ref), model.rate(grid[:-1], at_ref), model.rate(before, at_ref))
        b = tuple((f - z) / w_ref for f, z in zip(full, a, strict=True))
        cache[key] = (times, grid, a, b)
    return cache[key]


class _Combination:
    """``a + w b`` read element by element (``[idx]``), so a group's table keeps only its running maximum."""

    __slots__ = ("a", "b", "w")

    def __init__(self, a: np.ndarray, b: np.ndarray, w: float) -> None:
        self.a, self.b, self.w = a, b, w

    def __getitem__(self, idx: np.ndarray) -> np.ndarray:
        return self.a[idx] + self.w * self.b[idx]


def _grouped_table(model: SiteModel, age: float, horizon: float) -> tuple:
    """The dense table of the age group at effective ``age``: ``A + w B`` plus its cells' interior maxima.

    Without interior maxima the values and rates are read from the base
    curves on demand (:class:`_Combination`) and only the running maximum is
    stored, so many age groups (and scan groups) fit in memory.
    """
    times, grid, a, b = _grouped_base(model, horizon)
    natural = model.natural
    w = float(np.exp(natural.slope * (age - natural.reference_age)))
    state = PatientState(float(age))
    has_max, t_star, _ = _cell_maxima(model, times, state)
    if np.any(has_max):  # interior maxima join the grid: the full table of this age, as for a shared curve
        return _table_at(model, state, horizon)
    values, rate_right, rate_left = (_Combination(ai, bi, w) for ai, bi in zip(a, b, strict=True))
    return grid, values, rate_right, rate_left, np.maximum.accumulate(a[0] + w * b[0])


def _table_at(model: SiteModel, state: PatientState, horizon: float) -> tuple[np.ndarray, ...]:
    """The dense table of the curve of one patient ``state`` (see :func:`_shared_table`)."""
    times = checkpoint_times(model, horizon)
    has_max, t_star, _ = _cell_maxima(model, times, state)
    grid = _dense_grid(times, t_star[has_max])
    values = model.log_loss(grid, state)
    rate_right = model.rate(grid[:-1], state)  # right-continuous: the rate just after each grid point
    rate_left = model.rate(grid[1:] - _SIDE * 1e-3, state)  # just before the next one
    return grid, values, rate_right, rate_left, np.maximum.accumulate(values)


def _table_lookup(running: np.ndarray) -> tuple:
    """Buckets that find the first index of ``running`` (nondecreasing) at or above a value.

    The distinct values ``u`` of ``running`` (with the first index of each)
    are cut into ``LOOKUP_BUCKETS`` uniform buckets per distinct value. A
    value's bucket is computed by one monotone formula (:func:`_bucket`),
    applied to ``u`` here and to the targets in :func:`_lookup`, so the
    bucket of a target brackets its answer exactly: ``starts[b]`` is the first
    distinct value in bucket ``b`` or later. Most buckets hold at most one
    distinct value, so a query costs a multiplication and one comparison.
    """
    u, first = np.unique(running, return_index=True)
    nb = LOOKUP_BUCKETS * u.size
    span = float(u[-1] - u[0])
    scale = nb / span if span > 0 else 0.0
    table = (float(u[0]), scale, nb)
    starts = np.concatenate(([0], np.cumsum(np.bincount(_bucket(table, u), minlength=nb))))  # first u in bucket b on
    index = np.uint16 if u.size < 2**16 else np.int32
    return table + (starts.astype(index), np.append(u, np.inf), np.append(first, running.size).astype(np.int32))


def _bucket(table: tuple, value: np.ndarray) -> np.ndarray:
    """Bucket of each ``value`` in a lookup table: monotone (nondecreasing) in ``value``, in ``[0, nb - 1]``."""
    u0, scale, nb = table[:3]
    x = (value - u0) * scale
    np.clip(x, 0.0, nb - 1.0, out=x)
    return x.astype(np.intp)


def _lookup(table: tuple, target: np.ndarray) -> np.ndarray:
    """``np.searchsorted(running, target, side="left")`` for the table of :func:`_table_lookup`, exactly.

    A target's distinct-value index ``j`` (first ``u[j] >= target``) lies in
    ``[starts[b], starts[b + 1]]`` for its bucket ``b``: values in earlier
    buckets are below the target, values in later ones above it, since the
    bucket is monotone in the value. One comparison settles buckets with at
    most one distinct value; the few others take a binary search.
    """
    starts, above, first = table[3:]
    b = _bucket(table, target)
    lo = starts[b].astype(np.intp)
    hi = starts[b + 1].astype(np.intp)
    j = lo + (above[lo] < target)
    wide = np.flatnonzero(hi - lo > 1)
    if wide.size:
        j[wide] = np.searchsorted(above[:-1], target[wide], side="left")
    return first[j]


def _first_crossing_shared(model: SiteModel, state: PatientState, target: np.ndarray, horizon: float) -> np.ndarray:
    """First crossings of one shared curve ``L`` for many targets: table, cubic inverse, exact check.

    ``state`` is any patient on the curve; the curve is evaluated at its
    :func:`canonical_state`, so the answer for a target does not depend on
    which patient stands for the others.

    1. Tabulate ``L`` and its rate on a dense grid: every checkpoint cell cut
       into ``TABLE_REFINE`` sub-cells, plus the cell's interior maximum if it
       has one, so that inside a sub-cell ``L`` has no interior maximum.
    2. The first grid point at which the running maximum reaches ``c``
       (a bucketed lookup, :func:`_lookup`) closes a bracket ``[lo, hi]`` with
       ``L(lo) < c <= L(hi)`` that holds exactly one crossing.
    3. Solve ``p(t) = c`` for the cubic Hermite interpolant ``p`` of ``L`` on
       the bracket (a few Newton steps on a polynomial; no exponentials).
    4. Check the answer ``x`` on the exact closed form: ``L(x - d) < c <= L(x + d)``
       with ``d = ROOT_TOLERANCE_YEARS / 2``; return ``x + d``. Targets that
       fail the check (rare: a rate near zero) are refined by the Illinois
       method on their bracket instead. Either way the result is within
       ``ROOT_TOLERANCE_YEARS`` of the first crossing, on the crossed side.
    """
    state = canonical_state(model, state, horizon)
    grid, values, rate_right, rate_left, lookup = _shared_table(model, state, horizon)
    k = _lookup(lookup, target)  # first grid point at which the running maximum reaches each target
    out = np.full(target.shape, np.inf)
    if k.size and k.max() < grid.size:  # every target is reached (usual): no gathers
        hit, c = slice(None), target
    else:
        hit = np.nonzero(k < grid.size)[0]
        k, c = k[hit], target[hit]
    k0 = np.maximum(k - 1, 0)
    k = k0 + 1
    lo, hi = grid[k0], grid[k]
    v0, v1 = values[k0], values[k]
    h = hi - lo
    r0, r1 = h * rate_right[k0], h * rate_left[k0]
    # p(s) = v0 + a1 s + a2 s^2 + a3 s^3 on s in [0, 1]: the cubic Hermite interpolant of L.
    a1, a2, a3 = r0, 3.0 * (v1 - v0) - 2.0 * r0 - r1, 2.0 * (v0 - v1) + r0 + r1
    s = (c - v0) / (v1 - v0)
    v0c, a2x2, a3x3 = v0 - c, 2.0 * a2, 3.0 * a3
    for _ in range(CUBIC_NEWTON_STEPS):
        q = ((a3 * s + a2) * s + a1) * s + v0c
        dq = (a3x3 * s + a2x2) * s + a1
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.minimum(np.maximum(s - q / dq, 0.0), 1.0)  # NaN stays NaN (fails the check below)
    half = 0.5 * ROOT_TOLERANCE_YEARS
    x = lo + s * h
    sides = np.concatenate((x - half, x + half))  # both sides checked in one call (elementwise)
    below, above = sides[: x.size], sides[x.size :]
    ends = model.log_loss(sides, state)
    ok = np.isfinite(x) & (below > lo) & (above <= hi) & (ends[: x.size] < c) & (ends[x.size :] >= c)
    if np.all(ok):
        out[hit] = above
        return out
    hit = np.arange(target.size)[hit]
    out[hit[ok]] = above[ok]
    bad = np.nonzero(~ok)[0]
    cb = c[bad]
    out[hit[bad]] = _bracketed_root(lambda t, idx: model.log_loss(t, state) - cb[idx], lo[bad], hi[bad])
    return out


def _first_crossing_per_patient(
    model: SiteModel, state: PatientState, target: np.ndarray, horizon: float, begin: np.ndarray | None = None
) -> np.ndarray:
    """The per-patient search: checkpoints per patient, cell maxima, Illinois on the first cell that reaches a target.

    ``target`` is ``(n,)``, or ``(k, n)`` for ``k`` thresholds of the same patients, which share the evaluation of
    the curve on the checkpoints; the answer has the shape of ``target``. ``begin`` (n,), if given, is a time
    before which no target of the patient is reached: the checkpoints before it are moved to it (empty cells).
    """
    target = np.asarray(target, dtype=float)
    rows_of = target[None] if target.ndim == 1 else target
    shared = checkpoint_times(model, horizon)
    age = np.asarray(state.age)
    # Per-patient checkpoints: where natural loss changes band, and per-patient exposure starts and stops.
    extra = np.concatenate((model.age_edges()[None, :] - age[:, None], state.per_patient_times()), axis=1)
    extra = np.where((extra > 0) & (extra < horizon), extra, horizon)
    times = np.sort(np.concatenate((np.broadcast_to(shared, (age.size, shared.size)), extra), axis=1), axis=1)
    if begin is not None:
        times = np.maximum(times, np.asarray(begin, dtype=float)[:, None])
    column = state.column()
    values = model.log_loss(times, column)
    has_max, t_star, l_star = _cell_maxima(model, times, column)
    out = np.full(rows_of.shape, np.inf)
    for k, tk in enumerate(rows_of):  # a loop over the thresholds of one call (a handful)
        hits = (values[:, 1:] >= tk[:, None]) | (l_star >= tk[:, None])
        any_hit = hits.any(axis=1)
        j = np.argmax(hits, axis=1)
        rows = np.nonzero(any_hit)[0]
        jr = j[rows]
        lo = times[rows, jr]
        use_star = has_max[rows, jr] & (l_star[rows, jr] >= tk[rows])
        hi = np.where(use_star, t_star[rows, jr], times[rows, jr + 1])
        sub, c = state.take(rows), tk[rows]
        out[k, rows] = _bracketed_root(lambda t, idx, sub=sub, c=c: model.log_loss(t, sub.take(idx)) - c[idx], lo, hi)
    return out[0] if target.ndim == 1 else out
