"""Models beyond the bundled set: listed in the catalog with a URL and a SHA256, downloaded on first use.

The repository (and so the Slicer extension's clone) carries only the bundled models; larger or optional
models (ensembles, full-width networks) are release files. Their catalog entry holds the card (so menus and
``medsynth models`` show them without downloading), the file's URL, its size and its SHA256. The first use
downloads the file into the user's cache (``model_cache_dir()``), under its SHA256, so a new release never
shadows an old one; the download is written to a temporary name, checked against the SHA256 and only then
moved into place, so an interrupted or tampered download leaves nothing behind. Standard library only.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from .errors import ModelError
from .files import atomic_output

CACHE_ENV = "MEDSYNTH_CACHE_DIR"
SCHEMES = ("https://", "http://")  # the SHA256 pins the content whichever way it travels
TIMEOUT_S = 60
BLOCK = 1 << 20
log = logging.getLogger(__name__)


def model_cache_dir() -> Path:
    """Where downloaded models live: ``$MEDSYNTH_CACHE_DIR``, else the platform's user cache + ``medsynth/models``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "medsynth" / "models"


def cached_path(file: str, sha256: str) -> Path:
    """The cache location of a release file: one folder per content, so versions never collide."""
    return model_cache_dir() / sha256[:16] / file


def check_url(url: str, where: str) -> str:
    if not isinstance(url, str) or not url.startswith(SCHEMES):
        raise ModelError(f"{where}: 'url' must be an http(s) address, got {url!r}")
    return url


def download(name: str, url: str, sha256: str, target: Path, size: int = 0,
             progress: Callable[[int, int, str], None] | None = None) -> Path:
    """Download ``url`` into ``target``, checked against ``sha256`` (and ``size`` when known, so a server
    cannot send more than was announced), or raise a ``ModelError`` that says what to do; nothing is left
    behind on failure."""
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("downloading model '%s' (%s) from %s into %s", name, f"{size / 1e6:.1f} MB" if size else "size unknown",
             url, target)
    digest, done = hashlib.sha256(), 0
    with atomic_output(target) as temporary:
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, temporary.open("wb") as out:
                total = size or int(response.headers.get("Content-Length") or 0)
                for block in iter(lambda: response.read(BLOCK), b""):
                    done += len(block)
                    if size and done > size:
                        raise ModelError(f"model '{name}': {url} sent more than the catalog's {size} bytes; not used")
                    digest.update(block)
                    out.write(block)
                    if progress is not None:
                        progress(done, max(total, done), f"downloading {name}")
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = (f"HTTP {error.code}: {error.reason}" if isinstance(error, urllib.error.HTTPError)
                      else getattr(error, "reason", None) or error)
            raise ModelError(f"model '{name}' could not be downloaded from {url} ({reason}); check the network, or "
                             f"download the file yourself and save it as {target}") from None
        if digest.hexdigest() != sha256:
            raise ModelError(f"model '{name}': the file from {url} has SHA256 {digest.hexdigest()[:12]}..., the "
                             f"catalog says {sha256[:12]}...; it was not saved (a changed or damaged release file)")
    return target
