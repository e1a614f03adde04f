"""Tests of bmdsim.export: deterministic bytes, captions, atomic writes."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import bmdsim  # noqa: E402
from bmdsim import export  # noqa: E402
from bmdsim.plot import plot_trajectory  # noqa: E402


@pytest.fixture
def fig(ai_then_stop):
    p = bmdsim.Patient(age=63, t_score={"femoral_neck": -1.5})
    ax = plot_trajectory(bmdsim.simulate(p, ai_then_stop, years=15))
    yield ax.figure
    plt.close(ax.figure)


def test_export_writes_each_format_and_caption(fig, tmp_path):
    paths = export.export_figure(fig, tmp_path / "sub" / "fig", caption="What it shows.")
    assert [p.name for p in paths] == ["fig.png", "fig.svg", "fig.pdf", "fig.txt"]
    assert (tmp_path / "sub" / "fig.png").read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in (tmp_path / "sub" / "fig.svg").read_bytes()[:500]
    assert (tmp_path / "sub" / "fig.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "sub" / "fig.txt").read_text() == "What it shows.\n"


def test_png_is_300_dpi(fig, tmp_path):
    from PIL import Image

    export.export_figure(fig, tmp_path / "fig", formats=["png"])
    with Image.open(tmp_path / "fig.png") as img:
        assert img.info["dpi"] == pytest.approx((300, 300), abs=0.01)
        assert img.size == (round(fig.get_figwidth() * 300), round(fig.get_figheight() * 300))


def test_exports_are_byte_identical(fig, tmp_path):
    export.export_figure(fig, tmp_path / "a" / "fig")
    export.export_figure(fig, tmp_path / "b" / "fig")
    for fmt in ("png", "svg", "pdf"):
        first = (tmp_path / "a" / f"fig.{fmt}").read_bytes()
        assert first == (tmp_path / "b" / f"fig.{fmt}").read_bytes(), fmt
    assert b"CreationDate" not in (tmp_path / "a" / "fig.pdf").read_bytes()
    assert b"<dc:date>" not in (tmp_path / "a" / "fig.svg").read_bytes()


def test_svg_ids_do_not_depend_on_the_global_salt(fig, tmp_path):
    with matplotlib.rc_context({"svg.hashsalt": None}):
        a = export.figure_bytes(fig, "svg")
    with matplotlib.rc_context({"svg.hashsalt": "other"}):
        b = export.figure_bytes(fig, "svg")
    assert a == b


def test_unknown_format_writes_nothing(fig, tmp_path):
    with pytest.raises(ValueError, match="valid formats are: png, svg, pdf"):
        export.export_figure(fig, tmp_path / "fig", formats=["png", "jpg"])
    assert list(tmp_path.iterdir()) == []


def test_failed_render_leaves_no_file(fig, tmp_path, monkeypatch):
    calls = []

    def fail_on_pdf(f, fmt, dpi=300):
        calls.append(fmt)
        if fmt == "pdf":
            raise RuntimeError("render failed")
        return b"data"

    monkeypatch.setattr(export, "figure_bytes", fail_on_pdf)
    with pytest.raises(RuntimeError):
        export.export_figure(fig, tmp_path / "fig", caption="c")
    assert calls == ["png", "svg", "pdf"]
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "table.csv"
    target.write_text("old\n")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        export.write_text_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_save_figure_is_reproducible(fig, tmp_path):
    from bmdsim.plot import save_figure

    save_figure(fig, str(tmp_path / "a.pdf"))
    save_figure(fig, str(tmp_path / "b.pdf"))
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_csv_text_formats_numbers():
    text = export.csv_text(["a", "b", "c"], [[1, 0.123456789, float("inf")], [2, None, "x"]])
    assert text == "a,b,c\n1,0.123457,inf\n2,,x\n"


def test_written_files_get_the_usual_permissions(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    export.write_text_atomic(tmp_path / "atomic.txt", "x")
    assert (tmp_path / "atomic.txt").stat().st_mode == plain.stat().st_mode


def test_saving_one_figure_again_gives_the_same_bytes(fig):
    """Constrained layout moves axes by ~1e-6 on each draw (a 3-cycle); the export puts them back every time."""
    first = export.figure_bytes(fig, "svg")
    for _ in range(4):
        assert export.figure_bytes(fig, "svg") == first
    assert all(ax.get_in_layout() for ax in fig.axes)


def _fixed_axes_figure(width):
    fig = plt.figure(figsize=(3, 2))
    ax = fig.add_axes((0.125, 0.1, width, 0.8))
    ax.plot([0, 1], [0, 1], marker="o")
    ax.fill_between([0, 1], [0, 0], [1, 1], hatch="//")
    return fig


def test_svg_ids_do_not_depend_on_the_last_bit_of_the_layout():
    """matplotlib hashes clip rectangles with full float precision; the export numbers them in order instead."""
    import io
    import re

    import numpy as np

    a, b = _fixed_axes_figure(0.6), _fixed_axes_figure(float(np.nextafter(0.6, 1.0)))
    try:
        raw = []
        for fig in (a, b):
            buf = io.BytesIO()
            with matplotlib.rc_context({"svg.hashsalt": export.SVG_HASH_SALT}):
                fig.savefig(buf, format="svg", metadata={"Date": None})
            raw.append(buf.getvalue())
        assert raw[0] != raw[1]  # the same drawing, other clip-path ids
        assert export.figure_bytes(a, "svg") == export.figure_bytes(b, "svg")
        svg = export.figure_bytes(a, "svg")
        assert export.canonical_svg_ids(svg) == svg  # idempotent
        defined = set(re.findall(rb'id="([^"]+)"', svg))
        used = set(re.findall(rb'(?:url\(#|href="#)([^")]+)', svg))
        assert used and used <= defined  # every reference points at an id the file defines
        assert {i[:1] for i in used} >= {b"p", b"m", b"h"}
    finally:
        plt.close(a)
        plt.close(b)


def test_write_file_set_writes_the_manifest_last(tmp_path):
    paths = export.write_file_set(tmp_path / "set", {"a.txt": b"a\n", "b.csv": b"x,y\n"}, manifest="set.sha256")
    assert [p.name for p in paths] == ["a.txt", "b.csv", "set.sha256"]
    assert (tmp_path / "set" / "set.sha256").read_text() == export.manifest_text({"a.txt": b"a\n", "b.csv": b"x,y\n"})
    assert export.verify_file_set(tmp_path / "set", "set.sha256") == paths[:2]
    (tmp_path / "set" / "b.csv").write_bytes(b"changed\n")
    with pytest.raises(ValueError, match="does not match set.sha256"):
        export.verify_file_set(tmp_path / "set", "set.sha256")


@pytest.mark.parametrize(
    ("files", "manifest", "error", "message"),
    [
        ({"../a.txt": b""}, export.MANIFEST_NAME, ValueError, "file name must be a plain file name"),
        ({".hidden": b""}, export.MANIFEST_NAME, ValueError, "file name must be a plain file name"),
        ({"a.txt": "text"}, export.MANIFEST_NAME, TypeError, r"files\['a.txt'\] must be bytes"),
        ({}, export.MANIFEST_NAME, ValueError, "files must map at least one file name"),
        ({"a.txt": b""}, "a/b", ValueError, "manifest must be a plain file name"),
        ({"m": b""}, "m", ValueError, "is the manifest's name"),
    ],
)
def test_write_file_set_checks_its_arguments(tmp_path, files, manifest, error, message):
    with pytest.raises(error, match=message):
        export.write_file_set(tmp_path, files, manifest=manifest)
    assert list(tmp_path.iterdir()) == []


def test_csv_and_atomic_writes_check_their_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"precision must lie in \[1, 17\], got 0"):
        export.csv_text(["a"], [[1.0]], precision=0)
    with pytest.raises(TypeError, match="header must be a sequence of column names"):
        export.csv_text("ab", [[1.0]])
    with pytest.raises(TypeError, match="text must be a string"):
        export.write_text_atomic(tmp_path / "a.txt", b"bytes")
    with pytest.raises(TypeError, match="path must be a path"):
        export.write_bytes_atomic(5, b"x")
    with pytest.raises(ValueError, match="path_stem must end in a file name"):
        export.export_figure(plt.figure(), tmp_path / "..")
    assert list(tmp_path.iterdir()) == []
