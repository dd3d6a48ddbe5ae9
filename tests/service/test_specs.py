from __future__ import annotations

import pytest
from pydantic import ValidationError

from search_spaces import adabelief_grid, paper_grid
from service.kinds.search import SearchSpec

BASE = {"kind": "search", "task": "digits-mlp", "optimizer": "adam", "searcher": "tpe", "budget": 12}


def test_defaults_fill_in() -> None:
    s = SearchSpec.model_validate(BASE)
    assert s.space == paper_grid()
    assert s.recipe["epochs"] == 20 and s.searcher_options["n_startup_trials"] == 10
    assert s.resources.cpu == 1 and s.resources.gpu == 0


def test_adabelief_defaults_to_its_shifted_grid() -> None:
    from service.specs import default_space

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
