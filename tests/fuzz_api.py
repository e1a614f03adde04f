"""Hostile-input fuzzing of bmdsim's public API, scenario files and command line.

Every case replaces one argument of a valid call with a hostile value (or one
value of a valid scenario file, or one command-line option) and classifies
the outcome:

``clear``
    ``ValueError``/``TypeError`` whose message names the argument (or the
    CLI's exit code 2 with one line on stderr and no traceback).
``valid``
    A result with no NaN in it (a NaN put in is refused, so any NaN out is
    a defect), or the CLI's exit code 0.
``unclear``
    ``ValueError``/``TypeError`` that does not name the argument.
``other``
    Any other exception, a NaN result, or a CLI traceback or wrong exit code.

The cases are generated from a seeded random choice over a fixed pool, so a
run is reproducible. ``python tests/fuzz_api.py`` prints the counts per group
and every case that is not ``clear`` or ``valid``; ``tests/test_fuzz.py``
runs it in a subprocess with a memory cap and a time limit and requires that
every case is ``clear`` or ``valid``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import random
import sys
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

#: Hostile values put in place of one argument: wrong types, non-finite, extreme, empty and nested.
HOSTILE: tuple[Any, ...] = (
    None,
    True,
    np.bool_(False),
    "5",
    "",
    b"x",
    1j,
    np.complex128(1 + 1j),
    math.nan,
    math.inf,
    -math.inf,
    0,
    -1,
    -0.0,
    5e-324,
    1e-9,
    1e300,
    -1e300,
    2**63,
    1e6,
    [],
    [[1.0]],
    [math.nan],
    ["5", True],
    np.array([1.0, 2.0]),
    np.zeros((2, 2)),
    object(),
    {},
    {"lumbar_spine": math.nan},
    np.float32(1.5),
)


def _has_nan(value: Any, depth: int = 0) -> bool:
    """True if ``value`` (numbers, arrays, mappings and sequences of them) holds a NaN."""
    if depth > 6:
        return False
    if isinstance(value, (float, np.floating)):
        return bool(np.isnan(value))
    if isinstance(value, np.ndarray):
        return bool(value.dtype.kind == "f" and np.isnan(value).any())
    if isinstance(value, dict):
        return any(_has_nan(v, depth + 1) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_nan(v, depth + 1) for v in value[:1000])
    return False


def _classify(call: Callable[[], Any], names: tuple[str, ...]) -> tuple[str, str]:
    """Run ``call`` and classify its outcome; also return a short description."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = call()
    except (ValueError, TypeError) as exc:
        text = str(exc)
        if any(n in text for n in names):
            return "clear", ""
        return "unclear", f"{type(exc).__name__}: {text[:160]}"
    except Exception as exc:  # noqa: BLE001 - classifying every other failure is the point
        return "other", f"{type(exc).__name__}: {str(exc)[:160]}"
    finally:
        _close_figures()
    if _has_nan(result):
        return "other", "NaN in the result"
    return "valid", ""


def _close_figures() -> None:
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


#: Other words that name an argument in an error message (the role it plays, or its type).
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("params", "reference", "policy name"),
    "traj": ("trajectory", "Trajectory"),
    "trajectories": ("trajectory", "Trajectory"),
    "exposures": ("Exposure",),
    "patient": ("Patient",),
    "regimen": ("Regimen",),
    "ai_regimen": ("Regimen",),
    "policy": ("Policy",),
    "result": ("CohortResult",),
    "model": ("AgentModel",),
    "fmt": ("format",),
}


def _filled_rows(table: dict[str, Any]) -> dict[str, Any]:
    """A transition table without its rows of no women: their shares are 0/0 (NaN by design)."""
    out = dict(table)
    out["fraction_of_row"] = table["fraction_of_row"][table["row_total"] > 0]
    return out


