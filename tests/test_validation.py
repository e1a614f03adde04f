"""The validation report: every trial figure against every set, with a clean calibration/validation split."""

from __future__ import annotations

import numpy as np
import pytest

import bmdsim
from bmdsim import _data, calibration
from bmdsim.validation import ValidationReport, main, trial_files, validation_report


@pytest.fixture(scope="module")
def report() -> ValidationReport:
    return validation_report()


def test_report_covers_every_trial_observation_and_set(report):
    """One row per observation in the trial target files; one prediction per shipped set."""
    count = sum(len(_data.read_json(f"targets/{f}.json")["observations"]) for f in trial_files())
    assert len(report.keys) == count == report.observed.size
    assert set(report.sets) == set(bmdsim.available_parameter_sets())
    for s in report.sets:
        assert report.predicted[s].shape == report.observed.shape
        assert np.all(np.isfinite(report.predicted[s]))
        np.testing.assert_allclose(report.error(s), report.predicted[s] - report.observed)


def test_predictions_match_the_public_api(report):
    """A validation row equals the same regimen simulated through bmdsim.simulate."""
    i = report.keys.index("zofast:zofast_ls_36m_delayed")
    p = bmdsim.Patient(age=62, t_score={"lumbar_spine": -1.0})
    traj = bmdsim.simulate(p, bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0)]), years=3, params="consensus")
    assert report.predicted["consensus"][i] == pytest.approx(traj.percent_change("lumbar_spine", 0, 3), abs=1e-10)


def test_validation_rows_are_never_fitted_and_include_held_out_trials(report):
    """Rows with role 'validation' are fitted by no set; ZO-FAST, FREEDOM and Nakatsukasa are among them."""
    validation = np.array([r == "validation" for r in report.roles])
    for s in report.sets:
        assert not np.any(report.fitted[s] & validation)
    trials = {k.split(":")[0] for k, r in zip(report.keys, report.roles, strict=True) if r == "validation"}
    assert {"zofast", "freedom", "nakatsukasa_2018"} <= trials
    assert all(report.fitted[s][report.keys.index("zfast:zfast_ls_12m")] for s in report.sets)


def test_every_calibration_observation_is_fitted_by_some_set(report):
    """Role 'calibration' means a set is fitted to it: the split in the data is honest."""
    fitted_any = np.any([report.fitted[s] for s in report.sets], axis=0)
    brex_contrast_only = np.array([k.startswith("brex_2024:") for k in report.keys])
    calibration_rows = np.array([r == "calibration" for r in report.roles])
    assert np.all(fitted_any[calibration_rows] | brex_contrast_only[calibration_rows])


def test_mae_and_tables(report, capsys):
    """MAE per set is finite and positive; the tables list every row and every set; main() prints them."""
    for s in report.sets:
        for rows in ("held_out", "validation", "all"):
            assert 0 < report.mae(s, rows) < 20
    with pytest.raises(ValueError, match="unknown rows 'some'"):
        report.mae("consensus", "some")
    table = report.table()
    assert all(k[:34] in table for k in report.keys)
    assert "consensus" in report.mae_table()
    assert "model too low" in report.bias_summary("consensus")
    assert main() == 0
    assert "MAE held out" in capsys.readouterr().out


def test_consensus_overpredicts_loss_on_an_ai(report):
    """The report shows what the README says: consensus gives more loss than the AI placebo arms of trials."""
    bias = report.bias_by_trial("consensus")
    assert bias["sabre_2010"][0] < -1 and bias["aribon"][0] < -1


def test_observation_labels():
    """Labels name site, arm(s) and period in months."""
    obs = {"site": "total_hip", "arm": "a", "minus": "b", "from_years": 0, "to_years": 61 / 12}
    assert calibration.observation_label(obs) == "total_hip a - b 0-61 mo"


def test_bias_is_the_mean_signed_error_of_the_rows():
    report = validation_report(sets=["trials"])
    held = ~report.fitted["trials"]
    assert report.bias("trials") == pytest.approx(float(np.mean(report.error("trials")[held])))
    assert "bias" in report.mae_table()


def test_the_default_set_predicts_ibis2_which_nothing_is_fitted_to():
    """IBIS-II (healthy women around 60, AI and placebo, by baseline BMD, and 2 years off) is validation only.

    Today trials: MAE 0.52, bias -0.07 percentage points over 15 rows; consensus 3.26 and -3.26.
    """
    report = validation_report(sets=["trials", "consensus"])
    rows = np.array([k.startswith("ibis2_bone:") for k in report.keys])
    assert rows.sum() == 15 and not report.fitted["trials"][rows].any()
    err = {s: report.error(s)[rows] for s in report.sets}
    assert np.mean(np.abs(err["trials"])) < 0.8 and abs(np.mean(err["trials"])) < 0.3
    assert np.mean(err["consensus"]) < -2.0  # the teaching set's textbook rates lose too much


def test_therapy_checks_published_contrasts_and_additive_rule():
    from bmdsim.validation import THERAPY_CHECKS, therapy_checks

    check = therapy_checks(["trials"])
    assert check.labels == tuple(c[0] for c in THERAPY_CHECKS)
    # IBIS-II: anastrozole minus placebo at 3 years, LS 2.8 pp without and 2.7 pp with risedronate (Sestak 2014)
    np.testing.assert_allclose(check.published[:4], [2.8, 2.2, 2.7, 1.2], atol=1e-12)
    published = check.suppression(check.published)
    assert published["lumbar_spine"] == pytest.approx(1 - 2.7 / 2.8)
    assert published["total_hip"] == pytest.approx(1 - 1.2 / 2.2)
    # the model adds a bisphosphonate's gain to an unchanged AI loss: it removes none of the excess
    # (a few hundredths either way from percent changes of log-losses)
    model = check.suppression(check.predicted["trials"])
    assert abs(model["lumbar_spine"]) < 0.1 and abs(model["total_hip"]) < 0.1
    # and its gain does not depend on baseline BMD
    np.testing.assert_allclose(check.predicted["trials"][4:], 0.0, atol=1e-9)
    assert "share of the AI's excess loss removed by risedronate" in check.table()
