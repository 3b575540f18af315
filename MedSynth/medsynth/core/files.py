"""Files: the volume formats MedSynth reads and writes, a name without its extension, and outputs written
whole (to a temporary name, moved into place at the end, or not at all). Standard library only, so the core
(contrasts guessed from file names, the model list written by Slicer) does not load the imaging libraries."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

from .errors import InputError, OutputError

#: File endings SimpleITK reads and writes for us, longest first so ``.nii.gz`` wins over ``.gz``.
VOLUME_EXTENSIONS = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")


def volume_extension(path: str | os.PathLike) -> str | None:
    """The supported extension ``path`` ends with, or ``None``."""
    name = str(path).lower()
    return next((ext for ext in VOLUME_EXTENSIONS if name.endswith(ext)), None)


def volume_stem(path: str | os.PathLike) -> str:
    """``path`` without its volume extension (``a/b-T1.nii.gz`` -> ``a/b-T1``); unchanged if it has none."""
    ext = volume_extension(path) or ""
    return str(path)[: len(str(path)) - len(ext)]


def regular_file(path: str | os.PathLike, what: str = "file") -> Path:
    """``path`` if it is a regular file (after following links); a clear error otherwise."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what} ({exc.strerror})") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{path}: is a folder; expected a {what}")
    if not stat.S_ISREG(mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        raise InputError(f"{path}: is {kind}; expected a regular {what} (reading it could block or never end)")
    return path


@contextlib.contextmanager
def atomic_output(path: Path):
    """Yield a temporary path with the same name in the same folder; move it into place on success."""
    with output_set([path]) as temporary:
        yield temporary[Path(path)]


@contextlib.contextmanager
def output_set(paths, verify=None):
    """All outputs of one command, written to temporary names and moved into place together at the end, or
    none of them (a failing mosaic leaves no CSV behind; a full disk leaves no short file).

    Yields ``{path: temporary path}``. Each output gets a private temporary folder next to it, so formats
    with separate data files (``.mhd`` + ``.zraw``, ``.nhdr`` + ``.raw.gz``) land whole (data first, header
    last). ``verify(path, temporary)`` is called for each output before anything is moved.
    """
    paths = [Path(p) for p in paths]
    folders = {}
    try:
        for path in paths:
            folder = path.parent if str(path.parent) else Path(".")
            folders[path] = Path(tempfile.mkdtemp(dir=folder, prefix=f".{path.name}.tmp-"))
        temporary = {path: folders[path] / _writable_name(path) for path in paths}
        try:
            yield temporary
        except OSError as exc:  # a full disk (ENOSPC, EFBIG, EDQUOT), a vanished folder: one clear line
            names = ", ".join(str(p) for p in paths)
            raise OutputError(f"{names}: writing failed ({exc.strerror or exc}); nothing was written") from None
        for path in paths:
            if not temporary[path].exists():
                raise OutputError(f"{path}: nothing was written")
            if verify is not None:
                verify(path, temporary[path])
        mode = 0o666 & ~_umask()  # files in the private folder may have been created 0600
        with _signals_held():  # a SIGTERM between two renames would leave half a set of outputs
            for path in paths:
                folder = path.parent if str(path.parent) else Path(".")
                produced = sorted(folders[path].iterdir(), key=lambda p: p == temporary[path])  # header last
                for item in produced:
                    os.chmod(item, mode)
                    os.replace(item, path if item == temporary[path] else folder / item.name)
    finally:
        for folder in folders.values():
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _signals_held():
    """Interrupting signals wait until the block is done (POSIX, main thread; elsewhere nothing changes)."""
    import signal
    import threading

    held = {getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)}
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _writable_name(path: Path) -> str:
    """The temporary file's name: ``path``'s, with a volume extension in lower case (ITK's NIfTI writer
    refuses ``.NII.GZ``); the final file keeps the name asked for."""
    extension = volume_extension(path)
    if extension is None:
        return path.name
    return path.name[: len(path.name) - len(extension)] + extension


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
