"""The IXI downloader against a local HTTP server (127.0.0.1) serving tiny IXI-shaped archives made from
phantoms: checksums, resuming, servers that ignore ranges or drop the connection, safe unpacking."""

from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
from pathlib import Path

import pytest
from medsynth import ixi
from medsynth.cli.main import main
from medsynth.core.errors import InputError
from medsynth.dataset import find_subjects
from medsynth.io import read_volume
from medsynth.phantom import write_phantom_dataset

SUBJECTS = {"phantom001": "IXI002-Guys-0828", "phantom002": "IXI012-HH-1211"}


def ixi_archive(folder: Path, contrast: str) -> bytes:
    """An IXI-style tar: top-level IXI###-Site-####-<contrast>.nii.gz files, plus what must be ignored."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for phantom, name in SUBJECTS.items():
            tar.add(folder / f"{phantom}-{contrast}.nii.gz", arcname=f"{name}-{contrast}.nii.gz")
        for hostile in ("../evil.nii.gz", "readme.txt"):
            info = tarfile.TarInfo(hostile)
            info.size = 4
            tar.addfile(info, io.BytesIO(b"evil"))
    return data.getvalue()


class Server:
    """Serves ``files`` with range requests; ``ranges=False`` ignores them, ``cut`` drops the connection
    after that many bytes of the next response."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files, self.ranges, self.cut, self.requests = files, True, None, []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = outer.files.get(self.path.rsplit("/", 1)[-1])
                outer.requests.append((self.path, self.headers.get("Range")))
                if body is None:
                    self.send_error(404)
                    return
                start, status = 0, 200
                wanted = self.headers.get("Range")
                if wanted and outer.ranges:
                    start, status = int(wanted.split("=")[1].rstrip("-")), 206
                part = body[start:]
                self.send_response(status)
                self.send_header("Content-Length", str(len(part)))
                self.end_headers()
                if outer.cut is not None:
                    self.wfile.write(part[: outer.cut])
                    outer.cut = None
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                self.wfile.write(part)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/ixi/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    folder = tmp_path_factory.mktemp("phantoms")
    write_phantom_dataset(folder, 2, shape=(24, 28, 20), seed=9, contrasts=("T1", "T2", "PD"))
    return {ixi.archive_name(c): ixi_archive(folder, c) for c in ("T1", "T2", "PD")}


@pytest.fixture
def server(archives):
    running = Server(dict(archives))
    yield running
    running.close()


def md5s(archives) -> dict[str, str]:
    return {c: hashlib.md5(archives[ixi.archive_name(c)]).hexdigest() for c in ("T1", "T2", "PD")}


def test_one_command_downloads_checks_and_unpacks_for_prepare(server, archives, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(ixi, "MD5", md5s(archives))  # the tiny archives' own checksums
    assert main(["-q", "ixi", str(tmp_path / "ixi"), "--base-url", server.url]) == 0
    raw = tmp_path / "ixi" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(f"{n}-{c}.nii.gz" for n in SUBJECTS.values()
                                                           for c in ("T1", "T2", "PD"))
    assert not (tmp_path / "evil.nii.gz").exists() and not (tmp_path / "ixi" / "evil.nii.gz").exists()
    assert set(find_subjects(raw)) == set(SUBJECTS.values())  # IXI-style names: medsynth prepare reads them
    assert read_volume(raw / "IXI002-Guys-0828-T2.nii.gz").array.shape == (20, 28, 24)  # [k, j, i]
    assert "next: medsynth prepare" in capsys.readouterr().out
    requests = len(server.requests)
    assert main(["-q", "ixi", str(tmp_path / "ixi"), "--base-url", server.url]) == 0  # all there: no download
    assert len(server.requests) == requests


def test_an_interrupted_download_continues_where_it_stopped(server, archives, tmp_path):
    expected = md5s(archives)["T1"]
    server.cut = 5000
    with pytest.raises(InputError, match="download interrupted.*run the same command again"):
        ixi.download("T1", tmp_path, server.url, expected)
    part = tmp_path / "IXI-T1.tar.part"
    assert part.stat().st_size == 5000 and not (tmp_path / "IXI-T1.tar").exists()
    path = ixi.download("T1", tmp_path, server.url, expected)
    assert server.requests[-1][1] == "bytes=5000-"  # asked only for the rest
    assert path.read_bytes() == archives["IXI-T1.tar"] and not part.exists()


def test_a_server_without_ranges_sends_everything_again(server, archives, tmp_path):
    server.ranges = False
    (tmp_path / "IXI-T2.tar.part").write_bytes(archives["IXI-T2.tar"][:3000])
    path = ixi.download("T2", tmp_path, server.url, md5s(archives)["T2"])
    assert path.read_bytes() == archives["IXI-T2.tar"]


def test_a_wrong_checksum_keeps_nothing(server, tmp_path):
    with pytest.raises(InputError, match="MD5 is .* not the published 0{32}; the damaged file was removed"):
        ixi.download("PD", tmp_path, server.url, "0" * 32)
    assert list(tmp_path.iterdir()) == []
    del server.files["IXI-PD.tar"]
    with pytest.raises(InputError, match="answered 404"):
        ixi.download("PD", tmp_path, server.url, "0" * 32)
    with pytest.raises(InputError, match="no 'FLAIR' archive"):
        ixi.download("FLAIR", tmp_path, server.url)


def test_unpacking_refuses_what_is_not_an_ixi_archive(tmp_path):
    junk = tmp_path / "IXI-T1.tar"
    junk.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(InputError, match="not a readable tar archive"):
        ixi.extract(junk, tmp_path / "raw")
    empty = tmp_path / "empty.tar"
    with tarfile.open(empty, "w"):
        pass
    with pytest.raises(InputError, match="holds no IXI NIfTI file"):
        ixi.extract(empty, tmp_path / "raw")


def test_full_scale_script_chains_download_and_prepare(server, archives, tmp_path, monkeypatch):
    from scripts_under_test import load_script

    monkeypatch.setattr(ixi, "MD5", md5s(archives))
    script = load_script(Path(__file__).resolve().parents[2] / "scripts" / "ixi_full_scale.py")
    assert script.main([str(tmp_path / "ixi"), "--base-url", server.url, "--stop-after", "prepare"]) == 0
    prepared = tmp_path / "ixi" / "prepared"
    assert (prepared / "report.csv").exists()
    assert set(find_subjects(prepared)) == set(SUBJECTS.values())
    t1, pd = (read_volume(prepared / f"IXI002-Guys-0828-{c}.nii.gz") for c in ("T1", "PD"))
    assert pd.same_grid(t1)  # registered onto the T1 grid, ready for training
