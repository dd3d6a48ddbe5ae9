from __future__ import annotations

import pytest

from tunecost.search_spaces import (
    BoxSpace,
    GridSpace,
    SpaceError,
    adabelief_grid,
    paper_grid,
    space_from_json,
    validate_options,
)


def test_paper_grid_matches_section_7() -> None:
    grid = paper_grid()
    assert grid.shape == (21, 21)
    assert grid.alphas[0] == 5e-7 and grid.alphas[-1] == 5e3
    assert grid.epsilons[0] == 1e-8 and grid.epsilons[-1] == 1e2
    # half-decade steps: each value is 5x or 2x the previous one
    for values in (grid.alphas, grid.epsilons):
        ratios = {round(b / a, 6) for a, b in zip(values, values[1:], strict=False)}
        assert ratios == {2.0, 5.0}


def test_adabelief_grid_is_shifted_by_1e_minus_8() -> None:
    shifted = adabelief_grid()
    assert shifted.alphas == paper_grid().alphas
    assert shifted.epsilons[0] == pytest.approx(1e-16) and shifted.epsilons[-1] == pytest.approx(1e-6)
    for e, s in zip(paper_grid().epsilons, shifted.epsilons, strict=True):
        assert s == pytest.approx(e * 1e-8)


@pytest.mark.parametrize(
    "space", [paper_grid(), GridSpace((0.1, 1.0), (1e-8,)), BoxSpace((1e-4, 1.0), (1e-8, 1e-2))]
)
def test_json_round_trip(space: GridSpace | BoxSpace) -> None:
    assert space_from_json(space.to_json()) == space


def test_named_grid_from_json() -> None:
    assert space_from_json({"type": "grid", "name": "paper"}) == paper_grid()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"type": "grid", "alphas": [], "epsilons": [1e-8]}, "alphas"),
        ({"type": "grid", "alphas": [0.1, -1.0], "epsilons": [1e-8]}, "alphas"),
        ({"type": "grid", "alphas": [0.1] * 2, "epsilons": [1e-8]}, "alphas"),
        ({"type": "grid", "alphas": list(range(1, 10_002)), "epsilons": [1e-8]}, "alphas"),
        ({"type": "grid", "alphas": [0.1, 0.1], "epsilons": [1e-8]}, "alphas"),
        ({"type": "grid", "alphas": [0.1, "x"], "epsilons": [1e-8]}, "alphas"),
        ({"type": "grid", "name": "nope"}, "name"),
        ({"type": "box", "alpha": [1e-3], "epsilon": [1e-8, 1.0]}, "alpha"),
        ({"type": "box", "alpha": [1e-3, 1.0], "epsilon": [0, 1.0]}, "epsilon"),
        ({"type": "sphere"}, "type"),
    ],
)
def test_bad_spaces_name_the_field(data: dict, field: str) -> None:
    with pytest.raises(SpaceError) as info:
        space_from_json(data)
    assert info.value.field == field


def test_unsorted_grid_values_are_sorted() -> None:
    grid = space_from_json({"type": "grid", "alphas": [0.1, 0.001, 0.01], "epsilons": [1e-3, 1e-8]})
    assert grid.alphas == (0.001, 0.01, 0.1) and grid.epsilons == (1e-8, 1e-3)


def test_grid_decode_encode_round_trip() -> None:
    grid = paper_grid()
    for i in (0, 7, 20):
        for j in (0, 13, 20):
            alpha, eps = grid.decode({"alpha_index": i, "epsilon_index": j})
            assert grid.encode(alpha, eps) == {"alpha_index": i, "epsilon_index": j}


def test_unknown_option_names_it() -> None:
    with pytest.raises(SpaceError) as info:
        validate_options("tpe", {"n_startup": 3})
    assert info.value.field == "searcher_options.n_startup"
    with pytest.raises(SpaceError) as info:
        validate_options("tpe", {"n_startup_trials": "3"})
    assert info.value.field == "searcher_options.n_startup_trials"
