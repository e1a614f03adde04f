"""Guideline policies: the Hadji 2017 mapping, scans, detection delays, and bad input (exact scans).

Measurement error, variability and the grouped computation are tested in test_policy_scans.py.
"""

import json
import math
import pathlib
import shutil

import numpy as np
import pytest

import bmdsim
from bmdsim import _data
from bmdsim.policy import (
    GUIDELINES,
    GuidelineRule,
    Policy,
    compare_policies,
    guideline,
    hadji_2017,
    hadji_2025,
    register_guideline,
    risk_factor_count,
    simulate_policy,
    unregister_guideline,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]

AI = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
YEARS = 10.0
N = 400
EXACT = {"measurement_error": None}


@pytest.fixture(scope="module")
def patients():
    rng = np.random.default_rng(7)
    age = rng.uniform(50, 64, N)  # all <= 65: no age risk factor
    t = {s: rng.uniform(-2.4, 0.5, N) for s in ("lumbar_spine", "femoral_neck")}
    return bmdsim.Patient(age=age, t_score=t)


def test_threshold_mapping_by_risk_factor_count(patients):
    smoking = np.arange(N) % 3 >= 1
    steroids = np.arange(N) % 3 == 2
    res = simulate_policy(
        Policy("p"),
        patients,
        AI,
        YEARS,
        {"smoking": smoking, "oral_corticosteroids_over_6_months": steroids},
        **EXACT,
        params="consensus",
    )
    count = smoking.astype(int) + steroids
    assert np.array_equal(res.risk_factors, count)
    assert np.all(res.treatment_threshold[count == 0] == -2.0)
    assert np.all(res.treatment_threshold[count == 1] == -1.5)
    assert np.all(np.isnan(res.treatment_threshold[count == 2]))
    assert np.all(res.start[count == 2] == 0.0)


def test_age_over_65_is_derived_from_age():
    rule = hadji_2017()
    count = risk_factor_count({"smoking": np.array([True, False, False])}, np.array([70.0, 65.0, 66.0]), rule)
    assert count.tolist() == [2, 0, 1]


def test_treat_all_starts_everyone_at_zero_and_none_treats_nobody(patients):
    all_ = simulate_policy(Policy("all", rule="treat_all", scan_interval=None), patients, AI, YEARS, params="consensus")
    none = simulate_policy(Policy("none", rule="none", scan_interval=None), patients, AI, YEARS, params="consensus")
    assert np.all(all_.start == 0.0) and all_.summary()["fraction_treated"] == 1.0
    assert np.all(np.isinf(none.start)) and none.summary()["fraction_treated"] == 0.0
    assert all_.scans_per_patient == 0 and none.scans_per_patient == 0


def test_detection_delay_within_one_interval_and_monotone_in_interval(patients):
    delays = {}
    for interval in (2.0, 1.0, 0.5, 1 / 52):
        res = simulate_policy(Policy("p", scan_interval=interval), patients, AI, YEARS, **EXACT, params="consensus")
        d = res.detection_delay
        ok = np.isfinite(d)
        assert ok.sum() > N // 4
        assert np.all((d[ok] >= 0) & (d[ok] < interval))
        # The detecting scan is a scheduled one.
        k = res.start[ok] / interval
        assert np.allclose(k, np.round(k), atol=1e-6)
        delays[interval] = d
    assert np.nanmax(delays[1 / 52]) < 1 / 52
    # Nested schedules (0.5 divides 1 divides 2): a shorter interval never detects later.
    for long, short in ((2.0, 1.0), (1.0, 0.5)):
        both = np.isfinite(delays[long]) & np.isfinite(delays[short])
        assert np.all(delays[short][both] <= delays[long][both] + 1e-12)


def test_therapy_never_increases_time_below(patients):
    none = simulate_policy(Policy("none", rule="none", scan_interval=None), patients, AI, YEARS, params="consensus")
    assert none.years_below.sum() > 0
    for p in (Policy("12", scan_interval=1.0), Policy("all", rule="treat_all", scan_interval=None)):
        res = simulate_policy(p, patients, AI, YEARS, **EXACT, params="consensus")
        assert np.all(res.years_below <= none.years_below + 1e-12)
        assert res.years_below.sum() < none.years_below.sum()


