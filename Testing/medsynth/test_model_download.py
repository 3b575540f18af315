"""Models beyond the bundled set: a catalog entry with a URL and a SHA256, downloaded on first use into the
user's cache, here from a local HTTP server on 127.0.0.1 (no network needed)."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading

import pytest
from medsynth.core.catalog import add_to_catalog, find_models, load_catalog, model_card, resolve_model
from medsynth.core.errors import ModelError

pytestmark = pytest.mark.torch  # the served model file is written with torch


@pytest.fixture
def server(tmp_path):
    """A local HTTP server over ``tmp_path/releases``, counting the requests it answers."""
    releases = tmp_path / "releases"
    releases.mkdir()
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(releases)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield releases, f"http://127.0.0.1:{httpd.server_address[1]}", requests
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def release(tmp_path, model_file, server, monkeypatch):
    """A catalog folder whose one model is a release file on the server, and an empty user cache."""
    releases, base, requests = server
    monkeypatch.setenv("MEDSYNTH_CACHE_DIR", str(tmp_path / "cache"))
    shutil.copy(model_file, releases / "tiny-v2.safetensors")
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    entry = add_to_catalog(releases / "tiny-v2.safetensors", folder=catalog, url=f"{base}/tiny-v2.safetensors")
    return catalog, entry, requests


def test_a_release_model_is_listed_without_download_and_fetched_once_on_first_use(release, tmp_path):
    catalog, entry, requests = release
    assert not (catalog / "tiny-v2.safetensors").exists()  # nothing of it in the repository
    listed = json.loads((catalog / "catalog.json").read_text())["models"][0]
    assert listed["url"].endswith("/tiny-v2.safetensors") and listed["size"] > 0
    assert [e.name for e in find_models(folder=catalog)] == ["tiny"] and model_card("tiny", catalog).name == "tiny"
    assert requests == [] and not entry.path.exists()

    path = resolve_model("tiny", catalog)
    assert path == tmp_path / "cache" / entry.sha256[:16] / "tiny-v2.safetensors" and path.is_file()
    assert requests == ["/tiny-v2.safetensors"]
    assert resolve_model("tiny", catalog) == path and len(requests) == 1  # cached: no second download
    assert sorted(p.name for p in path.parent.iterdir()) == ["tiny-v2.safetensors"]  # no temporary left


def test_a_changed_release_file_is_refused_and_nothing_is_cached(release):
    catalog, entry, _ = release
    releases = catalog.parent / "releases"
    (releases / "tiny-v2.safetensors").write_bytes(b"\0" * entry.size)  # same size, other content
    with pytest.raises(ModelError, match=r"model 'tiny': the file from http://127\.0\.0\.1:\d+/tiny-v2\.safetensors "
                                         r"has SHA256 .*, the catalog says .*; it was not saved"):
        resolve_model("tiny", catalog)
    assert not entry.path.exists() and list(entry.path.parent.iterdir()) == []


def test_a_server_that_sends_more_than_announced_or_is_gone_gets_a_clear_error(release, server):
    catalog, entry, _ = release
    releases = server[0]
    (releases / "tiny-v2.safetensors").write_bytes(b"\0" * (entry.size + 10))
    with pytest.raises(ModelError, match=f"sent more than the catalog's {entry.size} bytes"):
        resolve_model("tiny", catalog)
    (releases / "tiny-v2.safetensors").unlink()
    with pytest.raises(ModelError, match=r"could not be downloaded from .* \(HTTP 404: .*\); check the network, or "
                                         r"download the file yourself and save it as .*tiny-v2\.safetensors"):
        resolve_model("tiny", catalog)
    assert not entry.path.exists()


def test_a_catalog_url_must_be_http_or_https(tmp_path, release):
    catalog, _, _ = release
    data = json.loads((catalog / "catalog.json").read_text())
    data["models"][0]["url"] = "file:///etc/passwd"
    (catalog / "catalog.json").write_text(json.dumps(data))
    with pytest.raises(ModelError, match="'url' must be an http\\(s\\) address, got 'file:///etc/passwd'"):
        load_catalog(catalog)
