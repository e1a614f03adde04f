"""Deterministic, atomic export of figures, captions and tables.

:func:`export_figure` writes a figure as PNG (300 dpi), SVG and PDF with a
caption text file beside it. The same figure gives byte-identical files,
also when it is drawn in another process or after other figures: no
timestamps, no software versions, and the ids matplotlib writes into SVG
files (clip paths, markers, hatches) renumbered in order of appearance
(:func:`canonical_svg_ids`). Every file is first written to a temporary file
in the target folder and then moved into place with :func:`os.replace`, so a
failed export leaves no half-written file. :func:`write_file_set` writes a
set of files and, last, a manifest of their SHA-256 sums, so an interrupted
set is recognisable (it has no manifest).

Arguments are checked before anything is drawn or written: formats come from
:data:`FORMATS`, the resolution from :data:`DPI_RANGE`, and the figure at that
resolution must fit in a raster of at most :data:`bmdsim.limits.MAX_ARRAY_BYTES`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._validation import _show, as_finite_float, as_int, check_allocation, check_range, check_text

#: Formats :func:`export_figure` writes.
FORMATS: tuple[str, ...] = ("png", "svg", "pdf")

#: Resolutions accepted [dots per inch]. A design limit, not a model number: 10 dpi is below any
#: screen preview, 2400 dpi above any printer's line art; the raster must also fit in
#: :data:`bmdsim.limits.MAX_ARRAY_BYTES` (4 bytes per RGBA pixel), which refuses 2400 dpi for the
#: 10 x 5 inch educator figures.
DPI_RANGE: tuple[float, float] = (10.0, 2400.0)

#: Metadata that makes the files reproducible: no creation date, no producer string.
_METADATA: dict[str, dict[str, Any]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
}

#: Fixed salt for the ids matplotlib writes into SVG files (random otherwise).
SVG_HASH_SALT = "bmdsim"

#: Name of the manifest :func:`write_file_set` writes last (``sha256sum -c`` reads it).
MANIFEST_NAME = "MANIFEST.sha256"

#: Ids matplotlib derives from a hash: clip paths (``p``), hatches (``h``), markers (``m``), path
#: collections (``C<i>_<j>_``, hexadecimal counters) and images (``image``), each followed by 10 hexadecimal digits.
_SVG_HASHED_ID = re.compile(rb'id="((?:p|h|m|image|C[0-9a-f]+_[0-9a-f]+_)[0-9a-f]{10})"')

#: Characters a file name may not hold: folder separators, control characters, and what Windows refuses.
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


def check_formats(formats: Iterable[str] | str) -> tuple[str, ...]:
    """Return ``formats`` as a tuple of lower-case names without repeats, or raise naming the valid ones.

    Parameters
    ----------
    formats : str or iterable of str
        Names from :data:`FORMATS` (``"png"``, ``".SVG"``), or one string of
        comma-separated names (``"png,svg"``).

    Raises
    ------
    TypeError
        If ``formats`` is not a string or an iterable of strings.
    ValueError
        If a name is not in :data:`FORMATS`, or there is none.
    """
    valid = ", ".join(FORMATS)
    if isinstance(formats, str):
        formats = [f for f in formats.split(",") if f.strip()]
    elif isinstance(formats, (bytes, Mapping)) or not isinstance(formats, Iterable):
        raise TypeError(f"formats must be a sequence of format names from {valid}, got {_show(formats)}")
    names = list(formats)
    if len(names) > 4 * len(FORMATS):
        raise ValueError(f"formats must name at most {4 * len(FORMATS)} formats from {valid}, got {len(names)}")
    for f in names:
        if not isinstance(f, str):
            raise TypeError(f"figure format must be a string, one of {valid}; got {_show(f)}")
    out = tuple(f.strip().lower().lstrip(".") for f in names)
    bad = [f for f in out if f not in FORMATS]
    if bad:
        raise ValueError(f"unknown figure format {bad[0]!r}; valid formats are: {valid}")
    if not out:
        raise ValueError(f"formats must name at least one figure format; valid formats are: {valid}")
    return tuple(dict.fromkeys(out))


def check_dpi(dpi: object) -> float:
    """Return ``dpi`` as a float in :data:`DPI_RANGE`, or raise naming it."""
    value = as_finite_float("dpi", dpi)
    check_range("dpi", np.array(value), *DPI_RANGE, unit="dots per inch")
    return value


def check_figure(fig: object, dpi: object = 300.0, name: str = "fig") -> float:
    """Check that ``fig`` is a matplotlib figure whose raster at ``dpi`` fits the memory limit.

    Parameters
    ----------
    fig : matplotlib Figure
    dpi : float
        Resolution [dots per inch], in :data:`DPI_RANGE`.
    name : str
        What to call the figure in error messages.

    Returns
    -------
    float
        ``dpi`` as a float.

    Raises
    ------
    TypeError
        If ``fig`` is not a matplotlib :class:`~matplotlib.figure.Figure` or ``dpi`` not a real number.
    ValueError
        If ``dpi`` is outside :data:`DPI_RANGE`, or the RGBA raster of the figure
        at ``dpi`` (4 bytes per pixel) would exceed
        :data:`bmdsim.limits.MAX_ARRAY_BYTES`.
    """
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(f"{name} must be a matplotlib Figure, got {_show(fig)} of type {type(fig).__name__}")
    value = check_dpi(dpi)
    width, height = (float(v) for v in fig.get_size_inches())
    if not (np.isfinite(width) and np.isfinite(height) and width > 0 and height > 0):
        raise ValueError(f"{name} must have a positive, finite size in inches, got {width:g} x {height:g}")
    pixels = (width * value, height * value)
    check_allocation(
        f"a {pixels[0]:.0f} x {pixels[1]:.0f} pixel raster ({name} of {width:g} x {height:g} in at dpi={value:g})",
        pixels[0] * pixels[1],
        itemsize=4,
        hint="lower dpi or make the figure smaller",
    )
    return value


def canonical_svg_ids(svg: bytes) -> bytes:
    """Renumber the hashed ids matplotlib writes into an SVG file, in order of appearance.

    matplotlib names a clip path by a hash of its rectangle's coordinates
    (``repr`` of floats): a difference in the last bit of a layout coordinate,
    which does not show in the drawing, gives another id. Each such id
    (clip path, hatch, marker, path collection, image) is replaced by one
    that depends only on its kind and the order in which the file defines it,
    and every reference to it (``url(#...)``, ``href="#..."``) is changed alike.

    Parameters
    ----------
    svg : bytes
        An SVG document written by matplotlib.

    Returns
    -------
    bytes
        The same document with canonical ids; applying it again changes nothing.
    """
    mapping: dict[bytes, bytes] = {}
    counts: dict[bytes, int] = {}
    for match in _SVG_HASHED_ID.finditer(svg):
        old = match.group(1)
        if old in mapping:
            continue
        prefix = old[:-10]
        k = counts.get(prefix, 0)
        counts[prefix] = k + 1
        digest = hashlib.sha256(SVG_HASH_SALT.encode() + b":" + prefix + b":" + str(k).encode()).hexdigest()[:10]
        mapping[old] = prefix + digest.encode()
    if not mapping:
        return svg
    pattern = re.compile(rb'(id="|url\(#|href="#)(' + b"|".join(re.escape(k) for k in mapping) + rb')(?=[")])')
    return pattern.sub(lambda m: m.group(1) + mapping[m.group(2)], svg)


def _file_mode() -> int:
    """Permissions a plain ``open(path, "w")`` would give: 0o666 less the process umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_files_atomic(payloads: Mapping[Path, bytes]) -> None:
    """Write several files, each atomically, moving them into place only once all are written.

    Every payload goes to a temporary file beside its target (folders are
    made as needed); only when all are written are they moved into place
    with :func:`os.replace`, so a failure while writing changes no target,
    and each target is whole, old or new, at any moment. No temporary file
    is left behind.

    Parameters
    ----------
    payloads : mapping of pathlib.Path -> bytes
        Target file -> its whole content.

    Raises
    ------
    TypeError
        If ``payloads`` is not a mapping of :class:`pathlib.Path` to bytes.
    OSError
        If a folder cannot be made or a file cannot be written.
    """
    if not isinstance(payloads, Mapping):
        raise TypeError(f"payloads must be a mapping of pathlib.Path -> bytes, got {type(payloads).__name__}")
    for target, data in payloads.items():
        if not isinstance(target, Path) or not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                "payloads must be a mapping of pathlib.Path -> bytes, got an item "
                f"{type(target).__name__} -> {type(data).__name__}"
            )
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


def check_path(name: str, path: object) -> Path:
    """Return ``path`` as a :class:`pathlib.Path` that ends in a file name.

    Parameters
    ----------
    name : str
        The argument's name, for the messages.
    path : str or os.PathLike
        A file path (not bytes).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    TypeError
        Naming ``name``, if ``path`` is not a str or os.PathLike.
    ValueError
        Naming ``name``, if it ends in no file name (empty, ``.`` or ``..``).
    """
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {_show(path)} of type {type(path).__name__}")
    out = Path(path)
    if out.name in ("", ".", ".."):
        raise ValueError(f"{name} must end in a file name, got {str(path)!r}")
    return out


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, then :func:`os.replace`)."""
    path = check_path("path", path)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    write_files_atomic({path: bytes(data)})
    return path


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically, with Unix line endings."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {_show(text)} of type {type(text).__name__}")
    return write_bytes_atomic(path, text.encode("utf-8"))


def figure_bytes(fig: Any, fmt: str, dpi: float = 300) -> bytes:
    """Render ``fig`` in format ``fmt`` to bytes, reproducibly.

    The bytes depend only on the figure and the arguments: no dates or
    software versions in the metadata, the SVG ids made canonical
    (:func:`canonical_svg_ids`), and the axes put back where they were after
    the layout engine has moved them, so that rendering the same figure again,
    in this process or in another, gives the same bytes.

    Parameters
    ----------
    fig : matplotlib Figure
    fmt : {"png", "svg", "pdf"}
    dpi : float
        Resolution of raster output [dots per inch], in :data:`DPI_RANGE`; the
        figure at this resolution must fit in :data:`bmdsim.limits.MAX_ARRAY_BYTES`
        (4 bytes per pixel).

    Raises
    ------
    TypeError
        If ``fig`` is not a matplotlib Figure, ``fmt`` not a string or ``dpi`` not a number.
    ValueError
        If ``fmt`` is not in :data:`FORMATS`, ``dpi`` is out of range or the raster too large.
    """
    import matplotlib

    if not isinstance(fmt, str):
        raise TypeError(f"fmt must be a figure format, one of {', '.join(FORMATS)}; got {_show(fmt)}")
    (fmt,) = check_formats([fmt])
    dpi = check_figure(fig, dpi)
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
    data = buf.getvalue()
    # The ids also hash the last bits of layout coordinates, which differ between processes (a layout
    # solved after other figures, or with other memory alignment): number them in order instead.
    return canonical_svg_ids(data) if fmt == "svg" else data


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
        Formats to write (all three by default), see :func:`check_formats`.
    caption : str, optional
        Written to ``<path_stem>.txt``: what the figure shows, the scenario and
        the sources (for slides and alt text); at most
        :data:`bmdsim.limits.MAX_TEXT_CHARS` characters.
    dpi : float
        PNG resolution [dots per inch], in :data:`DPI_RANGE`; 300 for print by default.

    Returns
    -------
    list of Path
        The files written, figures first, the caption last.

    Raises
    ------
    TypeError, ValueError
        Naming the argument, before anything is drawn or written.

    Notes
    -----
    Every file is rendered in memory first and only then written, each to a
    temporary file in the target folder moved into place with
    :func:`os.replace`: if rendering or writing fails, no target file is
    created or left half-written. The bytes are reproducible (see :func:`figure_bytes`).
    """
    formats = check_formats(formats)
    stem = check_path("path_stem", path_stem)
    if caption is not None:
        check_text("caption", caption)
        if not caption.isascii():
            try:
                caption.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValueError(
                    f"caption must be valid Unicode text; position {exc.start} is a lone surrogate"
                ) from None
    check_figure(fig, dpi)
    payloads = {stem.with_name(f"{stem.name}.{fmt}"): figure_bytes(fig, fmt, dpi=dpi) for fmt in formats}
    if caption is not None:
        payloads[stem.with_name(f"{stem.name}.txt")] = (caption.rstrip() + "\n").encode("utf-8")
    write_files_atomic(payloads)
    return list(payloads)


