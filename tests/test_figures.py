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
write_figures(educator_figures(names=names), sys.argv[1])
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
