"""fetch_mnist's real download code against a local HTTP server on 127.0.0.1."""

import errno
import gzip
import hashlib
import http.client
import http.server
import logging
import os
import socket
import ssl
import stat
import threading
import time
import urllib.error

import numpy as np
import pytest

from sklearn_mnist.datasets import _download, _fetch, fetch_mnist, save_idx

N_TRAIN, N_TEST = 7, 3
NAMES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]


@pytest.fixture
def files(tmp_path_factory, monkeypatch):
    """Small MNIST-format files, with fetch_mnist's checksums patched to theirs."""
    rng = np.random.default_rng(0)
    src = tmp_path_factory.mktemp("served")
    arrays = {
        NAMES[0]: rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        NAMES[1]: rng.integers(0, 10, N_TRAIN).astype(np.uint8),
        NAMES[2]: rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        NAMES[3]: rng.integers(0, 10, N_TEST).astype(np.uint8),
    }
    payload = {}
    for name, array in arrays.items():
        save_idx(src / name, array)
        payload[name] = (src / name).read_bytes()
    for variant in _fetch._VARIANTS:
        sums = {n: hashlib.sha256(b).hexdigest() for n, b in payload.items()}
        monkeypatch.setitem(_fetch._VARIANTS[variant], "sha256", sums)
    monkeypatch.delenv(_fetch.MIRROR_ENV_VAR, raising=False)
    return arrays, payload


class Server:
    """Serves ``routes[path] = (behaviour, body)``; counts requests per path."""

    def __init__(self):
        self.routes, self.hits = {}, {}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.hits[self.path] = server.hits.get(self.path, 0) + 1
                behaviour, body = server.routes.get(self.path, ("404", b""))
                if behaviour == "flaky" and server.hits[self.path] == 1:
                    behaviour = "500"
                if behaviour in ("404", "500"):
                    self.send_error(int(behaviour))
                    return
                if behaviour == "hang":
                    time.sleep(3)  # longer than the client's timeout; bounded
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if behaviour == "truncated":
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                elif behaviour == "corrupted":
                    self.wfile.write(bytes([body[0] ^ 0xFF]) + body[1:])
                else:
                    self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, prefix, payload, behaviour="ok", only=None):
        for name, body in payload.items():
            self.routes[f"{prefix}/{name}"] = (
                behaviour if only in (None, name) else "ok",
                body,
            )

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


def _cache_listing(data_home):
    return sorted(p.name for p in data_home.rglob("*") if p.is_file())


FAST = dict(n_retries=0, delay=0, timeout=1.0)


def test_download_verify_and_load(files, server, tmp_path):
    arrays, payload = files
    server.serve("/m", payload)
    bunch = fetch_mnist(data_home=tmp_path, mirror=server.url + "/m", **FAST)
    np.testing.assert_array_equal(bunch.images, arrays[NAMES[0]])
    np.testing.assert_array_equal(bunch.data, arrays[NAMES[0]].reshape(N_TRAIN, 784))
    assert bunch.target.dtype == np.int64
    np.testing.assert_array_equal(bunch.target, arrays[NAMES[1]])
    assert len(bunch.feature_names) == 784 and bunch.target_names[3] == "3"
    assert "MNIST" in bunch.DESCR and bunch.frame is None
    assert _cache_listing(tmp_path) == sorted(NAMES[:2])
    assert (tmp_path / "mnist" / NAMES[0]).read_bytes() == payload[NAMES[0]]

    # Offline afterwards: no request reaches the server.
    hits = dict(server.hits)
    X, y = fetch_mnist(data_home=tmp_path, download_if_missing=False, return_X_y=True)
    assert server.hits == hits
    assert X.shape == (N_TRAIN, 784) and y.shape == (N_TRAIN,)


def test_subset_all_is_train_then_test(files, server, tmp_path):
    arrays, payload = files
    server.serve("/m", payload)
    bunch = fetch_mnist(
        subset="all", data_home=tmp_path, mirror=server.url + "/m", **FAST
    )
    assert bunch.images.shape == (N_TRAIN + N_TEST, 28, 28)
    np.testing.assert_array_equal(bunch.images[N_TRAIN:], arrays[NAMES[2]])
    np.testing.assert_array_equal(
        bunch.target, np.concatenate([arrays[NAMES[1]], arrays[NAMES[3]]])
    )
    test = fetch_mnist(subset="test", data_home=tmp_path, download_if_missing=False)
    assert test.data.shape == (N_TEST, 784)