def check_folder(name: str, value: object) -> Path:
    """Return folder ``value`` as a Path; an empty string (the current folder, by accident) is refused."""
    if isinstance(value, bytes) or not isinstance(value, (str, os.PathLike)):
        raise TypeError(
            f"{name} must be a folder path (str or os.PathLike), got {_show(value)} of type {type(value).__name__}"
        )
    if not str(value).strip():
        raise ValueError(f"{name} must name a folder, got {str(value)!r} (use '.' for the current folder)")
    return Path(value)


def check_file_name(name: str, value: object) -> str:
    """Return ``value`` if it is a plain file name, in the output folder itself; otherwise raise naming ``name``.

    Refused: folder separators, control characters, any of ``:*?"<>|``, a
    leading ``.``, ``-`` or space (hidden files, command-line options), a
    trailing ``.`` or space, and more than 200 characters.
    """
    check_text(name, value, max_chars=200)
    text: str = value  # type: ignore[assignment]
    if not text or _UNSAFE_NAME.search(text) or text[0] in ".- " or text[-1] in ". ":
        raise ValueError(
            f'{name} must be a plain file name (no folder separators, control characters or any of :*?"<>|; '
            f"not starting with '.', '-' or a space, not ending in '.' or a space), got {text!r}"
        )
    return text