def _api_targets() -> list[tuple[str, Callable[..., Any], dict[str, Any], tuple[str, ...]]]:
    """``(label, function, valid keyword arguments, arguments to fuzz)`` for the public API."""
    import bmdsim
    from bmdsim import cohort, fracture, summary

    pat = bmdsim.Patient(age=63, t_score={"lumbar_spine": -1.2, "femoral_neck": -1.5})
    reg = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
    traj = bmdsim.simulate(pat, reg, years=10)
    res = bmdsim.simulate_cohort(300, reg, years=10, seed=1, chunk_size=300)
    pol = bmdsim.Policy("threshold")
    ages = bmdsim.TruncatedNormal(63, 8, 50, 80)
    tnorm = bmdsim.TruncatedNormal(-1.0, 1.0, -3.0, 1.0)
    return [
        ("Patient", bmdsim.Patient, {"age": 63, "t_score": {"femoral_neck": -1.5}}, ("age", "t_score")),
        ("Patient(bmd)", bmdsim.Patient, {"age": 63, "bmd": {"femoral_neck": 0.7}}, ("bmd",)),
        (
            "Exposure",
            bmdsim.Exposure,
            {"agent": "aromatase_inhibitor", "start": 0, "stop": 5},
            ("agent", "start", "stop"),
        ),
        ("Exposure(duration)", bmdsim.Exposure, {"agent": "denosumab", "start": 0, "duration": 2}, ("duration",)),
        (
            "AtThreshold",
            bmdsim.AtThreshold,
            {"site": "femoral_neck", "threshold": -2.0, "scan_interval": 1.0},
            ("site", "threshold", "scan_interval", "delay"),
        ),
        ("Regimen", bmdsim.Regimen, {"exposures": list(reg)}, ("exposures",)),
        (
            "simulate",
            bmdsim.simulate,
            {"patient": pat, "regimen": reg, "years": 10},
            ("patient", "regimen", "years", "step", "params", "reference", "loss_multiplier"),
        ),
        ("Trajectory.bmd_at", traj.bmd_at, {"site": "femoral_neck", "t": 1.0}, ("site", "t")),
        (
            "Trajectory.percent_change",
            traj.percent_change,
            {"site": "femoral_neck", "start": 0.0, "stop": 5.0},
            ("site", "start", "stop"),
        ),
        (
            "Trajectory.crossing_time",
            traj.crossing_time,
            {"site": "femoral_neck", "threshold": -2.0},
            ("site", "threshold"),
        ),
        ("Trajectory.crossing_table", traj.crossing_table, {}, ("thresholds",)),
        (
            "simulate_cohort",
            bmdsim.simulate_cohort,
            {"n": 50, "regimen": reg, "years": 5, "seed": 1},
            ("n", "regimen", "years", "seed", "chunk_size", "variability", "params", "workers", "measurement_error"),
        ),
        (
            "CohortResult.fraction_below",
            res.fraction_below,
            {"site": "femoral_neck", "threshold": -2.0, "times": [1.0, 5.0]},
            ("site", "threshold", "times"),
        ),
        (
            "CohortResult.crossing_percentiles",
            res.crossing_percentiles,
            {"site": "femoral_neck", "threshold": -2.0},
            ("site", "threshold", "q"),
        ),
        (
            "CohortResult.t_score_percentiles",
            res.t_score_percentiles,
            {"site": "femoral_neck", "times": [1.0, 5.0]},
            ("site", "times", "q", "measured"),
        ),
        (
            "CohortResult.category_shares",
            res.category_shares,
            {"times": [0.0, 5.0]},
            ("times", "site", "measured", "cuts"),
        ),
        (
            "CohortResult.transitions",
            lambda **kw: _filled_rows(res.transitions(**kw)),
            {"start_time": 0.0, "stop_time": 5.0},
            ("start_time", "stop_time", "site", "measured", "cuts"),
        ),
        (
            "TruncatedNormal",
            bmdsim.TruncatedNormal,
            {"mean": 0, "sd": 1, "low": -2, "high": 2},
            ("mean", "sd", "low", "high"),
        ),
        (
            "Population",
            bmdsim.Population,
            {"age": ages, "t_score": {"femoral_neck": tnorm}},
            ("age", "t_score", "correlation", "name", "age_correlation"),
        ),
        ("Variability", bmdsim.Variability, {"cv": 0.5}, ("cv", "correlation")),
        (
            "Policy",
            bmdsim.Policy,
            {"name": "threshold"},
            ("name", "rule", "scan_interval", "agent", "duration", "site"),
        ),
        (
            "simulate_policy",
            bmdsim.simulate_policy,
            {"policy": pol, "patient": pat, "ai_regimen": reg, "years": 5, "seed": 1},
            ("policy", "patient", "ai_regimen", "years", "risk_factors", "site", "threshold", "grid_step"),
        ),
        ("load_parameters", bmdsim.load_parameters, {"name": "trials"}, ("name",)),
        ("load_reference", bmdsim.load_reference, {"name": "default"}, ("name",)),
        (
            "relative_risk",
            fracture.relative_risk,
            {"traj": traj, "site": "femoral_neck"},
            ("traj", "site", "outcome", "reference_t_score", "bound", "ai_multiplier"),
        ),
        (
            "cohort_relative_risk",
            fracture.cohort_relative_risk,
            {"result": res, "site": "femoral_neck", "times": [1.0, 5.0]},
            ("site", "times", "outcome", "reference", "bound", "q"),
        ),
        (
            "fraction_crossed",
            summary.fraction_crossed,
            {"traj": traj, "site": "femoral_neck", "threshold": -2.0},
            ("traj", "site", "threshold", "times"),
        ),
        ("wilson_interval", summary.wilson_interval, {"fraction": np.array([0.5]), "n": 10}, ("fraction", "n", "z")),
        ("crossing_records", summary.crossing_records, {"traj": traj}, ("traj", "thresholds")),
        ("category_names", cohort.category_names, {"cuts": (-2.5, -1.0)}, ("cuts",)),
        ("register_agent", bmdsim.register_agent, {"model": None}, ("model",)),
    ]


