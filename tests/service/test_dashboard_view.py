"""What optuna-dashboard shows of a grid search: its panels credit alpha and epsilon, never the
grid indices its sampler works in (they were split 0.42 / 0.39 between epsilon and epsilon_index)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import FloatDistribution, IntDistribution

from tests.wsgi import call
from tunecost.service.dashboard import dashboard_app
from tunecost.service.settings import Settings

ALPHAS = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
EPSILONS = [1e-8, 1e-6, 1e-4, 1e-2, 1.0]


def _get(app: Any, path: str) -> Any:
    status, body = call(app, "GET", path)
    assert status.startswith("200"), (status, str(body)[:300])
    return body


def test_the_dashboard_shows_a_grid_search_in_alpha_and_epsilon_only(
    settings: Settings, tmp_path: Path
) -> None:
    """A study as a live search writes it (service.kinds.search.sampler.DefineByRun): the sampler's indices and
    the real values beside them, as parameters. The error depends on epsilon alone."""
    url = settings.resolved_database_url
    study = optuna.create_study(study_name="grid-search", storage=url)
    distributions = {
        "alpha_index": IntDistribution(0, 4),
        "epsilon_index": IntDistribution(0, 4),
        "alpha": FloatDistribution(1e-4, 1.0, log=True),
        "epsilon": FloatDistribution(1e-8, 1.0, log=True),
    }
    for i in range(5):
        for j in range(5):
            params = {"alpha_index": i, "epsilon_index": j, "alpha": ALPHAS[i], "epsilon": EPSILONS[j]}
            study.add_trial(
                optuna.trial.create_trial(
                    params=params, distributions=distributions, value=10.0 + 5 * j + 0.01 * i
                )
            )
    app = dashboard_app(url, tmp_path)
    (summary,) = [s for s in _get(app, "/api/studies")["study_summaries"] if s["study_name"] == "grid-search"]
    detail = _get(app, f"/api/studies/{summary['study_id']}")
    trial = detail["trials"][0]
    assert {p["name"] for p in trial["params"]} == {"alpha", "epsilon"}
    assert {a["key"] for a in trial["user_attrs"]} >= {"alpha_index", "epsilon_index"}, (
        "the indices stay readable"
    )
    importances = _get(app, f"/api/studies/{summary['study_id']}/param_importances")["param_importances"]
    credited = {p["name"] for objective in importances for p in objective}
    assert credited == {"alpha", "epsilon"}
    # and the stored study is untouched: the sampler still finds its indices
    assert set(optuna.load_study(study_name="grid-search", storage=url).trials[0].params) == set(
        distributions
    )