def test_years_below_matches_crossing_time_without_therapy():
    p = bmdsim.Patient(age=np.array([60.0, 60.0]), t_score={"femoral_neck": np.array([-2.3, -3.0])})
    res = simulate_policy(
        Policy("none", rule="none", scan_interval=None), p, AI, YEARS, grid_step=1 / 365, params="consensus"
    )
    cross = bmdsim.simulate(p, AI, years=YEARS, params="consensus").crossing_time("femoral_neck", -2.5)
    assert 0 < cross[0] < YEARS
    assert res.years_below[0] == pytest.approx(YEARS - cross[0], abs=2 / 365)
    assert res.years_below[1] == pytest.approx(YEARS)


@pytest.mark.parametrize(("interval", "expected"), [(1.0, 11), (2.0, 6), (3.0, 4), (None, 0)])
def test_scans_counted(interval, expected):
    rule = "threshold" if interval else "none"
    assert Policy("p", rule=rule, scan_interval=interval).scans_per_patient(YEARS) == expected


def test_compare_policies_table_same_patients():
    pop = bmdsim.cohort.default_population()
    table = compare_policies(
        [Policy("12", scan_interval=1.0), Policy("none", rule="none", scan_interval=None)],
        pop,
        AI,
        YEARS,
        n=300,
        seed=2,
        params="consensus",
    )
    assert table["policy"] == ["12", "none"]
    assert table["scans_total"] == [300 * 11, 0]
    assert table["fraction_patient_years_below"][0] <= table["fraction_patient_years_below"][1]
    assert math.isnan(table["delay_p50"][1])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"scan_interval": 0.0}, ValueError, "scan_interval"),
        ({"scan_interval": -1.0}, ValueError, "scan_interval"),
        ({"scan_interval": None}, ValueError, "scan_interval"),
        # 1e-9 years used to try to allocate 74.5 GiB of scans; now the interval is refused at once.
        ({"scan_interval": 1e-9}, ValueError, r"Policy scan_interval must be a number of years in \[0.0192308, 60\]"),
        ({"scan_interval": 1 / 60}, ValueError, r"scan_interval .* \(at most one scan a week.*got 0.0166667"),
        ({"scan_interval": 1e6}, ValueError, r"scan_interval must be a number of years in .*got 1e\+06"),
        ({"scan_interval": math.nan}, ValueError, r"Policy scan_interval must be a finite number, got nan"),
        ({"scan_interval": math.inf}, ValueError, r"Policy scan_interval must be a finite number"),
        ({"scan_interval": True}, TypeError, r"Policy scan_interval must be a real number, got True"),
        ({"scan_interval": "1"}, TypeError, r"Policy scan_interval must be a real number"),
        ({"rule": "sometimes"}, ValueError, "rule"),
        ({"rule": None}, TypeError, "Policy rule must be a string"),
        ({"agent": "aspirin"}, ValueError, "agent"),
        ({"duration": 0}, ValueError, "duration"),
        ({"duration": 1e300}, ValueError, r"Policy duration must be a number of years in \(0, 60\], got 1e\+300"),
        ({"duration": False}, TypeError, r"Policy duration must be a real number"),
        ({"site": "wrist"}, ValueError, "site"),
        ({"name": ""}, ValueError, "Policy name must be a non-empty string"),
        ({"name": 12}, TypeError, "Policy name must be a string"),
        ({"name": "x" * 201}, ValueError, "Policy name must be at most 200 characters long"),
    ],
)
def test_bad_policy(kwargs, error, match):
    kwargs = {"name": "p"} | kwargs
    with pytest.raises(error, match=match):
        Policy(**kwargs)


def test_weekly_scans_are_the_shortest_allowed():
    policy = Policy("weekly", scan_interval=1 / 52)
    assert policy.scans_per_patient(60) == 3121
    assert policy.scan_times(60).size == 3121