def test_as_frame(files, server, tmp_path):
    _, payload = files
    server.serve("/m", payload)
    bunch = fetch_mnist(
        data_home=tmp_path, mirror=server.url + "/m", as_frame=True, **FAST
    )
    assert bunch.data.shape == (N_TRAIN, 784)
    assert list(bunch.data.columns) == bunch.feature_names
    assert bunch.target.name == "class"
    assert bunch.frame.shape == (N_TRAIN, 785)
    X, y = fetch_mnist(data_home=tmp_path, as_frame=True, return_X_y=True, **FAST)
    assert X.shape == (N_TRAIN, 784) and y.shape == (N_TRAIN,)


@pytest.mark.parametrize("variant", ["fashion", "kmnist"])
def test_variants_cache_in_their_own_folder(files, server, tmp_path, variant):
    _, payload = files
    server.serve(f"/{variant}", payload)
    bunch = fetch_mnist(
        variant=variant, data_home=tmp_path, mirror=server.url + "/{variant}/", **FAST
    )
    assert bunch.data.shape == (N_TRAIN, 784)
    assert (tmp_path / variant / NAMES[0]).exists()
    assert not (tmp_path / "mnist").exists()
    assert len(bunch.target_names) == 10 and bunch.target_names[0] != "0"


def test_mirror_from_environment(files, server, tmp_path, monkeypatch):
    _, payload = files
    server.serve("/env", payload)
    monkeypatch.setenv(_fetch.MIRROR_ENV_VAR, server.url + "/env")
    assert fetch_mnist(data_home=tmp_path, **FAST).data.shape == (N_TRAIN, 784)


def test_falls_back_to_the_next_canonical_mirror(files, server, tmp_path, monkeypatch):
    _, payload = files
    server.serve("/second", payload)
    monkeypatch.setitem(
        _fetch._VARIANTS["mnist"],
        "mirrors",
        [server.url + "/first/", server.url + "/second/"],
    )
    assert fetch_mnist(data_home=tmp_path, **FAST).data.shape == (N_TRAIN, 784)
    assert server.hits[f"/first/{NAMES[0]}"] == 1


def test_retries_after_a_server_error(files, server, tmp_path):
    _, payload = files
    server.serve("/m", payload, behaviour="flaky")
    bunch = fetch_mnist(
        data_home=tmp_path, mirror=server.url + "/m", n_retries=1, delay=0, timeout=1.0
    )
    assert bunch.data.shape == (N_TRAIN, 784)
    assert server.hits[f"/m/{NAMES[0]}"] == 2


@pytest.mark.parametrize(
    "behaviour, match, attempts",
    [
        ("404", "404", 1),  # retrying would not help
        ("truncated", "ncomplete|truncated", 2),
        ("corrupted", "checksum", 2),
        ("hang", "timed out", 2),
    ],
)
def test_failed_download_leaves_nothing_in_the_cache(
    files, server, tmp_path, behaviour, match, attempts
):
    _, payload = files
    server.serve("/m", payload, behaviour=behaviour, only=NAMES[0])
    start = time.monotonic()
    with pytest.raises(OSError, match=match):
        fetch_mnist(
            data_home=tmp_path,
            mirror=server.url + "/m",
            n_retries=1,
            delay=0,
            timeout=0.5,
        )
    assert time.monotonic() - start < 2.9  # the hang was cut by the timeout
    assert server.hits[f"/m/{NAMES[0]}"] == attempts
    assert _cache_listing(tmp_path) == []
    # Nothing half-written means a later fetch with a good server just works.
    server.serve("/m", payload)
    assert fetch_mnist(
        data_home=tmp_path, mirror=server.url + "/m", **FAST
    ).data.shape == (
        N_TRAIN,
        784,
    )


