"""Both modules' .ui files loaded by real Qt 5 (PyQt5, offscreen), as Slicer 5.10's Qt 5.15 lays them out:
no Qt warning while loading, and every widget the module files use sits in a layout. Slicer's own classes
are loaded as their stock stand-ins (``scripts/render_panels.py``, which also renders docs/images)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from scripts_under_test import load_script

pytest.importorskip("PyQt5.QtWidgets", reason="PyQt5 (the test extras) loads the .ui files")
pytest.importorskip("slicer", reason="slicer-core gives the parameter definitions the panels show")
ROOT = Path(__file__).resolve().parents[1]
panels = load_script(ROOT / "scripts" / "render_panels.py")


def png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


@pytest.mark.parametrize("module", panels.MODULES)
def test_ui_loads_in_real_qt_without_warnings_and_every_used_widget_is_laid_out(module):
    panel = panels.load_panel(module)
    assert panel.warnings == []
    assert panel.unmanaged == []
    assert {"applyButton" if module == "MedSynth" else "startButton", "statusLabel"} <= panels.used_widgets(module)


def test_a_row_added_without_renumbering_is_caught(tmp_path):
    """The defect that hid the reference selector and the model card: two widgets put in one form cell."""
    source = (ROOT / "MedSynth/Resources/UI/MedSynth.ui").read_text()
    moved = '<item row="7" column="1">\n       <widget class="qMRMLNodeComboBox" name="referenceSelector">'
    assert moved in source
    broken = tmp_path / "MedSynth.ui"
    broken.write_text(source.replace(moved, moved.replace('row="7"', 'row="5"')))
    panel = panels.load_panel("MedSynth", broken)
    assert any("already occupied" in warning for warning in panel.warnings)
    assert panel.unmanaged == ["referenceSelector"]


@pytest.mark.parametrize("module", panels.MODULES)
def test_panel_renders_as_docs_show_it(module, tmp_path):
    """The render is a real picture at the panel's width, and the one in docs/images is current in size
    (``scripts/render_panels.py`` regenerates it)."""
    panel = panels.load_panel(module)
    out = panels.render(panel, tmp_path / f"{module}.png")
    width, height = png_size(out)
    assert panels.PANEL_WIDTH <= width < 1.3 * panels.PANEL_WIDTH and height > 600
    shown = ROOT / "docs" / "images" / f"{module}-panel.png"
    assert png_size(shown) == (width, height)
