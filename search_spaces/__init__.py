"""What to try next: (alpha, epsilon) search spaces and searchers, all as Optuna samplers."""

from tunecost.search_spaces._gld import CGLDSampler, GLDSampler
from tunecost.search_spaces._grid import ShuffledGridSampler
from tunecost.search_spaces._registry import SEARCHERS, SearcherInfo, build_sampler, validate_options
from tunecost.search_spaces._spaces import (
    ADABELIEF_EPSILONS,
    ALPHA,
    ALPHA_INDEX,
    EPSILON,
    EPSILON_INDEX,
    MAX_AXIS_VALUES,
    MAX_NAME,
    NAMED_GRIDS,
    PAPER_ALPHAS,
    PAPER_EPSILONS,
    BoxSpace,
    GridSpace,
    Space,
    SpaceError,
    adabelief_grid,
    paper_grid,
    space_from_json,
)

__all__ = [
    "ADABELIEF_EPSILONS",
    "ALPHA",
    "ALPHA_INDEX",
    "EPSILON",
    "EPSILON_INDEX",
    "MAX_AXIS_VALUES",
    "MAX_NAME",
    "NAMED_GRIDS",
    "PAPER_ALPHAS",
    "PAPER_EPSILONS",
    "SEARCHERS",
    "BoxSpace",
    "CGLDSampler",
    "GLDSampler",
    "GridSpace",
    "SearcherInfo",
    "ShuffledGridSampler",
    "Space",
    "SpaceError",
    "adabelief_grid",
    "build_sampler",
    "paper_grid",
    "space_from_json",
    "validate_options",
]