@pytest.mark.parametrize(
    ("years", "error", "match"),
    [
        (math.inf, ValueError, "years must be a finite number"),
        (-1.0, ValueError, r"years must lie in \[0, 60\] years, got -1"),
        (1e9, ValueError, r"years must lie in \[0, 60\] years"),
        ("10", TypeError, "years must be a real number"),
    ],
)
def test_scan_schedule_needs_a_horizon_in_range(years, error, match):
    with pytest.raises(error, match=match):
        Policy("p").scan_times(years)


def test_a_scan_schedule_beyond_the_memory_limit_names_scan_interval(monkeypatch):
    """Every schedule is bounded by check_allocation before it is allocated (here with a tiny limit)."""
    monkeypatch.setattr(bmdsim._validation, "MAX_ARRAY_BYTES", 800)
    with pytest.raises(ValueError, match=r"scan schedule of 521 scans \(years 10 / Policy scan_interval 0.0192308\)"):
        Policy("p", scan_interval=1 / 52).scan_times(10)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"years": math.nan}, ValueError, "years must be a finite number"),
        ({"years": 61}, ValueError, r"years must be in \(0, 60\]"),
        ({"years": True}, TypeError, "years must be a real number"),
        ({"threshold": math.inf}, ValueError, "threshold must be a finite number"),
        ({"threshold": "-2.5"}, TypeError, "threshold must be a real number"),
        ({"grid_step": 1e-9}, ValueError, r"grid_step must be in \[0.00273785, years\]"),
        ({"grid_step": 0.0}, ValueError, r"grid_step must be in"),
        ({"grid_step": 11.0}, ValueError, r"grid_step must be in .*got 11"),
        ({"grid_step": np.bool_(True)}, TypeError, "grid_step must be a real number"),
        ({"site": "wrist"}, ValueError, "site"),
        ({"n": 10}, ValueError, "n is only for drawing patients from a Population"),
        ({"seed": -3}, ValueError, "seed must be a non-negative integer"),
        ({"seed": "1"}, TypeError, "seed must be a non-negative integer"),
        ({"risk_factors": {"smoking": np.ones((N, 2), bool)}}, ValueError, r"risk_factors\['smoking'\]"),
        ({"risk_factors": [("smoking", True)]}, TypeError, "risk_factors must be a mapping"),
    ],
)
def test_bad_simulate_policy_arguments_name_the_field(patients, kwargs, error, match):
    args = {"policy": Policy("p"), "patient": patients, "ai_regimen": AI, "years": YEARS, **EXACT} | kwargs
    with pytest.raises(error, match=match):
        simulate_policy(**args, params="consensus")


def test_bad_compare_policies_arguments(patients):
    one = Policy("12", scan_interval=1.0)
    with pytest.raises(TypeError, match="policies must be a sequence of bmdsim.Policy, got Policy"):
        compare_policies(one, patients, AI, YEARS, params="consensus")
    with pytest.raises(ValueError, match="policies must not be empty"):
        compare_policies([], patients, AI, YEARS, params="consensus")
    endless = (Policy(f"p{k}") for k in range(10**9))
    with pytest.raises(ValueError, match="policies must hold at most 100 policies"):
        compare_policies(endless, patients, AI, YEARS, params="consensus")
    with pytest.raises(TypeError, match=r"policies\[1\] must be a bmdsim.Policy"):
        compare_policies([one, "24"], patients, AI, YEARS, params="consensus")
    with pytest.raises(ValueError, match="policies need distinct names"):
        compare_policies([one, one], patients, AI, YEARS, params="consensus")
    with pytest.raises(TypeError, match="unexpected keyword.*chunk_size"):
        compare_policies([one], patients, AI, YEARS, chunk_size=10, params="consensus")
    with pytest.raises(ValueError, match=r"grid_step must be in"):
        compare_policies([one], patients, AI, YEARS, grid_step=1e-12, params="consensus")
    pop = bmdsim.cohort.default_population()
    with pytest.raises(ValueError, match="n must be a positive integer"):
        compare_policies([one], pop, AI, YEARS, n=0, seed=1, params="consensus")
    with pytest.raises(ValueError, match=r"the crossing times of n = 1000000000000 patients .* would need"):
        compare_policies([one], pop, AI, YEARS, n=10**12, seed=1, params="consensus")