def manifest_text(files: Mapping[str, bytes]) -> str:
    """The manifest of ``files`` (name -> bytes): one ``<sha256>  <name>`` line per file, as ``sha256sum`` writes."""
    return "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in files.items())


def write_file_set(
    folder: str | os.PathLike[str], files: Mapping[str, bytes], manifest: str = MANIFEST_NAME
) -> list[Path]:
    """Write a set of files into ``folder``, and last a manifest of their SHA-256 sums.

    Parameters
    ----------
    folder : path
        Target folder; created if missing. Other files in it are left alone.
    files : mapping of str -> bytes
        File name (no folder, see :func:`check_file_name`) -> content, in the
        order to list them. Render everything before calling: nothing here draws.
    manifest : str
        Name of the manifest file in ``folder``, ``MANIFEST.sha256`` by default;
        give each kind of set its own so sets in one folder do not replace
        each other's manifest.

    Returns
    -------
    list of Path
        The files written, the manifest last.

    Notes
    -----
    The manifest marks a complete set. The steps are: (1) remove an old
    manifest of this name, (2) write each file to a temporary file beside it
    and move it into place with :func:`os.replace` (each file is whole, old or
    new, at any moment), (3) write the manifest the same way. If the process
    is stopped (Ctrl-C, a full disk, a crash) after step 1 and before step 3
    completes, the folder has no manifest: the files may be a mix of the old
    and the new set, and nothing claims they are complete. If it is stopped
    before step 1, the old set and its manifest are untouched. Check a set
    with :func:`verify_file_set` or ``sha256sum -c MANIFEST.sha256`` in the folder.
    """
    folder = check_folder("folder", folder)
    check_file_name("manifest", manifest)
    if not isinstance(files, Mapping) or not files:
        raise ValueError("files must map at least one file name to its bytes")
    for name, data in files.items():
        check_file_name("file name", name)
        if name == manifest:
            raise ValueError(f"file name {name!r} is the manifest's name; choose another manifest name")
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"files[{name!r}] must be bytes, got {type(data).__name__}")
    text = manifest_text(files)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / manifest
    target.unlink(missing_ok=True)
    write_files_atomic({folder / name: bytes(data) for name, data in files.items()})
    write_files_atomic({target: text.encode("utf-8")})
    return [*(folder / name for name in files), target]


