"""What a runner's Ray tasks leave behind when a job is handed back mid-way."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("ray_session")


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.parametrize("wrapped", [True, False], ids=["cancellable_task", "plain ray.remote"])
def test_a_chunk_a_cancel_interrupts_ends_its_worker_and_later_tasks_run_in_a_fresh_one(
    wrapped: bool, tmp_path: Path
) -> None:
    """gather's cancel interrupts a running chunk wherever it is, an import included, and an
    import cut half-way breaks that process for every later task that imports the module (a
    sweep handed back mid-way left a worker that failed every later sweep's chunks). A chunk
    made by ``cancellable_task`` ends its worker when interrupted; the plain task's worker
    lives on, which is what the second case shows (so the first could fail)."""
    import ray

    from tunecost.service.ray_session import cancellable_task

    started = tmp_path / "pid"

    def chunk(path: str) -> None:  # a closure: travels by value, needs no import on the worker
        Path(path).write_text(str(os.getpid()))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # until cancelled
            time.sleep(0.01)

    remote = cancellable_task(chunk, num_cpus=1) if wrapped else ray.remote(num_cpus=1)(chunk)
    ref = remote.remote(str(started))
    deadline = time.monotonic() + 60
    while not started.exists() or not started.read_text():
        assert time.monotonic() < deadline, "the chunk never started"
        time.sleep(0.05)
    pid = int(started.read_text())
    ray.cancel(ref, force=False)
    with pytest.raises(ray.exceptions.RayError):
        ray.get(ref, timeout=60)
    deadline = time.monotonic() + 30
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _running(pid) is not wrapped
    # the cluster goes on: the next task runs, in another process where the interrupted one ended
    after = ray.get(cancellable_task(os.getpid, num_cpus=1).remote(), timeout=60)
    if wrapped:
        assert after != pid
