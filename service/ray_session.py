"""One Ray session per process: join ``TUNECOST_RAY_ADDRESS`` or start a local instance."""

from __future__ import annotations

import logging
import os
import threading

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