def test_bad_risk_factors(patients):
    with pytest.raises(ValueError, match="unknown risk factor 'diabetes'.*smoking"):
        simulate_policy(Policy("p"), patients, AI, YEARS, {"diabetes": np.zeros(N, bool)}, params="consensus")
    with pytest.raises(ValueError, match=r"risk_factors\['smoking'\].*length n = 400"):
        simulate_policy(Policy("p"), patients, AI, YEARS, {"smoking": np.zeros(N - 1, bool)}, params="consensus")
    with pytest.raises(TypeError, match=r"risk_factors\['smoking'\] must be booleans"):
        simulate_policy(Policy("p"), patients, AI, YEARS, {"smoking": np.zeros(N)}, params="consensus")
    with pytest.raises(ValueError, match="age_over_65"):
        simulate_policy(Policy("p"), patients, AI, YEARS, {"age_over_65": np.zeros(N, bool)}, params="consensus")
    with pytest.raises(ValueError, match="n and seed"):
        simulate_policy(Policy("p"), bmdsim.cohort.default_population(), AI, YEARS, params="consensus")


# -- fractures per 1,000 and per scan -------------------------------------------------------------------
FRACTURE_POLICIES = [
    Policy("yearly", scan_interval=1.0),
    Policy("every 2 years", scan_interval=2.0),
    Policy("everyone", rule="treat_all", scan_interval=None),
    Policy("nobody", rule="none", scan_interval=None),
]


def test_compare_policies_fracture_columns_equal_a_direct_computation():
    """Per policy: the mean over women of trajectory_incidence along her own regimen (therapy from her start)."""
    from bmdsim import fracture_incidence as fi
    from bmdsim.policy import FRACTURE_OUTCOMES

    rng = np.random.default_rng(11)
    n, years = 6, 6.0
    sites = ("lumbar_spine", "femoral_neck", "total_hip")
    small = bmdsim.Patient(age=rng.uniform(55, 75, n), t_score={s: rng.uniform(-2.3, -0.5, n) for s in sites})
    table = compare_policies(FRACTURE_POLICIES, small, AI, years, **EXACT, params="consensus")
    for i, p in enumerate(FRACTURE_POLICIES):
        start = simulate_policy(p, small, AI, years, **EXACT, params="consensus").start
        for o in FRACTURE_OUTCOMES:
            direct = 0.0
            for k in range(n):  # one woman at a time: the slow, obvious way
                one = bmdsim.Patient(age=small.age[k], t_score={s: small.t_score[s][k] for s in sites})
                regimen = AI
                if np.isfinite(start[k]):
                    regimen = bmdsim.Regimen([*AI, bmdsim.Exposure(p.agent, float(start[k]), duration=p.duration)])
                traj = bmdsim.simulate(one, regimen, years=years, params="consensus")
                direct += fi.trajectory_incidence(traj, o, [years])[0]
            assert table[f"fractures_{o}_per_1000"][i] == pytest.approx(1000 * direct / n, rel=1e-9), (p.name, o)


def test_fractures_prevented_per_scan_sign_and_reference(patients):
    table = compare_policies(FRACTURE_POLICIES, patients, AI, YEARS, **EXACT, params="consensus")
    assert table["fracture_reference"] == ["nobody"] * 4
    for o in ("hip", "clinical_vertebral", "major_osteoporotic", "any_clinical"):
        per_1000 = table[f"fractures_{o}_per_1000"]
        per_scan = table[f"fractures_{o}_prevented_per_scan"]
        assert all(0 < v < 1000 for v in per_1000)
        # therapy only raises BMD, so every treating policy has fewer fractures than nobody treated
        assert per_1000[0] < per_1000[3] and per_1000[1] < per_1000[3] and per_1000[2] < per_1000[3]
        assert per_scan[0] > 0 and per_scan[1] > 0
        by_hand = (per_1000[3] - per_1000[0]) * N / 1000 / (table["scans_total"][0] - table["scans_total"][3])
        assert per_scan[0] == pytest.approx(by_hand, rel=1e-12)
        assert math.isnan(per_scan[2]) and math.isnan(per_scan[3])  # no extra scans: undefined
    # without a 'none' policy the first one is the reference
    first = compare_policies(FRACTURE_POLICIES[:2], patients, AI, YEARS, **EXACT, params="consensus")
    assert first["fracture_reference"] == ["yearly", "yearly"]
    assert math.isnan(first["fractures_hip_prevented_per_scan"][0])
    assert first["fractures_hip_prevented_per_scan"][1] is not None
    assert np.isnan(first["fractures_hip_prevented_per_scan"][1])  # fewer scans than the reference: undefined


