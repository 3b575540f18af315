"""Which Slicer MedSynth supports: 3D Slicer 5.10 or newer (Python 3.12; the package needs Python 3.10+).

Slicer 5.6 and 5.8 ship Python 3.9, on which the ``medsynth`` package cannot even be imported; the module
panels then show ``unsupportedMessage()`` instead of failing with a traceback. Imports nothing.
"""

from __future__ import annotations

import sys

SUPPORTED_SLICER = "3D Slicer 5.10 or newer"
MINIMUM_PYTHON = (3, 10)


def unsupportedMessage(versionInfo=None) -> str | None:
    """None on a supported Slicer, else what to tell the user."""
    version = tuple(versionInfo or sys.version_info)[:3]
    if version >= MINIMUM_PYTHON:
        return None
    found = ".".join(str(v) for v in version)
    return (f"MedSynth needs {SUPPORTED_SLICER} (Python {MINIMUM_PYTHON[0]}.{MINIMUM_PYTHON[1]} or newer); this "
            f"Slicer runs Python {found}. Install a current Slicer from download.slicer.org to use MedSynth.")
