"""Tests of bmdsim.figures: the educator set and scenario figures, with sources from data/."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.text  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bmdsim import _data  # noqa: E402
from bmdsim.figures import EDUCATOR_FIGURES, educator_figures, scenario_figures  # noqa: E402
from bmdsim.scenario import load_builtin_scenario  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _texts(fig):
    """Every text of a figure, with line breaks (wrapped titles and labels) turned into spaces."""
    out = [t.get_text() for t in fig.texts]
    if fig._suptitle is not None:
        out.append(fig._suptitle.get_text())
    for legend in fig.legends:
        out += [t.get_text() for t in legend.get_texts()]
    for ax in fig.axes:
        out += [ax.get_xlabel(), ax.get_ylabel(), ax.get_title("left")]
        out += [t.get_text() for t in ax.texts]
        if ax.get_legend():
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    return [" ".join(t.split()) for t in out]


@pytest.fixture(scope="module")
def educator_set():
    """The whole set, drawn once for the tests that only look at it (closed at the end)."""
    figures = educator_figures()
    yield {f.name: f for f in figures}
    for f in figures:
        plt.close(f.figure)


LECTURE_SET = (
    "ai_vs_natural",
    "therapies_compared",
    "bone_protection",
    "brex_withdrawal",
    "crossing_times",
    "calibrated_cohort",
    "fracture_risk",
    "fracture_incidence",
    "monitoring_policies",
    "illustrative_group",
)


def test_educator_set_has_every_figure_with_sources_from_citations(educator_set):
    citations = _data.read_json("citations.json")
    assert list(educator_set) == list(EDUCATOR_FIGURES) == list(LECTURE_SET)
    for f in educator_set.values():
        footnote = [t for t in f.figure.texts if t.get_gid() == "footnote"]
        assert footnote and "Sources:" in footnote[0].get_text()
        assert f"{f.name}.txt" in footnote[0].get_text()  # where the full references are
        assert citations["blomqvist_2024"]["doi"] in f.caption.replace("\n", " ")
        assert "Scenario:" in f.caption and "Validated range:" in f.caption


def _drawn(fig):
    """Draw ``fig`` on its own Agg canvas (the autouse fixture closes pyplot's) and return the renderer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def _lines(fig, prefix):
    return {
        line.get_gid()[len(prefix) :]: line
        for ax in fig.axes
        for line in ax.lines
        if (line.get_gid() or "").startswith(prefix)
    }


def test_every_figure_has_a_title_axis_labels_with_units_a_legend_and_a_one_line_footer(educator_set):
    import re

    from matplotlib.colors import to_hex

    for name, f in educator_set.items():
        fig = f.figure
        renderer = _drawn(fig)
        assert fig._suptitle is not None and fig._suptitle.get_text().strip(), name
        for ax in fig.axes:
            assert re.search(r"\[.+\]", ax.get_xlabel(), flags=re.S), (name, ax.get_xlabel())
        first = [ax for ax in fig.axes if ax.get_subplotspec().is_first_col()]
        assert all(
            re.search(r"\[.+\]", ax.get_ylabel(), flags=re.S) or ax.get_yticklabels()[0].get_text() for ax in first
        ), name
        legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
        assert legends, name
        for legend in legends:  # never two identical entries
            texts = [t.get_text() for t in legend.get_texts()]
            assert len(texts) == len(set(texts)), (name, texts)
            assert all(texts), name
        (footer,) = [t for t in fig.texts if t.get_gid() == "footnote"]
        assert "\n" not in footer.get_text(), name
        box = footer.get_window_extent(renderer)
        assert box.x0 >= 0 and box.x1 <= fig.bbox.x1, name  # one line that fits the width
        for ax in fig.axes:  # nothing above the footer overlaps it
            assert ax.get_tightbbox(renderer).y0 >= box.y1 - 1, name
        for legend in fig.legends:
            assert legend.get_window_extent(renderer).y0 >= box.y1 - 1, name
        # readable at slide size: no text below 7.5 pt
        assert min(t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text()) >= 7.5, name
        assert to_hex(footer.get_color())  # drawn


def test_one_colour_and_line_style_per_regimen_across_the_set(educator_set):
    from matplotlib.colors import to_hex

    from bmdsim import plot

    def style(line):
        return to_hex(line.get_color()), line.get_linestyle()

    ai_style = (to_hex(plot.REGIMEN_STYLES["ai"]["color"]), "-")
    series = {name: _lines(f.figure, "series:") for name, f in educator_set.items()}
    ai = [
        series["ai_vs_natural"]["AI for 5 years, then stopped"],
        series["therapies_compared"]["AI for 5 years, then stopped"],
        series["bone_protection"]["AI alone (5 years)"],
        series["brex_withdrawal"]["AI stopped at year 5"],
        _lines(educator_set["fracture_risk"].figure, "relative_risk:")["AI alone (5 years)"],
    ]
    assert {style(line) for line in ai} == {ai_style}
    natural = [
        series["ai_vs_natural"]["No endocrine therapy (natural loss)"],
        series["therapies_compared"]["No endocrine therapy (natural loss)"],
        series["brex_withdrawal"]["No AI in years 5-10"],
    ]
    assert len({style(line) for line in natural}) == 1
    zol = [
        series["bone_protection"]["AI + zoledronic acid (5 years)"],
        _lines(educator_set["fracture_risk"].figure, "relative_risk:")["AI + zoledronic acid (5 years)"],
    ]
    assert len({style(line) for line in zol}) == 1
    assert style(zol[0])[0] == to_hex(plot.REGIMEN_STYLES["ai+zoledronic_acid"]["color"])
    # the cohort on an AI and the policy without therapy are drawn in the AI's colour too
    shares = _lines(educator_set["calibrated_cohort"].figure, "fraction:")
    assert {to_hex(line.get_color()) for line in shares.values()} == {ai_style[0]}
    bars = {
        p.get_gid(): p
        for ax in educator_set["monitoring_policies"].figure.axes
        for p in ax.patches
        if (p.get_gid() or "").startswith("policy:")
    }
    assert to_hex(bars["policy:No bone-protective therapy"].get_facecolor()) == ai_style[0]
    # a figure legend shows a regimen in its colour
    brex = educator_set["brex_withdrawal"].figure
    for obs in _data.read_json("targets/brex_2024.json")["observations"]:
        (marker,) = [line for ax in brex.axes for line in ax.lines if line.get_gid() == f"brex:{obs['id']}"]
        arm = "AI stopped at year 5" if obs["arm"] == "withdrawal" else "No AI in years 5-10"
        assert to_hex(marker.get_color()) == style(series["brex_withdrawal"][arm])[0]


def test_zone_and_threshold_names_sit_in_the_margin_never_under_the_data(educator_set):
    checked = 0
    for name, f in educator_set.items():
        fig = f.figure
        renderer = _drawn(fig)
        for ax in fig.axes:
            labels = [t for t in ax.texts if (t.get_gid() or "").startswith(("zone_label:", "threshold_label:"))]
            data = [line.get_window_extent(renderer) for line in ax.lines if len(line.get_xdata())]
            for label in labels:
                box = label.get_window_extent(renderer)
                assert label.xy[0] == 1.0 and label.xycoords[0] == "axes fraction", (name, label.get_text())
                assert box.x0 >= ax.bbox.x1, (name, label.get_text())  # right of the data area
                assert not any(box.overlaps(d) for d in data), (name, label.get_text())
                checked += 1
            others = [t.get_window_extent(renderer) for t in labels]
            for i, a in enumerate(others):  # margin labels do not overlap each other
                assert not any(a.overlaps(b) for b in others[i + 1 :]), name
    assert checked == 3 * 6  # 3 zones and 3 thresholds in ai_vs_natural, therapies_compared and crossing_times


def test_bone_protection_shows_denosumab_gain_lost_within_a_year_of_stopping(educator_set):
    f = educator_set["bone_protection"]
    series = _lines(f.figure, "series:")
    dmab = series["AI + denosumab (3 years, then stopped)"]
    ai = series["AI alone (5 years)"]
    t = dmab.get_xdata()
    at = {y: int(np.argmin(np.abs(t - y))) for y in (3.0, 4.0)}
    gain_at_stop = dmab.get_ydata()[at[3.0]] - ai.get_ydata()[at[3.0]]
    left_a_year_later = dmab.get_ydata()[at[4.0]] - ai.get_ydata()[at[4.0]]
    assert gain_at_stop > 3.0 and abs(left_a_year_later) < 0.1 * gain_at_stop
    assert "within a year of stopping" in f.caption
    zol = series["AI + zoledronic acid (5 years)"]
    assert zol.get_ydata()[at[4.0]] > ai.get_ydata()[at[4.0]] + 3.0  # a bisphosphonate's gain lasts


def test_cohort_figure_draws_the_cohort_shares_with_both_bands(educator_set):
    import bmdsim
    from bmdsim.figures import COHORT

    f = educator_set["calibrated_cohort"]
    ax = f.figure.axes[1]
    line = _lines(f.figure, "fraction:")["femoral_neck:-2.5"]
    cohort = bmdsim.simulate_cohort(
        COHORT["n"],
        bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, COHORT["ai_years"])]),
        COHORT["years"],
        COHORT["seed"],
    )
    expected = 100 * cohort.fraction_below("femoral_neck", -2.5, line.get_xdata())["fraction"]
    np.testing.assert_allclose(line.get_ydata(), expected)
    bands = [c for c in ax.collections if (c.get_gid() or "").startswith("parameter_band:")]
    assert len(bands) == 2
    assert f"{COHORT['n']:,} simulated women" in f.caption and "calibration draws" in f.caption


