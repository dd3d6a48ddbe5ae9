"""One Ray session per process: join ``TUNECOST_RAY_ADDRESS`` or start a local instance."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tunecost.service.analysis.report import draw_here
from tunecost.service.errors import Unplaceable
from tunecost.service.settings import Settings

log = logging.getLogger(__name__)
_lock = threading.Lock()
_joined = False  # this process joined a cluster (TUNECOST_RAY_ADDRESS) rather than starting one

# Read by Ray when it is imported, so set before: Ray's C++ failure-signal handler prints a stack
# dump as an error on every SIGTERM, and a server's SIGTERM is a normal stop that uvicorn and
# the runner handle themselves. Import this module before `ray`.
os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")


def ensure_ray(settings: Settings) -> None:
    # Ray: only in a runner, never in the API process
    import ray

    with _lock:
        if ray.is_initialized():
            return
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        # Tune's progress tables would flood the runner's log; tunecost reports progress itself.
        os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
        global _joined
        _joined = bool(settings.ray_address)
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


def processes_under(directory: str, *, spare: tuple[int, ...] = ()) -> list[int]:
    """Processes whose command line, or an open file, is under ``directory`` (a Ray session's:
    Ray's agents rename themselves, but keep their logs there open); never this process nor
    those in ``spare``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in (os.getpid(), *spare):
            continue
        try:
            if directory in (proc / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(proc.name))
            elif any(os.readlink(fd).startswith(directory) for fd in (proc / "fd").iterdir()):
                found.append(int(proc.name))
        except OSError:  # gone, or not ours to read
            continue
    return found


_REAPER = """
import os, signal, sys, time
from tunecost.service.ray_session import processes_under
session, parent = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 30
while time.monotonic() < deadline:  # until the parent is gone, or its shutdown has had its time
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        break
    time.sleep(0.2)
for sig in (signal.SIGTERM, signal.SIGKILL):
    for pid in processes_under(session, spare=(parent,)):  # a parent that lives on keeps its own life
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    time.sleep(1)
"""


def shutdown_ray() -> None:
    """Disconnect from Ray. A local instance this process started is stopped with every process
    it began. Ray 2.60's ``ray.shutdown()`` leaves the instance's DashboardAgent and
    RuntimeEnvAgent running (they ignore SIGTERM), and can end this process on its way out; so a
    detached reaper first waits for it, then ends what is left under the instance's session
    directory (hand-written: Ray has no switch for it). A no-op when Ray was never started here;
    a joined cluster is left as it is."""
    if "ray" not in sys.modules:
        return
    # Ray: only in a runner, never in the API process
    import ray

    with _lock:
        if not ray.is_initialized():
            return
        node = getattr(ray._private.worker, "_global_node", None)  # private: pinned Ray 2.60
        session = node.get_session_dir_path() if node is not None and node.head and not _joined else None
        if session:
            log.info("shutting down the local Ray instance (%s)", session)
            subprocess.Popen(
                [sys.executable, "-c", _REAPER, session, str(os.getpid())],
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        ray.shutdown()


def check_placeable(cpu: float, gpu: float, what: str = "trial") -> None:
    """Raise :class:`Unplaceable` unless some live node has ``cpu`` CPUs and ``gpu`` GPUs.
    (A cluster that autoscales would place it later; tunecost does not assume one.)"""
    # Ray: only in a runner, never in the API process
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


def cancellable_task(function: Callable[..., Any], **options: Any) -> Any:
    """``function`` as a Ray task (``options``: ``ray.remote``'s) whose worker process ends when
    :func:`gather`'s cancel interrupts it.

    An unforced cancel raises KeyboardInterrupt at whatever bytecode the task is running, an
    import's included. A process whose import was cut half-way fails every later import of that
    module -- seen: a sweep handed back while a chunk imported scikit-learn left a worker that
    answered every later chunk with pandas' "partially initialized module" -- and Ray reuses
    the worker for the next job's tasks. So an interrupted task ends its process (Ray starts a
    fresh one; a cancelled task is not retried). Only inside the task Ray runs: called in this
    process, ``function`` is untouched."""
    # Ray: only in a runner, never in the API process
    import ray

    def task(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except KeyboardInterrupt:
            os._exit(1)

    # Ray names the task after it (its dashboard, its errors); the closure itself travels by value
    task.__name__ = task.__qualname__ = function.__name__
    return ray.remote(**options)(task) if options else ray.remote(task)


def gather(pending: dict[Any, Any], stop: threading.Event, on_result: Callable[[Any, Any], None]) -> bool:
    """Wait for Ray object refs ``pending`` (ref -> tag), calling ``on_result(tag, value)`` as each
    finishes. If ``stop`` is set, keeps what has finished, cancels what is left and returns False;
    True when all are done.

    The cancel is not forced: a forced cancel of a task that is finishing at that moment trips a
    check in Ray 2.60's task manager ("Tried to complete task that was not pending") that ends
    this process (seen on a sweep handed back mid-way). Unforced, a running task is interrupted
    at its next Python bytecode and answers once, cancelled."""
    # Ray: only in a runner, never in the API process
    import ray

    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
        for ref in ready:
            on_result(pending.pop(ref), ray.get(ref))
        if stop.is_set():
            for ref in pending:
                ray.cancel(ref, force=False)
            return False
    return True


def _draw_remote(
    function: Callable[..., None], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, bytes]:
    """One figure drawn on a worker, into a scratch folder: its files' names and bytes (the
    worker may be another machine, so the files travel back with the result)."""
    out = Path(args[0])
    with tempfile.TemporaryDirectory(prefix="tunecost-figure-") as scratch:
        function(Path(scratch) / out.name, *args[1:], **kwargs)
        return {p.name: p.read_bytes() for p in Path(scratch).iterdir()}


def draw_on_cluster(draws: list[tuple[Callable[..., None], tuple[Any, ...], dict[str, Any]]]) -> None:
    """Draw a report's figures at once, one Ray task each, and write their files where each
    figure was asked for (a figure's first argument is its output path, without suffix). A
    figure that fails raises here, as drawing it in this process would."""
    # Ray: only in a runner, never in the API process
    import ray

    if len(draws) < 2:  # nothing to spread
        draw_here(draws)
        return
    remote = ray.remote(num_cpus=1)(_draw_remote)
    pending = {
        remote.remote(function, args, kwargs): Path(args[0]).parent for function, args, kwargs in draws
    }
    for ref, folder in pending.items():
        for name, data in ray.get(ref).items():
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
