"""``bmdsim`` / ``python -m bmdsim``: the command line.

``bmdsim`` with no subcommand runs the default scenario: a 63-year-old woman
with T-scores of -1.2 (lumbar spine), -1.5 (femoral neck) and -1.3 (total hip)
takes an aromatase inhibitor for 5 years and stops; the consensus parameter
set is simulated for 15 years. It prints the first time each site's T-score
reaches -1.0, -2.0 and -2.5, the BMD change over the AI course and over the 5
years after it, and writes the figure.

Subcommands:

``bmdsim run SCENARIO``
    Simulate a scenario file (TOML, see :mod:`bmdsim.scenario`); print the
    crossing times (a table, or JSON with ``--json``); write the trajectory and
    the crossing times as CSV and the figures the scenario asks for.
``bmdsim figures``
    Write the educator figure set (:func:`bmdsim.figures.educator_figures`)
    with a caption file beside each figure.

Exit status: 0 on success, 2 on bad input (a one-line reason on stderr and
nothing written), 1 if writing failed (no half-written file is left: every
file is written to a temporary file and moved into place).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from . import Exposure, Patient, Regimen, available_parameter_sets, simulate
from .parameters import DEFAULT_PARAMETER_SET
from .simulation import DEFAULT_THRESHOLDS
from .sites import SITE_LABELS

DEFAULT_PATIENT = {"age": 63, "t_score": {"lumbar_spine": -1.2, "femoral_neck": -1.5, "total_hip": -1.3}}
DEFAULT_AI_YEARS = (0.0, 5.0)
DEFAULT_HORIZON_YEARS = 15.0
DEFAULT_OUT = "bmdsim-output"


class BadInput(Exception):
    """Input the command cannot use; reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``prog: error: reason``) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _fmt(t: float) -> str:
    if t == 0:
        return "at baseline"
    return "not reached" if not np.isfinite(t) else f"{t:6.2f} y"


def _use_agg() -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")


def _default(args: argparse.Namespace) -> int:
    patient = Patient(**DEFAULT_PATIENT)
    regimen = Regimen([Exposure("aromatase_inhibitor", start=DEFAULT_AI_YEARS[0], stop=DEFAULT_AI_YEARS[1])])
    traj = simulate(patient, regimen, years=DEFAULT_HORIZON_YEARS, step=1 / 12, params=args.params)

    print(
        f"bmdsim default scenario: age 63, AI for years 0-5 then stopped, {DEFAULT_HORIZON_YEARS:g} years, "
        f"parameter set '{args.params}'"
    )
    print("First time the T-score is at or below each threshold:")
    print(f"  {'site':<14}" + "".join(f"{'T <= ' + format(t, 'g'):>14}" for t in DEFAULT_THRESHOLDS))
    for site in traj.sites:
        cells = "".join(f"{_fmt(float(traj.crossing_time(site, t))):>14}" for t in DEFAULT_THRESHOLDS)
        print(f"  {SITE_LABELS[site]:<14}{cells}")
    print("BMD change, per cent:")
    for site in traj.sites:
        on = float(traj.percent_change(site, 0, 5))
        after = float(traj.percent_change(site, 5, 10))
        print(f"  {SITE_LABELS[site]:<14} years 0-5 (on AI) {on:+6.2f}   years 5-10 (after) {after:+6.2f}")

    if not args.no_figure:
        _use_agg()
        import matplotlib.pyplot as plt

        from .plot import plot_trajectory, save_figure

        out = Path(args.default_out)
        ax = plot_trajectory(traj)
        ax.set_title("T-score on 5 years of an aromatase inhibitor, then withdrawal (consensus rates)")
        path = out / "default_scenario.png"
        save_figure(ax.figure, str(path))
        plt.close(ax.figure)
        print(f"figure written to {path}")
    return 0


