"""Recipes: a task's typed training settings (epochs, batch, schedule, model size), one pydantic
model per task with strict types and bounds, and the options every recipe may add (Lookahead,
warm restarts)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Fraction = Annotated[float, Field(gt=0, le=1)]


class Recipe(BaseModel):
    """What every trained task shares. Strict types (no "5" for 5) and bounds: a recipe that
    validates here is one the trainer can run. Tasks subclass it to add their model's size and
    to change defaults; a job overrides any field through ``recipe``."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    epochs: int = Field(20, ge=1, le=10_000, description="Passes over the training split.")
    batch_size: int = Field(64, ge=1, le=65_536, description="Examples per step.")
    weight_decay: float = Field(0.0, ge=0, le=1, description="L2 (or decoupled, per optimizer) decay.")
    schedule: Literal["step", "cosine", "sgdr", "constant"] = Field(
        "step",
        description="Learning-rate schedule: step (the paper's), cosine, sgdr (cosine with warm "
        "restarts, torch's CosineAnnealingWarmRestarts; see `restarts`) or constant.",
    )
    milestones: list[Fraction] = Field(
        [0.5, 0.75], max_length=16, description="Step schedule: fractions of training where lr *= gamma."
    )
    gamma: float = Field(0.1, gt=0, le=1, description="Step schedule: the factor at each milestone.")
    val_fraction: float = Field(
        0.2, gt=0, lt=1, description="Share of the training data carved (fixed seed) for validation."
    )
    subset: int | None = Field(
        None, ge=1, le=10**9, description="Fidelity knob: keep only this many training examples."
    )
    restarts: Restarts | None = Field(
        None, description="SGDR's restarts (schedule `sgdr`; default: every 10 epochs, period x1)."
    )
    lookahead: Lookahead | None = Field(
        None, description="Wrap the optimizer in Lookahead (Zhang et al., 2019): any optimizer, fused too."
    )


class Restarts(BaseModel):
    """SGDR (Loshchilov & Hutter, 2017): cosine annealing restarted every ``period`` epochs,
    each period ``mult`` times the last (``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts``)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    period: int = Field(10, ge=1, le=10_000, description="Epochs until the first restart (T_0).")
    mult: int = Field(1, ge=1, le=16, description="Each period is this many times the previous (T_mult).")


class Lookahead(BaseModel):
    """Lookahead (Zhang et al., 2019): every ``k`` steps the slow weights move ``alpha`` of the
    way to the fast ones, and the fast weights restart from them."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    k: int = Field(5, ge=1, le=10_000, description="Fast steps between slow updates.")
    alpha: float = Field(0.5, gt=0, le=1, description="Slow step size alpha_s.")


RECIPE_OPTIONS: dict[str, dict[str, Any]] = {
    "lookahead": {
        "example": {"lookahead": {"k": 5, "alpha": 0.5}},
        "what": "Lookahead (Zhang et al., 2019) around any optimizer, plugins included",
        "reference": "pytorch-optimizer Lookahead (pullback_momentum='none'), the paper",
        "fused": True,
    },
    "sgdr": {
        "example": {"schedule": "sgdr", "restarts": {"period": 10, "mult": 2}},
        "what": "cosine annealing with warm restarts (Loshchilov & Hutter, 2017)",
        "reference": "torch.optim.lr_scheduler.CosineAnnealingWarmRestarts",
        "fused": True,
    },
}

# Added after landscapes were first stored: left out of a recipe while unset, so the recipes
# (and recipe hashes) of earlier jobs do not change.
OMITTED_WHEN_UNSET = ("restarts", "lookahead")


class MLPRecipe(Recipe):
    hidden: int = Field(128, ge=1, le=65_536, description="Width of the hidden layer.")


class MNISTMLPRecipe(MLPRecipe):
    epochs: int = Field(5, ge=1, le=10_000, description="Passes over the training split.")


class CNNRecipe(Recipe):
    epochs: int = Field(3, ge=1, le=10_000, description="Passes over the training split.")
    channels: int = Field(
        16, ge=1, le=1024, description="Channels of the first conv layer (x2 in the second)."
    )


class DigitsCNNRecipe(CNNRecipe):
    epochs: int = Field(10, ge=1, le=10_000, description="Passes over the training split.")
    channels: int = Field(
        8, ge=1, le=1024, description="Channels of the first conv layer (x2 in the second)."
    )


class CharLMRecipe(MLPRecipe):
    epochs: int = Field(5, ge=1, le=10_000, description="Passes over the training split.")


class TabularMLPRecipe(MLPRecipe):
    epochs: int = Field(40, ge=1, le=10_000, description="Passes over the training split.")
    batch_size: int = Field(32, ge=1, le=65_536, description="Examples per step.")
    hidden: int = Field(32, ge=1, le=65_536, description="Width of the hidden layer.")


class WRNRecipe(Recipe):
    """The paper's CIFAR-10 setup (Savarese et al. 2021, Section 6)."""

    epochs: int = Field(200, ge=1, le=10_000, description="Passes over the training split.")
    batch_size: int = Field(128, ge=1, le=65_536, description="Examples per step.")
    weight_decay: float = Field(5e-4, ge=0, le=1, description="L2 (or decoupled, per optimizer) decay.")
    milestones: list[Fraction] = Field(
        [0.3, 0.6, 0.8], max_length=16, description="Step schedule: fractions of training where lr *= gamma."
    )
    gamma: float = Field(0.2, gt=0, le=1, description="Step schedule: the factor at each milestone.")
    val_fraction: float = Field(
        0.1, gt=0, lt=1, description="Share of the training data carved (fixed seed) for validation."
    )
    depth: int = Field(28, ge=10, le=100, description="WRN depth; (depth - 4) must be a multiple of 6.")
    widen: int = Field(10, ge=1, le=16, description="WRN widening factor.")

    @field_validator("depth")
    @classmethod
    def _wrn_depth(cls, value: int) -> int:
        if (value - 4) % 6:
            raise ValueError(f"(depth - 4) must be a multiple of 6, got depth {value}")
        return value


class SyntheticRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    optimum_alpha: float = Field(1e-2, gt=0, description="Where the valley's floor is, along alpha.")
    optimum_epsilon: float = Field(1e-6, gt=0, description="Where the valley's floor is, along epsilon.")
    sleep_s: float = Field(0.0, ge=0, le=60, description="Pretend training takes this long.")
    fail_alpha_above: float | None = Field(
        None, ge=0, description="Failure injection: a trial with alpha above this raises."
    )
