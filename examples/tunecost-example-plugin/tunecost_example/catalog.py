"""The plugin's catalog entries. Torch-free on purpose: the API reads them without torch;
the implementations are named by import path and imported only where training runs."""

from __future__ import annotations

from pydantic import Field

from tunecost import REGRESSION_MSE, MLPRecipe, OptimizerInfo, TaskInfo

LION = OptimizerInfo(
    name="lion",
    description="Lion (Chen et al., 2023, 'Symbolic Discovery of Optimization Algorithms'): "
    "the sign of an interpolated momentum, decoupled weight decay.",
    default_alpha=1e-4,
    default_epsilon=1e-8,
    epsilon_role="none: Lion has no epsilon, so the landscape is flat along epsilon",
    reference="lion-pytorch 0.2.x (lucidrains), the paper's Algorithm 2",
    optimizer="tunecost_example.lion:Lion",
    epsilon_arg=None,
)


class WineRecipe(MLPRecipe):
    epochs: int = Field(30, ge=1, le=10_000, description="Passes over the training split.")
    batch_size: int = Field(16, ge=1, le=65_536, description="Examples per step.")
    hidden: int = Field(32, ge=1, le=65_536, description="Width of the hidden layer.")


WINE_MLP = TaskInfo(
    name="wine-mlp",
    description="scikit-learn's wine data (178 samples, 13 features, 3 cultivars; ships with "
    "scikit-learn), standardized; MLP 13-32-3.",
    num_classes=3,
    recipe_model=WineRecipe,
    module="tunecost_example.wine",
)


class DiabetesRecipe(MLPRecipe):
    epochs: int = Field(40, ge=1, le=10_000, description="Passes over the training split.")
    batch_size: int = Field(32, ge=1, le=65_536, description="Examples per step.")
    hidden: int = Field(32, ge=1, le=65_536, description="Width of the hidden layer.")


DIABETES_MLP = TaskInfo(
    name="diabetes-mlp",
    description="scikit-learn's diabetes data (442 patients, 10 features; ships with scikit-learn), "
    "inputs and target standardized; MLP regressor 10-32-1, scored by validation MSE.",
    num_classes=1,  # outputs
    recipe_model=DiabetesRecipe,
    module="tunecost_example.diabetes",
    metric=REGRESSION_MSE,
    diverged_score=1.0,  # the MSE of predicting the mean of a standardized target
)