def test_fracture_columns_leave_the_existing_columns_unchanged(patients):
    with_f = compare_policies(FRACTURE_POLICIES, patients, AI, YEARS, params="consensus", seed=3)
    without = compare_policies(FRACTURE_POLICIES, patients, AI, YEARS, params="consensus", seed=3, fractures=False)
    assert list(with_f)[: len(without)] == list(without)
    for key, values in without.items():
        assert np.array_equal(np.array(with_f[key], dtype=object), np.array(values, dtype=object)) or all(
            (a == b) or (isinstance(a, float) and math.isnan(a) and math.isnan(b))
            for a, b in zip(with_f[key], values, strict=True)
        ), key
    assert not any(k.startswith("fracture") for k in without)
    df = with_f.to_frame()
    assert "fractures_hip_per_1000" in df and "fractures_any_clinical_prevented_per_scan" in df
    assert "fractures_hip_per_1000" in df.attrs["units"]
    assert np.array_equal(df["fractures_hip_per_1000"], with_f["fractures_hip_per_1000"])


def test_bad_fracture_keywords(patients):
    with pytest.raises(TypeError, match="fractures"):
        compare_policies(FRACTURE_POLICIES[:1], patients, AI, YEARS, fractures="yes", **EXACT)
    with pytest.raises(ValueError, match="fracture_step"):
        compare_policies(FRACTURE_POLICIES[:1], patients, AI, YEARS, fracture_step=5.0, **EXACT)


# -- guideline rules as a registry ----------------------------------------------------------------------------------

#: Hand-made patients: (age, risk factors other than age, T-score).
HAND_MADE = [
    (60.0, 0, -1.9),
    (60.0, 0, -2.0),
    (60.0, 0, -2.1),
    (60.0, 1, -1.4),
    (60.0, 1, -1.5),
    (60.0, 1, -1.6),
    (70.0, 0, -1.6),  # age over 65 is her one risk factor
    (70.0, 0, -1.4),
    (60.0, 2, 0.0),  # two risk factors, normal BMD
    (70.0, 1, -1.0),  # age + one: two risk factors
    (66.0, 3, -1.9),
]


def _expected(entry: dict, age: float, others: int, t: float) -> bool:
    """The rule as written in data/guidelines.json, computed here without bmdsim."""
    count = others + (age > entry["risk_factors"]["age_years_above"])
    treat_all = entry["treat_all_from_risk_factors"]["count"]
    if treat_all is not None and count >= treat_all:
        return True
    key = "no_risk_factor" if count == 0 else "one_risk_factor"
    return t <= entry["threshold_t_score"][key]


@pytest.mark.parametrize("name", ["hadji_2017", "hadji_2025"])
def test_each_shipped_rule_decides_as_the_data_say(name):
    doc = json.loads((ROOT / "data" / "guidelines.json").read_text())
    entry, rule = doc[name], GUIDELINES[name]
    age, others, t = (np.array(col) for col in zip(*HAND_MADE, strict=True))
    decided = rule.starts_therapy(age, others, t)
    assert decided.tolist() == [_expected(entry, *p) for p in HAND_MADE]
    interval = entry["monitoring_interval_years"]
    assert rule.monitoring_interval == (interval["low"], interval["high"])
    assert set(rule.risk_factors) == set(entry["risk_factors"]["names"])


