"""One registry for every searcher: ``build_sampler(name, space, seed, options)``.

Each entry is built lazily (the import happens on use) and returns a real
``optuna.samplers.BaseSampler``; options are validated here so that a bad option
is a clear :class:`SpaceError` naming ``searcher_options.<key>``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna

from search_spaces._spaces import GridSpace, Space, SpaceError


@dataclass(frozen=True)
class SearcherInfo:
    name: str
    description: str
    # option name -> (type, default, help)
    options: dict[str, tuple[type, Any, str]] = field(default_factory=dict)
    build: Callable[[Space, int, dict[str, Any]], optuna.samplers.BaseSampler] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "options": {
                key: {"type": typ.__name__, "default": default, "help": help_}
                for key, (typ, default, help_) in self.options.items()
            },
        }


def _random(space: Space, seed: int, opts: dict[str, Any]) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler(seed=seed)


def _tpe(space: Space, seed: int, opts: dict[str, Any]) -> optuna.samplers.BaseSampler:
    return optuna.samplers.TPESampler(
        seed=seed,
        n_startup_trials=opts["n_startup_trials"],
        multivariate=opts["multivariate"],
        constant_liar=True,  # keeps concurrent workers from proposing the same point
    )


def _cmaes(space: Space, seed: int, opts: dict[str, Any]) -> optuna.samplers.BaseSampler:
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


SEARCHERS: dict[str, SearcherInfo] = {
    "random": SearcherInfo("random", "Uniform random search (Optuna RandomSampler).", {}, _random),
    "tpe": SearcherInfo(
        "tpe",
        "Tree-structured Parzen Estimator (Optuna TPESampler).",
        {
            "n_startup_trials": (int, 10, "random trials before TPE starts modelling"),
            "multivariate": (bool, True, "model alpha and epsilon jointly"),
        },
        _tpe,
    ),
    "cmaes": SearcherInfo(
        "cmaes",
        "CMA-ES (Optuna CmaEsSampler); with margin on grids.",
        {
            "n_startup_trials": (int, 1, "random trials before CMA-ES starts"),
            "with_margin": (bool, None, "CMA-ES with margin; default: on for grids, off for boxes"),
            "popsize": (int, None, "population size; default: CMA-ES's 4 + 3 ln(n)"),
        },
        _cmaes,
    ),
}


def validate_options(name: str, options: dict[str, Any] | None) -> dict[str, Any]:
    """Fill defaults and check types; raises SpaceError naming the bad option."""
    if name not in SEARCHERS:
        raise SpaceError("searcher", f"unknown searcher {name!r}; known: {sorted(SEARCHERS)}")
    info = SEARCHERS[name]
    options = dict(options or {})
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        raise SpaceError(
            f"searcher_options.{unknown[0]}",
            f"unknown option for {name!r}; known: {sorted(info.options)}",
        )
    out: dict[str, Any] = {}
    for key, (typ, default, _) in info.options.items():
        value = options.get(key, default)
        if value is not None and not (
            isinstance(value, typ) and not (typ is int and isinstance(value, bool))
        ):
            raise SpaceError(f"searcher_options.{key}", f"must be {typ.__name__}, got {value!r}")
        if typ is int and value is not None and value < 1:
            raise SpaceError(f"searcher_options.{key}", f"must be >= 1, got {value!r}")
        out[key] = value
    return out


def build_sampler(
    name: str, space: Space, *, seed: int, options: dict[str, Any] | None = None
) -> optuna.samplers.BaseSampler:
    """The Optuna sampler for searcher ``name`` on ``space``, seeded with ``seed``."""
    opts = validate_options(name, options)
    builder = SEARCHERS[name].build
    if builder is None:  # pragma: no cover - every registered searcher has a builder
        raise SpaceError("searcher", f"searcher {name!r} cannot be built")
    return builder(space, seed, opts)
