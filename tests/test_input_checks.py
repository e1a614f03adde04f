"""The shared input checks (bmdsim._validation): one way to refuse bad input, naming the field."""

from __future__ import annotations

import pytest

from bmdsim._validation import (
    as_finite_float,
    as_float_array,
    as_int,
    check_allocation,
    check_choice,
    check_text,
)


def test_huge_integers_are_refused_by_name_without_overflow_or_a_huge_message():
    with pytest.raises(ValueError, match="years must be a finite number, got an integer of 1329 bits"):
        as_finite_float("years", 10**400)
    with pytest.raises(ValueError, match=r"n must lie in \[0, 5\], got an integer of") as info:
        as_int("n", 10**5000, 0, 5)
    assert len(str(info.value)) < 200


def test_ragged_arrays_and_bools_are_type_errors_naming_the_field():
    with pytest.raises(TypeError, match="times must be a real number or a 1-D array"):
        as_float_array("times", [[1, 2], [3]])
    with pytest.raises(TypeError, match="times"):
        as_float_array("times", ["5", True])
    with pytest.raises(TypeError, match="times"):
        as_float_array("times", [1j])


def test_long_bad_choices_are_quoted_short():
    with pytest.raises(ValueError, match="unknown site") as info:
        check_choice("site", "x" * 100_000, ["femoral_neck"])
    assert len(str(info.value)) < 200


def test_text_must_be_bounded_valid_unicode():
    assert check_text("caption", "Figure 1") == "Figure 1"
    with pytest.raises(ValueError, match="caption must be valid Unicode"):
        check_text("caption", "bad \udcff")
    with pytest.raises(ValueError, match="caption must be at most 10 characters"):
        check_text("caption", "x" * 11, max_chars=10)
    with pytest.raises(TypeError, match="caption must be a string"):
        check_text("caption", 5)


def test_allocation_limit_names_the_need_in_gib():
    check_allocation("a grid", 1000)
    with pytest.raises(ValueError, match=r"a grid would need 447 GiB \(limit 1 GiB per array\); use a coarser step"):
        check_allocation("a grid", 60e9, hint="use a coarser step")
    with pytest.raises(ValueError, match="more memory than any machine has"):
        check_allocation("a grid", float("inf"))


def test_bounded_items_reads_an_endless_iterator_only_as_far_as_the_limit():
    import itertools

    from bmdsim._validation import bounded_items

    assert bounded_items(iter([1, 2, 3]), 3, "too many") == [1, 2, 3]
    with pytest.raises(ValueError, match="^too many$"):
        bounded_items(itertools.count(), 5, "too many")


def test_site_and_figure_names_from_an_endless_iterator_are_refused_not_read_forever():
    import itertools

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import bmdsim
    from bmdsim import figures, plot

    traj = bmdsim.simulate(
        bmdsim.Patient(age=63, t_score={"femoral_neck": -1.5}),
        bmdsim.Regimen([bmdsim.Exposure("aromatase_inhibitor", start=0, stop=5)]),
        years=10,
    )
    with pytest.raises(ValueError, match="sites must name"):
        plot.plot_trajectory(traj, sites=itertools.repeat("femoral_neck"))
    plt.close("all")
    with pytest.raises(ValueError, match="names must name each figure"):
        figures.check_names(itertools.repeat("ai_vs_natural"))