def test_2025_and_2017_differ_where_the_data_say():
    r17, r25 = GUIDELINES["hadji_2017"], GUIDELINES["hadji_2025"]
    assert r17 == hadji_2017() and r25 == hadji_2025()
    # Same T-score triggers; 2025 has no risk-factor-only branch (an assumption recorded in the data).
    assert r17.threshold_by_count == r25.threshold_by_count == (-2.0, -1.5)
    assert r17.treat_all_count == 2 and r25.treat_all_count is None
    two_rf_normal_bmd = (np.array([60.0, 70.0]), np.array([2, 1]), np.array([0.0, -1.0]))
    assert r17.starts_therapy(*two_rf_normal_bmd).tolist() == [True, True]
    assert r25.starts_therapy(*two_rf_normal_bmd).tolist() == [False, False]
    assert r25.starts_therapy(np.array([70.0]), np.array([1]), np.array([-1.6])).tolist() == [True]
    assert r17.monitoring_interval == (1.0, 2.0) and r25.monitoring_interval == (2.0, 2.0)
    assert "previous_vertebral_fracture" in r25.risk_factors and "previous_vertebral_fracture" not in r17.risk_factors


def test_2025_assumptions_and_source_are_recorded():
    entry = json.loads((ROOT / "data" / "guidelines.json").read_text())["hadji_2025"]
    assert "primary not seen" in json.dumps(entry) or "primary" in entry["note"]
    assert entry["citation"] == "hadji_2025_seed001"
    assert "assumption" in entry["treat_all_from_risk_factors"]
    assert "assumption" in entry["threshold_t_score"]
    citation = json.loads((ROOT / "data" / "citations.json").read_text())["hadji_2025_seed001"]
    assert "read in a secondary source (seed 001), primary not seen" in citation["where"]


def test_policy_accepts_a_guideline_name_and_threshold_is_hadji_2017(patients):
    smoking = np.arange(N) % 2 == 0
    steroids = np.arange(N) % 4 == 0
    rf = {"smoking": smoking, "oral_corticosteroids_over_6_months": steroids}
    a = simulate_policy(Policy("t"), patients, AI, YEARS, rf, **EXACT, params="consensus")
    b = simulate_policy(Policy("h17", rule="hadji_2017"), patients, AI, YEARS, rf, **EXACT, params="consensus")
    c = simulate_policy(Policy("h25", rule="hadji_2025"), patients, AI, YEARS, rf, **EXACT, params="consensus")
    assert np.array_equal(a.start, b.start) and np.array_equal(a.years_below, b.years_below)
    two = a.risk_factors >= 2
    assert two.any() and np.all(a.start[two] == 0.0)
    assert np.all(c.treatment_threshold[two] == -1.5)  # 2025 as recorded: no treatment on risk factors alone
    assert np.array_equal(c.start[~two], a.start[~two])  # the T-score triggers are the same
    assert c.summary()["rule"] == "hadji_2025"
    with pytest.raises(ValueError, match="the 'hadji_2025' rule acts on scans"):
        Policy("p", rule="hadji_2025", scan_interval=None)


def test_a_risk_factor_of_another_guideline_is_ignored_not_refused(patients):
    vertebral = {"previous_vertebral_fracture": np.arange(N) % 2 == 0}
    c = simulate_policy(Policy("h25", rule="hadji_2025"), patients, AI, YEARS, vertebral, **EXACT, params="consensus")
    a = simulate_policy(Policy("h17"), patients, AI, YEARS, vertebral, **EXACT, params="consensus")
    assert c.risk_factors.sum() == N // 2 and a.risk_factors.sum() == 0
    with pytest.raises(ValueError, match="unknown risk factor 'bmi'"):
        simulate_policy(Policy("h17"), patients, AI, YEARS, {"bmi": True}, **EXACT, params="consensus")


def _custom(key: str = "strict_local", **changes) -> GuidelineRule:
    values = {
        "threshold_by_count": (-2.5, -2.0, -1.5),
        "treat_all_count": None,
        "risk_factors": ("age_over_65", "smoking"),
        "age_above": 70.0,
        "monitoring_interval": (1.0, 3.0),
        "key": key,
    }
    return GuidelineRule(**{**values, **changes})


