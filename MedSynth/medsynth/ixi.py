"""The IXI dataset (about 580 healthy subjects, T1/T2/PD from three London hospitals): download, check, unpack.

Each contrast is one tar archive on the IXI site (``IXI-T1.tar`` about 4.5 GB, ``IXI-T2.tar`` 3.9 GB,
``IXI-PD.tar`` 3.5 GB). A download goes to ``<name>.part`` and continues where it stopped when run again
(HTTP range requests; a server that ignores them sends the whole file again). A finished archive is kept
only if its MD5 checksum is the published one (the same as TorchIO's ``IXI`` dataset); unpacking takes
only the archive's NIfTI files, under their own names, so a damaged or hostile archive cannot write
elsewhere. The data are CC BY-SA 3.0: acknowledge https://brain-development.org/ixi-dataset/.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import shutil
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from .core.errors import InputError, OutputError

log = logging.getLogger(__name__)
BASE_URL = "http://biomedic.doc.ic.ac.uk/brain-development/downloads/IXI/"
MD5 = {"T1": "34901a0593b41dd19c1a1f746eac2d58", "T2": "e3140d78730ecdd32ba92da48c0a9aaa",
       "PD": "88ecd9d1fa33cb4a2278183b42ffd749"}
NAME = re.compile(r"^IXI\d{3}-[A-Za-z]+-\d{4}-(T1|T2|PD)\.nii\.gz$")
CHUNK = 1 << 20

Progress = Callable[[int, int, str], None]


def archive_name(contrast: str) -> str:
    return f"IXI-{contrast}.tar"


def download(contrast: str, folder: Path, base_url: str = BASE_URL, md5: str | None = None,
             progress: Progress | None = None, timeout: float = 60.0) -> Path:
    """``folder/IXI-<contrast>.tar``, downloaded (or continued) and checked against its MD5."""
    if contrast not in MD5:
        raise InputError(f"IXI has no '{contrast}' archive here; expected one of {', '.join(MD5)}")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / archive_name(contrast)
    expected = md5 or MD5[contrast]
    if target.exists():
        if file_md5(target) == expected:
            return target
        raise InputError(f"{target}: exists but its MD5 is not the published {expected}; delete it and run again")
    part = target.with_name(target.name + ".part")
    url = base_url.rstrip("/") + "/" + target.name
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            resumed = have > 0 and response.status == 206
            total = _total(response, have if resumed else 0)
            done = have if resumed else 0
            if have and not resumed:
                log.info("%s: the server does not resume downloads; starting again", url)
            with part.open("ab" if resumed else "wb") as out:
                while chunk := response.read(CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total, target.name)
            if total and done < total:  # the connection closed early: a short read is not an error to urllib
                raise ConnectionError(f"the connection closed after {done} of {total} bytes")
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the range starts at the end: the part file is complete
            pass
        else:
            raise InputError(f"{url}: the server answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise InputError(f"{url}: download interrupted ({reason}); run the same command again to continue from "
                         f"{part.stat().st_size if part.exists() else 0} bytes") from None
    except OSError as exc:
        raise OutputError(f"{part}: writing failed ({exc.strerror or exc}); free some space and run again to "
                          "continue") from None
    found = file_md5(part)
    if found != expected:
        part.unlink()
        raise InputError(f"{url}: the downloaded archive's MD5 is {found}, not the published {expected}; the damaged "
                         "file was removed: run again")
    os.replace(part, target)
    return target


def _total(response, offset: int) -> int:
    length = response.headers.get("Content-Length")
    return offset + int(length) if length and length.isdigit() else 0


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def extract(archive: Path, folder: Path, progress: Progress | None = None) -> list[Path]:
    """The archive's IXI NIfTI files (``IXI002-Guys-0828-T1.nii.gz``, ...) in ``folder``; nothing else is
    written. Files already there with the right size are kept, so an interrupted unpacking continues."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if m.isfile() and NAME.match(Path(m.name).name)]
            if not members:
                raise InputError(f"{archive}: holds no IXI NIfTI file (IXI###-Site-####-T1.nii.gz); is it an IXI "
                                 "archive?")
            for number, member in enumerate(members, 1):
                target = folder / Path(member.name).name  # never the member's own path
                if not (target.exists() and target.stat().st_size == member.size):
                    temporary = target.with_name(target.name + ".tmp")
                    with tar.extractfile(member) as source, temporary.open("wb") as out:
                        shutil.copyfileobj(source, out, CHUNK)
                    os.replace(temporary, target)
                written.append(target)
                if progress is not None:
                    progress(number, len(members), archive.name)
    except tarfile.TarError as exc:
        raise InputError(f"{archive}: not a readable tar archive ({exc})") from None
    return written


def fetch_ixi(folder: Path, contrasts=("T1", "T2", "PD"), base_url: str = BASE_URL,
              checksums: dict[str, str] | None = None, progress: Progress | None = None,
              keep_archives: bool = True) -> Path:
    """Download, check and unpack IXI's ``contrasts`` into ``folder/raw`` (``folder/archives`` holds the tars);
    returns the raw folder, ready for ``medsynth prepare``."""
    raw = folder / "raw"
    for contrast in contrasts:
        archive = download(contrast, folder / "archives", base_url, (checksums or {}).get(contrast), progress)
        extract(archive, raw, progress)
        if not keep_archives:
            archive.unlink()
    return raw
