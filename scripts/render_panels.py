#!/usr/bin/env python
"""Load both modules' .ui files with real Qt 5 and render them as a user first sees them in Slicer's module panel.

    .venv/bin/python scripts/render_panels.py [--out docs/images] [--width 420]

Slicer 5.10 ships Qt 5.15, and so does the PyQt5 wheel, which runs without a display (``offscreen``). Slicer's
own widget classes (MRML node selectors, CTK collapsible sections and path editors) are not in PyQt5: each is
loaded as the stock Qt class it lays out like (a node selector as a combo box, a collapsible section as a
group box with its title), and their Slicer-only properties become dynamic properties. What this checks is
the layout: every Qt warning printed while loading (such as "Cell (4, 0) already occupied", which leaves a
widget outside every layout and draws it over others) and every widget the module file uses that no layout
manages. ``Testing/test_ui_layout.py`` runs the same checks; this script also writes the PNGs that README and
docs show (``MedSynth-panel.png``, ``MedSynthTrain-panel.png``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = {  # module -> its one parameter definition, which Slicer's parameterNodeWrapper binds to the .ui
    "MedSynth": ("MedSynthLib.Parameters", "SynthesisParameters"),
    "MedSynthTrain": ("MedSynthTrainLib.TrainingParameters", "TrainingParameters"),
}
PANEL_WIDTH = 420  # pixels: Slicer's module panel at its default width on a 1920-pixel screen
# Slicer/CTK class -> the stock Qt class that takes the same place in a layout
STOCK = {"qMRMLWidget": "QWidget", "qMRMLNodeComboBox": "QComboBox", "ctkCollapsibleButton": "QGroupBox",
         "ctkPathLineEdit": "QLineEdit", "ctkComboBox": "QComboBox", "ctkSliderWidget": "QDoubleSpinBox",
         "ctkDoubleSpinBox": "QDoubleSpinBox", "qMRMLSubjectHierarchyTreeView": "QTreeView"}
QWIDGET_PROPERTIES = {"toolTip", "enabled", "geometry", "maximumSize", "minimumSize", "sizePolicy", "visible"}
# What the widget hides when the module opens on a one-input mapping (MedSynth.py: showInputSelectors, setup)
HIDDEN_ON_OPEN = {
    "MedSynth": ("secondInputLabel", "secondInputSelector", "thirdInputLabel", "thirdInputSelector", "progressBar"),
    "MedSynthTrain": ("targetFolderLabel", "targetFolderPathLineEdit", "progressBar"),
}
# A plausible first view: combo boxes show what the catalog puts there, the node selectors a loaded sample.
SAMPLE_ITEMS = {"inputSelector": "MedSynthPhantom-T1", "referenceSelector": "MedSynthPhantom-T2",
                "mappingComboBox": "T1->T2", "architectureComboBox": "(default)", "modelComboBox": "real-unet-T1-T2",
                "outputSelector": "(create new volume)", "differenceSelector": "(create new volume)",
                "metricsTableSelector": "(create new table)", "uncertaintySelector": "(create new volume)"}
SAMPLE_TEXT = {"modelCardBrowser": "<b>real-unet-T1-T2</b>: T1w -> T2w, U-Net trained on real subjects "
                                   "(leave-one-subject-out figures in the card); cite Isola et al. 2017.",
               "applyButton": "Synthesize T2"}


@dataclass
class Panel:
    """A module's .ui loaded by real Qt: the root widget, Qt's warnings, and the widgets no layout manages."""

    module: str
    root: object
    warnings: list[str] = field(default_factory=list)
    unmanaged: list[str] = field(default_factory=list)


def used_widgets(module: str) -> set[str]:
    """Names the module file reads as ``self.ui.NAME``, and the widgets bound to parameters."""
    source = (ROOT / module / f"{module}.py").read_text()
    names = set(re.findall(r"self\.ui\.([A-Za-z_]\w*)", source))
    tree = ET.parse(ROOT / module / "Resources" / "UI" / f"{module}.ui")
    for widget in tree.iter("widget"):
        if any(p.get("name") == "SlicerParameterName" for p in widget.findall("property")):
            names.add(widget.get("name"))
    return names


def stock_ui(path: Path) -> str:
    """The .ui text with Slicer's classes replaced by their stock stand-ins (see ``STOCK``)."""
    tree = ET.parse(path)
    for widget in tree.iter("widget"):
        slicer_class = widget.get("class")
        if slicer_class not in STOCK:
            continue
        widget.set("class", STOCK[slicer_class])
        for prop in widget.findall("property"):
            name = prop.get("name")
            if slicer_class == "ctkCollapsibleButton" and name == "text":
                prop.set("name", "title")
            elif name not in QWIDGET_PROPERTIES:
                prop.set("stdset", "0")  # Slicer-only: kept as a dynamic property, as Qt's loader does
                value = prop[0]
                if value.tag in ("set", "enum"):  # flags of a Slicer class, which PyQt5 cannot resolve
                    value.tag = "string"
    ui = tree.getroot()
    for section in ("customwidgets", "connections"):  # Slicer's headers and its MRML-scene signals
        for element in ui.findall(section):
            ui.remove(element)
    return ET.tostring(ui, encoding="unicode")


_APPLICATION = []  # the QApplication must outlive every widget: kept here, not by the caller


