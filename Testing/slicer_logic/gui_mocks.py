"""Mocks of Slicer's GUI layer for the module files' widget tests (which then drive the widget with a mock of
its logic, as SlicerNNUNet's tests do).

Qt widgets are ``MagicMock``s named after the .ui file's widgets (so a widget the code uses but the .ui lacks
fails), except combo boxes, whose items and current choice a widget reads back. ``@parameterNodeWrapper``
is replaced by properties that read and write the module's one parameter definition
(``ModuleParameters``), so there is no second encoding of the node here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import sys
import types
import typing
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path
from unittest import mock

import slicer

ROOT = Path(__file__).resolve().parents[2]
COMBO_BOXES = {"QComboBox", "ctkComboBox"}


class ComboBox:
    """A combo box: items as (label, data), the current index, and ``currentIndexChanged`` connections."""

    def __init__(self) -> None:
        self.items: list[tuple[str, object]] = []
        self.currentIndex, self.slots, self.blocked, self.enabled = -1, [], False, True

    def connect(self, signal: str, slot) -> None:
        self.slots.append(slot)

    def blockSignals(self, block: bool) -> bool:
        old, self.blocked = self.blocked, block
        return old

    def clear(self) -> None:
        self.items, self.currentIndex = [], -1

    def addItem(self, label: str, data=None) -> None:
        self.items.append((label, data))
        if self.currentIndex < 0:
            self.setCurrentIndex(0)

    def findData(self, data) -> int:
        return next((i for i, (_, d) in enumerate(self.items) if d == data), -1)

    def itemData(self, index: int):
        return self.items[index][1] if 0 <= index < len(self.items) else None

    @property
    def currentData(self):
        return self.itemData(self.currentIndex)

    def setCurrentIndex(self, index: int) -> None:
        changed, self.currentIndex = index != self.currentIndex, index
        if changed and not self.blocked:
            for slot in self.slots:
                slot(index)

    def choose(self, data) -> None:
        """What a user's pick does."""
        self.setCurrentIndex(self.findData(data))


def uiWidgets(module: str) -> types.SimpleNamespace:
    tree = ET.parse(ROOT / module / "Resources" / "UI" / f"{module}.ui")
    return types.SimpleNamespace(**{w.get("name"): ComboBox() if w.get("class") in COMBO_BOXES
                                    else mock.MagicMock(name=w.get("name")) for w in tree.iter("widget")})


def emit(widget, signal: str, *args) -> None:
    """Call the slots connected to a mocked widget's ``signal``, as a click or an edit would (like PythonQt,
    with only as many arguments as a slot takes)."""
    for call in widget.connect.call_args_list:
        if call.args[0] == signal:
            slot = call.args[1]
            parameters = inspect.signature(slot).parameters.values()
            taken = args if any(p.kind is p.VAR_POSITIONAL for p in parameters) else args[: len(parameters)]
            slot(*taken)


class Timer:
    def __init__(self) -> None:
        self.active, self.slots, self.singleShot = False, [], False

    def setInterval(self, ms: int) -> None:
        self.interval = ms

    def setSingleShot(self, single: bool) -> None:
        self.singleShot = single

    def connect(self, signal, slot) -> None:
        self.slots.append(slot)

    def start(self) -> None:
        self.active = True

    def stop(self) -> None:
        self.active = False

    def fire(self) -> None:
        """The interval has passed."""
        if self.singleShot:
            self.active = False
        for slot in self.slots:
            slot()


def parameterNodeWrapper(cls):
    """Typed attributes over a scripted module node, through the module's one parameter definition."""
    definition = cls.parameterDefinition
    hints = typing.get_type_hints(cls, include_extras=True)

    def field(name):
        def get(self):
            return getattr(definition.read(self.parameterNode), name)

        def set_(self, value):
            dataclasses.replace(definition.read(self.parameterNode), **{name: value}).write(self.parameterNode)

        return property(get, set_)

    class Wrapper:
        def __init__(self, parameterNode) -> None:
            self.parameterNode = parameterNode
            definition.read(parameterNode).write(parameterNode)  # defaults for what the node lacks

        def AddObserver(self, event, method, priority=0.0):  # observed like its node, as the real wrapper
            return self.parameterNode.AddObserver(event, method, priority)

        def RemoveObserver(self, tag) -> None:
            self.parameterNode.RemoveObserver(tag)

        def connectGui(self, ui):
            return object()

        def disconnectGui(self, tag) -> None:
            assert tag is not None

    for name in hints:
        setattr(Wrapper, name, field(name))
    Wrapper.__name__ = cls.__name__
    return Wrapper


