"""One registry for every searcher: ``build_sampler(name, space, seed=..., options=...)``.

Each entry returns a real ``optuna.samplers.BaseSampler`` for a tunecost space; options
are validated here, so a bad option is a :class:`SpaceError` naming
``searcher_options.<key>``. Optuna's samplers (random, TPE, CMA-ES) are used as they
are; grid, GLD and CGLD are hand-written (:mod:`search_spaces._grid`,
:mod:`search_spaces._gld`) because no maintained library has them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna

from search_spaces._gld import CGLDSampler, GLDSampler
from search_spaces._grid import ShuffledGridSampler
from search_spaces._spaces import ALPHA, EPSILON, GridSpace, Space, SpaceError


@dataclass(frozen=True)
class Option:
    types: tuple[type, ...]
    default: Any
    help: str
    check: Callable[[Any], str | None] | None = None  # returns an error message or None

    def to_json(self) -> dict[str, Any]:
        return {
            "type": " | ".join(t.__name__ for t in self.types),
            "default": self.default,
            "help": self.help,
        }


def _at_least_one(value: Any) -> str | None:
    return None if value >= 1 else f"must be >= 1, got {value!r}"


def _positive(value: Any) -> str | None:
    return None if value > 0 else f"must be > 0, got {value!r}"


def _start(value: Any) -> str | None:
    if isinstance(value, str):
        return (
            None
            if value in ("random", "default")
            else f"must be 'random', 'default' or {{'alpha': ..., 'epsilon': ...}}, got {value!r}"
        )
    if set(value) != {ALPHA, EPSILON} or not all(
        isinstance(v, int | float) and v > 0 for v in value.values()
    ):
        return f"a start point must be {{'alpha': a, 'epsilon': e}} with a, e > 0, got {value!r}"
    return None


Builder = Callable[[Space, int, dict[str, Any], "tuple[float, float] | None"], optuna.samplers.BaseSampler]


@dataclass(frozen=True)
class SearcherInfo:
    name: str
    description: str
    options: dict[str, Option] = field(default_factory=dict)
    build: Builder | None = None
    hand_written: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "hand_written": self.hand_written,
            "options": {key: option.to_json() for key, option in self.options.items()},
        }


def _random(
    space: Space, seed: int, opts: dict[str, Any], default: tuple[float, float] | None
) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler(seed=seed)


def _tpe(
    space: Space, seed: int, opts: dict[str, Any], default: tuple[float, float] | None
) -> optuna.samplers.BaseSampler:
    return optuna.samplers.TPESampler(
        seed=seed,
        n_startup_trials=opts["n_startup_trials"],
        multivariate=opts["multivariate"],
        constant_liar=True,  # keeps concurrent workers from proposing the same point
    )


def _cmaes(
    space: Space, seed: int, opts: dict[str, Any], default: tuple[float, float] | None
) -> optuna.samplers.BaseSampler:
    with_margin = opts["with_margin"]
    if with_margin is None:
        # CMA-ES with margin (Hamano et al. 2022) keeps the search from collapsing onto one
        # node of a discrete grid; on a continuous box plain CMA-ES is right.
        with_margin = isinstance(space, GridSpace)
    with warnings.catch_warnings():
        # `with_margin` is marked experimental in Optuna 5.0; the pinned version is what we test.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.CmaEsSampler(
            seed=seed,
            n_startup_trials=opts["n_startup_trials"],
            with_margin=with_margin,
            popsize=opts["popsize"],
            independent_sampler=optuna.samplers.RandomSampler(seed=seed),
            warn_independent_sampling=False,
        )


def _grid(
    space: Space, seed: int, opts: dict[str, Any], default: tuple[float, float] | None
) -> optuna.samplers.BaseSampler:
    if not isinstance(space, GridSpace):
        raise SpaceError("searcher", "'grid' needs a grid space, not a continuous box")
    return ShuffledGridSampler(seed=seed, search_space=space.distributions())


def _start_params(space: Space, start: Any, default: tuple[float, float] | None) -> str | dict[str, Any]:
    if start == "random":
        return "random"
    if start == "default":
        if default is None:
            raise SpaceError(
                "searcher_options.start", "'default' needs the optimizer's default (alpha, epsilon)"
            )
        alpha, epsilon = default
    else:
        alpha, epsilon = start[ALPHA], start[EPSILON]
    return space.encode(alpha, epsilon)


def _gld_like(cls: type[GLDSampler]) -> Builder:
    def build(
        space: Space, seed: int, opts: dict[str, Any], default: tuple[float, float] | None
    ) -> optuna.samplers.BaseSampler:
        return cls(
            seed=seed,
            search_radius=opts["search_radius"],
            min_radius=opts["min_radius"],
            start=_start_params(space, opts["start"], default),
            skip_evaluated=opts["skip_evaluated"],
        )

    return build


_GLD_OPTIONS = {
    "search_radius": Option(
        (float, int), None, "R in grid cells; default the space's diameter (CGLD: the axis length)", _positive
    ),
    "min_radius": Option((float, int), 1.0, "r in grid cells: the smallest radius of a round", _positive),
    "start": Option(
        (str, dict),
        "random",
        "'random' (seeded), 'default' (the optimizer's library defaults) or {'alpha': a, 'epsilon': e}",
        _start,
    ),
    "skip_evaluated": Option(
        (bool,), True, "redraw candidates that land on evaluated nodes, so the budget is always spent"
    ),
}

SEARCHERS: dict[str, SearcherInfo] = {
    info.name: info
    for info in [
        SearcherInfo(
            "grid", "Exhaustive grid search in a seeded random order, O(1) per suggestion.", {}, _grid, True
        ),
        SearcherInfo("random", "Uniform random search (Optuna RandomSampler).", {}, _random),
        SearcherInfo(
            "tpe",
            "Tree-structured Parzen Estimator (Optuna TPESampler).",
            {
                "n_startup_trials": Option(
                    (int,), 10, "random trials before TPE starts modelling", _at_least_one
                ),
                "multivariate": Option((bool,), True, "model alpha and epsilon jointly"),
            },
            _tpe,
        ),
        SearcherInfo(
            "cmaes",
            "CMA-ES (Optuna CmaEsSampler); with margin on grids.",
            {
                "n_startup_trials": Option((int,), 1, "random trials before CMA-ES starts", _at_least_one),
                "with_margin": Option(
                    (bool,), None, "CMA-ES with margin; default: on for grids, off for boxes"
                ),
                "popsize": Option(
                    (int,), None, "population size; default: CMA-ES's 4 + 3 ln(n)", _at_least_one
                ),
            },
            _cmaes,
        ),
        SearcherInfo(
            "gld",
            "Gradientless Descent, GLD-Search (Golovin et al. 2020): a ladder of radii around the incumbent.",
            _GLD_OPTIONS,
            _gld_like(GLDSampler),
            True,
        ),
        SearcherInfo(
            "cgld",
            "Coordinate GLD: each round moves along one axis, alternating alpha-rounds and epsilon-rounds.",
            _GLD_OPTIONS,
            _gld_like(CGLDSampler),
            True,
        ),
    ]
}


def validate_options(name: str, options: dict[str, Any] | None) -> dict[str, Any]:
    """Fill defaults and check types and values; raises SpaceError naming the bad option."""
    if name not in SEARCHERS:
        raise SpaceError("searcher", f"unknown searcher {name!r}; known: {sorted(SEARCHERS)}")
    info = SEARCHERS[name]
    options = dict(options or {})
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        raise SpaceError(
            f"searcher_options.{unknown[0]}", f"unknown option for {name!r}; known: {sorted(info.options)}"
        )
    out: dict[str, Any] = {}
    for key, option in info.options.items():
        value = options.get(key, option.default)
        if value is not None:
            is_bool = isinstance(value, bool)
            if not isinstance(value, option.types) or (is_bool and bool not in option.types):
                expected = " or ".join(t.__name__ for t in option.types)
                raise SpaceError(f"searcher_options.{key}", f"must be {expected}, got {value!r}")
            problem = option.check(value) if option.check else None
            if problem:
                raise SpaceError(f"searcher_options.{key}", problem)
        out[key] = value
    return out


def build_sampler(
    name: str,
    space: Space,
    *,
    seed: int,
    options: dict[str, Any] | None = None,
    default_point: tuple[float, float] | None = None,
) -> optuna.samplers.BaseSampler:
    """The Optuna sampler for searcher ``name`` on ``space``, seeded with ``seed``.

    ``default_point`` is the optimizer's library-default (alpha, epsilon), for GLD's
    ``start="default"``.
    """
    opts = validate_options(name, options)
    builder = SEARCHERS[name].build
    if builder is None:  # pragma: no cover - every registered searcher has a builder
        raise SpaceError("searcher", f"searcher {name!r} cannot be built")
    return builder(space, seed, opts, default_point)
