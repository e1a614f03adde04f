"""Pinned policy results: any change to what simulate_policy computes fails here.

The fingerprints below were computed from the code at the commit that added
this file (before the policy engine was moved onto the cohort engine's public
API). Each case runs :func:`bmdsim.simulate_policy` on a small seeded cohort
and compares every per-patient array of the :class:`bmdsim.PolicyResult`
(``start``, ``crossing``, ``years_below``, ``trigger_scan``,
``false_positive``, ``treatment_threshold``, ``detection_delay``) to the
SHA-256 of its bytes, so a refactor must give the same numbers to the last
bit; a few summary numbers are pinned as well, to say *what* moved when a
checksum fails. To re-pin after a deliberate change of results, run this
file as a script (``python tests/test_policy_pinned.py``) and paste its
output over :data:`PINNED`, saying in the commit why the numbers moved.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math

import numpy as np
import pytest

import bmdsim
from bmdsim.cohort import Variability, default_population
from bmdsim.policy import Policy, compare_policies, simulate_policy

AI = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
YEARS = 10.0
N = 2000
SEED = 2026
ARRAYS = (
    "start",
    "crossing",
    "years_below",
    "trigger_scan",
    "false_positive",
    "treatment_threshold",
    "detection_delay",
)
SUMMARY = (
    "fraction_patient_years_below",
    "fraction_treated",
    "fraction_false_positive",
    "n_true_crossers",
    "delay_mean",
)


def _risk_factors(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(SEED)
    return {
        "smoking": rng.random(n) < 0.15,
        "family_history_hip_fracture": rng.random(n) < 0.10,
        "previous_vertebral_fracture": rng.random(n) < 0.05,  # counted by the 2025 rule only
    }


def _given_patients(n: int, same_age: bool) -> bmdsim.Patient:
    """Patients given (not drawn): random ages, or one age for all (every curve shared)."""
    rng = np.random.default_rng(11)
    age = np.full(n, 58.3) if same_age else rng.uniform(50, 75, n)
    t = {s: rng.uniform(-2.8, 0.5, n) for s in ("lumbar_spine", "femoral_neck", "total_hip")}
    return bmdsim.Patient(age=age, t_score=t)


CASES = {
    "hadji2017_12m_error": (Policy("a", scan_interval=1.0), {}),
    "hadji2017_12m_exact": (Policy("a", scan_interval=1.0), {"measurement_error": None}),
    "hadji2017_24m_neck_error": (Policy("b", scan_interval=2.0, site="femoral_neck"), {}),
    "hadji2025_24m_error": (Policy("c", rule="hadji_2025", scan_interval=2.0), {}),
    "hadji2025_6m_exact_consensus": (
        Policy("c", rule="hadji_2025", scan_interval=0.5, agent="denosumab", duration=3.0),
        {"measurement_error": None, "params": "consensus"},
    ),
    "treat_all": (Policy("all", rule="treat_all", scan_interval=None), {}),
    "none": (Policy("none", rule="none", scan_interval=None), {}),
    "hadji2017_12m_error_variability": (Policy("a", scan_interval=1.0), {"variability": Variability(cv=0.3)}),
    "given_patients_error": (Policy("a", scan_interval=1.0), {"patients": "given"}),
    "given_same_age_error": (Policy("a", scan_interval=1.0), {"patients": "same_age"}),
}


def run_case(name: str) -> bmdsim.PolicyResult:
    policy, kwargs = CASES[name]
    kwargs = dict(kwargs)
    given = kwargs.pop("patients", None)
    if given is None:
        return simulate_policy(policy, default_population(), AI, YEARS, _risk_factors(N), n=N, seed=SEED, **kwargs)
    n = N // 4
    return simulate_policy(policy, _given_patients(n, given == "same_age"), AI, YEARS, _risk_factors(n), seed=SEED)


def fingerprint(result: bmdsim.PolicyResult) -> dict[str, object]:
    """SHA-256 (first 16 hex digits) of every per-patient array, and a few summary numbers."""
    out: dict[str, object] = {}
    for key in ARRAYS:
        arr = np.ascontiguousarray(getattr(result, key))
        arr = arr.astype(np.int64) if arr.dtype.kind in "iu" else arr
        out[key] = hashlib.sha256(arr.tobytes()).hexdigest()[:16]
    row = result.summary()
    out.update({key: row[key] for key in SUMMARY})
    return out


PINNED: dict[str, dict[str, object]] = {
    "given_patients_error": {
        "start": "9b78c657e37b4844",
        "crossing": "0fe1d2d2d8045848",
        "years_below": "89e83c4a2868041b",
        "trigger_scan": "39755c3597ab29e7",
        "false_positive": "b1b06e089ea59410",
        "treatment_threshold": "991e1ed519dab05e",
        "detection_delay": "915a35b65dd93bec",
        "fraction_patient_years_below": 0.13959615384615387,
        "fraction_treated": 0.874,
        "fraction_false_positive": 0.092,
        "n_true_crossers": 390,
        "delay_mean": 0.06587075850593503,
    },
    "given_same_age_error": {
        "start": "7b3d7fcfa701a5bf",
        "crossing": "55a817973953bff5",
        "years_below": "b494615ff698bb11",
        "trigger_scan": "554a6bdff9d7e340",
        "false_positive": "be28546692c21a68",
        "treatment_threshold": "18c1a39a912d7208",
        "detection_delay": "07f466cfe8716a37",
        "fraction_patient_years_below": 0.15294615384615384,
        "fraction_treated": 0.844,
        "fraction_false_positive": 0.138,
        "n_true_crossers": 409,
        "delay_mean": -0.01891140056777351,
    },
    "hadji2017_12m_error": {
        "start": "8e1a3580358c19c2",
        "crossing": "616dcfeba5125e6f",
        "years_below": "e0b1daba9575156a",
        "trigger_scan": "bab1c36387e654e7",
        "false_positive": "01aca151f45074b6",
        "treatment_threshold": "46d6b28be7475a19",
        "detection_delay": "04a26413857081a0",
        "fraction_patient_years_below": 0.07366346153846155,
        "fraction_treated": 0.6045,
        "fraction_false_positive": 0.0865,
        "n_true_crossers": 945,
        "delay_mean": 0.09209797222176891,
    },
    "hadji2017_12m_error_variability": {
        "start": "f7859ead042e148a",
        "crossing": "3c4f90232f5fa756",
        "years_below": "ca9a5e630dd133f8",
        "trigger_scan": "89a5b4f96d4336f4",
        "false_positive": "9e2e53e7c615ea4f",
        "treatment_threshold": "46d6b28be7475a19",
        "detection_delay": "0f37132bafcccd74",
        "fraction_patient_years_below": 0.0673923076923077,
        "fraction_treated": 0.6045,
        "fraction_false_positive": 0.1075,
        "n_true_crossers": 933,
        "delay_mean": 0.040935551635331184,
    },
    "hadji2017_12m_exact": {
        "start": "92fa2080ee648a40",
        "crossing": "616dcfeba5125e6f",
        "years_below": "c185ab1be2bedd78",
        "trigger_scan": "91e396ebd0c03158",
        "false_positive": "2da42fb1d7bd8524",
        "treatment_threshold": "46d6b28be7475a19",
        "detection_delay": "89c7c158432990bc",
        "fraction_patient_years_below": 0.07365288461538462,
        "fraction_treated": 0.5805,
        "fraction_false_positive": 0.0,
        "n_true_crossers": 945,
        "delay_mean": 0.221198501322298,
    },
    "hadji2017_24m_neck_error": {
        "start": "be96b1c959a5c6d2",
        "crossing": "f3f07f746d3ac44e",
        "years_below": "f4c759787feacb6b",
        "trigger_scan": "eb4b6bd4ca3c267a",
        "false_positive": "26793ec9d7631ee7",
        "treatment_threshold": "46d6b28be7475a19",
        "detection_delay": "7f7ab622036f4864",
        "fraction_patient_years_below": 0.07458269230769231,
        "fraction_treated": 0.5005,
        "fraction_false_positive": 0.0625,
        "n_true_crossers": 743,
        "delay_mean": 0.4731216186770869,
    },
    "hadji2025_24m_error": {
        "start": "06b6dfde907982f8",
        "crossing": "171dc3b83a84c90a",
        "years_below": "136c91c6d2c54901",
        "trigger_scan": "2dedef8fd7c9a812",
        "false_positive": "5c7b3ac4473cbe80",
        "treatment_threshold": "7772db074568154f",
        "detection_delay": "a93b366c8cc5b2a1",
        "fraction_patient_years_below": 0.07405961538461538,
        "fraction_treated": 0.5675,
        "fraction_false_positive": 0.071,
        "n_true_crossers": 1097,
        "delay_mean": 0.37341570942978697,
    },
    "hadji2025_6m_exact_consensus": {
        "start": "c58f127971ac4ead",
        "crossing": "96aba027ad8dcf52",
        "years_below": "0b65f82e18f0d26e",
        "trigger_scan": "82b39121990f4bad",
        "false_positive": "2da42fb1d7bd8524",
        "treatment_threshold": "7772db074568154f",
        "detection_delay": "b7582985bd6d500f",
        "fraction_patient_years_below": 0.149,
        "fraction_treated": 0.689,
        "fraction_false_positive": 0.0,
        "n_true_crossers": 1378,
        "delay_mean": 0.12424035193718733,
    },
    "none": {
        "start": "d8c58dd92ee84766",
        "crossing": "dad226fcaec1254c",
        "years_below": "133d653c017989fc",
        "trigger_scan": "c1130846d44e78ec",
        "false_positive": "2da42fb1d7bd8524",
        "treatment_threshold": "dad226fcaec1254c",
        "detection_delay": "dad226fcaec1254c",
        "fraction_patient_years_below": 0.12015480769230771,
        "fraction_treated": 0.0,
        "fraction_false_positive": 0.0,
        "n_true_crossers": 0,
        "delay_mean": math.nan,
    },
    "treat_all": {
        "start": "f85f2c34eb2843d2",
        "crossing": "dad226fcaec1254c",
        "years_below": "f4ff086748603ba9",
        "trigger_scan": "c1130846d44e78ec",
        "false_positive": "2da42fb1d7bd8524",
        "treatment_threshold": "dad226fcaec1254c",
        "detection_delay": "dad226fcaec1254c",
        "fraction_patient_years_below": 0.07594807692307692,
        "fraction_treated": 1.0,
        "fraction_false_positive": 0.0,
        "n_true_crossers": 0,
        "delay_mean": math.nan,
    },
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_policy_results_are_pinned(name):
    got = fingerprint(run_case(name))
    want = PINNED[name]
    for key in SUMMARY:
        assert got[key] == pytest.approx(want[key], rel=0, abs=1e-12, nan_ok=True), key
    assert {k: got[k] for k in ARRAYS} == {k: want[k] for k in ARRAYS}


#: compare_policies' expected first fractures per 1,000 women for none, Hadji 2017 (12 months), Hadji 2025
#: (24 months) and treat-all, with measurement error, on the pinned cohort.
PINNED_FRACTURES = {
    "fractures_hip_per_1000": [32.12048252665328, 26.248585703084853, 26.41326247650469, 25.608520908090284],
    "fractures_clinical_vertebral_per_1000": [
        20.708172100010575,
        15.336087945763106,
        15.555562607855691,
        14.297525959382828,
    ],
    "fractures_major_osteoporotic_per_1000": [
        77.19416868051152,
        71.40401316462932,
        71.75797503547031,
        69.77711349324001,
    ],
    "fractures_any_clinical_per_1000": [303.76313027895253, 287.0959381728176, 288.3612861907061, 280.59064656527676],
}


def test_compare_policies_fractures_are_pinned():
    names = ("none", "hadji2017_12m_error", "hadji2025_24m_error", "treat_all")
    policies = [dataclasses.replace(CASES[name][0], name=name) for name in names]
    table = compare_policies(policies, default_population(), AI, YEARS, _risk_factors(N), n=N, seed=SEED)
    for key, want in PINNED_FRACTURES.items():
        assert table[key] == pytest.approx(want, rel=1e-13, abs=0), key


def test_the_fingerprint_sees_a_one_ulp_change():
    result = run_case("none")
    before = fingerprint(result)
    result.years_below[7] = np.nextafter(result.years_below[7], np.inf)
    after = fingerprint(result)
    assert after["years_below"] != before["years_below"]
    assert {k: v for k, v in after.items() if k != "years_below"} == {
        k: v for k, v in before.items() if k != "years_below"
    }


if __name__ == "__main__":  # print PINNED for the code as it is now
    print("PINNED: dict[str, dict[str, object]] = {")
    for case in sorted(CASES):
        print(f"    {case!r}: {fingerprint(run_case(case))!r},")
    print("}")
