"""Relative fracture risk from the BMD trajectory (Marshall 1996 gradients)."""

import numpy as np
import pytest

import bmdsim
from bmdsim import fracture

AI = bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)


def test_published_gradients_are_shipped():
    """The data file carries Marshall 1996's gradients and Tseng 2018's AI multiplier."""
    assert fracture.gradient("any", "femoral_neck") == 1.5
    assert fracture.gradient("vertebral", "lumbar_spine") == 2.3
    assert fracture.gradient("hip", "total_hip") == 2.6
    assert (fracture.gradient("hip", "femoral_neck", "low"), fracture.gradient("hip", "femoral_neck", "high")) == (
        2.0,
        3.5,
    )
    assert bmdsim._data.read_json("fracture_risk.json")["aromatase_inhibitor_multiplier"]["rr"] == 1.17


def test_one_sd_lost_multiplies_risk_by_the_gradient():
    """Natural loss only: RR equals g ** (T(0) - T(t)) and is 1 at baseline; one SD lower gives exactly g."""
    p = bmdsim.Patient(age=60, t_score={"femoral_neck": -1.0})
    traj = bmdsim.simulate(p, years=30, step=1 / 12, params="consensus")
    rr = fracture.relative_risk(traj, "femoral_neck", outcome="hip")
    assert rr[0] == 1.0
    np.testing.assert_allclose(rr, 2.6 ** (-1.0 - traj.t_score("femoral_neck")))
    assert np.all(np.diff(rr) > 0)  # steady loss, rising risk
    tc = traj.crossing_time("femoral_neck", -2.0)
    one_sd = bmdsim.simulate(p, years=tc, step=tc, params="consensus")
    assert fracture.relative_risk(one_sd, "femoral_neck", outcome="hip")[-1] == pytest.approx(2.6, rel=1e-9)


def test_reference_t_score_and_many_patients():
    """Against T = 0 the risk is g ** (-T); shapes follow the trajectory's."""
    p = bmdsim.Patient(age=[60, 70], t_score={"lumbar_spine": [-1.0, -2.0]})
    traj = bmdsim.simulate(p, bmdsim.Regimen([AI]), years=10)
    rr = fracture.relative_risk(traj, "lumbar_spine", outcome="vertebral", reference_t_score=0.0)
    assert rr.shape == traj.t_score("lumbar_spine").shape == (2, traj.time.size)
    np.testing.assert_allclose(rr[:, 0], [2.3, 2.3**2])


def test_ai_multiplier_applies_only_while_on_the_ai():
    """With the multiplier, RR is 1.17 times higher during years 0-5 and unchanged after."""
    p = bmdsim.Patient(age=63, t_score={"femoral_neck": -1.5})
    traj = bmdsim.simulate(p, bmdsim.Regimen([AI]), years=10)
    plain = fracture.relative_risk(traj, "femoral_neck")
    with_ai = fracture.relative_risk(traj, "femoral_neck", ai_multiplier=True)
    on = traj.time < 5
    np.testing.assert_allclose(with_ai[on], 1.17 * plain[on])
    np.testing.assert_array_equal(with_ai[~on], plain[~on])


def test_more_loss_means_more_risk():
    """An AI course never lowers the relative risk against natural loss alone."""
    p = bmdsim.Patient(age=63, t_score={"total_hip": -1.0})
    natural = fracture.relative_risk(bmdsim.simulate(p, years=10), "total_hip", outcome="hip")
    on_ai = fracture.relative_risk(bmdsim.simulate(p, bmdsim.Regimen([AI]), years=10), "total_hip", outcome="hip")
    assert np.all(on_ai >= natural - 1e-12) and on_ai[-1] > natural[-1]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"outcome": "wrist"}, r"unknown outcome 'wrist'; valid values are: any, vertebral, hip"),
        ({"outcome": "vertebral"}, r"site 'femoral_neck' does not predict 'vertebral'.*lumbar_spine"),
        ({"bound": "upper"}, r"unknown bound 'upper'; valid values are: estimate, low, high"),
        ({"reference_t_score": float("nan")}, r"reference_t_score must be a finite number"),
    ],
)
def test_bad_requests_are_refused(kwargs, match):
    traj = bmdsim.simulate(bmdsim.Patient(age=63, t_score={"femoral_neck": -1.5}), years=5)
    with pytest.raises(ValueError, match=match):
        fracture.relative_risk(traj, "femoral_neck", **kwargs)
