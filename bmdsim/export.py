"""Deterministic, atomic export of figures, captions and tables.

:func:`export_figure` writes a figure as PNG (300 dpi), SVG and PDF with a
caption text file beside it. The same figure exported twice gives
byte-identical files (no timestamps, no software versions, a fixed SVG id
salt), so figures can be regression-tested and diffed. Every file is first
written to a temporary file in the target folder and then moved into place
with :func:`os.replace`, so a failed export leaves no half-written file.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: Formats :func:`export_figure` writes.
FORMATS: tuple[str, ...] = ("png", "svg", "pdf")

#: Metadata that makes the files reproducible: no creation date, no producer string.
_METADATA: dict[str, dict[str, Any]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}

#: Fixed salt for the ids matplotlib writes into SVG files (random otherwise).
SVG_HASH_SALT = "bmdsim"


def check_formats(formats: Iterable[str]) -> tuple[str, ...]:
    """Return ``formats`` as a tuple of lower-case names, or raise naming the valid ones."""
    if isinstance(formats, str):
        formats = [f for f in formats.split(",") if f.strip()]
    out = tuple(str(f).strip().lower().lstrip(".") for f in formats)
    bad = [f for f in out if f not in FORMATS]
    if bad or not out:
        raise ValueError(f"unknown figure format {bad[0] if bad else ''!r}; valid formats are: {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(out))


def _file_mode() -> int:
    """Permissions a plain ``open(path, "w")`` would give: 0o666 less the process umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _replace_all(payloads: dict[Path, bytes]) -> None:
    """Write every payload to a temporary file beside its target, then move them all into place."""
    mode = _file_mode()  # mkstemp creates 0o600 files; exported figures are meant to be shared
    temps: list[tuple[str, Path]] = []
    try:
        for target, data in payloads.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            temps.append((tmp, target))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, mode)
        for tmp, target in temps:
            os.replace(tmp, target)
    finally:
        for tmp, _ in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, then :func:`os.replace`)."""
    path = Path(path)
    _replace_all({path: data})
    return path


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically, with Unix line endings."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def figure_bytes(fig: Any, fmt: str, dpi: float = 300) -> bytes:
    """Render ``fig`` in format ``fmt`` to bytes, with reproducible metadata.

    Parameters
    ----------
    fig : matplotlib Figure
    fmt : {"png", "svg", "pdf"}
    dpi : float
        Resolution of raster output [dots per inch].
    """
    import matplotlib

    (fmt,) = check_formats([fmt])
    buf = io.BytesIO()
    # A layout engine (constrained layout) moves the axes by about 1e-6 of the figure on every draw, in a
    # cycle, and the SVG clip-path ids hash those positions: put every axes back after the save, so that
    # saving the same figure again gives the same bytes.
    state = [
        (ax, ax.get_position(original=True).frozen(), ax.get_position().frozen(), ax.get_in_layout()) for ax in fig.axes
    ]
    try:
        with matplotlib.rc_context({"svg.hashsalt": SVG_HASH_SALT}):
            fig.savefig(buf, format=fmt, dpi=dpi, metadata=_METADATA[fmt])
    finally:
        for ax, original, active, in_layout in state:
            ax.set_position(original, which="original")
            ax.set_position(active, which="active")
            ax.set_in_layout(in_layout)
    return buf.getvalue()


def export_figure(
    fig: Any,
    path_stem: str | os.PathLike[str],
    formats: Sequence[str] = FORMATS,
    caption: str | None = None,
    dpi: float = 300,
) -> list[Path]:
    """Write ``fig`` in each format, and its caption, next to each other.

    Parameters
    ----------
    fig : matplotlib Figure
    path_stem : path
        Target without suffix, e.g. ``out/ai_vs_natural``; the folder is created.
    formats : sequence of {"png", "svg", "pdf"}
        Formats to write (all three by default).
    caption : str, optional
        Written to ``<path_stem>.txt``: what the figure shows, the scenario and
        the sources (for slides and alt text).
    dpi : float
        PNG resolution [dots per inch]; 300 for print by default.

    Returns
    -------
    list of Path
        The files written, figures first, the caption last.

    Notes
    -----
    Every file is rendered in memory first and only then written, each to a
    temporary file in the target folder moved into place with
    :func:`os.replace`: if rendering or writing fails, no target file is
    created or left half-written.
    """
    formats = check_formats(formats)
    stem = Path(path_stem)
    payloads = {stem.with_name(f"{stem.name}.{fmt}"): figure_bytes(fig, fmt, dpi=dpi) for fmt in formats}
    if caption is not None:
        payloads[stem.with_name(f"{stem.name}.txt")] = (caption.rstrip() + "\n").encode("utf-8")
    _replace_all(payloads)
    return list(payloads)


def csv_text(header: Sequence[str], rows: np.ndarray | Iterable[Sequence[Any]], precision: int = 6) -> str:
    """A CSV document; floats are written with ``precision`` significant digits, ``inf`` as ``inf``."""

    def cell(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return f"{float(v):.{precision}g}"
        if isinstance(v, (int, np.integer)):
            return str(int(v))
        return "" if v is None else str(v)

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return buf.getvalue()
