from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from tunecost.search_spaces import adabelief_grid, paper_grid
from tunecost.service.kinds.search import SearchSpec

BASE = {"kind": "search", "task": "digits-mlp", "optimizer": "adam", "searcher": "tpe", "budget": 12}


def test_defaults_fill_in() -> None:
    s = SearchSpec.model_validate(BASE)
    assert s.space == paper_grid()
    assert s.recipe["epochs"] == 20 and s.searcher_options["n_startup_trials"] == 10
    assert s.resources.cpu == 1 and s.resources.gpu == 0


def test_adabelief_defaults_to_its_shifted_grid() -> None:
    from tunecost.service.specs import default_space

    assert default_space("adabelief") == adabelief_grid()
    assert SearchSpec.model_validate({**BASE, "optimizer": "adabelief"}).space == adabelief_grid()


def test_recipe_hash_changes_with_the_recipe() -> None:
    a = SearchSpec.model_validate(BASE)
    b = SearchSpec.model_validate({**BASE, "recipe": {"epochs": 5}})
    assert a.recipe_hash != b.recipe_hash
    assert a.recipe_hash == SearchSpec.model_validate({**BASE, "recipe": {"epochs": 20}}).recipe_hash


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"task": "imagenet"}, "task"),
        ({"optimizer": "sophia"}, "optimizer"),
        ({"searcher": "bayes"}, "searcher"),
        ({"budget": 0}, "budget"),
        ({"budget": 442}, "budget"),  # more than the 441 configs of the paper grid
        ({"seed": -1}, "seed"),
        ({"space": {"type": "grid", "alphas": [], "epsilons": [1e-8]}}, "space"),
        ({"space": {"type": "grid", "alphas": [-1.0], "epsilons": [1e-8]}}, "space"),
        ({"space": {"type": "box", "alpha": [1e-3, 1.0], "epsilon": [0.0, 1.0]}}, "space"),
        ({"searcher_options": {"nope": 1}}, "searcher_options"),
        ({"recipe": {"epochz": 3}}, "recipe"),
        ({"recipe": {"epochs": "many"}}, "recipe"),
        ({"resources": {"cpu": 0}}, "resources"),
        ({"reference_error": -1}, "reference_error"),
        ({"colour": "blue"}, "colour"),
        (
            {"searcher": "grid", "space": {"type": "box", "alpha": [1e-4, 1.0], "epsilon": [1e-8, 1.0]}},
            "space",
        ),
        ({"searcher": "gld", "searcher_options": {"start": "centre"}}, "searcher_options"),
    ],
)
def test_bad_input_names_the_field(change: dict, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        SearchSpec.model_validate({**BASE, **change})
    assert info.value.errors()[0]["loc"][0] == field


SWEEP = {"kind": "sweep", "task": "digits-mlp", "optimizer": "adam", "recipe": {"epochs": 5}}
HALVING = {"method": "successive_halving", "eta": 3, "min_epochs": 1}


@pytest.mark.parametrize(
    ("change", "loc", "says"),
    [
        ({"fidelity": {**HALVING, "eta": 1}}, ("fidelity", "eta"), "greater than or equal to 2"),
        ({"fidelity": {**HALVING, "min_epochs": 6}}, ("fidelity",), "above the recipe's 5 epochs"),
        ({"fidelity": {**HALVING, "method": "hyperband"}}, ("fidelity", "method"), "successive_halving"),
        (
            {"task": "synthetic-bowl", "recipe": {}, "fidelity": HALVING},
            ("fidelity",),
            "trains no epochs",
        ),
    ],
)
def test_a_bad_fidelity_names_its_field(change: dict, loc: tuple[str, ...], says: str) -> None:
    from tunecost.service.kinds.sweep import SweepSpec

    with pytest.raises(ValidationError) as info:
        SweepSpec.model_validate({**SWEEP, **change})
    error = info.value.errors()[0]
    assert error["loc"] == loc and says in error["msg"]


def test_successive_halving_rungs_follow_eta_up_to_the_recipe_epochs() -> None:
    from tunecost.service.analysis.fidelity import Fidelity

    rule = Fidelity.model_validate(HALVING)
    assert rule.rungs(5) == [1, 3, 5] and rule.rungs(20) == [1, 3, 9, 20] and rule.rungs(1) == [1]
    assert Fidelity.model_validate({**HALVING, "min_epochs": 2, "eta": 2}).rungs(8) == [2, 4, 8]
    scores = {(0, 0): 5.0, (0, 1): None, (1, 0): 3.0, (1, 1): 3.0, (2, 0): 9.0, (2, 1): 1.0}
    strict = Fidelity.model_validate({**HALVING, "margin": None})
    assert strict.promote(scores) == [(2, 1), (1, 0)], "best floor(6/3), ties by grid position, diverged out"
    assert rule.margin == 5.0 and rule.promote(scores) == [(2, 1), (1, 0), (1, 1), (0, 0)], "within 5 too"
    assert Fidelity.model_validate({**HALVING, "margin": 2.0}).promote(scores) == [(2, 1), (1, 0), (1, 1)]


def test_the_table_header_says_what_each_landscape_cost_and_saved() -> None:
    from tunecost.service.analysis.comparison import LandscapeFacts
    from tunecost.service.analysis.fidelity import Fidelity
    from tunecost.service.analysis.report import compute_text

    facts = {
        "landscape_id": 1,
        "task": "digits-mlp",
        "optimizer": "adam",
        "label": "adam",
        "metric": "validation error",
        "unit": "%",
        "best_error": 2.0,
        "seeds": [0],
        "noise_std_median": None,
        "share_within": {},
        "random_expected_trials": {},
    }
    halving = Fidelity.model_validate(HALVING).provenance(5)
    compute = {"epochs": 833, "full_epochs": 2205, "share": 833 / 2205, "seconds": 41.2}
    text = compute_text(LandscapeFacts(**facts, fidelity=halving, compute=compute))
    assert text == (
        "; successive halving (eta 3, rungs 1/3/5 epochs, best 1/3 and all within 5 of a rung's best go on; stopped nodes score their rung): "
        "833 of 2,205 epochs (38%, saving 62%), 41 s of training"
    )
    full = {"epochs": 2205, "full_epochs": 2205, "share": 1.0, "seconds": 90.0}
    assert compute_text(LandscapeFacts(**facts, compute=full)).startswith("; full fidelity: 2,205 of 2,205")
    assert compute_text(LandscapeFacts(**facts)) == "", "an imported landscape: nothing to say"


@pytest.mark.parametrize("margin", [0.0, None])
def test_the_textbook_rule_with_margin_0_keeps_floor_n_over_eta_nodes_per_rung(margin: float | None) -> None:
    """A 9 x 9 synthetic landscape whose nodes all lie within a point of each other, 20 epochs,
    eta 3: 81 nodes, then 27, 9, 3 reach the rungs 1, 3, 9, 20 (the default margin of 5 points
    would take all 81 to the end)."""
    from tunecost.service.analysis.fidelity import Fidelity, derive

    rng = np.random.default_rng(0)
    finals = 10 + rng.random((9, 9))
    curves = [[[list(finals[i, j] + 5.0 / np.arange(1, 21)) for j in range(9)] for i in range(9)]]
    textbook = derive(curves, Fidelity.model_validate({**HALVING, "margin": margin}), 20, 90.0)
    reached = list(textbook.epochs.values())
    assert [sum(r >= rung for r in reached) for rung in (1, 3, 9, 20)] == [81, 27, 9, 3]
    wide = derive(curves, Fidelity.model_validate(HALVING), 20, 90.0)
    assert all(r == 20 for r in wide.epochs.values())


def test_an_mse_task_must_set_its_halving_margin_in_its_own_units() -> None:
    from tunecost.service.kinds.sweep import SweepSpec

    spec = {"kind": "sweep", "task": "diabetes-mlp", "optimizer": "adam", "recipe": {"epochs": 3}}
    with pytest.raises(ValidationError) as info:
        SweepSpec.model_validate({**spec, "fidelity": HALVING})
    assert "set fidelity.margin in its units" in info.value.errors()[0]["msg"]
    ok = SweepSpec.model_validate({**spec, "fidelity": {**HALVING, "margin": 0.05}})
    assert ok.fidelity is not None and ok.fidelity.margin == 0.05


def test_an_optimizer_without_epsilon_is_tuned_over_alpha_alone() -> None:
    """SGD and Lion read no epsilon: their default grid is the paper's 21 alphas and one
    epsilon, and a grid of several epsilons is refused (each would be the same training run,
    counted as another trial)."""
    from tunecost.search_spaces import NAMED_GRIDS
    from tunecost.service.kinds.sweep import SweepSpec

    sgd = SearchSpec.model_validate({**BASE, "optimizer": "sgd"})
    assert sgd.space == NAMED_GRIDS["paper-alpha"]() and sgd.space.shape == (21, 1)
    assert SweepSpec.model_validate(
        {"kind": "sweep", "task": "digits-mlp", "optimizer": "sgd"}
    ).space.shape == (21, 1)
    for spec in ({**BASE, "optimizer": "sgd", "space": {"type": "grid", "name": "paper"}},):
        with pytest.raises(ValidationError, match="sgd has no epsilon: give one epsilon value"):
            SearchSpec.model_validate(spec)
    with pytest.raises(ValidationError, match="sgd has no epsilon"):
        SweepSpec.model_validate(
            {
                "kind": "sweep",
                "task": "digits-mlp",
                "optimizer": "sgd",
                "space": {"alphas": [0.1], "epsilons": [1, 2]},
            }
        )


def test_an_alpha_only_landscape_replays_as_distinct_alphas_and_a_larger_budget_ends_when_all_are_tried() -> (
    None
):
    """Trials count distinct alphas: on 21 configs a run of budget 100 tries each once and ends."""
    from tunecost.search_spaces import NAMED_GRIDS
    from tunecost.service.analysis.replay import Board, replay

    grid = NAMED_GRIDS["paper-alpha"]()
    errors = (np.abs(np.arange(21) - 12.0) + 3.0)[:, None]
    for searcher in ("random", "tpe", "cgld", "grid"):
        run = replay(searcher, Board(grid=grid, errors=errors), 0, 100, [0.5])
        assert len(run.curve) <= 21 and run.trials_to["0.5"] is not None and run.curve[-1] == 0.0