def test_policy_and_fracture_figures_draw_the_library_numbers(educator_set):
    fig = educator_set["monitoring_policies"].figure
    below = {p.get_gid()[7:]: p.get_width() for p in fig.axes[0].patches if (p.get_gid() or "").startswith("policy:")}
    assert len(below) == 4
    names = list(below)
    assert below[names[0]] > max(below[n] for n in names[1:])  # no therapy: most time below -2.5
    for name, value in below.items():  # the caption gives the numbers drawn
        assert f"{name}: {value:.2f} % of patient-years" in educator_set["monitoring_policies"].caption
    risk = _lines(educator_set["fracture_risk"].figure, "relative_risk:")
    assert set(risk) == {"AI alone (5 years)", "AI + zoledronic acid (5 years)"}
    assert risk["AI alone (5 years)"].get_ydata()[0] == pytest.approx(1.0)


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


def test_group_figure_is_labelled_illustrative(educator_set):
    fig = educator_set["illustrative_group"]
    assert any("not a calibrated population" in t for t in _texts(fig.figure))


def test_labels_translate_the_figures_and_scale_resizes():
    labels = {"time": "Zeit ab Ausgangswert [Jahre]", "scenario:natural_loss": "Ohne Therapie"}
    (fig,) = educator_figures(labels=labels, names=("ai_vs_natural",), scale=0.8)
    texts = _texts(fig.figure)
    assert "Zeit ab Ausgangswert [Jahre]" in texts and "Ohne Therapie" in texts
    assert fig.figure.get_figwidth() == pytest.approx(8.0)
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


