"""``CancelStopper``: stops every Tune trial once the job's stop event is set (a cancel request or
a lost lease)."""

from __future__ import annotations

import threading
from typing import Any

from ray import tune


class CancelStopper(tune.Stopper):
    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, trial_id: str, result: dict) -> bool:
        return False

    def stop_all(self) -> bool:
        return self.event.is_set()

    def __getstate__(self) -> dict[str, Any]:
        return {"stopped": self.event.is_set()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.event = threading.Event()
        if state["stopped"]:
            self.event.set()
