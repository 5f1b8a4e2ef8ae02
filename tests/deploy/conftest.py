"""Fixtures for the chart tests: the chart loaded once, each Kubernetes schema parsed once."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import helm_python as helm
import kubernetes_validate
import kubernetes_validate.utils
import pytest

from tests.support.chart import CHART_DIR


@pytest.fixture(scope="session", autouse=True)
def _parse_each_kubernetes_schema_once() -> Iterator[None]:
    """kubernetes-validate re-reads its (large) JSON schemas on every call; read each once."""
    with pytest.MonkeyPatch.context() as patch:
        cached = functools.cache(kubernetes_validate.utils.schema_contents)
        patch.setattr(kubernetes_validate.utils, "schema_contents", cached)
        yield


@pytest.fixture(scope="session")
def chart() -> Iterator[helm.Chart]:
    """The chart, loaded once."""
    with helm.Chart.load(CHART_DIR) as loaded:
        yield loaded
