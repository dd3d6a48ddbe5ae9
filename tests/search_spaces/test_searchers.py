"""One contract for every searcher, plus what GLD and CGLD must do."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest

from tunecost.search_spaces import (
    SEARCHERS,
    BoxSpace,
    CGLDSampler,
    GLDSampler,
    GridSpace,
    ShuffledGridSampler,
    SpaceError,
    build_sampler,
    paper_grid,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)
GRID = paper_grid()
BOX = BoxSpace((1e-6, 1.0), (1e-8, 1.0))
ALL = sorted(SEARCHERS)
CONTINUOUS = [n for n in ALL if n != "grid"]


def bowl(alpha: float, eps: float, center: tuple[float, float] = (1e-5, 1e-6)) -> float:
    return (math.log10(alpha / center[0])) ** 2 + (math.log10(eps / center[1])) ** 2


def run(
    name: str, space: GridSpace | BoxSpace, seed: int, n: int = 20, storage: str | None = None, **opts: object
) -> list[tuple[float, float]]:
    study = optuna.create_study(sampler=build_sampler(name, space, seed=seed, options=opts), storage=storage)
    points = []
    for _ in range(n):
        trial = study.ask(space.distributions())
        alpha, eps = space.decode(trial.params)
        study.tell(trial, bowl(alpha, eps))
        points.append((alpha, eps))
    return points


@pytest.mark.parametrize("name", ALL)
def test_grid_suggestions_are_grid_nodes(name: str) -> None:
    for alpha, eps in run(name, GRID, seed=0, n=30):
        assert alpha in GRID.alphas and eps in GRID.epsilons


@pytest.mark.parametrize("name", CONTINUOUS)
def test_box_suggestions_stay_in_bounds_and_use_log_scale(name: str) -> None:
    points = run(name, BOX, seed=0, n=30)
    assert all(BOX.contains(a, e) for a, e in points)
    # a linear-scale sampler would almost never go below 1e-3 on [1e-6, 1]
    assert any(a < 1e-3 for a, _ in points) and any(e < 1e-3 for _, e in points)


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_suggestions_different_seed_different(name: str) -> None:
    assert run(name, GRID, seed=7) == run(name, GRID, seed=7)
    assert run(name, GRID, seed=7) != run(name, GRID, seed=8)


@pytest.mark.parametrize("name", ALL)
def test_works_with_rdb_storage(name: str, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    points = run(name, GRID, seed=0, n=12, storage=storage)
    assert len(points) == 12
    study = optuna.load_study(study_name=optuna.get_all_study_names(storage)[0], storage=storage)
    assert len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) == 12


@pytest.mark.parametrize("name", ALL)
def test_works_with_several_threads(name: str) -> None:
    study = optuna.create_study(sampler=build_sampler(name, GRID, seed=0))

    def objective(trial: optuna.Trial) -> float:
        alpha, eps = GRID.decode(
            {k: trial.suggest_int(k, d.low, d.high) for k, d in GRID.distributions().items()}
        )
        return bowl(alpha, eps)

    study.optimize(objective, n_trials=40, n_jobs=4)
    trials = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(trials) == 40
    if name in ("grid", "gld", "cgld"):  # these never repeat a node while unseen ones remain
        assert len({(t.params["alpha_index"], t.params["epsilon_index"]) for t in trials}) == 40


def trials_to_optimum(
    make: Callable[[int], optuna.samplers.BaseSampler],
    f: Callable[[int, int], float],
    seed: int,
    cap: int = 441,
) -> int:
    study = optuna.create_study(sampler=make(seed))
    best = min(f(i, j) for i in range(21) for j in range(21))
    for n in range(1, cap + 1):
        trial = study.ask(GRID.distributions())
        value = f(trial.params["alpha_index"], trial.params["epsilon_index"])
        study.tell(trial, value)
        if value == best:
            return n
    return cap + 1


def separable(i: int, j: int) -> float:
    return (i - 13) ** 2 + (j - 4) ** 2


def test_gld_reaches_the_minimum_of_a_convex_bowl() -> None:
    counts = [trials_to_optimum(lambda s: GLDSampler(seed=s), separable, seed) for seed in range(20)]
    assert max(counts) <= 150 and statistics.median(counts) <= 60  # random search: median ~220


def test_cgld_beats_gld_on_a_separable_objective() -> None:
    gld = [trials_to_optimum(lambda s: GLDSampler(seed=s), separable, seed) for seed in range(50)]
    cgld = [trials_to_optimum(lambda s: CGLDSampler(seed=s), separable, seed) for seed in range(50)]
    assert statistics.median(cgld) < statistics.median(gld)


@pytest.mark.parametrize("cls", [GLDSampler, CGLDSampler, ShuffledGridSampler])
@pytest.mark.parametrize(
    "shape",
    [(3, 3), pytest.param((21, 21), marks=pytest.mark.slow), (2, 40)],  # the paper grid: 30 s
)
def test_a_budget_of_n_distinct_nodes_is_always_reached(cls: type, shape: tuple[int, int]) -> None:
    grid = GridSpace(
        tuple(10.0**-k for k in range(shape[0], 0, -1)), tuple(10.0**-k for k in range(shape[1] + 5, 5, -1))
    )
    size = shape[0] * shape[1]

    def coupled(p: dict[str, int]) -> float:  # a diagonal valley: GLD's rounds exhaust it early
        return abs(p["alpha_index"] - p["epsilon_index"]) + 0.01 * p["alpha_index"]

    for seed in range(3):
        study = optuna.create_study(sampler=cls(seed=seed))
        seen = set()
        for _ in range(size):
            trial = study.ask(grid.distributions())
            seen.add((trial.params["alpha_index"], trial.params["epsilon_index"]))
            study.tell(trial, coupled(trial.params))
        assert len(seen) == size, f"{cls.__name__} repeated a node before covering the grid"


def test_plain_gld_can_repeat_nodes() -> None:
    study = optuna.create_study(sampler=GLDSampler(seed=0, skip_evaluated=False))
    keys = []
    for _ in range(60):
        trial = study.ask(GRID.distributions())
        keys.append((trial.params["alpha_index"], trial.params["epsilon_index"]))
        study.tell(trial, separable(*keys[-1]))
    assert len(set(keys)) < 60


@pytest.mark.parametrize("cls", [GLDSampler, CGLDSampler])
def test_gld_works_in_plain_optuna_code(cls: type) -> None:
    """Float (log), int and categorical parameters, define-by-run, no tunecost space."""

    def objective(trial: optuna.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-5, 1.0, log=True)
        layers = trial.suggest_int("layers", 1, 8)
        act = trial.suggest_categorical("act", ["relu", "tanh"])
        return (math.log10(lr) + 3) ** 2 + (layers - 5) ** 2 + (act == "tanh")

    study = optuna.create_study(sampler=cls(seed=0))
    study.optimize(objective, n_trials=60)
    assert study.best_value < 1.0
    assert all(1e-5 <= t.params["lr"] <= 1.0 and 1 <= t.params["layers"] <= 8 for t in study.trials)


def test_start_point_is_the_first_trial() -> None:
    sampler = build_sampler("gld", GRID, seed=0, options={"start": "default"}, default_point=(1e-3, 1e-8))
    study = optuna.create_study(sampler=sampler)
    first = study.ask(GRID.distributions())
    assert GRID.decode(first.params) == (1e-3, 1e-8)
    study.tell(first, 1.0)
    second = study.ask(GRID.distributions())
    assert GRID.decode(second.params) != (1e-3, 1e-8)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"search_radius": -1.0}, "Invalid search_radius: -1.0"),
        ({"min_radius": 0}, "Invalid min_radius: 0"),
        ({"search_radius": 0.5, "min_radius": 1.0}, "Invalid search_radius: 0.5"),
        ({"start": "middle"}, "Invalid start: 'middle'"),
        ({"max_redraws": 0}, "Invalid max_redraws: 0"),
    ],
)
def test_bad_gld_arguments_raise_naming_them(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GLDSampler(**kwargs)


@pytest.mark.parametrize(
    ("name", "options", "field"),
    [
        ("gld", {"start": "middle"}, "searcher_options.start"),
        ("cgld", {"start": {"alpha": -1, "epsilon": 1e-8}}, "searcher_options.start"),
        ("gld", {"min_radius": 0}, "searcher_options.min_radius"),
        ("gld", {"skip_evaluated": "yes"}, "searcher_options.skip_evaluated"),
        ("tpe", {"n_startup_trials": 0}, "searcher_options.n_startup_trials"),
    ],
)
def test_bad_registry_options_name_the_option(name: str, options: dict, field: str) -> None:
    with pytest.raises(SpaceError) as info:
        build_sampler(name, GRID, seed=0, options=options)
    assert info.value.field == field


def test_grid_search_refuses_a_box() -> None:
    with pytest.raises(SpaceError) as info:
        build_sampler("grid", BOX, seed=0)
    assert info.value.field == "searcher"


def test_grid_search_is_exhaustive_without_repeats() -> None:
    points = run("grid", GRID, seed=3, n=441)
    assert len(set(points)) == 441


@pytest.mark.parametrize("name", ALL)
def test_samplers_pickle_and_continue_identically(name: str) -> None:
    """Ray Tune pickles its searcher with the experiment; a restored copy must go on the same way."""
    import pickle

    def step(study: optuna.Study) -> tuple[int, int]:
        trial = study.ask(GRID.distributions())
        key = (trial.params["alpha_index"], trial.params["epsilon_index"])
        study.tell(trial, separable(*key))
        return key

    original = optuna.create_study(sampler=build_sampler(name, GRID, seed=0))
    for _ in range(5):
        step(original)
    restored = optuna.create_study(sampler=pickle.loads(pickle.dumps(original.sampler)))
    restored.add_trials(original.trials)
    assert [step(original) for _ in range(5)] == [step(restored) for _ in range(5)]
