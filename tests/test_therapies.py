"""Bone-protective therapies: closed forms, offsets after the stop, invariants, combinations and bad input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

import bmdsim
from bmdsim import _data
from bmdsim.agents import AGENTS, SiteContext
from bmdsim.model import SiteModel
from bmdsim.regimen import Exposure, Regimen
from bmdsim.therapies import THERAPIES, ExtrapolationWarning, check_calibrated_range

SETS = bmdsim.available_parameter_sets()
SITES = bmdsim.SITES
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def scalar(x) -> float:
    """A size-1 array or a number as a float."""
    return float(np.ravel(x)[0])


def patient(site: str = "lumbar_spine", t_score: float = -1.0, age: float = 62.0) -> bmdsim.Patient:
    return bmdsim.Patient(age=age, t_score={site: t_score})


def test_every_therapy_is_registered_with_parameters_in_every_set():
    """The four therapies are agents, and every shipped set holds every one of their parameters."""
    assert set(THERAPIES) <= set(AGENTS)
    for name in SETS:
        params = bmdsim.load_parameters(name)
        for agent in THERAPIES:
            for site in SITES:
                assert params.agent_values(agent, site)


@pytest.mark.parametrize("agent", THERAPIES)
@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize(("start", "stop"), [(0.0, 3.0), (-1.0, 2.0), (1.5, math.inf)])
def test_cumulative_is_integral_of_rate(agent, name, start, stop):
    """Closed-form cumulative differences equal the quadrature of the rate, on and after the course."""
    params = bmdsim.load_parameters(name)
    model = AGENTS[agent]
    exposure = Exposure(agent, start=start, stop=None if math.isinf(stop) else stop)
    for site in SITES:
        p = params.agent_values(agent, site)
        ctx = SiteContext(params.natural(site), 62.0)
        t0 = -3.0
        for t in [0.2, 1.0, 2.0, 2.9, 3.0, 4.5, 8.0]:
            exact = scalar(
                model.cumulative(np.float64(t), exposure, p, ctx) - model.cumulative(np.float64(t0), exposure, p, ctx)
            )
            pts = [x for x in (start, stop) if t0 < x < t]
            numeric, _ = quad(
                lambda u, p=p, ctx=ctx: scalar(model.rate(u, exposure, p, ctx)), t0, t, points=pts or None, limit=200
            )
            assert exact == pytest.approx(numeric, rel=1e-8, abs=1e-11), (site, t)


@pytest.mark.parametrize("agent", THERAPIES)
def test_cumulative_with_per_patient_spans(agent):
    """Per-patient start/stop arrays (inf = never starts / never stops) give each patient's own closed form."""
    params = bmdsim.load_parameters("trials")
    model = AGENTS[agent]
    exposure = Exposure(agent, start=0.0, stop=2.0)  # placeholder times; the spans below replace them
    starts = np.array([0.0, 1.0, np.inf, -0.5, 2.0])
    stops = np.array([2.0, np.inf, np.inf, 1.0, 4.5])
    site = "total_hip"
    p = params.agent_values(agent, site)
    ages = np.full(starts.size, 62.0)
    ctx = SiteContext(params.natural(site), ages, spans={exposure: (starts, stops)})
    t = np.array([0.0, 0.7, 1.5, 3.0, 6.0])
    arr_cum = model.cumulative(
        t[None, :],
        exposure,
        p,
        SiteContext(params.natural(site), ages[:, None], spans={exposure: (starts[:, None], stops[:, None])}),
    )
    arr_rate = model.rate(
        t[None, :],
        exposure,
        p,
        SiteContext(params.natural(site), ages[:, None], spans={exposure: (starts[:, None], stops[:, None])}),
    )
    assert ctx.span(exposure)[0] is starts
    for i, (a, b) in enumerate(zip(starts, stops, strict=True)):
        if math.isinf(a):
            assert np.all(arr_cum[i] == 0.0) and np.all(arr_rate[i] == 0.0)
            continue
        single = Exposure(agent, start=a, stop=None if math.isinf(b) else b)
        one = SiteContext(params.natural(site), 62.0)
        np.testing.assert_allclose(arr_cum[i], model.cumulative(t, single, p, one), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(arr_rate[i], model.rate(t, single, p, one), rtol=1e-12, atol=1e-15)
        for tt in (3.0, 6.0):
            exact = arr_cum[i][t == tt][0] - arr_cum[i][0]
            pts = [x for x in (a, b) if 0 < x < tt]
            numeric, _ = quad(lambda u, e=single, c=one: scalar(model.rate(u, e, p, c)), 0.0, tt, points=pts or None)
            assert exact == pytest.approx(numeric, rel=1e-8, abs=1e-11)


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("site", SITES)
def test_denosumab_gain_is_lost_within_about_a_year_of_stopping(name, site):
    """Denosumab for 3 years on an AI: 12 months after the stop, under 6 % of its gain over the AI-only path is left."""
    ai = Exposure("aromatase_inhibitor", 0, 5)
    with_dmab = Regimen([ai, Exposure("denosumab", 0, 3)])
    p = patient(site)
    a = bmdsim.simulate(p, with_dmab, years=6, params=name)
    b = bmdsim.simulate(p, Regimen([ai]), years=6, params=name)
    gap = {s: a.bmd_at(site, s) - b.bmd_at(site, s) for s in (3.0, 4.0, 4.5)}
    assert gap[3.0] > 0.02 * b.bmd_at(site, 3.0)  # a real gain at the stop
    assert 0 <= gap[4.0] <= 0.06 * gap[3.0]
    assert 0 <= gap[4.5] <= 0.02 * gap[3.0]


@pytest.mark.parametrize("agent", ["zoledronic_acid", "oral_bisphosphonate"])
@pytest.mark.parametrize("name", SETS)
def test_bisphosphonate_effect_persists_after_stopping(agent, name):
    """A year after a 2-year bisphosphonate course, more than a third of its gain remains, far more than denosumab's."""
    site = "lumbar_spine"
    ai = Exposure("aromatase_inhibitor", 0, 5)
    p = patient(site)
    base = bmdsim.simulate(p, Regimen([ai]), years=5, params=name)

    def kept(drug: str) -> float:
        traj = bmdsim.simulate(p, Regimen([ai, Exposure(drug, 0, 2)]), years=5, params=name)
        return (traj.bmd_at(site, 3.0) - base.bmd_at(site, 3.0)) / (traj.bmd_at(site, 2.0) - base.bmd_at(site, 2.0))

    assert kept(agent) > 0.3
    assert kept(agent) > 5 * kept("denosumab")


@SETTINGS
@given(
    agent=st.sampled_from(THERAPIES),
    name=st.sampled_from(SETS),
    site=st.sampled_from(SITES),
    age=st.floats(45, 85),
    start=st.floats(0, 8),
    length=st.floats(0.1, 6),
    ai_start=st.floats(-2, 5),
    tamoxifen=st.booleans(),
)
def test_bone_protective_therapy_never_lowers_bmd(agent, name, site, age, start, length, ai_start, tamoxifen):
    """Adding a therapy course that starts at or after baseline never lowers BMD, on treatment or after it.

    (A course that began before the baseline scan is different: its gain is already in the baseline BMD and
    only its offset happens after baseline; see test_pre_baseline_course_only_wears_off.)
    """
    background = [Exposure("aromatase_inhibitor", ai_start, ai_start + 5)]
    if tamoxifen:
        background.append(Exposure("tamoxifen", ai_start - 2, ai_start))
    p = patient(site, age=age)
    t = np.linspace(0, 12, 241)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        without = bmdsim.simulate(p, Regimen(background), years=12, params=name).bmd_at(site, t)
        with_it = bmdsim.simulate(
            p, Regimen([*background, Exposure(agent, start, start + length)]), years=12, params=name
        ).bmd_at(site, t)
    assert np.all(with_it >= without * (1 - 1e-13))
    on = (t > max(start, 0) + 0.05) & (t <= start + length)
    if on.any() and agent != "vibration":
        assert np.all(with_it[on] > without[on])


def test_pre_baseline_course_only_wears_off():
    """Documents the baseline anchor: a denosumab course stopped at baseline only loses its gain afterwards."""
    p = patient()
    stopped = bmdsim.simulate(p, Regimen([Exposure("denosumab", -2, 0)]), years=3)
    none = bmdsim.simulate(p, Regimen([]), years=3)
    assert stopped.bmd_at("lumbar_spine", 1.0) < none.bmd_at("lumbar_spine", 1.0)


@pytest.mark.parametrize("name", SETS)
def test_combination_adds_log_effects(name):
    """AI + zoledronic acid + vibration: each agent's log-effect adds to the others' (the combination rule)."""
    params = bmdsim.load_parameters(name)
    ai, za, vib = Exposure("aromatase_inhibitor", 0, 5), Exposure("zoledronic_acid", 0, 3), Exposure("vibration", 0, 1)
    t = np.linspace(0, 8, 33)
    for site in SITES:

        def L(*exposures, site=site):
            return SiteModel(params, Regimen(list(exposures)), site).log_loss(t, 62.0)

        np.testing.assert_allclose(L(ai, za, vib) - L(ai), (L(za) - L()) + (L(vib) - L()), atol=1e-14)
    p = patient("total_hip")
    combo = bmdsim.simulate(p, Regimen([ai, za, vib]), years=8, params=name)
    assert combo.percent_change("total_hip", 0, 1) > bmdsim.simulate(
        p, Regimen([ai, za]), years=8, params=name
    ).percent_change("total_hip", 0, 1)


def test_vibration_states_its_evidence_grade():
    """The very-low evidence grade is in the data, the agent's label and its docstring."""
    doc = _data.read_json("targets/vibration.json")
    assert doc["evidence_grade"] == "very low"
    assert "very low" in AGENTS["vibration"].label
    assert "very low" in AGENTS["vibration"].__doc__.lower()
    for name in SETS:
        entries = _data.read_json(f"parameters/{name}.json")["parameters"]
        for site in SITES:
            entry = entries[f"vibration.{site}.gain_pct_per_year"]
            assert entry["evidence_grade"] == "very low"
            low, high = entry["plausible_range_pct_per_year"]
            assert low == 0.0 and low <= entry["value"] <= high


def test_denosumab_docstring_warns_about_stopping():
    """The denosumab documentation warns that the gain is lost within about 12 months and fractures rise."""
    doc = AGENTS["denosumab"].__doc__
    assert "within about 12 months" in doc
    assert "vertebral fractures" in doc


def test_unknown_agent_lists_the_therapies():
    """An unknown agent name raises naming every valid agent, the therapies included."""
    with pytest.raises(ValueError, match="unknown agent 'zoledronate'") as info:
        Exposure("zoledronate", 0, 1)
    for agent in THERAPIES:
        assert agent in str(info.value)


def test_course_longer_than_calibrated_warns():
    """Courses longer than the calibrating trials warn (counted up to the horizon); shorter ones do not."""
    p = patient()
    too_long = Regimen([Exposure("denosumab", 0, 5)])
    with pytest.warns(ExtrapolationWarning, match=r"denosumab is given for 5 years, longer than the 3 years"):
        bmdsim.simulate(p, too_long, years=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bmdsim.simulate(p, Regimen([Exposure("denosumab", 0, 3), Exposure("zoledronic_acid", 3, 8)]), years=8)
        bmdsim.simulate(p, Regimen([Exposure("vibration", 0)]), years=1)  # open-ended, but only 1 year simulated
    with pytest.warns(ExtrapolationWarning, match="vibration"):
        bmdsim.simulate(p, Regimen([Exposure("vibration", 0)]), years=2)
    values = bmdsim.load_parameters().values
    assert check_calibrated_range([Exposure("aromatase_inhibitor", 0, 30)], values, 40) == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("denosumab.offset_time_constant_years", 0.0),
        ("zoledronic_acid.lumbar_spine.early_gain_pct_per_year", -1.0),
        ("vibration.total_hip.gain_pct_per_year", 50.0),
        ("oral_bisphosphonate.max_calibrated_years", 100.0),
    ],
)
def test_parameters_outside_their_range_are_refused(key, value):
    """Therapy parameters outside their allowed range raise a clear error naming the key and the range."""
    with pytest.raises(ValueError, match=rf"parameter {key} must lie in \["):
        bmdsim.load_parameters().with_values({key: value})


@pytest.mark.parametrize("name", SETS)
def test_crossing_times_exact_with_therapies(name):
    """Exact crossing times under AI + denosumab stopped + late zoledronic acid agree with a dense brute-force scan."""
    from conftest import ONE_DAY, brute_force_crossing

    regimen = Regimen(
        [
            Exposure("aromatase_inhibitor", 0, 5),
            Exposure("denosumab", 0, 2),
            Exposure("zoledronic_acid", 4, 8),
            Exposure("vibration", 0, 1),
        ]
    )
    for site in SITES:
        traj = bmdsim.simulate(patient(site, -1.2), regimen, years=10, params=name)
        for thr in (-1.4, -1.6, -2.0):
            exact = traj.crossing_time(site, thr)
            brute = brute_force_crossing(traj, site, thr)
            if math.isinf(brute):
                assert math.isinf(exact)
            else:
                # the grid point is at or after the exact crossing, by less than one grid step (0.05 day)
                assert -1e-9 <= brute - exact <= 0.05 * ONE_DAY + 1e-9, (site, thr)
