"""What a user sees, rendered by a real browser: headless Chromium loads optuna-dashboard, the
API's docs and a replay's report page, runs their scripts, and the rendered DOM is checked.
Skipped where no Chromium is installed (Debian: ``apt-get install chromium``; ``.ci/run``
installs it when it can)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer, free_port
from tunecost.api.client import TunecostClient
from tunecost.service.settings import Settings

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium here (Debian: apt-get install chromium)"
)
GRID = {"type": "grid", "alphas": [1e-3, 1e-2, 1e-1, 1.0, 500.0], "epsilons": [1e-8, 1e-4, 1.0]}


def render(url: str, *, screenshot: Path | None = None) -> str:
    """The DOM after the page's scripts ran (virtual time: no fixed sleeps), as the browser
    holds it; with ``screenshot``, also a PNG of the window."""
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=20000"]
    if screenshot is not None:
        subprocess.run(
            [*args, "--window-size=1400,1000", f"--screenshot={screenshot}", url],
            capture_output=True,
            timeout=120,
            check=True,
        )
    out = subprocess.run([*args, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True)
    return out.stdout


def text(dom: str) -> str:
    """What the page says: the DOM without styles, scripts, inline SVG and tags."""
    dom = re.sub(r"<(style|script|svg)\b.*?</\1>", " ", dom, flags=re.S)
    dom = re.sub(r"<wbr\s*/?>|\u200b|&#8203;", "", dom)  # Swagger UI breaks paths with these
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))


@pytest.fixture(scope="module")
def pages(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """A live server with two sweeps, a search and a replay done, and a read-only dashboard
    on its database (SQLite: what is checked here is what the pages show, made once)."""
    tmp_path = tmp_path_factory.mktemp("browser")
    settings = Settings(home=tmp_path / "home", ray_num_cpus=2, poll_seconds=0.1, _env_file=None)
    with LiveServer(settings) as live_server:
        yield from _pages(live_server, tmp_path)


def _pages(live_server: LiveServer, tmp_path: Path) -> Iterator[dict[str, object]]:
    client = TunecostClient(live_server.url)
    jobs = {}
    for optimizer in ("adam", "avagrad"):
        spec = {
            "kind": "sweep",
            "task": "synthetic-bowl",
            "optimizer": optimizer,
            "space": GRID,
            "seeds": [0],
        }
        jobs[optimizer] = client.wait(client.submit(spec).id, timeout=120, poll=0.2, progress=False)
    search = {"task": "synthetic-bowl", "optimizer": "adam", "searcher": "tpe", "budget": 6, "space": GRID}
    jobs["search"] = client.wait(client.submit(search).id, timeout=120, poll=0.2, progress=False)
    replay = {
        "kind": "replay",
        "landscape_ids": [jobs["adam"].landscape_id, jobs["avagrad"].landscape_id],
        "searchers": ["random", "gld"],
        "seeds": 6,
        "budget": 8,
    }
    jobs["replay"] = client.wait(client.submit(replay).id, timeout=120, poll=0.2, progress=False)
    assert all(j.state == "succeeded" for j in jobs.values()), {k: j.error for k, j in jobs.items()}

    port = free_port()
    env = {
        **os.environ,
        "TUNECOST_DATABASE_URL": live_server.settings.resolved_database_url,
        "TUNECOST_HOME": str(live_server.settings.home),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tunecost.api.cli", "dashboard", "--port", str(port), "--read-only"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    dashboard = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                studies = httpx.get(f"{dashboard}/api/studies", timeout=5).json()["study_summaries"]
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "dashboard did not start"
                time.sleep(0.2)
        ids = {s["study_name"]: s["study_id"] for s in studies}
        yield {
            "api": live_server.url,
            "dashboard": dashboard,
            "jobs": jobs,
            "study_ids": ids,
            "shots": tmp_path,
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_dashboard_lists_every_job_and_speaks_in_alpha_and_epsilon(pages: dict) -> None:
    jobs, ids, dashboard = pages["jobs"], pages["study_ids"], pages["dashboard"]
    listing = text(render(f"{dashboard}/dashboard", screenshot=pages["shots"] / "studies.png"))
    for job in jobs.values():  # sweeps and the replay too, each named by what it is
        assert job.study_name in listing
    assert "(sweep, synthetic-bowl, adam)" in listing and "(search, synthetic-bowl, adam, tpe)" in listing

    sweep = text(render(f"{dashboard}/dashboard/studies/{ids[jobs['adam'].study_name]}"))
    assert "validation error (%)" in sweep  # the objective's name and unit
    best = re.search(r"Best Trial \(number=\d+\).*?Params = \[([^\]]*)\]", sweep)
    assert best and re.fullmatch(r"alpha: [0-9.e-]+, epsilon: [0-9.e-]+", best.group(1).strip()), sweep[:2000]
    assert "kind sweep" in sweep and "optimizer adam" in sweep  # the study's user attributes

    search = text(render(f"{dashboard}/dashboard/studies/{ids[jobs['search'].study_name]}"))
    best = re.search(r"Params = \[([^\]]*)\]", search)
    assert best and "alpha: " in best.group(1) and "epsilon: " in best.group(1)

    replay = text(render(f"{dashboard}/dashboard/studies/{ids[jobs['replay'].study_name]}"))
    for name in ("suboptimality_curves.svg", "tuning_cost.csv", "tuning_cost.txt", "landscape_adam.png"):
        assert name in replay  # the report's files, as the study's artifacts


def test_the_api_docs_render_without_the_internet(pages: dict) -> None:
    docs = text(render(f"{pages['api']}/docs", screenshot=pages["shots"] / "docs.png"))
    assert "tunecost" in docs and "/v1/jobs" in docs and "/v1/comparisons/{job_id}/report" in docs
    redoc = text(render(f"{pages['api']}/redoc"))
    assert "/v1/jobs" in redoc
    assert httpx.get(pages["api"], follow_redirects=False).headers["location"] == "/docs"


def test_the_report_page_shows_the_verdicts_the_table_and_the_figures(pages: dict) -> None:
    replay = pages["jobs"]["replay"]
    url = pages["api"] + replay.report_url
    dom = render(url, screenshot=pages["shots"] / "report.png")
    page = text(dom)
    assert f"Tuning cost: replay job {replay.id}" in page
    assert "avagrad vs adam" in page and "Trials to reach δ" in page
    figures = re.findall(r'<img src="(report/[^"]+\.svg)"', dom)
    assert "report/suboptimality_curves.svg" in figures and "report/landscape_adam.svg" in figures
    for src in figures:  # every figure the page shows is served
        assert httpx.get(f"{pages['api']}/v1/comparisons/{replay.id}/{src}").status_code == 200
    assert (pages["shots"] / "report.png").stat().st_size > 10_000  # drawn, not blank
