"""Hostile input to the command line: every bad file or option is refused in one line, exit status 2.

Each case runs ``python -m bmdsim`` in a subprocess with a time limit and an address-space limit,
so a regression that hangs or allocates without bound fails the test instead of the machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from bmdsim.__main__ import DPI_RANGE, LABEL_FIELDS, MAX_LABEL_CHARS, MAX_LABEL_NESTING, SCALE_RANGE, main  # noqa: E402
from bmdsim.scenario import MAX_FILE_BYTES, MAX_PATIENTS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PATIENT = "[patient]\nage = 60\nt_score = { femoral_neck = -1.0 }\n"
TIMEOUT = 120  # seconds; every refusal here takes a few


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        MPLBACKEND="Agg",
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
    )
    limit = _limit_memory if sys.platform != "win32" else None
    return subprocess.run(
        [sys.executable, "-m", "bmdsim", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=TIMEOUT,
        preexec_fn=limit,  # noqa: PLW1509 - only sets a resource limit
    )


def assert_refused(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit status 2, nothing on stdout, one line on stderr containing every needle, no traceback."""
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert len(lines[0]) < 2000, "the reason is one readable line"
    return lines[0]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- the scenario file ---------------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")
def test_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    assert_refused(run_cli("run", str(fifo), "--out", str(tmp_path / "out"), cwd=tmp_path), "pipe.toml", "named pipe")
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_endless_device_is_refused_without_reading_it(tmp_path):
    assert_refused(run_cli("run", "/dev/zero", cwd=tmp_path), "/dev/zero", "character device", "not a regular file")


def test_directory_is_refused(tmp_path):
    (tmp_path / "dir.toml").mkdir()
    assert_refused(run_cli("run", "dir.toml", cwd=tmp_path), "dir.toml", "directory")


def test_oversized_file_is_refused_before_parsing(tmp_path):
    path = write(tmp_path / "big.toml", PATIENT + "#" + "x" * MAX_FILE_BYTES + "\n")
    assert_refused(run_cli("run", str(path), cwd=tmp_path), "big.toml", f"at most {MAX_FILE_BYTES}")


def test_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + PATIENT.encode())
    result = run_cli("run", str(path), "--no-figures", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "bom_crossings.csv").is_file()


@pytest.mark.parametrize(
    "value",
    ["[" * 100_000 + "]" * 100_000, "{ a = " * 5_000 + "1" + " }" * 5_000],
    ids=["arrays", "inline-tables"],
)
def test_deeply_nested_values_are_refused(tmp_path, value):
    path = write(tmp_path / "deep.toml", f"x = {value}\n" + PATIENT)
    assert_refused(run_cli("run", str(path), cwd=tmp_path), "deep.toml", "nested too deeply")


def test_patient_array_cannot_get_around_the_cohort_cap(tmp_path):
    ages = ", ".join(["60"] * (MAX_PATIENTS + 1))
    path = write(tmp_path / "many.toml", f"[patient]\nage = [{ages}]\nt_score = {{ femoral_neck = -1.0 }}\n")
    assert_refused(run_cli("run", str(path), cwd=tmp_path), "patient.age", f"at most {MAX_PATIENTS} patients")


@pytest.mark.parametrize("step", ["5e-324", "1e-6", "0.0", "-1.0", "nan", "inf"])
def test_tiny_or_invalid_step_is_refused_before_any_work(tmp_path, step):
    path = write(tmp_path / "step.toml", PATIENT + f"[simulation]\nstep = {step}\n")
    assert_refused(run_cli("run", str(path), cwd=tmp_path), "step.toml", "simulation.step")


def test_output_grid_of_a_large_group_is_bounded(tmp_path):
    path = write(
        tmp_path / "grid.toml",
        f"[cohort]\nn = {MAX_PATIENTS}\nseed = 1\nage = {{ mean = 62, sd = 6, min = 50, max = 80 }}\n"
        "t_score = { femoral_neck = { mean = -1.4, sd = 0.6 } }\n"
        "[simulation]\nyears = 60\nstep = 0.01\n",
    )
    assert_refused(run_cli("run", str(path), cwd=tmp_path), "simulation.step", "GiB", "limit 1 GiB")


