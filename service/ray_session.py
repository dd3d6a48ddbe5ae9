"""One Ray session per process: join ``TUNECOST_RAY_ADDRESS`` or start a local instance."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from service.errors import Unplaceable
from service.settings import Settings

log = logging.getLogger(__name__)
_lock = threading.Lock()


def ensure_ray(settings: Settings) -> None:
    import ray

    with _lock:
        if ray.is_initialized():
            return
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        # Tune's progress tables would flood the runner's log; tunecost reports progress itself.
        os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
        if settings.ray_address:
            log.info("joining Ray cluster at %s", settings.ray_address)
            ray.init(address=settings.ray_address, log_to_driver=False)
        else:
            ray.init(
                num_cpus=settings.ray_num_cpus,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )


def check_placeable(cpu: float, gpu: float, what: str = "trial") -> None:
    """Raise :class:`Unplaceable` unless some live node has ``cpu`` CPUs and ``gpu`` GPUs.
    (A cluster that autoscales would place it later; tunecost does not assume one.)"""
    import ray

    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    if any(n.get("CPU", 0) >= cpu and n.get("GPU", 0) >= gpu for n in nodes):
        return
    most_cpu = max((n.get("CPU", 0) for n in nodes), default=0)
    most_gpu = max((n.get("GPU", 0) for n in nodes), default=0)
    raise Unplaceable(
        f"no node of the Ray cluster has {cpu:g} CPU and {gpu:g} GPU for one {what} "
        f"(the largest has {most_cpu:g} CPU, {most_gpu:g} GPU); lower `resources`"
    )


def gather(pending: dict[Any, Any], stop: threading.Event, on_result: Callable[[Any, Any], None]) -> bool:
    """Wait for Ray object refs ``pending`` (ref -> tag), calling ``on_result(tag, value)`` as each
    finishes. If ``stop`` is set, cancels what is left and returns False; True when all are done."""
    import ray

    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
        if stop.is_set():
            for ref in pending:
                ray.cancel(ref, force=True)
            return False
        for ref in ready:
            on_result(pending.pop(ref), ray.get(ref))
    return True
