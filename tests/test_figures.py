"""Tests of bmdsim.figures: the educator set and scenario figures, with sources from data/."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from bmdsim import _data  # noqa: E402
from bmdsim.figures import EDUCATOR_FIGURES, educator_figures, scenario_figures  # noqa: E402
from bmdsim.scenario import load_builtin_scenario  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _texts(fig):
    out = [t.get_text() for t in fig.texts]
    if fig._suptitle is not None:
        out.append(fig._suptitle.get_text())
    for ax in fig.axes:
        out += [ax.get_xlabel(), ax.get_ylabel(), ax.get_title("left")]
        out += [t.get_text() for t in ax.texts]
        if ax.get_legend():
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    return out


def test_educator_set_has_every_figure_with_sources_from_citations():
    citations = _data.read_json("citations.json")
    figures = educator_figures()
    assert [f.name for f in figures] == list(EDUCATOR_FIGURES)
    for f in figures:
        footnote = [t for t in f.figure.texts if t.get_gid() == "footnote"]
        assert footnote and "Sources:" in footnote[0].get_text()
        assert citations["blomqvist_2024"]["doi"] in f.caption.replace("\n", " ")
        assert "Scenario:" in f.caption and "Validated range:" in f.caption


def test_brex_figure_draws_the_four_published_numbers():
    (fig,) = educator_figures(names=("brex_withdrawal",))
    target = _data.read_json("targets/brex_2024.json")
    drawn = {
        line.get_gid(): line for ax in fig.figure.axes for line in ax.lines if (line.get_gid() or "")[:5] == "brex:"
    }
    assert len(drawn) == 4
    for obs in target["observations"]:
        line = drawn[f"brex:{obs['id']}"]
        assert (line.get_xdata()[0], line.get_ydata()[0]) == (obs["to_years"], obs["pct_change"])


def test_group_figure_is_labelled_illustrative():
    (fig,) = educator_figures(names=("illustrative_group",))
    assert any("not a calibrated population" in t for t in _texts(fig.figure))


def test_labels_translate_the_figures_and_scale_resizes():
    labels = {"time": "Zeit ab Ausgangswert [Jahre]", "scenario:natural_loss": "Ohne Therapie"}
    (fig,) = educator_figures(labels=labels, names=("ai_vs_natural",), scale=0.5)
    texts = _texts(fig.figure)
    assert "Zeit ab Ausgangswert [Jahre]" in texts and "Ohne Therapie" in texts
    assert fig.figure.get_figwidth() == pytest.approx(5.0)
    with pytest.raises(KeyError, match="unknown label key"):
        educator_figures(labels={"tiem": "x"}, names=("ai_vs_natural",))
    with pytest.raises(ValueError, match="unknown figure"):
        educator_figures(names=("pie",))


def test_style_overrides_apply_inside_the_set_only():
    before = matplotlib.rcParams["font.size"]
    (fig,) = educator_figures(rc={"font.size": 20}, names=("crossing_times",))
    assert fig.figure._suptitle.get_fontsize() > 12
    assert matplotlib.rcParams["font.size"] == before


def test_scenario_figures_follow_the_output_section():
    scenario = load_builtin_scenario("ai_withdrawal")
    figures = scenario_figures(scenario, stem="x")
    assert [f.name for f in figures] == [f"x_{k}" for k in scenario.figures]
    group = load_builtin_scenario("illustrative_group")
    (frac, _) = scenario_figures(group)
    assert len(frac.figure.axes) == len(group.run().sites)
    assert "Illustrative group" in frac.caption
