"""Python client for the tunecost REST API (httpx).

from tunecost.api.client import TunecostClient

client = TunecostClient()                     # TUNECOST_URL or http://127.0.0.1:8000
job = client.submit(task="digits-mlp", optimizer="adam", searcher="tpe", budget=12)
job = client.wait(job.id)                     # progress bar on stderr; job.state, job.best, ...
client.curve(job.id)                          # [CurvePoint(trial=1, alpha=..., suboptimality=...), ...]
client.best_config("digits-mlp", "adam")      # BestConfigPublic(alpha=..., epsilon=..., error=..., job_id=...)

Answers are the API's own response models (:mod:`tunecost.api.schemas`), so an editor knows their
fields; ``.model_dump()`` gives the JSON as a dict.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import httpx

from tunecost.api.schemas import (
    BestConfigPublic,
    CatalogPublic,
    CurvePoint,
    CurvePublic,
    Health,
    JobPublic,
    JobsPublic,
    TrialPublic,
    TrialsPublic,
)
from tunecost.service.states import FINISHED

DEFAULT_URL = "http://127.0.0.1:8000"


class TunecostError(RuntimeError):
    """An error answer from the server, with its status code and detail."""

    def __init__(self, status_code: int, detail: Any) -> None:
        self.status_code = status_code
        self.detail = detail
        super().__init__(f"{status_code}: {format_detail(detail)}")


def format_detail(detail: Any) -> str:
    """One line from FastAPI's error detail: a string, or a list of {loc, msg}."""
    if isinstance(detail, list):
        parts = []
        for err in detail:
            loc = [str(x) for x in err.get("loc", []) if x != "body"]
            parts.append(f"{'.'.join(loc) or 'body'}: {err.get('msg', '')}".replace("Value error, ", ""))
        return "; ".join(parts)
    return str(detail)


class TunecostClient:
    def __init__(
        self, base_url: str | None = None, *, token: str | None = None, timeout: float = 30.0
    ) -> None:
        self.base_url = (base_url or os.environ.get("TUNECOST_URL") or DEFAULT_URL).rstrip("/")
        token = token or os.environ.get("TUNECOST_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TunecostClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise TunecostError(response.status_code, detail)
        return response

    # --- jobs ---
    def submit(self, spec: dict[str, Any] | None = None, **fields: Any) -> JobPublic:
        """Queue a job: ``submit(task="digits-mlp", optimizer="adam", budget=12)`` or a full spec dict."""
        body = {"kind": "search", **(spec or {}), **fields}
        return JobPublic.model_validate(self._request("POST", "/v1/jobs", json=body).json())

    def get(self, job_id: int) -> JobPublic:
        return JobPublic.model_validate(self._request("GET", f"/v1/jobs/{job_id}").json())

    def jobs(self, **filters: Any) -> JobsPublic:
        params = {k: v for k, v in filters.items() if v is not None}
        return JobsPublic.model_validate(self._request("GET", "/v1/jobs", params=params).json())

    def cancel(self, job_id: int) -> JobPublic:
        return JobPublic.model_validate(self._request("POST", f"/v1/jobs/{job_id}/cancel").json())

    def trials(self, job_id: int) -> list[TrialPublic]:
        return TrialsPublic.model_validate(self._request("GET", f"/v1/jobs/{job_id}/trials").json()).data

    def curve(self, job_id: int) -> list[CurvePoint]:
        return CurvePublic.model_validate(self._request("GET", f"/v1/jobs/{job_id}/curve").json()).points

    def curve_csv(self, job_id: int) -> str:
        return self._request("GET", f"/v1/jobs/{job_id}/curve", params={"format": "csv"}).text

    def wait(
        self, job_id: int, *, timeout: float | None = None, poll: float = 1.0, progress: bool = True
    ) -> JobPublic:
        """Block until the job finishes; shows trials done / budget on stderr. Returns the job."""
        # tqdm: only when a progress bar is drawn
        from tqdm import tqdm

        deadline = None if timeout is None else time.monotonic() + timeout
        job = self.get(job_id)
        bar = tqdm(
            total=job.total,
            desc=f"job {job_id}",
            unit=job.unit.rstrip("s"),
            disable=not progress,
            file=sys.stderr,
        )
        try:
            while True:
                bar.total, bar.n = job.total, job.trials_done
                best = job.best
                bar.set_postfix_str(f"{job.state}" + (f" best={best.error:.2f}%" if best else ""))
                if job.state in FINISHED:
                    return job
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"job {job_id} still {job.state} after {timeout} s")
                time.sleep(poll)
                job = self.get(job_id)
        finally:
            bar.close()

    # --- results ---
    def best_config(self, task: str, optimizer: str, *, recipe_hash: str | None = None) -> BestConfigPublic:
        params = {"task": task, "optimizer": optimizer}
        if recipe_hash:
            params["recipe_hash"] = recipe_hash
        return BestConfigPublic.model_validate(self._request("GET", "/v1/best-configs", params=params).json())

    def catalog(self) -> CatalogPublic:
        return CatalogPublic.model_validate(self._request("GET", "/v1/catalog").json())

    def health(self) -> Health:
        return Health.model_validate(self._request("GET", "/healthz").json())