# -- reproducible, complete sets --------------------------------------------------------------------------------
_EXPORT_IN_A_FRESH_PROCESS = """
import sys
import matplotlib
matplotlib.use("Agg")
from bmdsim.figures import educator_figures, write_figures
names = None if sys.argv[2] == "all" else tuple(sys.argv[2].split(","))
write_figures(educator_figures(names=names), sys.argv[1], dpi=100)
"""


def test_a_figure_has_the_same_bytes_in_any_process_and_any_subset(tmp_path):
    """``crossing_times`` alone, and after the four figures drawn before it in the full set, in two processes."""
    import os
    import subprocess
    import sys

    runs = {
        "alone": ("crossing_times", "0"),
        "full": ("all", "12345"),
        "pair": ("illustrative_group,crossing_times", "7"),
    }
    for name, (names, seed) in runs.items():
        env = dict(os.environ, PYTHONHASHSEED=seed, MPLBACKEND="Agg")
        subprocess.run(
            [sys.executable, "-c", _EXPORT_IN_A_FRESH_PROCESS, str(tmp_path / name), names], check=True, env=env
        )
    for suffix in ("png", "svg", "pdf", "txt"):
        alone = (tmp_path / "alone" / f"crossing_times.{suffix}").read_bytes()
        assert alone == (tmp_path / "full" / f"crossing_times.{suffix}").read_bytes(), suffix
        assert alone == (tmp_path / "pair" / f"crossing_times.{suffix}").read_bytes(), suffix
    listed = (tmp_path / "full" / "figures.sha256").read_text().splitlines()
    assert len(listed) == 4 * len(EDUCATOR_FIGURES)
    from bmdsim.export import verify_file_set

    assert len(verify_file_set(tmp_path / "full", "figures.sha256")) == len(listed)


