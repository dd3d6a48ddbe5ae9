"""(alpha, epsilon) search spaces as data.

Two kinds of space, both (de)serializable to the JSON the API takes:

* :class:`GridSpace` — a finite grid of alpha values times epsilon values, as in
  Savarese et al. (2021), Section 7. Searchers see a grid through its *index*
  space: two integer parameters ``alpha_index`` and ``epsilon_index`` with
  ``IntDistribution(0, n - 1)``. This is what the paper's GLD operates on, it keeps
  every proposal on a grid node, and it lets CMA-ES/TPE treat the axes as
  ordered (the grid values are log-spaced, so index distance is log distance).
* :class:`BoxSpace` — a continuous box, log-uniform in both coordinates
  (``FloatDistribution(low, high, log=True)`` named ``alpha`` and ``epsilon``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution

ALPHA_INDEX = "alpha_index"
EPSILON_INDEX = "epsilon_index"
ALPHA = "alpha"
EPSILON = "epsilon"


class SpaceError(ValueError):
    """A search space that cannot be used; ``field`` names the offending part."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _half_decades(lo_exp: int, hi_exp: int, *, start_with_five: bool) -> tuple[float, ...]:
    """Values {1, 5} x 10^k in increasing order (the paper's 'half-decade' steps)."""
    values: list[float] = []
    for k in range(lo_exp, hi_exp + 1):
        values.extend([float(f"1e{k}"), float(f"5e{k}")])
    if start_with_five:
        values = values[1:]
    return tuple(values)


# alpha in {5e-7, 1e-6, 5e-6, ..., 1e3, 5e3}: 21 values.
PAPER_ALPHAS: tuple[float, ...] = _half_decades(-7, 3, start_with_five=True)
# epsilon in {1e-8, 5e-8, ..., 5e1, 1e2}: 21 values.
PAPER_EPSILONS: tuple[float, ...] = _half_decades(-8, 2, start_with_five=False)[:-1]
# AdaBelief's epsilon sits ~1e-8 times lower (its s_t is a variance, not a second moment):
# the paper's epsilon grid shifted by 1e-8, i.e. 1e-16 ... 1e-6.
ADABELIEF_EPSILONS: tuple[float, ...] = tuple(float(f"{e * 1e-8:.6g}") for e in PAPER_EPSILONS)


MAX_NAME = 64  # characters of a grid's name
MAX_AXIS_VALUES = 10_000  # per axis; a job's grid size is capped further by the server (grid_cap)


def _check_values(field: str, values: Any) -> tuple[float, ...]:
    """Finite, positive, distinct numbers, returned sorted (a grid's order is its values')."""
    if not isinstance(values, list | tuple) or len(values) == 0:
        raise SpaceError(field, "must be a non-empty list of numbers")
    if len(values) > MAX_AXIS_VALUES:
        raise SpaceError(field, f"at most {MAX_AXIS_VALUES} values, got {len(values)}")
    out: list[float] = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise SpaceError(field, f"must contain numbers, got {v!r}")
        try:
            x = float(v)
        except OverflowError:  # an integer beyond any float
            raise SpaceError(
                field, "values must be finite and > 0, got an integer too large for a float"
            ) from None
        if not math.isfinite(x) or x <= 0:
            raise SpaceError(field, f"values must be finite and > 0, got {v!r}")
        out.append(x)
    if len(set(out)) != len(out):
        raise SpaceError(field, "values must be distinct")
    return tuple(sorted(out))


@dataclass(frozen=True)
class GridSpace:
    """A finite alpha x epsilon grid; searchers see its index space."""

    alphas: tuple[float, ...]
    epsilons: tuple[float, ...]
    name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "alphas", _check_values("alphas", list(self.alphas)))
        object.__setattr__(self, "epsilons", _check_values("epsilons", list(self.epsilons)))

    kind = "grid"

    @property
    def size(self) -> int:
        return len(self.alphas) * len(self.epsilons)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.alphas), len(self.epsilons)

    def distributions(self) -> dict[str, BaseDistribution]:
        return {
            ALPHA_INDEX: IntDistribution(0, len(self.alphas) - 1),
            EPSILON_INDEX: IntDistribution(0, len(self.epsilons) - 1),
        }

    def decode(self, params: dict[str, Any]) -> tuple[float, float]:
        return self.alphas[int(params[ALPHA_INDEX])], self.epsilons[int(params[EPSILON_INDEX])]

    def encode(self, alpha: float, epsilon: float) -> dict[str, int]:
        """Index of the grid node nearest to (alpha, epsilon) in log distance."""

        def nearest(values: tuple[float, ...], x: float) -> int:
            return min(range(len(values)), key=lambda i: abs(math.log(values[i] / x)))

        return {ALPHA_INDEX: nearest(self.alphas, alpha), EPSILON_INDEX: nearest(self.epsilons, epsilon)}

    def contains(self, alpha: float, epsilon: float) -> bool:
        return alpha in self.alphas and epsilon in self.epsilons

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "grid", "alphas": list(self.alphas), "epsilons": list(self.epsilons)}
        if self.name:
            out["name"] = self.name
        return out