def _plot_targets() -> list[tuple[str, Callable[..., Any], dict[str, Any], tuple[str, ...]]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import bmdsim
    from bmdsim import export, plot

    pat = bmdsim.Patient(age=63, t_score={"lumbar_spine": -1.2, "femoral_neck": -1.5})
    reg = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
    traj = bmdsim.simulate(pat, reg, years=10)

    def fig_bytes(**kw: Any) -> bytes:
        fig = plt.figure(figsize=(2, 2))
        return export.figure_bytes(fig, **kw)

    return [
        (
            "plot_trajectory",
            plot.plot_trajectory,
            {"traj": traj},
            ("sites", "kind", "thresholds", "patient", "ax", "labels"),
        ),
        ("plot_crossing_times", plot.plot_crossing_times, {"traj": traj}, ("thresholds", "sites", "patient", "labels")),
        ("plot_regimen", plot.plot_regimen, {"regimen": reg}, ("regimen", "years", "patient")),
        (
            "plot_comparison",
            plot.plot_comparison,
            {"trajectories": {"a": traj}, "site": "femoral_neck"},
            ("trajectories", "site", "kind", "thresholds", "since"),
        ),
        ("figure_bytes", fig_bytes, {"fmt": "png", "dpi": 50}, ("fmt", "dpi")),
    ]


def api_cases(rng: random.Random, per_argument: int) -> Iterator[tuple[str, Callable[[], Any], tuple[str, ...]]]:
    """``(label, call, names)`` cases: each fuzzed argument with ``per_argument`` hostile values."""
    for group, targets in (("api", _api_targets()), ("plot", _plot_targets())):
        for label, func, base, fuzzed in targets:
            for arg in fuzzed:
                for value in rng.sample(HOSTILE, min(per_argument, len(HOSTILE))):
                    kwargs = dict(base)
                    kwargs[arg] = value
                    names = (arg, *ALIASES.get(arg, ()))
                    yield f"{group}:{label}({arg}={_short(value)})", (lambda f=func, k=kwargs: f(**k)), names


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 30 else text[:27] + "..."


#: TOML text put in place of one value of a scenario file.
TOML_HOSTILE: tuple[str, ...] = (
    "nan",
    "inf",
    "-inf",
    "1e308",
    "-1e308",
    "5e-324",
    "0",
    "-1",
    "true",
    '"5"',
    '""',
    "[]",
    "[[1.0]]",
    "{}",
    "1979-05-27",
    "60",
    "1e-6",
    '"{threshold:>20000000}"',
    "[" * 600 + "]" * 600,
)


def _toml_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def scenario_cases(rng: random.Random, per_value: int) -> Iterator[tuple[str, str]]:
    """``(label, toml text)``: an example scenario with one value replaced by hostile TOML."""
    for name in ("ai_withdrawal.toml", "illustrative_group.toml", "cohort_event_start.toml", "policy_comparison.toml"):
        lines = _toml_lines(ROOT / "scenarios" / name)
        for i, line in enumerate(lines):
            code = line.split("#", 1)[0]
            if "=" not in code or code.lstrip().startswith("["):
                continue
            key, _, _ = code.partition("=")
            for value in rng.sample(TOML_HOSTILE, min(per_value, len(TOML_HOSTILE))):
                changed = list(lines)
                changed[i] = f"{key}= {value}"
                yield f"scenario:{name}:{key.strip()}={value[:20]}", "\n".join(changed) + "\n"


def cli_cases() -> Iterator[tuple[str, list[str]]]:
    """``(label, argv)``: command-line options with hostile values."""
    for option in ("--dpi", "--scale"):
        for value in ("inf", "nan", "-1", "0", "1e6", "1e-6", "abc", "1e308"):
            yield f"cli:figures {option} {value}", ["figures", "--only", "brex_withdrawal", option, value]
    yield "cli:figures --format gif", ["figures", "--format", "gif"]
    yield "cli:figures --only nothing", ["figures", "--only", "nothing"]
    yield "cli:run missing file", ["run", "/nonexistent/file.toml"]
    yield "cli:run directory", ["run", str(ROOT / "scenarios")]


def _run_cli(argv: list[str], out: str) -> tuple[str, str]:
    """Run the CLI in this process; classify exit code and stderr."""
    from bmdsim.__main__ import main

    stderr, stdout = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = main([*argv, "--out", out] if argv and argv[0] in ("run", "figures") else argv)
    except SystemExit as exc:  # argparse: exit 2 with its usage line
        code = exc.code
    except Exception as exc:  # noqa: BLE001
        return "other", f"{type(exc).__name__}: {str(exc)[:160]}"
    finally:
        _close_figures()
    text = stderr.getvalue()
    if "Traceback" in text:
        return "other", "traceback on stderr"
    if code == 0:
        return "valid", ""
    if code == 2:
        lines = [ln for ln in text.strip().splitlines() if ln.strip()]
        # argparse prints usage lines before its one error line; bmdsim prints one line
        if lines and (len(lines) == 1 or lines[-1].startswith("bmdsim")) and len(lines[-1]) < 2000:
            return "clear", ""
        return "unclear", f"stderr: {text[:160]!r}"
    return "other", f"exit code {code}: {text[:160]!r}"


def run(seed: int = 20261130, per_argument: int = len(HOSTILE), per_value: int = 5) -> dict[str, Any]:
    """Run every case; return counts per group and outcome, and the failing cases."""
    rng = random.Random(seed)
    counts: Counter[tuple[str, str]] = Counter()
    failures: list[str] = []
    for label, call, names in api_cases(rng, per_argument):
        outcome, why = _classify(call, names)
        counts[(label.split(":")[0], outcome)] += 1
        if outcome not in ("clear", "valid"):
            failures.append(f"{outcome}: {label}: {why}")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        for label, text in scenario_cases(rng, per_value):
            path = os.path.join(tmp, "case.toml")
            Path(path).write_text(text, encoding="utf-8")
            outcome, why = _run_cli(["run", path, "--no-figures"], out)
            counts[("scenario", outcome)] += 1
            if outcome not in ("clear", "valid"):
                failures.append(f"{outcome}: {label}: {why}")
        for label, argv in cli_cases():
            outcome, why = _run_cli(argv, out)
            counts[("cli", outcome)] += 1
            if outcome not in ("clear", "valid"):
                failures.append(f"{outcome}: {label}: {why}")
    groups = sorted({g for g, _ in counts})
    table = {g: {o: counts[(g, o)] for o in ("clear", "valid", "unclear", "other")} for g in groups}
    return {"counts": table, "failures": failures}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    result = run()
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"{'group':10s} {'tried':>6s} {'clear':>6s} {'valid':>6s} {'unclear':>8s} {'other':>6s}")
    total: Counter[str] = Counter()
    for group, c in result["counts"].items():
        total.update(c)
        print(f"{group:10s} {sum(c.values()):6d} {c['clear']:6d} {c['valid']:6d} {c['unclear']:8d} {c['other']:6d}")
    print(
        f"{'all':10s} {sum(total.values()):6d} {total['clear']:6d} {total['valid']:6d} "
        f"{total['unclear']:8d} {total['other']:6d}"
    )
    for line in result["failures"]:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