def test_integer_with_too_many_digits_is_one_line(tmp_path):
    path = write(tmp_path / "digits.toml", PATIENT.replace("age = 60", "age = " + "9" * 5000))
    assert_refused(run_cli("run", str(path), cwd=tmp_path), "digits.toml", "too long")


def test_name_that_cannot_be_drawn_is_refused_before_drawing(tmp_path):
    path = write(tmp_path / "title.toml", 'name = "$\\\\frac{$"\n' + PATIENT)
    assert_refused(run_cli("run", str(path), "--out", str(tmp_path / "out"), cwd=tmp_path), "title.toml: name")
    assert not (tmp_path / "out").exists()


# --- --labels --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("{oops}", ("unknown placeholder {oops}", "{threshold}")),
        ("{threshold:>20000000}", ("format spec",)),  # once ran past 300 s at 4.2 GB
        ("{threshold:.100f}", ("format spec",)),
        ("{threshold!r}", ("conversion",)),
        ("{}", ("unknown placeholder {}",)),
        ("{0}", ("unknown placeholder {0}",)),
        ("{threshold[0]}", ("unknown placeholder {threshold[0]}",)),
        ("{threshold.__class__}", ("unknown placeholder",)),
        ("T = {threshold", ("expected '}'",)),
        ("T = }", ("Single '}'",)),
    ],
)
def test_label_templates_take_only_their_own_bare_placeholders(tmp_path, text, needles):
    labels = write(tmp_path / "labels.toml", f'threshold = "{text}"\n')
    result = run_cli("figures", "--labels", str(labels), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert_refused(result, "--labels", "labels.toml", "threshold", *needles)
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")
def test_labels_file_must_be_a_regular_file(tmp_path):
    fifo = tmp_path / "labels.toml"
    os.mkfifo(fifo)
    assert_refused(run_cli("figures", "--labels", str(fifo), cwd=tmp_path), "--labels", "named pipe")
    if Path("/dev/zero").exists():
        assert_refused(run_cli("figures", "--labels", "/dev/zero", cwd=tmp_path), "--labels", "character device")


# --- numeric options -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--dpi", "inf"], ("--dpi", "finite", "inf")),
        (["--dpi", "nan"], ("--dpi", "finite", "nan")),
        (["--dpi", "1e309"], ("--dpi", "finite")),
        (["--dpi", "0"], ("--dpi", f"[{DPI_RANGE[0]:g}, {DPI_RANGE[1]:g}]")),
        (["--dpi", "1e6"], ("--dpi", f"[{DPI_RANGE[0]:g}, {DPI_RANGE[1]:g}]")),
        (["--scale", "1e6"], ("--scale", f"[{SCALE_RANGE[0]:g}, {SCALE_RANGE[1]:g}]", "1e+06")),
        (["--scale", "1e-6"], ("--scale", f"[{SCALE_RANGE[0]:g}, {SCALE_RANGE[1]:g}]", "1e-06")),
        (["--scale=-inf"], ("--scale", "finite")),
        (["--dpi", "2400"], ("--dpi 2400", "pixel PNG", "limit 1 GiB")),
        (["--dpi", "1200", "--scale", "5"], ("--scale 5", "would need", "limit 1 GiB")),
    ],
)
def test_numeric_options_are_finite_and_bounded(tmp_path, args, needles):
    result = run_cli("figures", *args, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert_refused(result, *needles)
    assert not (tmp_path / "out").exists()


# --- in-process checks of the rest (cannot hang: each is refused before any drawing) ----------------------------


def refused_in_process(capsys, args: list[str], *needles: str) -> str:
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("toml", "needles"),
    [
        ('time = "' + "x" * (MAX_LABEL_CHARS + 1) + '"', ("time", f"at most {MAX_LABEL_CHARS} characters")),
        ('time = "a\\u0000b"', ("time", "control characters", "U+0000")),
        ('time = "a\\tb"', ("time", "control characters", "U+0009")),
        ('time = "$\\\\frac{$"', ("time", "mathtext")),
        ('time = "$' + "{" * 40 + "x" + "}" * 40 + '$"', ("time", f"at most {MAX_LABEL_NESTING}")),
        ('time = "$' + "\\\\sqrt[" * 20 + "x" + "]{y}" * 20 + '$"', ("time", "nested")),
        ("time = 3", ("time", "must be a string", "integer")),
        ("[time]\na = 1", ("time", "must be a string", "table")),
        ('colour = "Farbe"', ("unknown label key 'colour'", "valid keys are")),
        ('"' + "k" * 5000 + '" = "x"', ("unknown label key", "...")),
        ("time = [" + "[" * 5000 + "]" * 5000 + "]", ("nested too deeply",)),
        ('percent_change = "seit {since:%Y}"', ("percent_change", "format spec")),
        ('bmd = "x" \n bmd = "y"', ("not valid TOML",)),
    ],
    ids=[
        "too-long",
        "nul",
        "tab",
        "bad-mathtext",
        "deep-braces",
        "deep-sqrt",
        "integer",
        "table",
        "unknown-key",
        "long-unknown-key",
        "nested-arrays",
        "format-spec",
        "repeated-key",
    ],
)
def test_bad_labels_are_one_line(tmp_path, capsys, toml, needles):
    labels = write(tmp_path / "labels.toml", toml + "\n")
    args = ["figures", "--labels", str(labels), "--out", str(tmp_path / "out")]
    refused_in_process(capsys, args, "--labels", *needles)
    assert not (tmp_path / "out").exists()