class ScriptedLoadableModule:
    def __init__(self, parent) -> None:
        self.parent = parent


class ScriptedLoadableModuleLogic:
    def __init__(self, parent=None) -> None:
        pass

    def getParameterNode(self):
        from MedSynthLib.ModuleParameters import getParameterNode

        return getParameterNode(slicer.mrmlScene, type(self).__name__.removesuffix("Logic"))


class ScriptedLoadableModuleWidget:
    def __init__(self, parent=None) -> None:
        self.parent = parent or types.SimpleNamespace(isEntered=True)
        self.layout = mock.MagicMock(name="layout")
        self.moduleName = type(self).__name__.removesuffix("Widget")  # as Slicer's base class names it

    def setup(self) -> None:
        pass

    def resourcePath(self, relative: str) -> str:
        return str(Path(sys.modules[type(self).__module__].__file__).parent / "Resources" / relative)


class Recorder:
    """The dialogs and application calls a run made."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.charts: list = []
        self.ui = None


def install(monkeypatch, settingsFolder: Path) -> Recorder:
    """Put the mocks in place of Slicer's GUI modules for one test (``monkeypatch``: pytest's)."""
    recorder = Recorder()
    qt = types.ModuleType("qt")
    qt.QTimer = Timer
    qt.QLabel = mock.MagicMock(name="QLabel")
    qt.QFileDialog = types.SimpleNamespace(getOpenFileName=lambda *args: "")
    i18n = types.ModuleType("slicer.i18n")
    i18n.tr = lambda text: text
    i18n.translate = lambda context, text: text
    slm = types.ModuleType("slicer.ScriptedLoadableModule")
    slm.ScriptedLoadableModule, slm.ScriptedLoadableModuleLogic = ScriptedLoadableModule, ScriptedLoadableModuleLogic
    slm.ScriptedLoadableModuleWidget, slm.ScriptedLoadableModuleTest = ScriptedLoadableModuleWidget, unittest.TestCase
    pnw = types.ModuleType("slicer.parameterNodeWrapper")
    pnw.parameterNodeWrapper = parameterNodeWrapper
    pnw.Choice = pnw.Minimum = pnw.Maximum = lambda value: ("validator", value)
    for name, module in (("qt", qt), ("slicer.i18n", i18n), ("slicer.ScriptedLoadableModule", slm),
                         ("slicer.parameterNodeWrapper", pnw)):
        monkeypatch.setitem(sys.modules, name, module)

    @contextlib.contextmanager
    def tryWithErrorDisplay(message=None, show=True, waitCursor=False):
        """As slicer/util.py does (5.10 to main): the error in a dialog, then raised again."""
        try:
            yield
        except Exception as error:
            recorder.errors.append(f"{message} {error}")
            raise

    util = slicer.util
    monkeypatch.setattr(util, "tryWithErrorDisplay", tryWithErrorDisplay)
    monkeypatch.setattr(util, "loadUI", lambda path: mock.MagicMock(name="root"), raising=False)
    monkeypatch.setattr(util, "childWidgetVariables", lambda widget: recorder.ui, raising=False)
    monkeypatch.setattr(util, "errorDisplay", lambda text, **kw: recorder.errors.append(text), raising=False)
    monkeypatch.setattr(util, "resetSliceViews", lambda: None, raising=False)
    monkeypatch.setattr(util, "WaitCursor", contextlib.nullcontext, raising=False)
    app = types.SimpleNamespace(connect=lambda *args: None, slicerUserSettingsFilePath=str(settingsFolder / "x.ini"))
    monkeypatch.setattr(slicer, "app", app, raising=False)
    plots = types.SimpleNamespace(logic=lambda: types.SimpleNamespace(ShowChartInLayout=recorder.charts.append))
    monkeypatch.setattr(slicer, "modules", types.SimpleNamespace(plots=plots), raising=False)
    return recorder


def loadModule(monkeypatch, recorder: Recorder, module: str):
    """Import ``module``'s module file, with its .ui widgets ready for ``childWidgetVariables``."""
    recorder.ui = uiWidgets(module)
    monkeypatch.syspath_prepend(str(ROOT / module))
    monkeypatch.delitem(sys.modules, module, raising=False)
    return __import__(module)