@dataclass(frozen=True)
class BoxSpace:
    """A continuous log-uniform box [alpha_low, alpha_high] x [epsilon_low, epsilon_high]."""

    alpha: tuple[float, float]
    epsilon: tuple[float, float]

    kind = "box"

    def __post_init__(self) -> None:
        for field in ("alpha", "epsilon"):
            bounds = _check_values(field, list(getattr(self, field)))
            if len(bounds) != 2:
                raise SpaceError(field, "must be [low, high]")
            object.__setattr__(self, field, bounds)

    @property
    def size(self) -> float:
        return math.inf

    def distributions(self) -> dict[str, BaseDistribution]:
        return {
            ALPHA: FloatDistribution(*self.alpha, log=True),
            EPSILON: FloatDistribution(*self.epsilon, log=True),
        }

    def decode(self, params: dict[str, Any]) -> tuple[float, float]:
        return float(params[ALPHA]), float(params[EPSILON])

    def encode(self, alpha: float, epsilon: float) -> dict[str, float]:
        return {
            ALPHA: min(max(alpha, self.alpha[0]), self.alpha[1]),
            EPSILON: min(max(epsilon, self.epsilon[0]), self.epsilon[1]),
        }

    def contains(self, alpha: float, epsilon: float) -> bool:
        return self.alpha[0] <= alpha <= self.alpha[1] and self.epsilon[0] <= epsilon <= self.epsilon[1]

    def to_json(self) -> dict[str, Any]:
        return {"type": "box", "alpha": list(self.alpha), "epsilon": list(self.epsilon)}


Space = GridSpace | BoxSpace


def paper_grid() -> GridSpace:
    """The paper's 21 x 21 grid (Savarese et al. 2021, Section 7)."""
    return GridSpace(PAPER_ALPHAS, PAPER_EPSILONS, name="paper")


def adabelief_grid() -> GridSpace:
    """The paper grid with epsilon shifted by 1e-8 (1e-16 ... 1e-6), for AdaBelief."""
    return GridSpace(PAPER_ALPHAS, ADABELIEF_EPSILONS, name="paper-adabelief")


def alpha_grid() -> GridSpace:
    """The paper's 21 alphas and one epsilon, for an optimizer that has none (SGD, Lion): tuned
    over alpha alone, so every trial is a distinct learning rate. The epsilon is a placeholder
    the optimizer never reads."""
    return GridSpace(PAPER_ALPHAS, PAPER_EPSILONS[:1], name="paper-alpha")


NAMED_GRIDS = {"paper": paper_grid, "paper-adabelief": adabelief_grid, "paper-alpha": alpha_grid}


def space_from_json(data: dict[str, Any]) -> Space:
    """Build a space from its JSON form; raises :class:`SpaceError` naming the bad field."""
    if not isinstance(data, dict):
        raise SpaceError("space", "must be an object")
    kind = data.get("type", "grid")
    if kind == "grid":
        name = data.get("name")
        if name is not None and (not isinstance(name, str) or not 0 < len(name) <= MAX_NAME):
            raise SpaceError("name", f"must be a string of 1 to {MAX_NAME} characters")
        if name is not None and "alphas" not in data and "epsilons" not in data:
            if name not in NAMED_GRIDS:
                raise SpaceError("name", f"unknown grid {name!r}; known: {sorted(NAMED_GRIDS)}")
            return NAMED_GRIDS[name]()
        grid = GridSpace(
            _check_values("alphas", data.get("alphas")),
            _check_values("epsilons", data.get("epsilons")),
            name=name,
        )
        if name in NAMED_GRIDS and grid != NAMED_GRIDS[name]():
            raise SpaceError("name", f"{name!r} names the built-in grid; these values are not it")
        return grid
    if kind == "box":
        return BoxSpace(tuple(data.get("alpha") or ()), tuple(data.get("epsilon") or ()))
    raise SpaceError("type", f"must be 'grid' or 'box', got {kind!r}")
