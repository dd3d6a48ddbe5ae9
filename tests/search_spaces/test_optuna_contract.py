"""GLDSampler and CGLDSampler pass Optuna's own shipped sampler contract suites, as Optuna's
samplers do (``optuna.testing.pytest_samplers``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from optuna.samplers import BaseSampler
from optuna.testing.pytest_samplers import BasicSamplerTestCase, RelativeSamplerTestCase

from tunecost.search_spaces import CGLDSampler, GLDSampler


class _Both:
    @pytest.fixture(params=["gld", "cgld"])
    def sampler(self, request: pytest.FixtureRequest) -> Callable[[], BaseSampler]:
        cls = GLDSampler if request.param == "gld" else CGLDSampler
        return lambda: cls(seed=0)


class TestGLDSamplersBasic(_Both, BasicSamplerTestCase):
    pass


class TestGLDSamplersRelative(_Both, RelativeSamplerTestCase):
    pass
