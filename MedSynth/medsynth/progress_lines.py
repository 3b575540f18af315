"""The progress-line protocol between ``medsynth --progress-lines`` and the program driving it.

The child writes ``medsynth-progress DONE TOTAL MESSAGE`` lines on stderr; the Slicer module parses them.
Both sides import this module, which imports nothing, so the Slicer side never loads the CLI (tqdm,
torch) to understand its child.
"""

from __future__ import annotations

PROGRESS_PREFIX = "medsynth-progress"


def format_progress_line(done: int, total: int, message: str) -> str:
    return f"{PROGRESS_PREFIX} {int(done)} {int(total)} {message}".rstrip()


def parse_progress_line(line: str) -> tuple[int, int, str] | None:
    """``(done, total, message)`` of a progress line, or None for any other line (a message to show)."""
    if not line.startswith(PROGRESS_PREFIX + " "):
        return None
    parts = line.split(" ", 3)
    try:
        done, total = int(parts[1]), int(parts[2])
    except (IndexError, ValueError):
        return None
    return done, total, parts[3] if len(parts) > 3 else ""