def test_no_download_when_missing(files, tmp_path):
    with pytest.raises(
        OSError, match="Data not found and download_if_missing is False"
    ) as info:
        fetch_mnist(data_home=tmp_path, download_if_missing=False)
    # The message says which file was looked for, and where.
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message
    assert str(tmp_path) in message


def test_corrupted_cache_is_detected_and_replaced(files, server, tmp_path):
    _, payload = files
    server.serve("/m", payload)
    fetch_mnist(data_home=tmp_path, mirror=server.url + "/m", **FAST)
    cached = tmp_path / "mnist" / NAMES[0]
    cached.write_bytes(gzip.compress(b"not mnist"))
    with pytest.raises(OSError, match="SHA-256"):
        fetch_mnist(data_home=tmp_path, download_if_missing=False)
    fetch_mnist(data_home=tmp_path, mirror=server.url + "/m", **FAST)
    assert cached.read_bytes() == payload[NAMES[0]]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"variant": "cifar"}, "variant must be one of"),
        ({"subset": "val"}, "subset must be"),
    ],
)
def test_bad_arguments(kwargs, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        fetch_mnist(data_home=tmp_path, **kwargs)


def test_canonical_mirrors_are_used_by_default(monkeypatch, tmp_path):
    monkeypatch.delenv(_fetch.MIRROR_ENV_VAR, raising=False)
    seen = []

    def fake_download(urls, dest, sha256, **kw):
        seen.append(urls)
        raise OSError("offline")

    monkeypatch.setattr(_fetch, "download", fake_download)
    with pytest.raises(OSError, match="offline"):
        fetch_mnist(data_home=tmp_path)
    assert seen[0][0] == "https://ossci-datasets.s3.amazonaws.com/mnist/" + NAMES[0]


# --- Offline: what is retried, the hint, local files (issue #14) -----------------


def _closed_port_url():
    """A URL on 127.0.0.1 where nothing listens: connection refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def attempts(monkeypatch):
    """Counts the download attempts per URL."""
    seen = {}
    fetch_once = _download._fetch_once

    def counting(url, *args, **kwargs):
        seen[url] = seen.get(url, 0) + 1
        return fetch_once(url, *args, **kwargs)

    monkeypatch.setattr(_download, "_fetch_once", counting)
    return seen


def test_offline_each_mirror_is_tried_once_and_the_error_says_what_to_do(
    files, tmp_path, monkeypatch, attempts, caplog
):
    mirrors = [_closed_port_url() + "a/", _closed_port_url() + "b/"]
    monkeypatch.setitem(_fetch._VARIANTS["mnist"], "mirrors", mirrors)
    with caplog.at_level(logging.INFO, logger="sklearn_mnist"):
        with pytest.raises(OSError) as info:
            fetch_mnist(data_home=tmp_path, n_retries=3, delay=10.0, timeout=1.0)
    # Connection refused: no retry on the same URL (and no 10 s delay).
    assert attempts == {m + NAMES[0]: 1 for m in mirrors}
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2
    message = str(info.value)
    assert message.startswith(f"Could not download {NAMES[0]} from any mirror")
    assert all(m + NAMES[0] in message for m in mirrors)
    assert "Connection refused" in message
    hint = message[message.index("refused", message.index(mirrors[1])) :]
    assert str(tmp_path / "mnist") in hint and "data_home=" in hint
    assert "checksum" in hint and _fetch.MIRROR_ENV_VAR in hint
    assert message.endswith('fetch_mnist(mirror="file:///path/to/folder/").')
    assert _cache_listing(tmp_path) == []


def _http(code):
    return urllib.error.HTTPError("http://a.example/x", code, "", None, None)


def _url(reason):
    return urllib.error.URLError(reason)


@pytest.mark.parametrize(
    "error, retried",
    [
        pytest.param(_url(socket.gaierror(-2, "Name unknown")), 0, id="dns"),
        pytest.param(_url(ConnectionRefusedError(111, "refused")), 0, id="refused"),
        pytest.param(_url(OSError(errno.ENETUNREACH, "Unreachable")), 0, id="no-net"),
        pytest.param(_url(ssl.SSLCertVerificationError("bad")), 0, id="certificate"),
        pytest.param(_url("unknown url type: gopher"), 0, id="url-type"),
        pytest.param(ValueError("unknown url type: 'dir/x'"), 0, id="no-scheme"),
        pytest.param(_http(404), 0, id="404"),
        pytest.param(_http(403), 0, id="403"),
        pytest.param(_http(500), 2, id="500"),
        pytest.param(_http(503), 2, id="503"),
        pytest.param(_http(429), 2, id="429"),
        pytest.param(_url(TimeoutError("timed out")), 2, id="connect-timeout"),
        pytest.param(TimeoutError("timed out"), 2, id="read-timeout"),
        pytest.param(ConnectionResetError(104, "reset"), 2, id="reset"),
        pytest.param(http.client.RemoteDisconnected("closed"), 2, id="disconnected"),
        pytest.param(http.client.IncompleteRead(b"abc", 10), 2, id="incomplete"),
    ],
)
def test_only_transient_errors_are_retried(tmp_path, monkeypatch, error, retried):
    calls = []

    def failing_urlopen(url, timeout):
        calls.append(url)
        raise error

    monkeypatch.setattr(_download.urllib.request, "urlopen", failing_urlopen)
    urls = ["http://a.example/x", "http://b.example/x"]
    with pytest.raises(OSError, match="Could not download x from any mirror"):
        _download.download(urls, str(tmp_path / "x"), "0" * 64, n_retries=2, delay=0)
    assert calls == [urls[0]] * (1 + retried) + [urls[1]] * (1 + retried)
    assert list(tmp_path.iterdir()) == []


def _write_folder(folder, payload, corrupt=None):
    folder.mkdir()
    for name, body in payload.items():
        if name == corrupt:
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        (folder / name).write_bytes(body)
    return folder


def test_file_mirror(files, tmp_path, attempts):
    arrays, payload = files
    folder = _write_folder(tmp_path / "local copy", payload)  # %20 in the URI
    home = tmp_path / "home"
    bunch = fetch_mnist(data_home=home, mirror=folder.as_uri(), **FAST)
    np.testing.assert_array_equal(bunch.images, arrays[NAMES[0]])
    assert _cache_listing(home) == sorted(NAMES[:2])
    assert sorted(attempts) == [f"{folder.as_uri()}/{n}" for n in NAMES[:2]]


def test_file_mirror_with_wrong_files_fails_the_checksum(files, tmp_path, attempts):
    _, payload = files
    folder = _write_folder(tmp_path / "copy", payload, corrupt=NAMES[0])
    home = tmp_path / "home"
    with pytest.raises(OSError, match="checksum mismatch"):
        fetch_mnist(data_home=home, mirror=folder.as_uri(), n_retries=2, delay=0)
    assert attempts == {f"{folder.as_uri()}/{NAMES[0]}": 1}  # local: no retry
    assert _cache_listing(home) == []


def test_file_mirror_missing_file(files, tmp_path, attempts):
    folder = tmp_path / "empty"
    folder.mkdir()
    with pytest.raises(OSError, match="No such file"):
        fetch_mnist(data_home=tmp_path / "home", mirror=folder.as_uri(), n_retries=2)
    assert list(attempts.values()) == [1]


def test_files_put_in_data_home_by_hand_are_used_offline(files, tmp_path, attempts):
    arrays, payload = files
    _write_folder(tmp_path / "mnist", payload)
    bunch = fetch_mnist(data_home=tmp_path, mirror=_closed_port_url(), **FAST)
    np.testing.assert_array_equal(bunch.images, arrays[NAMES[0]])
    assert attempts == {}


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize(
    "umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)]
)
def test_cached_files_get_the_permissions_the_umask_allows(
    files, server, tmp_path, umask, mode
):
    _, payload = files
    server.serve("/m", payload)
    previous = os.umask(umask)
    try:
        fetch_mnist(data_home=tmp_path, mirror=server.url + "/m", **FAST)
    finally:
        os.umask(previous)
    for name in NAMES[:2]:
        assert stat.S_IMODE((tmp_path / "mnist" / name).stat().st_mode) == mode