def application():
    """The one QApplication, offscreen (no display needed)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="medsynth-qt-"))
    from PyQt5 import QtWidgets

    if not _APPLICATION:
        _APPLICATION.append(QtWidgets.QApplication.instance() or QtWidgets.QApplication(["medsynth-panels"]))
    return _APPLICATION[0]


def load_panel(module: str, ui_file: Path | None = None) -> Panel:
    """Load ``module``'s .ui (or ``ui_file`` in its place) with real Qt, collecting Qt's warnings, and find the
    widgets the module file uses that no layout manages."""
    application()
    from PyQt5 import QtCore, uic

    warnings: list[str] = []

    def collect(kind, context, message) -> None:
        if kind != QtCore.QtDebugMsg:
            warnings.append(message)

    previous = QtCore.qInstallMessageHandler(collect)
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{module}.ui"
            path.write_text(stock_ui(ui_file or ROOT / module / "Resources" / "UI" / f"{module}.ui"))
            root = uic.loadUi(str(path))
    finally:
        QtCore.qInstallMessageHandler(previous)
    managed = managed_widgets(root)
    unmanaged = sorted(name for name in used_widgets(module) if not is_laid_out(root, name, managed))
    return Panel(module, root, warnings, unmanaged)


def managed_widgets(root) -> set[int]:
    """The ids of every widget some layout under ``root`` manages (nested layouts included)."""
    from PyQt5 import QtWidgets

    found: set[int] = set()

    def walk(layout) -> None:
        for index in range(layout.count()):
            item = layout.itemAt(index)
            if item.widget() is not None:
                found.add(id(item.widget()))
            elif item.layout() is not None:
                walk(item.layout())

    for widget in [root, *root.findChildren(QtWidgets.QWidget)]:
        if widget.layout() is not None:
            walk(widget.layout())
    return found


def is_laid_out(root, name: str, managed: set[int]) -> bool:
    """True when the widget ``name`` and every parent up to ``root`` sit in their parent's layout."""
    from PyQt5 import QtWidgets

    widget = root.findChild(QtWidgets.QWidget, name)
    if widget is None:
        return False
    while widget is not root:
        if id(widget) not in managed:
            return False
        widget = widget.parentWidget()
    return True


def parameter_fields(module: str) -> dict[str, tuple[tuple, object]]:
    """Field -> (constraints, default) of the module's parameter definition (needs slicer-core)."""
    import dataclasses
    import importlib

    sys.path[:0] = [str(ROOT / name) for name in MODULES if str(ROOT / name) not in sys.path]
    name, cls = MODULES[module]
    definition = getattr(importlib.import_module(name), cls)
    defaults = {f.name: f.default for f in dataclasses.fields(definition)}
    return {name: (constraints, defaults[name]) for name, (_, constraints) in definition.fieldTypes().items()}


def bind_defaults(panel: Panel) -> None:
    """What ``@parameterNodeWrapper`` shows in a new scene: each bound widget holds its field's default, and a
    combo box bound to a choice lists the choices."""
    from PyQt5 import QtWidgets

    fields = parameter_fields(panel.module)
    for widget in panel.root.findChildren(QtWidgets.QWidget):
        bound = widget.property("SlicerParameterName")
        if bound not in fields:
            continue
        constraints, default = fields[bound]
        choices = next((c.values for c in constraints if hasattr(c, "values")), None)
        if isinstance(widget, QtWidgets.QComboBox) and choices:
            widget.addItems(list(choices))
            widget.setCurrentIndex(max(widget.findText(str(default)), 0))
        elif isinstance(widget, QtWidgets.QCheckBox):
            widget.setChecked(bool(default))
        elif isinstance(widget, (QtWidgets.QSpinBox, QtWidgets.QDoubleSpinBox)):
            widget.setValue(default)
        elif isinstance(widget, QtWidgets.QLineEdit) and isinstance(default, str):
            widget.setText(default)


def first_view(panel: Panel) -> None:
    """Put the panel in the state the module shows on first open (hidden rows, sample choices)."""
    from PyQt5 import QtWidgets

    bind_defaults(panel)

    for name in HIDDEN_ON_OPEN.get(panel.module, ()):
        widget = panel.root.findChild(QtWidgets.QWidget, name)
        if widget is not None:
            widget.hide()
    for name, text in SAMPLE_ITEMS.items():
        widget = panel.root.findChild(QtWidgets.QComboBox, name)
        if widget is not None:
            widget.addItem(text)
    for combo in panel.root.findChildren(QtWidgets.QComboBox):
        if combo.count() == 0:
            combo.addItem(str(combo.property("noneDisplay") or "None"))
    for name, text in SAMPLE_TEXT.items():
        widget = panel.root.findChild(QtWidgets.QWidget, name)
        if isinstance(widget, QtWidgets.QTextBrowser):
            widget.setHtml(text)
        elif widget is not None:
            widget.setText(text)


def render(panel: Panel, out: Path, width: int = PANEL_WIDTH) -> Path:
    """The panel at ``width`` pixels and its natural height, as a PNG."""
    first_view(panel)
    root = panel.root
    root.resize(width, 10)
    root.adjustSize()
    root.resize(width, max(root.sizeHint().height(), root.minimumSizeHint().height()))
    out.parent.mkdir(parents=True, exist_ok=True)
    if not root.grab().save(str(out)):
        raise OSError(f"{out}: could not write the PNG")
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images",
                        help="folder for MedSynth-panel.png and MedSynthTrain-panel.png (default: docs/images)")
    parser.add_argument("--width", type=int, default=PANEL_WIDTH, help="panel width in pixels (default: 420)")
    args = parser.parse_args(argv)
    status = 0
    for module in MODULES:
        panel = load_panel(module)
        written = render(panel, args.out / f"{module}-panel.png", args.width)
        print(f"{written.relative_to(ROOT) if written.is_relative_to(ROOT) else written}")
        for problem in panel.warnings + [f"{name} is in no layout" for name in panel.unmanaged]:
            print(f"{module}.ui: {problem}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
