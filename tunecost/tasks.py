"""For a task's training module (imports torch): the data container and the split helpers
every built-in task uses, so a plugin task never tunes on its test data."""

from __future__ import annotations

from tunecost.workers.tasks import DataMissingError
from tunecost.workers.tasks._data import Data
from tunecost.workers.tasks._splits import SPLIT_SEED, carve_validation, hold_out_test, take_subset

__all__ = ["SPLIT_SEED", "Data", "DataMissingError", "carve_validation", "hold_out_test", "take_subset"]
