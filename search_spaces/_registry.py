"""One registry for every searcher: ``build_sampler(name, space, seed=..., options=...)``.

Each entry returns a real ``optuna.samplers.BaseSampler`` for a tunecost space; options
are validated here, so a bad option is a :class:`SpaceError` naming
``searcher_options.<key>``. Optuna's samplers (random, TPE, CMA-ES) are used as they
are; grid, GLD and CGLD are hand-written (:mod:`tunecost.search_spaces._grid`,
:mod:`tunecost.search_spaces._gld`) because no maintained library has them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

import optuna
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tunecost.search_spaces._gld import CGLDSampler, GLDSampler
from tunecost.search_spaces._grid import ShuffledGridSampler
from tunecost.search_spaces._spaces import GridSpace, Space, SpaceError


class Options(BaseModel):
    """A searcher's options: pydantic validates them (strict types: no "yes" for a bool, no
    True for an int); :func:`validate_options` turns an error into a SpaceError naming
    ``searcher_options.<key>``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class StartPoint(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    alpha: float = Field(gt=0, allow_inf_nan=False)
    epsilon: float = Field(gt=0, allow_inf_nan=False)


class TPEOptions(Options):
    n_startup_trials: int = Field(
        10, ge=1, le=100_000, description="random trials before TPE starts modelling"
    )
    multivariate: bool = Field(True, description="model alpha and epsilon jointly")


class CmaEsOptions(Options):
    n_startup_trials: int = Field(1, ge=1, le=100_000, description="random trials before CMA-ES starts")
    with_margin: bool | None = Field(
        None, description="CMA-ES with margin; default: on for grids, off for boxes"
    )
    popsize: int | None = Field(
        None, ge=1, le=10_000, description="population size; default: CMA-ES's 4 + 3 ln(n)"
    )


class GLDOptions(Options):
    search_radius: float | None = Field(
        None,
        gt=0,
        le=1e6,
        description="R in grid cells; default the space's diameter (CGLD: the axis length)",
    )
    min_radius: float = Field(
        1.0, gt=0, le=1e6, description="r in grid cells: the smallest radius of a round"
    )
    start: Literal["random", "default"] | StartPoint = Field(
        "random",
        description="'random' (seeded), 'default' (the optimizer's library defaults) or "
        "{'alpha': a, 'epsilon': e}",
    )
    skip_evaluated: bool = Field(
        True, description="redraw candidates that land on evaluated nodes, so the budget is always spent"
    )


def _type_name(annotation: Any) -> str:
    names = [getattr(t, "__name__", str(t)) for t in (get_args(annotation) or (annotation,))]
    return " | ".join(
        "dict" if n == "StartPoint" else "str" if n == "Literal" else n for n in names if n != "NoneType"
    )


Builder = Callable[[Space, int, dict[str, Any], "tuple[float, float] | None"], optuna.samplers.BaseSampler]


@dataclass(frozen=True)
class SearcherInfo:
    name: str
    description: str
    options: type[Options] = Options
    build: Builder | None = None
    hand_written: bool = False
    # machinery milliseconds per trial of a 100-trial run on one CPU (plain Optuna ask/tell on a
    # 21x21 grid, measured 2026-12-06): what a replay chunk of its runs costs, to balance chunks
    cost_ms: float = 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "hand_written": self.hand_written,
            "options": {
                key: {"type": _type_name(f.annotation), "default": f.default, "help": f.description}
                for key, f in self.options.model_fields.items()
            },
        }


def _random(
    space: Space, seed: int, opts: Any, default: tuple[float, float] | None
) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler(seed=seed)


def _tpe(
    space: Space, seed: int, opts: Any, default: tuple[float, float] | None
) -> optuna.samplers.BaseSampler:
    return optuna.samplers.TPESampler(
        seed=seed,
        n_startup_trials=opts.n_startup_trials,
        multivariate=opts.multivariate,
        constant_liar=True,  # keeps concurrent workers from proposing the same point
    )


