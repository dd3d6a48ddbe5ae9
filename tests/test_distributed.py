"""The deployed topology, with local processes (no Docker here): a Ray cluster of two nodes
(`ray start --head` and `ray start --address`, two raylets on loopback), two `tunecost runner`
processes joining it through TUNECOST_RAY_ADDRESS, and `tunecost serve --no-runner`. A search
job's trials and a sweep's chunks run on both nodes; each trial and chunk names its node."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_URL, free_port
from tunecost.api.client import TunecostClient

BIN = Path(sys.executable).parent


def _processes_of(temp: str) -> list[int]:
    """Processes of this cluster: their command line, or a file they hold open, is under ``temp``
    (Ray's agents rename themselves, so their command line no longer says; their logs do)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if temp in (proc / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(proc.name))
                continue
            if any(os.readlink(fd).startswith(temp) for fd in (proc / "fd").iterdir()):
                found.append(int(proc.name))
        except OSError:  # gone, or not ours to read
            continue
    return found


def _end_cluster(temp: str) -> None:
    """SIGTERM, then SIGKILL what ignores it (Ray's agents do)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        found = _processes_of(temp)
        for pid in found:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        if not found:
            return
        time.sleep(2)


@pytest.fixture
def cluster() -> Iterator[str]:
    """A two-node Ray cluster on loopback; its address. Everything it started is ended after."""
    temp = tempfile.mkdtemp(prefix="tcray-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    port = free_port()
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    common = ["--num-cpus=1", "--disable-usage-stats"]
    try:
        subprocess.run(
            [
                BIN / "ray",
                "start",
                "--head",
                f"--port={port}",
                "--node-ip-address=127.0.0.1",
                f"--temp-dir={temp}",
                "--include-dashboard=false",
                *common,
            ],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(
            [BIN / "ray", "start", f"--address=127.0.0.1:{port}", "--node-ip-address=127.0.0.1", *common],
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        yield f"127.0.0.1:{port}"
    finally:
        _end_cluster(temp)
        assert not _processes_of(temp), "the cluster's processes outlived it"


@pytest.mark.slow
def test_jobs_run_on_both_nodes_of_a_cluster(
    database_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if PG_URL and database_url.startswith("sqlite"):
        pytest.skip("the distributed run is proved on Postgres where one answers")
    cluster: str = request.getfixturevalue("cluster")
    port = free_port()
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "disabled",
        "TUNECOST_DATABASE_URL": database_url,
        "TUNECOST_RAY_ADDRESS": cluster,
        "TUNECOST_HOME": str(tmp_path / "home"),
        "TUNECOST_POLL_SECONDS": "0.2",
    }
    log = open(tmp_path / "processes.log", "w")  # noqa: SIM115 - closed in finally
    processes = [
        subprocess.Popen([BIN / "tunecost", "runner"], env=env, stdout=log, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    processes.append(
        subprocess.Popen(
            [BIN / "tunecost", "serve", "--no-runner", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "processes.log").read_text()[-3000:]
            time.sleep(0.3)
        client = TunecostClient(url)
        search = client.submit(
            task="synthetic-bowl",
            optimizer="adam",
            searcher="random",
            budget=8,
            max_concurrent=2,
            recipe={"sleep_s": 0.5},
        )
        grid = {"type": "grid", "alphas": [1e-3, 1e-2, 1e-1, 1.0], "epsilons": [1e-8, 1e-6, 1e-4, 1e-2]}
        sweep = client.submit(
            {"kind": "sweep", "task": "synthetic-bowl", "optimizer": "adam", "space": grid, "chunk_size": 1}
        )
        done = [client.wait(job.id, timeout=240, poll=0.5, progress=False) for job in (search, sweep)]
        assert [j.state for j in done] == ["succeeded", "succeeded"], [j.error for j in done]
        trial_nodes = {t.node_id for t in client.trials(search.id) if not t.cached}
        assert len(trial_nodes) == 2, f"trials ran on {trial_nodes}"
        assert len(done[1].result["nodes"]) == 2, f"sweep chunks ran on {done[1].result['nodes']}"
        assert sum(done[1].result["nodes"].values()) == 16
        assert len({j.runner_id for j in done}) == 2, "each runner claimed one of the two jobs"
    finally:
        for p in processes:
            p.send_signal(signal.SIGTERM)
        for p in processes:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()
