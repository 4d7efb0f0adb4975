"""Shared test set-up: Hypothesis settings and closing figures after each test."""

import pytest
from hypothesis import HealthCheck, settings

# Deterministic example generation keeps CI runs repeatable; no deadline because a
# shared 2-core machine makes per-example timings meaningless.
settings.register_profile(
    "course",
    deadline=None,
    derandomize=True,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("course")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
