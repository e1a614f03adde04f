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


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["figures", "--help"]])
def test_help_everywhere(args, tmp_path):
    result = run_module(*args, cwd=tmp_path)
    assert result.returncode == 0 and "usage: bmdsim" in result.stdout
    assert list(tmp_path.iterdir()) == []


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