def verify_file_set(folder: str | os.PathLike[str], manifest: str = MANIFEST_NAME) -> list[Path]:
    """Check that ``folder`` holds a complete set written by :func:`write_file_set`.

    Returns
    -------
    list of Path
        The files the manifest lists, in its order.

    Raises
    ------
    FileNotFoundError
        If the manifest is missing (the set was never completed) or a listed file is.
    ValueError
        If a listed file's SHA-256 differs from the manifest's (changed since).
    """
    folder = Path(folder)
    check_file_name("manifest", manifest)
    lines = (folder / manifest).read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        digest, _, name = line.partition("  ")
        path = folder / check_file_name("file name", name)
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != digest:
            raise ValueError(f"{path} does not match {manifest}: sha256 {actual}, listed {digest}")
        out.append(path)
    return out


def csv_text(header: Sequence[str], rows: np.ndarray | Iterable[Sequence[Any]], precision: int = 6) -> str:
    """A CSV document; floats are written with ``precision`` significant digits, ``inf`` as ``inf``.

    Parameters
    ----------
    header : sequence of str
        Column names.
    rows : array or iterable of sequences
        One sequence of cells per row: numbers, strings or None (an empty cell).
    precision : int
        Significant digits of floats, 1 to 17.
    """
    precision = as_int("precision", precision, 1, 17)
    header = list(header) if isinstance(header, Iterable) and not isinstance(header, (str, bytes)) else None
    if header is None or not all(isinstance(h, str) for h in header):
        raise TypeError("header must be a sequence of column names (strings)")

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
