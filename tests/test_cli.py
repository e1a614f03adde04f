"""Tests of the command line (bmdsim.__main__): exit codes, outputs, nothing written on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import bmdsim  # noqa: E402
from bmdsim.__main__ import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "ai_withdrawal.toml"


def run_module(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "bmdsim", *args], capture_output=True, text=True, cwd=cwd, env=env)


def test_bare_command_prints_default_crossings_and_writes_the_figure(tmp_path, capsys):
    assert main(["--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "First time the T-score is at or below each threshold" in out
    traj = bmdsim.simulate(
        bmdsim.Patient(age=63, t_score={"lumbar_spine": -1.2, "femoral_neck": -1.5, "total_hip": -1.3}),
        bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", 0, 5)]),
        years=15,
    )
    t = traj.crossing_time("femoral_neck", -2.0)
    assert 0 < t < 15 and f"{t:6.2f} y" in out
    assert (tmp_path / "out" / "default_scenario.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["figures", "--help"], ["examples", "--help"]])
def test_help_everywhere(args, tmp_path):
    result = run_module(*args, cwd=tmp_path)
    assert result.returncode == 0 and "usage: bmdsim" in result.stdout
    assert list(tmp_path.iterdir()) == []
    if args[0] == "run":  # a first-time user is sent to the shipped examples
        assert "'bmdsim examples'" in result.stdout and "--copy DIR" in result.stdout


def test_version_prints_name_and_version(tmp_path, capsys):
    result = run_module("--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"bmdsim {bmdsim.__version__}\n"
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out == f"bmdsim {bmdsim.__version__}\n"


def test_run_prints_table_and_writes_csv_and_figures(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(EXAMPLE), "--out", str(out), "--format", "png,svg"]) == 0
    text = capsys.readouterr().out
    scenario = bmdsim.scenario.load_scenario(EXAMPLE)
    traj = scenario.run()
    t = traj.crossing_time("femoral_neck", -2.0)
    assert 0 < t < 15 and f"{t:6.2f} y" in text
    names = sorted(p.name for p in out.iterdir())
    for kind in scenario.figures:
        assert {f"ai_withdrawal_{kind}.png", f"ai_withdrawal_{kind}.svg", f"ai_withdrawal_{kind}.txt"} <= set(names)
    assert not any(n.endswith(".pdf") for n in names)  # --format overrides the scenario's formats
    rows = np.loadtxt(out / "ai_withdrawal_trajectory.csv", delimiter=",", skiprows=1)
    header = (out / "ai_withdrawal_trajectory.csv").read_text().splitlines()[0].split(",")
    assert header[:4] == ["patient", "time_years", "bmd_lumbar_spine_g_cm2", "t_score_lumbar_spine"]
    assert rows.shape == (traj.time.size, 2 + 2 * len(traj.sites))
    assert np.allclose(rows[:, 3], traj.t_score("lumbar_spine"), rtol=0, atol=1e-7)
    crossings = (out / "ai_withdrawal_crossings.csv").read_text().splitlines()
    assert crossings[0] == "patient,site,threshold,years"
    assert f"0,femoral_neck,-2.5,{traj.crossing_time('femoral_neck', -2.5):.10g}" in crossings


def test_run_json_for_a_group(tmp_path, capsys):
    assert main(["run", str(ROOT / "scenarios" / "natural_loss.toml"), "--out", str(tmp_path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    traj = bmdsim.scenario.load_scenario(ROOT / "scenarios" / "natural_loss.toml").run()
    assert doc["patients"] == 3 and doc["thresholds"] == [-2.0, -2.5]
    by_key = {(r["patient"], r["site"], r["threshold"]): r["years"] for r in doc["crossings"]}
    expected = traj.crossing_time("femoral_neck", -2.5)
    for i in range(3):
        value = by_key[(i, "femoral_neck", -2.5)]
        assert (value is None and not np.isfinite(expected[i])) or value == expected[i]
    assert all(Path(f).exists() for f in doc["files"])


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["run", "missing.toml"], "missing.toml: cannot read the scenario file"),
        (["run", "{example}", "--format", "png,jpg"], "--format: unknown figure format 'jpg'"),
        (["run", "{bad}"], "bad.toml: simulation.params: unknown value 'nope'"),
        (["figures", "--only", "pie"], "--only: unknown figure 'pie'"),
        (["figures", "--format", "gif"], "--format: unknown figure format 'gif'"),
        (["figures", "--labels", "{labels}"], "unknown label key 'colour'"),
        (["figures", "--dpi", "0"], "--dpi must lie in [10, 2400] dots per inch"),
        (["figures", "--dpi", "many"], "invalid float value"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, args, reason):
    bad = tmp_path / "bad.toml"
    bad.write_text('[patient]\nage = 60\nt_score = {femoral_neck = -1}\n[simulation]\nparams = "nope"\n')
    labels = tmp_path / "labels.toml"
    labels.write_text('colour = "Farbe"\n')
    args = [a.format(example=EXAMPLE, bad=bad, labels=labels) for a in args]
    before = sorted(tmp_path.iterdir())
    result = run_module(*args, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0], result.stderr
    assert sorted(tmp_path.iterdir()) == before  # no output folder, no file


def test_write_failure_exits_1_and_leaves_no_partial_file(tmp_path, capsys):
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output folder should be")
    assert main(["run", str(EXAMPLE), "--out", str(blocker), "--no-figures"]) == 1
    assert "could not write" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_interrupted_write_leaves_no_temporary_file(tmp_path, monkeypatch, capsys):
    real = os.replace
    calls = []

    def replace_then_fail(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError("disk full")
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace_then_fail)
    assert main(["run", str(EXAMPLE), "--out", str(tmp_path), "--no-figures"]) == 1
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [Path(calls[0]).name]  # the completed file only: no temporary, no half-written file
    assert not any(name.endswith(".tmp") for name in left)


def test_figures_writes_the_educator_set_with_captions(tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["figures", "--out", str(out), "--format", "png", "--dpi", "50"]) == 0
    names = {p.name for p in out.iterdir()}
    for stem in ("ai_vs_natural", "therapies_compared", "brex_withdrawal", "crossing_times", "illustrative_group"):
        assert {f"{stem}.png", f"{stem}.txt"} <= names
    caption = (out / "illustrative_group.txt").read_text()
    assert "ILLUSTRATIVE, NOT A CALIBRATED POPULATION" in caption
    assert "Sources:" in (out / "brex_withdrawal.txt").read_text()


def test_closed_stdout_is_not_reported_as_a_write_failure(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    cmd = (
        f'"{sys.executable}" -m bmdsim run "{ROOT / "scenarios" / "natural_loss.toml"}" --json --no-figures | head -c 1'
    )
    result = subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=tmp_path, env=env)
    assert result.stdout == "{"
    assert "could not write" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert (tmp_path / "bmdsim-output" / "natural_loss_trajectory.csv").is_file()


def test_figures_command_writes_a_manifest_last(tmp_path):
    import hashlib

    from bmdsim.__main__ import main

    out = tmp_path / "figs"
    assert main(["figures", "--out", str(out), "--only", "crossing_times", "--format", "png", "--dpi", "50"]) == 0
    lines = (out / "figures.sha256").read_text().splitlines()
    listed = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in lines}
    assert set(listed) == {"crossing_times.png", "crossing_times.txt"}
    for name, digest in listed.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest


# --- the whole API from a scenario file: populations, event starts, variability, policies --------------------------


def read_csv(path):
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def cohort_example_direct():
    """The example cohort_event_start.toml, written out in Python."""
    from bmdsim.cohort import default_population

    event = bmdsim.AtThreshold("femoral_neck", -2.0, scan_interval=1.0)
    regimen = bmdsim.Regimen(
        [bmdsim.Exposure("aromatase_inhibitor", 0, 5), bmdsim.Exposure("zoledronic_acid", start=event, duration=5)]
    )
    return bmdsim.simulate_cohort(5000, regimen, 10, seed=1, population=default_population())


FRACTION_KEYS = ("time", "fraction", "low", "high")


def test_population_example_writes_tidy_tables_that_match_the_api(tmp_path, capsys):
    path = ROOT / "scenarios" / "cohort_event_start.toml"
    assert main(["run", str(path), "--out", str(tmp_path), "--format", "png"]) == 0
    text = capsys.readouterr().out
    assert "5000 women from population 'default (women starting an AI)' (seed 1)" in text
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {
        "cohort_event_start_fraction_below.csv",
        "cohort_event_start_crossing_percentiles.csv",
        "cohort_event_start_t_score_percentiles.csv",
        "cohort_event_start_fraction_crossed.png",
        "cohort_event_start_fraction_crossed.txt",
        "cohort_event_start_regimen.png",
        "cohort_event_start_regimen.txt",
    }
    direct = cohort_example_direct()
    times, q = [0.0, 1.0, 2.0, 3.0, 5.0, 10.0], [10.0, 25.0, 50.0, 75.0, 90.0]
    thresholds = [-1.0, -2.0, -2.5]
    sites = ["lumbar_spine", "femoral_neck", "total_hip"]

    header, rows = read_csv(tmp_path / "cohort_event_start_fraction_below.csv")
    assert header == ["site", "threshold_sd", "time_years", "fraction", "fraction_low95", "fraction_high95"]
    assert len(rows) == len(sites) * len(thresholds) * len(times)  # one row per site, threshold and time
    expected = [
        (site, thr, t, f, lo, hi)
        for site in sites
        for thr in thresholds
        for t, f, lo, hi in zip(*(direct.fraction_below(site, thr, times)[k] for k in FRACTION_KEYS), strict=True)
    ]
    for row, want in zip(rows, expected, strict=True):
        assert row[0] == want[0]
        assert np.allclose([float(v) for v in row[1:]], want[1:], rtol=1e-9, atol=0)

    header, rows = read_csv(tmp_path / "cohort_event_start_crossing_percentiles.csv")
    assert header == ["site", "threshold_sd", "percentile", "years_to_crossing"]
    assert len(rows) == len(sites) * len(thresholds) * len(q)
    for site, thr, pct, years in rows:
        want = direct.crossing_percentiles(site, float(thr), q)[float(pct)]
        assert (years == "inf" and want == np.inf) or np.isclose(float(years), want, rtol=1e-9, atol=0)
    assert ["femoral_neck", "-2.5", "90", "inf"] in rows  # fewer than 90 % cross within 10 years: inf

    header, rows = read_csv(tmp_path / "cohort_event_start_t_score_percentiles.csv")
    assert header == ["site", "time_years", "percentile", "t_score_sd"]
    assert len(rows) == len(sites) * len(times) * len(q)
    for site in sites:
        table = direct.t_score_percentiles(site, times, q)["t_score"]
        got = np.array([[float(r[3]) for r in rows if r[0] == site and float(r[1]) == t] for t in times]).T
        assert np.allclose(got, table, rtol=1e-9, atol=0)
    caption = (tmp_path / "cohort_event_start_regimen.txt").read_text()
    assert "start at each woman's own time" in caption and "Sources:" in caption


def test_policy_example_matches_compare_policies(tmp_path, capsys):
    from bmdsim.cohort import default_population

    path = ROOT / "scenarios" / "policy_comparison.toml"
    assert main(["run", str(path), "--out", str(tmp_path), "--json", "--no-figures"]) == 0
    doc = json.loads(capsys.readouterr().out)
    policies = [
        bmdsim.Policy("scan 12 m, treat on threshold", scan_interval=1.0),
        bmdsim.Policy("scan 24 m, treat on threshold", scan_interval=2.0),
        bmdsim.Policy("treat all", rule="treat_all", scan_interval=None),
        bmdsim.Policy("no therapy", rule="none", scan_interval=None),
    ]
    ai = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)])
    direct = bmdsim.compare_policies(policies, default_population(), ai, 10, n=4000, seed=1)
    header, rows = read_csv(tmp_path / "policy_comparison_policies.csv")
    assert header[:4] == ["policy", "rule", "scan_interval_years", "fraction_patient_years_below"]
    assert "delay_mean_years" in header and "delay_max_years" in header and "fraction_treated" in header
    assert len(rows) == 4 == len(doc["policies"])
    for key, column in direct.items():
        name = {"scan_interval": "scan_interval_years"}.get(key, f"{key}_years" if key.startswith("delay_") else key)
        got = [r[header.index(name)] for r in rows]
        if key in ("policy", "rule", "fracture_reference"):  # text columns
            assert got == column
            continue
        want = np.array([np.nan if v is None else v for v in column], dtype=float)
        assert np.allclose([float(v) if v else np.nan for v in got], want, rtol=1e-9, atol=0, equal_nan=True), key
        json_values = [np.nan if r[name] is None else r[name] for r in doc["policies"]]
        assert np.allclose(json_values, want, rtol=1e-12, atol=0, equal_nan=True), key
    assert doc["patients"] == 4000 and doc["seed"] == 1 and len(doc["fraction_below"]) == 3 * 2 * 3
    assert sorted(Path(f).name for f in doc["files"]) == sorted(p.name for p in tmp_path.iterdir())


def test_own_population_variability_and_given_patients_with_policies(tmp_path, capsys):
    text = """
        name = "Own population"
        [population]
        n = 500
        seed = 3
        age = { mean = 62, sd = 7, low = 50, high = 80 }
        t_score = { femoral_neck = { mean = -1.2, sd = 0.8, low = -4, high = 2 } }
        [variability]
        cv = 0.6
        [[exposure]]
        agent = "aromatase_inhibitor"
        duration = 5
        [simulation]
        years = 8
        params = "consensus"
        [output]
        thresholds = [-2.0]
        times = [0, 8]
        percentiles = [50]
        """
    path = tmp_path / "own.toml"
    path.write_text("\n".join(line.strip() for line in text.splitlines()), encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--no-figures"]) == 0
    population = bmdsim.Population(
        age=bmdsim.TruncatedNormal(62, 7, 50, 80), t_score={"femoral_neck": bmdsim.TruncatedNormal(-1.2, 0.8, -4, 2)}
    )
    regimen = bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", duration=5)])
    direct = bmdsim.simulate_cohort(
        500, regimen, 8, seed=3, population=population, variability=bmdsim.Variability(cv=0.6), params="consensus"
    )
    _, rows = read_csv(tmp_path / "out" / "own_fraction_below.csv")
    assert [r[:3] for r in rows] == [["femoral_neck", "-2", "0"], ["femoral_neck", "-2", "8"]]
    assert np.allclose([float(r[3]) for r in rows], direct.fraction_below("femoral_neck", -2.0, [0, 8])["fraction"])
    _, rows = read_csv(tmp_path / "out" / "own_crossing_percentiles.csv")
    assert float(rows[0][3]) == pytest.approx(direct.crossing_percentiles("femoral_neck", -2.0, [50])[50.0], rel=1e-9)

    given = tmp_path / "given.toml"
    given.write_text(
        "[patient]\nage = [55, 70]\nt_score = { femoral_neck = [-1.6, -1.9] }\n"
        "[[exposure]]\nagent = 'aromatase_inhibitor'\nstop = 5\n"
        "[[exposure]]\nagent = 'tamoxifen'\nstart = 5\nduration = 2\n"
        "[[policy]]\nname = 'yearly'\nagent = 'zoledronic_acid'\n"
        "[compare_policies]\nseed = 5\nrisk_factors = { smoking = [true, false] }\n",
        encoding="utf-8",
    )
    capsys.readouterr()
    assert main(["run", str(given), "--out", str(tmp_path / "out"), "--no-figures", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    patients = bmdsim.Patient(age=np.array([55.0, 70.0]), t_score={"femoral_neck": np.array([-1.6, -1.9])})
    both = bmdsim.Regimen(
        [bmdsim.Exposure("aromatase_inhibitor", 0, 5), bmdsim.Exposure("tamoxifen", start=5, duration=2)]
    )
    traj = bmdsim.simulate(patients, both, years=10)
    by_key = {(r["patient"], r["site"], r["threshold"]): r["years"] for r in doc["crossings"]}
    for i in range(2):
        want = traj.crossing_time("femoral_neck", -2.5)[i]
        assert (by_key[(i, "femoral_neck", -2.5)] is None and not np.isfinite(want)) or by_key[
            (i, "femoral_neck", -2.5)
        ] == pytest.approx(want, rel=1e-12)
    table = bmdsim.compare_policies(
        [bmdsim.Policy("yearly")], patients, both, 10, {"smoking": np.array([True, False])}, seed=5
    )
    assert doc["policies"][0]["fraction_treated"] == table["fraction_treated"][0]
    assert (tmp_path / "out" / "given_policies.csv").is_file() and (tmp_path / "out" / "given_trajectory.csv").is_file()


def test_model_warnings_are_one_line_each(tmp_path):
    path = tmp_path / "long_za.toml"
    path.write_text(
        "[patient]\nage = 60\nt_score = { femoral_neck = -1.5 }\n"
        "[[exposure]]\nagent = 'zoledronic_acid'\nstop = 8\n[simulation]\nyears = 10\n",
        encoding="utf-8",
    )
    result = run_module("run", str(path), "--out", str(tmp_path / "out"), "--no-figures", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bmdsim run: warning: zoledronic_acid is given for 8 years"), lines


@pytest.mark.parametrize(
    ("toml", "key", "reason"),
    [
        ("[[exposure]]\nagent = 'aromatase_inhibitor'\nstop = 60\n", "exposure[0].stop", "not months"),
        ("[output]\nthresholds = [1.0, 2.0, 2.5]\n", "output.thresholds[0]", "minus sign"),
        ("[simulation]\nyears = 120\n", "simulation.years", "not months"),
    ],
)
def test_implausible_units_exit_2_with_one_line(tmp_path, toml, key, reason):
    path = tmp_path / "units.toml"
    path.write_text("[patient]\nage = 60\nt_score = { femoral_neck = -1.0 }\n" + toml, encoding="utf-8")
    result = run_module("run", str(path), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"bmdsim run: error: {path}: {key}: ") and reason in line, line
    assert not (tmp_path / "out").exists()


# --- bmdsim examples -----------------------------------------------------------------------------------------------


def test_examples_lists_every_shipped_scenario_in_one_line_each(capsys):
    from bmdsim.scenario import example_dir, example_scenarios

    assert main(["examples"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert str(example_dir()) in out[0] and "bmdsim examples --copy DIR" in out[1]
    listed = out[2:]
    assert len(listed) == len(example_scenarios()) == len(list(example_dir().glob("*.toml")))
    for line, (name, description) in zip(listed, example_scenarios().items(), strict=True):
        assert line.split()[0] == name and line.endswith(description)
    assert any(line.split()[0] == "cohort_event_start.toml" for line in listed)


def test_examples_copy_runs_and_refuses_to_overwrite(tmp_path, capsys):
    from bmdsim.scenario import example_dir

    target = tmp_path / "mine"
    assert main(["examples", "--copy", str(target)]) == 0
    assert "bmdsim run" in capsys.readouterr().out
    shipped = sorted(example_dir().glob("*.toml"))
    assert sorted(p.name for p in target.iterdir()) == [p.name for p in shipped]
    for p in shipped:
        assert (target / p.name).read_bytes() == p.read_bytes()
    assert main(["run", str(target / "natural_loss.toml"), "--out", str(tmp_path / "out"), "--no-figures"]) == 0

    (target / "ai_withdrawal.toml").write_text("# mine\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["examples", "--copy", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already exists" in err[0] and "--force" in err[0]
    assert (target / "ai_withdrawal.toml").read_text() == "# mine\n"  # nothing overwritten
    assert main(["examples", "--copy", str(target), "--force"]) == 0
    assert (target / "ai_withdrawal.toml").read_bytes() == (example_dir() / "ai_withdrawal.toml").read_bytes()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["examples", "--copy", str(blocker)]) == 2
    assert "not a folder" in capsys.readouterr().err