def test_label_placeholders_are_formatted_as_in_the_default(tmp_path, capsys):
    from bmdsim.__main__ import _labels

    path = write(
        tmp_path / "de.toml",
        'threshold = "T ≤ {threshold} {{SD}}"\ntime = "Zeit {nicht formatiert} [Jahre]"\nbmd = "KMD [g/cm$^{2}$]"\n',
    )
    labels = _labels(str(path))
    assert labels["threshold"].format(threshold=-2.5) == "T ≤ -2.5 {SD}"
    assert labels["time"] == "Zeit {nicht formatiert} [Jahre]"  # not a template: drawn as written
    out = tmp_path / "out"
    args = ["figures", "--labels", str(path), "--only", "crossing_times", "--format", "png", "--dpi", "30"]
    assert main([*args, "--out", str(out)]) == 0
    assert (out / "crossing_times.png").read_bytes().startswith(b"\x89PNG")


def test_label_fields_match_the_default_templates():
    """LABEL_FIELDS documents exactly the placeholders (and their formats) of the default texts."""
    import string

    from bmdsim.figures import FIGURE_LABELS
    from bmdsim.plot import labels_for

    found = {}
    for key, text in (labels_for() | FIGURE_LABELS).items():
        fields = {f: spec for _, f, spec, _ in string.Formatter().parse(text) if f is not None}
        if fields:
            found[key] = fields
    assert found == LABEL_FIELDS


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["figures", "--only", ","], ("--only", "no figure")),
        (["figures", "--only", "x" * 10_000], ("--only", "unknown figure", "...")),
        (["figures", "--scale", "0"], ("--scale",)),
        (["figures", "--scale", "nan"], ("--scale", "finite")),
    ],
)
def test_other_options_are_one_line(tmp_path, capsys, args, needles):
    line = refused_in_process(capsys, [*args, "--out", str(tmp_path / "out")], *needles)
    assert len(line) < 1000


def test_a_figure_refusing_user_options_is_one_line_but_a_bug_is_not_hidden(tmp_path, capsys, monkeypatch):
    import bmdsim.figures

    def refuse(**kwargs):
        raise ValueError("footnote too tall")

    monkeypatch.setattr(bmdsim.figures, "educator_figures", refuse)
    args = ["figures", "--only", "crossing_times", "--out", str(tmp_path / "out")]
    refused_in_process(capsys, [*args, "--scale", "2"], "--labels or --scale", "footnote too tall")
    with pytest.raises(ValueError, match="footnote too tall"):  # defaults failing is a bug: not turned into exit 2
        main(args)
    assert not (tmp_path / "out").exists()


# --- implausible units and the new scenario keys: exit 2, one line naming the key and the reason ----------------

AI = "[[exposure]]\nagent = 'aromatase_inhibitor'\nstop = 5\n"
POPULATION = "[population]\nn = 100\nseed = 1\npreset = 'default'\n"
EVENT = "[[exposure]]\nagent = 'zoledronic_acid'\nstart = { at_threshold = { site = 'femoral_neck', %s } }\n"
AT = "exposure[0].start.at_threshold"