def _tiny_set(n=3):
    from bmdsim.figures import CaptionedFigure

    out = []
    for k in range(n):
        fig, ax = plt.subplots(figsize=(2, 2), layout="constrained")
        ax.plot([0, 1], [0, k])
        out.append(CaptionedFigure(f"fig{k}", fig, f"Figure {k}."))
    return out


def test_the_manifest_is_written_last_and_lists_every_file(tmp_path, monkeypatch):
    import hashlib
    import os

    from bmdsim import export
    from bmdsim.figures import write_figures

    moved = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (moved.append(os.path.basename(dst)), real_replace(src, dst)))
    paths = write_figures(_tiny_set(), tmp_path, formats=["svg", "png"], dpi=50)
    assert moved[-1] == "figures.sha256" and paths[-1].name == "figures.sha256"
    expected = [f"fig{k}.{suffix}" for k in range(3) for suffix in ("svg", "png", "txt")]
    assert moved[:-1] == [p.name for p in paths[:-1]] == expected
    for line in (tmp_path / "figures.sha256").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest
    assert export.verify_file_set(tmp_path, "figures.sha256") == paths[:-1]
    assert not plt.get_fignums()  # every figure closed


def test_an_interrupted_write_leaves_no_manifest(tmp_path, monkeypatch):
    """Ctrl-C while files are moved into place: the old manifest is gone and no new one is written."""
    import os

    from bmdsim import export
    from bmdsim.figures import write_figures

    write_figures(_tiny_set(), tmp_path, formats=["svg"], dpi=50)  # a complete old set
    assert (tmp_path / "figures.sha256").exists()
    real_replace, calls = os.replace, []

    def interrupted(src, dst):
        calls.append(dst)
        if len(calls) == 3:
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_figures(_tiny_set(), tmp_path, formats=["svg"], dpi=50)
    assert not (tmp_path / "figures.sha256").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no temporary file left
    with pytest.raises(FileNotFoundError):
        export.verify_file_set(tmp_path, "figures.sha256")
    assert not plt.get_fignums()


def test_an_interruption_while_rendering_writes_nothing(tmp_path, monkeypatch):
    """Ctrl-C while rendering (before any file is written): an old complete set stays complete."""
    from bmdsim import export
    from bmdsim.figures import write_figures

    write_figures(_tiny_set(), tmp_path, formats=["svg"], dpi=50)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real, calls = export.figure_bytes, []

    def interrupted(fig, fmt, dpi=300):
        calls.append(fmt)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(fig, fmt, dpi=dpi)

    monkeypatch.setattr(export, "figure_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_figures(_tiny_set(), tmp_path, formats=["svg"], dpi=50)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert len(export.verify_file_set(tmp_path, "figures.sha256")) == 6
    new = tmp_path / "new"
    with pytest.raises(KeyboardInterrupt):
        calls.clear()
        write_figures(_tiny_set(), new, formats=["svg"], dpi=50)
    assert not new.exists() or not list(new.iterdir())
