"""plot_relative_risk draws exactly the numbers of cohort_relative_risk, with its labels, and refuses bad input."""

from __future__ import annotations

import sys
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import bmdsim  # noqa: E402
from bmdsim import fracture, plot  # noqa: E402

AI = bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)
REGIMENS = {
    "AI alone": bmdsim.Regimen([AI]),
    "AI + zoledronic acid": bmdsim.Regimen([AI, bmdsim.Exposure("zoledronic_acid", 0, 5)]),
}
TIMES = np.linspace(0, 10, 41)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def risks():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bmdsim.ExtrapolationWarning)
        cohorts = {k: bmdsim.simulate_cohort(500, r, 10, seed=4) for k, r in REGIMENS.items()}
    return {k: fracture.cohort_relative_risk(c, "total_hip", TIMES, "hip") for k, c in cohorts.items()}


def _gid(ax, prefix):
    return {a.get_gid(): a for a in [*ax.lines, *ax.collections] if (a.get_gid() or "").startswith(prefix)}


def test_lines_and_bands_are_the_numbers_behind_the_plot(risks):
    ax = plot.plot_relative_risk(risks)
    lines = _gid(ax, "relative_risk:")
    assert set(lines) == {f"relative_risk:{k}" for k in REGIMENS}
    for name, risk in risks.items():
        line = lines[f"relative_risk:{name}"]
        np.testing.assert_array_equal(line.get_xdata(), TIMES)
        np.testing.assert_array_equal(line.get_ydata(), risk["relative_incidence"])
        band = _gid(ax, f"relative_risk_band:{name}")[f"relative_risk_band:{name}"]
        ys = band.get_paths()[0].vertices[:, 1]
        low, high = risk["relative_incidence_ci"]
        assert np.isclose(ys.min(), min(low.min(), high.min())) and np.isclose(ys.max(), max(low.max(), high.max()))
    text = plot.labels_for()
    assert ax.get_ylabel() == text["relative_incidence"] and ax.get_xlabel() == text["time"]
    assert ax.get_title(loc="left") == "Hip fractures (Total hip BMD)"
    assert text["relative_risk_note"] in [t.get_text() for t in ax.texts]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [*REGIMENS, text["gradient_band"]]


def test_mean_kind_and_label_overrides(risks):
    ax = plot.plot_relative_risk(
        risks, kind="mean", band=False, note=False, labels={"outcome:hip": "Hüft", "relative_risk_title": "{outcome}"}
    )
    np.testing.assert_array_equal(
        _gid(ax, "relative_risk:")["relative_risk:AI alone"].get_ydata(), risks["AI alone"]["mean"]
    )
    assert not _gid(ax, "relative_risk_band:") and not ax.texts
    assert ax.get_title(loc="left") == "Hüft"
    assert ax.get_ylabel() == plot.labels_for()["mean_relative_risk"]
    fixed = {"T = 0": dict(risks["AI alone"], reference=0.0)}
    assert plot.plot_relative_risk(fixed, kind="mean").get_ylabel() == "Mean relative risk against T = 0 [ratio]"


def test_bad_input_is_refused(risks):
    with pytest.raises(ValueError, match=r"kind must be 'relative_incidence' or 'mean', got 'median'"):
        plot.plot_relative_risk(risks, kind="median")
    with pytest.raises(ValueError, match=r"risks must map at least one label"):
        plot.plot_relative_risk({})
    with pytest.raises(ValueError, match=r"risks\['x'\] is missing relative_incidence_ci"):
        plot.plot_relative_risk({"x": {k: v for k, v in risks["AI alone"].items() if k != "relative_incidence_ci"}})
    mixed = {"hip": risks["AI alone"], "any": dict(risks["AI alone"], outcome="any")}
    with pytest.raises(ValueError, match=r"risks\['any'\] is for any fractures at total_hip"):
        plot.plot_relative_risk(mixed)
    with pytest.raises(KeyError, match=r"unknown label key 'outcome:wrist'"):
        plot.plot_relative_risk(risks, labels={"outcome:wrist": "Wrist"})


def test_the_numerics_do_not_import_matplotlib():
    """bmdsim.fracture's cohort functions work without matplotlib (checked in a fresh interpreter)."""
    import subprocess

    code = "import bmdsim.fracture, sys; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