def _formats(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    from .export import check_formats

    try:
        return check_formats(value)
    except ValueError as exc:
        raise BadInput(f"--format: {exc}") from None


def _labels(path: str | None) -> dict[str, str] | None:
    """Read a labels file: a TOML table of label key = "text" (e.g. another language)."""
    if path is None:
        return None
    from .scenario import tomllib

    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"--labels: cannot read {path} ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"--labels: {path} is not valid TOML ({exc})") from None
    from .figures import _split_labels

    bad = [k for k, v in doc.items() if not isinstance(v, str)]
    if bad:
        raise BadInput(f"--labels: {path}: {bad[0]}: must be a string")
    try:
        _split_labels(doc)
    except KeyError as exc:
        raise BadInput(f"--labels: {path}: {exc.args[0]}") from None
    return doc


def _render(figures: list[Any], out: Path, formats: tuple[str, ...], dpi: float) -> dict[Path, bytes]:
    import matplotlib.pyplot as plt

    from .export import figure_bytes

    payloads: dict[Path, bytes] = {}
    for f in figures:
        for fmt in formats:
            payloads[out / f"{f.name}.{fmt}"] = figure_bytes(f.figure, fmt, dpi=dpi)
        payloads[out / f"{f.name}.txt"] = (f.caption.rstrip() + "\n").encode("utf-8")
        plt.close(f.figure)
    return payloads


def _crossing_lines(traj: Any, thresholds: tuple[float, ...]) -> list[str]:
    n = traj.patient.n
    if n == 1:
        lines = [f"  {'site':<14}" + "".join(f"{'T <= ' + format(t, 'g'):>14}" for t in thresholds)]
        for site in traj.sites:
            cells = "".join(f"{_fmt(float(np.atleast_1d(traj.crossing_time(site, t))[0])):>14}" for t in thresholds)
            lines.append(f"  {SITE_LABELS[site]:<14}{cells}")
        return lines
    lines = [f"  {'site':<14}{'threshold':>10}{'at baseline':>13}{'by horizon':>12}{'median y':>10}"]
    for site in traj.sites:
        for t in thresholds:
            times = np.atleast_1d(traj.crossing_time(site, t))
            crossed = times[np.isfinite(times)]
            median = f"{np.median(crossed):10.2f}" if crossed.size else f"{'-':>10}"
            lines.append(
                f"  {SITE_LABELS[site]:<14}{t:>10g}{np.sum(times == 0):>7d} of {n:<3d}"
                f"{crossed.size:>6d} of {n:<3d}{median}"
            )
    return lines


def _run(args: argparse.Namespace) -> int:
    from .scenario import ScenarioError, load_scenario

    formats = _formats(args.format)
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        raise BadInput(str(exc)) from None
    try:
        traj = scenario.run()
    except (TypeError, ValueError) as exc:
        raise BadInput(f"{args.scenario}: {exc}") from None
    formats = formats or scenario.formats
    stem = Path(args.scenario).stem
    out = Path(args.out)

    from .export import _replace_all, csv_text
    from .summary import crossing_records, trajectory_columns

    header, rows = trajectory_columns(traj)
    records = crossing_records(traj, scenario.thresholds)
    payloads: dict[Path, bytes] = {
        out / f"{stem}_trajectory.csv": csv_text(header, rows, precision=8).encode("utf-8"),
        out / f"{stem}_crossings.csv": csv_text(
            ["patient", "site", "threshold", "years"],
            [[r["patient"], r["site"], r["threshold"], np.inf if r["years"] is None else r["years"]] for r in records],
            precision=10,
        ).encode("utf-8"),
    }
    if not args.no_figures:
        _use_agg()
        from .figures import scenario_figures

        payloads |= _render(scenario_figures(scenario, traj, stem=stem), out, formats, dpi=300)
    _replace_all(payloads)

    if args.json:
        doc = {
            "scenario": scenario.name,
            "params": scenario.params,
            "years": scenario.years,
            "patients": traj.patient.n,
            "thresholds": list(scenario.thresholds),
            "crossings": records,
            "files": [str(p) for p in payloads],
        }
        print(json.dumps(doc, indent=2))
    else:
        print(
            f"{scenario.name}: {traj.patient.n} patient(s), {scenario.years:g} years, parameter set '{scenario.params}'"
        )
        print("First time the T-score is at or below each threshold:")
        print("\n".join(_crossing_lines(traj, scenario.thresholds)))
        print(f"{len(payloads)} files written to {out}")
    return 0


def _figures(args: argparse.Namespace) -> int:
    formats = _formats(args.format) or ("png", "svg", "pdf")
    labels = _labels(args.labels)
    if not args.dpi > 0:
        raise BadInput(f"--dpi must be positive, got {args.dpi:g}")
    from .figures import EDUCATOR_FIGURES

    names = tuple(n.strip() for n in args.only.split(",") if n.strip()) if args.only else tuple(EDUCATOR_FIGURES)
    unknown = [n for n in names if n not in EDUCATOR_FIGURES]
    if unknown or not names:
        raise BadInput(
            f"--only: unknown figure {unknown[0] if unknown else ''!r}; valid: {', '.join(EDUCATOR_FIGURES)}"
        )
    _use_agg()
    from .export import _replace_all
    from .figures import educator_figures

    out = Path(args.out)
    payloads = _render(educator_figures(labels=labels, names=names, scale=args.scale), out, formats, dpi=args.dpi)
    _replace_all(payloads)
    for name in names:
        print(f"{name}: " + ", ".join(f"{name}.{fmt}" for fmt in (*formats, "txt")))
    print(f"{len(payloads)} files written to {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``bmdsim`` (exposed for documentation and tests)."""
    parser = _Parser(
        prog="bmdsim",
        description="BMD trajectories and exact T-score threshold crossings on aromatase inhibitors. "
        "Without a subcommand: run the default scenario, print its crossing times and write its figure.",
    )
    parser.add_argument(
        "--out", dest="default_out", default=DEFAULT_OUT, help=f"folder for the figure (default: {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--params", default=DEFAULT_PARAMETER_SET, choices=available_parameter_sets(), help="parameter set"
    )
    parser.add_argument("--no-figure", action="store_true", help="print the numbers only")
    sub = parser.add_subparsers(dest="command", title="subcommands", metavar="{run,figures}")

    run = sub.add_parser(
        "run",
        help="simulate a scenario file; print crossing times; write CSV and figures",
        description="Simulate a scenario file (TOML); print the crossing times; write "
        "<stem>_trajectory.csv (long format: one row per patient and time; columns patient, time_years, "
        "bmd_<site>_g_cm2, t_score_<site>), <stem>_crossings.csv (patient, site, threshold, years; inf = not "
        "reached) and the figures the scenario lists, each with a caption .txt.",
    )
    run.add_argument("scenario", help="scenario file (.toml); examples in scenarios/")
    run.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    run.add_argument("--format", help="figure formats, comma-separated from png,svg,pdf (default: the scenario's)")
    run.add_argument("--json", action="store_true", help="print the crossing times as JSON instead of a table")
    run.add_argument("--no-figures", action="store_true", help="write the CSV files only")

    fig = sub.add_parser(
        "figures",
        help="write the educator figure set with captions",
        description="Write the educator figure set from the built-in scenarios: AI versus natural loss, "
        "therapies compared, withdrawal recovery against BREX, crossing times, and an illustrative "
        "synthetic group's threshold crossings; each with a caption .txt (what it shows, scenario, sources).",
    )
    fig.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    fig.add_argument("--format", help="comma-separated from png,svg,pdf (default: all three)")
    fig.add_argument("--dpi", type=float, default=300.0, help="PNG resolution [dots per inch] (default: 300)")
    fig.add_argument("--scale", type=float, default=1.0, help="multiply figure sizes (default: 1)")
    fig.add_argument("--only", help="comma-separated subset of the figure names")
    fig.add_argument(
        "--labels", help='TOML file of label overrides, e.g. time = "Zeit [Jahre]" (see bmdsim.plot.LABELS)'
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = {"run": _run, "figures": _figures}.get(args.command, _default)
    prog = f"bmdsim {args.command}" if args.command else "bmdsim"
    try:
        if args.command == "figures" and not args.scale > 0:
            raise BadInput(f"--scale must be positive, got {args.scale:g}")
        return handler(args)
    except BadInput as exc:
        print(f"{prog}: error: " + " ".join(str(exc).split()), file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader closed stdout early (e.g. `| head`); the files are written
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 1
    except OSError as exc:
        print(f"{prog}: error: could not write the output ({exc})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
