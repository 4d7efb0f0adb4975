"""Shared test set-up: Hypothesis settings and closing figures after each test."""

import ipaddress
import socket

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


_real_getaddrinfo = socket.getaddrinfo


def _loopback_only(host, *args, **kwargs):
    """No test may reach the internet: only loopback names and addresses resolve."""
    name = host.decode() if isinstance(host, bytes) else str(host)
    try:
        allowed = ipaddress.ip_address(name).is_loopback
    except ValueError:
        allowed = name == "localhost"
    if not allowed:
        raise socket.gaierror(f"tests may not reach {name!r}: only 127.0.0.1 and localhost")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", _loopback_only)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The whole book, built once per test session (strict flags, executed chapters),
    on real-format data: SVRIMG pickles made from the shipped real storms, served on
    127.0.0.1, loaded through the same download path as the published build's.
    (The Colab emulation runs every chapter on the synthetic set, so both sources
    are executed by the suite.)"""
    from bookbuild import ROOT, make_html
    from svrimg_splits import serve_folder, write_splits

    served = tmp_path_factory.mktemp("svrimg-served")
    write_splits(served)
    with serve_folder(served) as url:
        result = make_html(ROOT, radar_env={
            "COURSEKIT_RADAR_SOURCE": "svrimg",
            "COURSEKIT_SVRIMG_URL": url,
            "COURSEKIT_DATA_DIR": str(tmp_path_factory.mktemp("svrimg-cache")),
        })
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return ROOT / "_build" / "html", result.stdout + result.stderr