def test_register_a_rule_use_it_and_duplicates_need_replace(patients):
    rule = register_guideline(_custom())
    try:
        assert GUIDELINES["strict_local"] is rule and "strict_local" in GUIDELINES
        assert rule.starts_therapy([60.0, 75.0, 75.0], [0, 0, 1], [-2.4, -2.1, -1.6]).tolist() == [False, True, True]
        with pytest.raises(ValueError, match=r"'strict_local' is registered already; pass replace=True"):
            register_guideline(_custom())
        other = register_guideline(_custom(age_above=65.0), replace=True)
        assert GUIDELINES["strict_local"] is other
        res = simulate_policy(Policy("p", rule="strict_local"), patients, AI, YEARS, **EXACT, params="consensus")
        assert np.all(res.treatment_threshold == -2.5)  # all women are 50-64: no risk factor
    finally:
        unregister_guideline("strict_local")
    assert "strict_local" not in GUIDELINES
    with pytest.raises(ValueError, match=r"'hadji_2017' is registered already"):
        register_guideline(_custom("hadji_2017"))
    with pytest.raises(ValueError, match="shipped"):
        unregister_guideline("hadji_2025")


def test_unknown_rule_names_list_the_registered_ones():
    with pytest.raises(ValueError, match=r"rule 'hadji_2031'; valid values are: .*hadji_2017, hadji_2025"):
        Policy("p", rule="hadji_2031")
    with pytest.raises(KeyError, match=r"registered guidelines are: hadji_2017, hadji_2025"):
        GUIDELINES["hadji_2031"]
    with pytest.raises(ValueError, match=r"registered guidelines are: hadji_2017, hadji_2025"):
        guideline("hadji_2031")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"threshold_by_count": (-2.0, float("nan"))}, "finite"),
        ({"threshold_by_count": (-1.5, -2.0)}, "must not decrease"),
        ({"threshold_by_count": (-25.0,)}, "threshold_by_count"),
        ({"treat_all_count": 0}, "treat_all_count"),
        ({"treat_all_count": True}, "treat_all_count"),
        ({"risk_factors": ("smoking",)}, "include 'age_over_65'"),
        ({"monitoring_interval": (2.0, 1.0)}, "monitoring_interval"),
        ({"key": "threshold"}, "is a Policy rule already"),
        ({"key": "not a name"}, "identifier"),
    ],
)
def test_a_bad_guideline_rule_is_refused(changes, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _custom(**changes)


@pytest.mark.parametrize(
    ("path", "value", "match"),
    [
        (("threshold_t_score", "no_risk_factor"), "nan", r"hadji_2025.threshold_t_score.no_risk_factor must be"),
        (("threshold_t_score", "one_risk_factor"), -9.0, r"hadji_2025.threshold_t_score.one_risk_factor must be"),
        (("threshold_t_score", "two_risk_factors"), -1.0, r"hadji_2025.threshold_t_score has unknown key"),
        (("treat_all_from_risk_factors", "count"), 2.5, r"hadji_2025.treat_all_from_risk_factors.count must be"),
        (("monitoring_interval_years", "low"), 5.0, r"hadji_2025.monitoring_interval_years must have 0 < low <= high"),
        (("risk_factors", "bmi_below"), 1e9, r"hadji_2025.risk_factors.bmi_below must be a finite number"),
    ],
)
def test_a_tampered_2025_rule_is_refused_naming_file_and_key(tmp_path, monkeypatch, path, value, match):
    copy = tmp_path / "data"
    shutil.copytree(ROOT / "data", copy)
    monkeypatch.setattr(_data, "data_dir", lambda: copy)
    doc = json.loads((copy / "guidelines.json").read_text())
    target = doc["hadji_2025"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    (copy / "guidelines.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"^data/guidelines.json: .*" + match):
        GUIDELINES["hadji_2025"]
    hadji_2017()  # the 2017 rule still loads
    patients = bmdsim.Patient(age=np.array([60.0]), t_score={"femoral_neck": np.array([-1.0])})
    with pytest.raises(ValueError, match="data/guidelines.json"):
        simulate_policy(Policy("p", rule="hadji_2025", scan_interval=2.0), patients, AI, 5, measurement_error=None)
