"""Finding subjects and their contrast files in a dataset folder or a list file.

Three ways to describe a dataset, all giving ``{subject: {contrast: path}}``:

- an IXI-style folder (searched recursively): ``<subject>-<contrast>.nii.gz`` or ``<subject>_<contrast>...``;
  the contrast is the last ``-``/``_`` token of the name (``IXI002-Guys-0828-T1``, ``BraTS-...-t2w``);
- file-name patterns with ``{subject}`` and ``{contrast}`` placeholders, matched against paths relative to
  the folder (``{subject}/{subject}_{contrast}_bet_normalized.nii.gz``);
- a CSV list file, long (``subject,contrast,path``) or wide (``subject,T1,T2,...``), paths relative to it.

Contrast spellings are made canonical (``t2w`` -> ``T2``); masks (``<subject>-mask``) are found too.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path

from .core.contrasts import canonical_contrast, split_contrast
from .core.errors import ConfigError, InputError
from .core.files import VOLUME_EXTENSIONS, volume_extension, volume_stem

Subjects = dict[str, dict[str, Path]]
MASK = "mask"
MAX_SCANNED = 200_000  # entries looked at under a dataset folder before giving up (a path typed too short: "/")


def find_subjects(root: str | Path, patterns: Sequence[str] = ()) -> Subjects:
    """Subjects of a folder or list file (see the module docstring); sorted by subject name."""
    root = Path(root)
    if not root.exists():
        raise InputError(f"{root}: dataset not found; expected a folder of volumes or a CSV list file")
    if root.is_file():
        subjects = _from_list(root)
    elif patterns:
        subjects = _from_patterns(root, patterns)
    else:
        subjects = _from_names(root)
    if not subjects:
        how = f"patterns {list(patterns)}" if patterns else "IXI-style names like <subject>-T1.nii.gz"
        raise InputError(f"{root}: no subject volumes found with {how}; expected files ending in "
                         f"{', '.join(VOLUME_EXTENSIONS)}")
    return dict(sorted(subjects.items()))


def require_contrasts(subjects: Subjects, contrasts: Sequence[str], root: str | Path) -> None:
    """Raise naming every subject that lacks one of ``contrasts``."""
    problems = [f"{s} has no {c}" for s, files in subjects.items() for c in contrasts if c not in files]
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        available = sorted({c for files in subjects.values() for c in files if c != MASK})
        raise InputError(f"{root}: missing contrast(s): {shown} (contrasts present: {', '.join(available)}). "
                         "Remove those subjects, or list the right files with a pattern or list file")


def _add(subjects: Subjects, subject: str, contrast: str, path: Path, where: str) -> None:
    files = subjects.setdefault(subject, {})
    if contrast in files and files[contrast] != path:
        raise InputError(f"{where}: subject '{subject}' has two {contrast} files: {files[contrast]} and {path}")
    files[contrast] = path


def _volume_files(root: Path, limit: int | None = None) -> list[Path]:
    """The volume files under ``root``, after looking at no more than ``limit`` entries (MAX_SCANNED)."""
    limit = MAX_SCANNED if limit is None else limit
    found = []
    for scanned, path in enumerate(root.rglob("*"), 1):
        if scanned > limit:
            raise InputError(f"{root}: holds more than {limit} files and folders; choose the dataset's own folder "
                             "(one folder of subjects), or list the files in a CSV list file")
        if volume_extension(path) and path.is_file():
            found.append(path)
    return sorted(found)


def _from_names(root: Path) -> Subjects:
    subjects: Subjects = {}
    for path in _volume_files(root):
        stem = volume_stem(path.name)
        parts = re.split(r"[-_]", stem)
        if len(parts) < 2:
            continue
        if parts[-1].lower() == MASK:
            subject, contrast = stem[: -len(parts[-1]) - 1], MASK
        else:
            found = split_contrast(stem)
            if found is None:
                continue
            subject, contrast = found
        _add(subjects, subject, contrast, path, str(root))
    return subjects


def _pattern_regex(pattern: str) -> re.Pattern:
    if "{subject}" not in pattern or "{contrast}" not in pattern:
        raise ConfigError(f"pattern '{pattern}' needs both {{subject}} and {{contrast}} placeholders")
    regex, seen = "", set()
    for piece in re.split(r"(\{subject\}|\{contrast\})", pattern):
        if piece in ("{subject}", "{contrast}"):
            name = piece[1:-1]
            regex += f"(?P={name})" if name in seen else f"(?P<{name}>[^/]+?)"
            seen.add(name)
        else:
            regex += re.escape(piece).replace(r"\*", "[^/]*")
    return re.compile(regex + "$")


def _from_patterns(root: Path, patterns: Sequence[str]) -> Subjects:
    subjects: Subjects = {}
    regexes = [_pattern_regex(p) for p in patterns]
    for path in _volume_files(root):
        relative = path.relative_to(root).as_posix()
        for regex in regexes:
            match = regex.match(relative) or regex.match(path.name)
            if match:
                token = match.group("contrast")
                contrast = MASK if token.lower() == MASK else _contrast_or_none(token)
                if contrast:
                    _add(subjects, match.group("subject"), contrast, path, str(root))
                break
    return subjects


def _contrast_or_none(token: str) -> str | None:
    try:
        return canonical_contrast(token)
    except ConfigError:
        return None


def _from_list(path: Path) -> Subjects:
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read the list file as CSV ({exc})") from None
    if not rows or "subject" not in rows[0]:
        raise InputError(f"{path}: a list file is a CSV with a 'subject' column, then either 'contrast' and "
                         "'path' columns or one column per contrast")
    subjects: Subjects = {}
    long = "contrast" in rows[0] and "path" in rows[0]
    for line, row in enumerate(rows, start=2):
        items = [(row["contrast"], row["path"])] if long else [(k, v) for k, v in row.items() if k != "subject"]
        for token, file in items:
            if not file:
                continue
            contrast = MASK if token.strip().lower() == MASK else _contrast_or_none(token)
            if contrast is None:
                raise InputError(f"{path}, line {line}: unknown contrast '{token}'")
            full = (path.parent / file.strip()).resolve()
            if not full.is_file():
                raise InputError(f"{path}, line {line}: {file} not found")
            _add(subjects, row["subject"].strip(), contrast, full, str(path))
    return subjects