def _cmaes(
    space: Space, seed: int, opts: Any, default: tuple[float, float] | None
) -> optuna.samplers.BaseSampler:
    with_margin = opts.with_margin
    if with_margin is None:
        # CMA-ES with margin (Hamano et al. 2022) keeps the search from collapsing onto one
        # node of a discrete grid; on a continuous box plain CMA-ES is right.
        with_margin = isinstance(space, GridSpace)
    with warnings.catch_warnings():
        # `with_margin` is marked experimental in Optuna 5.0; the pinned version is what we test.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.CmaEsSampler(
            seed=seed,
            n_startup_trials=opts.n_startup_trials,
            with_margin=with_margin,
            popsize=opts.popsize,
            independent_sampler=optuna.samplers.RandomSampler(seed=seed),
            warn_independent_sampling=False,
        )


def _grid(
    space: Space, seed: int, opts: Any, default: tuple[float, float] | None
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
        alpha, epsilon = start.alpha, start.epsilon
    return space.encode(alpha, epsilon)


def _gld_like(cls: type[GLDSampler]) -> Builder:
    def build(
        space: Space, seed: int, opts: Any, default: tuple[float, float] | None
    ) -> optuna.samplers.BaseSampler:
        return cls(
            seed=seed,
            search_radius=opts.search_radius,
            min_radius=opts.min_radius,
            start=_start_params(space, opts.start, default),
            skip_evaluated=opts.skip_evaluated,
        )

    return build


SEARCHERS: dict[str, SearcherInfo] = {
    info.name: info
    for info in [
        SearcherInfo(
            "grid",
            "Exhaustive grid search in a seeded random order, O(1) per suggestion.",
            Options,
            _grid,
            True,
            cost_ms=0.08,
        ),
        SearcherInfo(
            "random", "Uniform random search (Optuna RandomSampler).", Options, _random, cost_ms=0.15
        ),
        SearcherInfo(
            "tpe",
            "Tree-structured Parzen Estimator (Optuna TPESampler).",
            TPEOptions,
            _tpe,
            cost_ms=1.9,
        ),
        SearcherInfo(
            "cmaes",
            "CMA-ES (Optuna CmaEsSampler); with margin on grids.",
            CmaEsOptions,
            _cmaes,
            cost_ms=0.93,
        ),
        SearcherInfo(
            "gld",
            "Gradientless Descent, GLD-Search (Golovin et al. 2020): a ladder of radii around the incumbent.",
            GLDOptions,
            _gld_like(GLDSampler),
            True,
            cost_ms=0.21,
        ),
        SearcherInfo(
            "cgld",
            "Coordinate GLD: each round moves along one axis, alternating alpha-rounds and epsilon-rounds.",
            GLDOptions,
            _gld_like(CGLDSampler),
            True,
            cost_ms=0.87,
        ),
    ]
}


def parse_options(name: str, options: dict[str, Any] | None) -> Options:
    """The searcher's options as its model, defaults filled; raises SpaceError naming the bad option."""
    if name not in SEARCHERS:
        raise SpaceError("searcher", f"unknown searcher {name!r}; known: {sorted(SEARCHERS)}")
    model = SEARCHERS[name].options
    try:
        return model.model_validate(dict(options or {}))
    except ValidationError as exc:
        first = exc.errors()[0]["loc"][:1]
        # of one option's errors (one per member of a union), the deepest says the most
        error = max((e for e in exc.errors() if e["loc"][:1] == first), key=lambda e: len(e["loc"]))
        key = str(error["loc"][0]) if error["loc"] else "searcher_options"
        where = ".".join(str(p) for p in error["loc"][1:] if not str(p)[:1].isupper() and "[" not in str(p))
        if error["type"] == "extra_forbidden":
            known = sorted(model.model_fields)
            raise SpaceError(
                f"searcher_options.{key}", f"unknown option for {name!r}; known: {known}"
            ) from None
        given = error.get("input")
        raise SpaceError(
            f"searcher_options.{key}", (f"{where}: " if where else "") + f"{error['msg']}, got {given!r}"
        ) from None


def validate_options(name: str, options: dict[str, Any] | None) -> dict[str, Any]:
    """The searcher's options with defaults filled, as plain JSON (what a spec stores)."""
    return parse_options(name, options).model_dump(mode="json")


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
    opts = parse_options(name, options)
    builder = SEARCHERS[name].build
    if builder is None:  # pragma: no cover - every registered searcher has a builder
        raise SpaceError("searcher", f"searcher {name!r} cannot be built")
    return builder(space, seed, opts, default_point)