@pytest.mark.parametrize(
    ("toml", "key", "reason"),
    [
        (PATIENT + "[[exposure]]\nagent = 'aromatase_inhibitor'\nstop = 60\n", "exposure[0].stop", "not months"),
        (PATIENT + "[[exposure]]\nagent = 'tamoxifen'\nduration = 120\n", "exposure[0].duration", "not months"),
        (PATIENT + "[[exposure]]\nagent = 'tamoxifen'\nstart = 30\nstop = 32\n", "exposure[0].start", "horizon"),
        (PATIENT + "[output]\nthresholds = [1.0, 2.0, 2.5]\n", "output.thresholds[0]", "minus sign"),
        (PATIENT + "[simulation]\nyears = 180\n", "simulation.years", "not months"),
        (PATIENT + EVENT % "threshold = 2", f"{AT}.threshold", "minus sign"),
        (
            PATIENT + EVENT % "threshold = -2, scan_interval = 24",
            f"{AT}.scan_interval",
            "months",
        ),
        (PATIENT + EVENT % "threshold = -2, delay = 3e6", f"{AT}.delay", "months"),
        (PATIENT + AI + "[[policy]]\nname = 'p'\nscan_interval = 12\n", "policy[0].scan_interval", "months"),
        (PATIENT + AI + "[[policy]]\nname = 'p'\nduration = 36\n", "policy[0].duration", "months"),
        (
            PATIENT + AI + "[[policy]]\nname = 'p'\n[compare_policies]\nthreshold = 2\n",
            "compare_policies.threshold",
            "sign",
        ),
        (POPULATION + "[output]\ntimes = [0, 120]\n", "output.times[1]", "months"),
        (POPULATION.replace("n = 100", "n = 10000000"), "population.n", "[1, 1000000]"),
        (POPULATION + "[output]\ntimes = [" + ", ".join(str(i / 100) for i in range(300)) + "]", "output.times", "200"),
        (POPULATION + "[variability]\ncv = 1e308\n", "variability", "plausible range"),
        (POPULATION + "[[policy]]\nname = '" + "p" * 300 + "'\n", "policy[0]", "200 characters"),
        (POPULATION + AI + "[simulation]\nparameter_draws = 1000\n", "simulation.parameter_draws", "[0, 100]"),
        (POPULATION + AI + "[simulation]\nchunk_size = " + "9" * 400 + "\n", "simulation.chunk_size", "[1, 1000000]"),
        (POPULATION + AI + "[simulation]\nworkers = 1e9\n", "simulation.workers", "whole number of threads in [1, 64]"),
        (PATIENT + AI + "[simulation]\nworkers = 2\n", "simulation.workers", "for a [population]"),
        (PATIENT + AI + "[[policy]]\nname = 'p'\nrule = 'hadji_2099'\n", "policy[0].rule", "hadji_2017, hadji_2025"),
    ],
    ids=[
        "ai-stop-60",
        "duration-120",
        "start-after-horizon",
        "positive-thresholds",
        "horizon-180",
        "event-positive-threshold",
        "event-scan-24",
        "event-delay-huge",
        "policy-scan-12",
        "policy-duration-36",
        "policy-positive-threshold",
        "times-beyond-horizon",
        "population-too-large",
        "too-many-times",
        "huge-cv",
        "long-policy-name",
        "parameter-draws-1000",
        "chunk-size-huge",
        "workers-float",
        "workers-without-population",
        "unknown-guideline",
    ],
)
def test_implausible_and_hostile_scenario_values_are_one_line(tmp_path, capsys, toml, key, reason):
    path = write(tmp_path / "case.toml", toml)
    line = refused_in_process(capsys, ["run", str(path), "--out", str(tmp_path / "out")], f"{path}: {key}: ", reason)
    assert len(line) < 1000
    assert not (tmp_path / "out").exists()


def test_examples_copy_into_a_file_is_refused(tmp_path, capsys):
    blocker = write(tmp_path / "not-a-folder", "x")
    refused_in_process(capsys, ["examples", "--copy", str(blocker)], "--copy", "not a folder")
    assert blocker.read_text() == "x"
