"""coursekit.data.get_example_data and load_radar against a real HTTP server on 127.0.0.1.

The server serves files in SVRIMG's exact format (pickled tuples of NumPy arrays)
and misbehaves on request: 404s, cut-off transfers, stalls and a hostile pickle.
No test touches the internet.
"""

import http.server
import os
import pickle
import socket
import threading
import time

import numpy as np
import pytest

from coursekit import data, synthetic
from coursekit._download import DownloadError, UnsafePickleError, fetch

FILE = data.SVRIMG_FILES["testing"]
X, Y = synthetic.synthetic_radar(3, seed=5)
GOOD = pickle.dumps((X, Y))


class _RunCode:
    """Unpickling this would create a marker file: the classic pickle exploit."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}
    requests: list = []

    def do_GET(self):
        try:
            self._answer()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeouts): expected here

    def _answer(self):
        type(self).requests.append(self.path)
        kind, body = self.routes.get(self.path, ("404", b""))
        if kind == "404":
            self.send_error(404)
            return
        if kind == "stall":
            time.sleep(3)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if kind == "cut":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Handler.routes, Handler.requests = {}, []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def serve(path, kind="ok", body=GOOD):
    Handler.routes[path] = (kind, body)


def test_download_then_cache_without_network(server, tmp_path):
    httpd, base = server
    serve(f"/svrimg/{FILE}")
    x, y = data.get_example_data("testing", data_dir=tmp_path, url=f"{base}/svrimg/", progressbar=False)
    assert x.dtype == np.uint8 and x.shape == (3, 136, 136, 1)
    np.testing.assert_array_equal(x, X)
    np.testing.assert_array_equal(y, Y)
    assert (tmp_path / FILE).is_file()
    httpd.shutdown()  # no network from here on
    Handler.requests.clear()
    x2, _ = data.get_example_data("testing", data_dir=tmp_path, url=f"{base}/svrimg/", progressbar=False)
    np.testing.assert_array_equal(x2, X)
    assert Handler.requests == []


def test_same_names_and_default_url_as_svrimg():
    assert data.SVRIMG_URL == "https://nimbus.niu.edu/svrimg/data/classifications/"
    assert data.SVRIMG_FILES == {"training": "1996_2011_train.pkl", "validation": "2012_2013_validation.pkl",
                                 "testing": "2014_2017_test.pkl"}


def test_cache_directory_from_environment(server, tmp_path, monkeypatch):
    _, base = server
    serve(f"/{FILE}")
    monkeypatch.setenv("COURSEKIT_DATA_DIR", str(tmp_path / "cache"))
    data.get_example_data("testing", url=f"{base}/", progressbar=False)
    assert (tmp_path / "cache" / FILE).is_file()


def test_http_404_names_url_and_path(server, tmp_path):
    _, base = server
    with pytest.raises(DownloadError, match=rf"{base}/{FILE}.*{tmp_path}.*HTTP 404"):
        data.get_example_data("testing", data_dir=tmp_path, url=f"{base}/", progressbar=False)
    assert list(tmp_path.iterdir()) == []


def test_connection_refused(tmp_path):
    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DownloadError, match=rf"127.0.0.1:{port}/{FILE}.*no connection"):
        data.get_example_data("testing", data_dir=tmp_path, url=f"http://127.0.0.1:{port}/", progressbar=False)
    assert list(tmp_path.iterdir()) == []


def test_transfer_cut_off_midway_leaves_no_cache_entry(server, tmp_path):
    _, base = server
    serve(f"/{FILE}", "cut")
    with pytest.raises(DownloadError, match=str(tmp_path)):
        data.get_example_data("testing", data_dir=tmp_path, url=f"{base}/", progressbar=False)
    assert not (tmp_path / FILE).exists()
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".pkl")] == []


def test_read_timeout(server, tmp_path):
    _, base = server
    serve("/slow.pkl", "stall")
    with pytest.raises(DownloadError, match="timed out"):
        fetch(f"{base}/slow.pkl", tmp_path, "slow.pkl", progressbar=False, timeout=(1, 0.5))
    assert not (tmp_path / "slow.pkl").exists()


def test_pickle_that_would_run_code_is_refused(server, tmp_path):
    _, base = server
    marker = tmp_path / "pwned"
    serve(f"/{FILE}", body=pickle.dumps((X, _RunCode(marker))))
    with pytest.raises(UnsafePickleError, match=r"posix.system|os.system|refusing to load"):
        data.get_example_data("testing", data_dir=tmp_path / "cache", url=f"{base}/", progressbar=False)
    assert not marker.exists()
    assert not (tmp_path / "cache" / FILE).exists(), "a hostile file must not stay in the cache"


def test_corrupt_cache_file_is_fetched_again(server, tmp_path):
    _, base = server
    serve(f"/{FILE}")
    url = f"{base}/"
    data.get_example_data("testing", data_dir=tmp_path, url=url, progressbar=False)
    damaged = bytearray((tmp_path / FILE).read_bytes())
    damaged[-200] ^= 0xFF  # one flipped byte in the pixels: still a loadable pickle
    (tmp_path / FILE).write_bytes(bytes(damaged))
    Handler.requests.clear()
    x, _ = data.get_example_data("testing", data_dir=tmp_path, url=url, progressbar=False)
    np.testing.assert_array_equal(x, X)
    assert Handler.requests == [f"/{FILE}"]
    (tmp_path / FILE).write_bytes(GOOD[:1000])  # truncated
    x, _ = data.get_example_data("testing", data_dir=tmp_path, url=url, progressbar=False)
    np.testing.assert_array_equal(x, X)


def test_wrong_shapes_are_rejected_with_the_file_named(server, tmp_path):
    _, base = server
    serve(f"/{FILE}", body=pickle.dumps((np.zeros((2, 64, 64), np.float32), np.zeros(2))))
    with pytest.raises(ValueError, match=rf"{FILE}.*not valid SVRIMG data.*uint8 of shape"):
        data.get_example_data("testing", data_dir=tmp_path, url=f"{base}/", progressbar=False)


def test_unknown_data_type():
    with pytest.raises(ValueError, match="`data_type` must be 'training', 'validation' or 'testing'"):
        data.get_example_data("train")


def test_load_radar_sources(server, tmp_path):
    _, base = server
    serve(f"/{FILE}")
    real = data.load_radar("testing", source="svrimg", data_dir=tmp_path, url=f"{base}/", progressbar=False)
    assert real.source == "svrimg" and real.is_real and real.x.shape == (3, 136, 136, 1)
    synthetic = data.load_radar("testing", source="synthetic")
    assert synthetic.source == "synthetic" and not synthetic.is_real and len(synthetic.x) == 30


def test_get_example_data_returns_the_stored_bytes_and_load_radar_turns_them_north_up(server, tmp_path):
    """SVRIMG stores images south-up (row 0 = south): get_example_data keeps them so,
    load_radar reverses the rows, and nothing else changes."""
    _, base = server
    stored = np.arange(3 * 136 * 136, dtype=np.int64).reshape(3, 136, 136, 1) % 81
    stored = stored.astype(np.uint8)
    serve(f"/{FILE}", body=pickle.dumps((stored, Y)))
    x, _ = data.get_example_data("testing", data_dir=tmp_path, url=f"{base}/", progressbar=False)
    assert x.tobytes() == stored.tobytes()
    north_up = data.load_radar("testing", source="svrimg", data_dir=tmp_path, url=f"{base}/").x
    for row in (0, 1, 67, 135):
        np.testing.assert_array_equal(north_up[:, row], stored[:, 135 - row])


def test_only_svrimgs_own_server_is_described_as_real_images(server, tmp_path, monkeypatch):
    _, base = server
    serve(f"/mirror/{FILE}")
    radar = data.load_radar("testing", source="svrimg", data_dir=tmp_path, url=f"{base}/mirror/")
    assert "real" not in radar.description and f"{base}/mirror/" in radar.description
    # The same bytes under SVRIMG's own address (a cached download) are its real images.
    monkeypatch.setattr(data, "get_example_data", lambda *args, **kwargs: (X, Y))
    radar = data.load_radar("testing", source="svrimg", data_dir=tmp_path)
    assert radar.description.endswith(f"{len(X)} real images")


def test_one_hot_labels_become_class_indices(server, tmp_path):
    _, base = server
    one_hot = np.eye(6, dtype=np.float32)[Y]
    serve(f"/{FILE}", body=pickle.dumps((X, one_hot)))
    radar = data.load_radar("testing", source="svrimg", data_dir=tmp_path, url=f"{base}/")
    np.testing.assert_array_equal(radar.y, Y)
    assert radar.y.dtype == np.int64


def test_the_url_comes_from_the_environment_when_not_given(server, tmp_path, monkeypatch):
    _, base = server
    serve(f"/mirror/{FILE}")
    monkeypatch.setenv("COURSEKIT_SVRIMG_URL", f"{base}/mirror/")
    assert data.load_radar("testing", source="svrimg", data_dir=tmp_path).source == "svrimg"
    assert Handler.requests == [f"/mirror/{FILE}"]


def test_load_radar_auto_falls_back_with_one_logged_warning_and_prints_nothing(tmp_path, capsys, caplog):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    radar = data.load_radar("validation", data_dir=tmp_path, url=url, progressbar=False)
    assert radar.source == "synthetic" and len(radar.x) == 11
    assert capsys.readouterr() == ("", ""), "a notice belongs in the log, never printed into a page"
    notices = [r for r in caplog.records if r.name == "coursekit.data"]
    assert len(notices) == 1 and notices[0].levelname == "WARNING"
    assert "synthetic" in notices[0].getMessage() and "no connection" in notices[0].getMessage()
    with pytest.raises(DownloadError):
        data.load_radar("validation", source="svrimg", data_dir=tmp_path, url=url, progressbar=False)


def test_synthetic_splits_keep_svrimgs_proportions():
    sizes = {split: len(data.load_radar(split, source="synthetic").x) for split in data.SVRIMG_FILES}
    assert sizes == {"training": 133, "validation": 11, "testing": 30}
    assert data.SVRIMG_SIZES == {"training": 1331, "validation": 110, "testing": 300}
    a = data.load_radar("testing", source="synthetic", seed=1).x
    np.testing.assert_array_equal(a, data.load_radar("testing", source="synthetic", seed=1).x)
    assert not np.array_equal(a, data.load_radar("validation", source="synthetic", seed=1, n=30).x)


def test_auto_falls_back_on_a_file_that_is_not_svrimg_data(server, tmp_path, caplog):
    _, base = server
    serve(f"/{FILE}", body=b"<html>captive portal</html>")
    radar = data.load_radar("testing", data_dir=tmp_path, url=f"{base}/", progressbar=False)
    assert radar.source == "synthetic"
    assert "not valid" in caplog.text


def test_environment_variable_replaces_auto(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSEKIT_RADAR_SOURCE", "synthetic")
    # No server at all: with the variable set, nothing is even attempted.
    assert data.load_radar("testing", data_dir=tmp_path, url="http://127.0.0.1:9/").source == "synthetic"
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv("COURSEKIT_RADAR_SOURCE", "web")
    with pytest.raises(ValueError, match="COURSEKIT_RADAR_SOURCE must be"):
        data.load_radar("testing")


def test_load_radar_bad_arguments():
    with pytest.raises(ValueError, match="`split`"):
        data.load_radar("test")
    with pytest.raises(ValueError, match="`source`"):
        data.load_radar("testing", source="web")
