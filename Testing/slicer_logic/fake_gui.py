"""Just enough of Slicer's GUI layer (qt, ScriptedLoadableModule, parameterNodeWrapper, slicer.util dialogs)
to run the module files' widget code against a real MRML scene from slicer-core.

The fakes hold state and record calls; the scene, the nodes and everything below the widgets are real. The
widgets of a module come from its .ui file, so a widget the code uses but the .ui lacks fails here too.
The fake wrapper stores fields with the encoding of Slicer's ``@parameterNodeWrapper`` (text as is, numbers
with ``str``, nodes as references), which is what makes the Qt-free views and the GUI share one node.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
import types
import typing
import xml.etree.ElementTree as ET
from pathlib import Path

import slicer
import vtk


class FakeWidget:
    """Any Qt widget: plain attributes for properties, recorded signal connections, combo-box items."""

    def __init__(self, name: str = "", cls: str = "") -> None:
        self.objectName, self.cls = name, cls
        self.text = self.toolTip = self.format = self.html = self.plainText = self.currentPath = ""
        self.enabled = self.visible = True
        self.value, self.maximum = 0, 100
        self.items: list[tuple[str, object]] = []
        self.currentIndex = -1
        self.slots: dict[str, list] = {}
        self.blocked = False

    def connect(self, signal: str, slot) -> None:
        self.slots.setdefault(signal, []).append(slot)

    def emit(self, signal: str, *args) -> None:
        """Call the slots; like PythonQt, with only as many arguments as a slot takes."""
        if not self.blocked:
            for slot in self.slots.get(signal, []):
                parameters = inspect.signature(slot).parameters.values()
                if not any(p.kind is p.VAR_POSITIONAL for p in parameters):
                    args = args[: len(parameters)]
                slot(*args)

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
        if changed:
            self.emit("currentIndexChanged(int)", index)

    def choose(self, data) -> None:
        """What a user's pick in a combo box does."""
        self.setCurrentIndex(self.findData(data))

    def setHtml(self, html: str) -> None:
        self.html = html

    def appendPlainText(self, text: str) -> None:
        self.plainText += text + "\n"

    def setMRMLScene(self, scene) -> None:
        pass

    def addWidget(self, widget) -> None:
        pass


def uiWidgets(uiFile: Path) -> types.SimpleNamespace:
    return types.SimpleNamespace(**{w.get("name"): FakeWidget(w.get("name"), w.get("class"))
                                    for w in ET.parse(uiFile).iter("widget")})


class Choice:
    def __init__(self, choices) -> None:
        self.choices = choices


def parameterNodeWrapper(cls):
    """Typed attributes over a scripted module node, in parameterNodeWrapper's encoding."""
    hints = typing.get_type_hints(cls, include_extras=True)

    def field(name, annotation):
        kind = typing.get_args(annotation)[0] if typing.get_origin(annotation) is typing.Annotated else annotation
        isNode = isinstance(kind, type) and issubclass(kind, slicer.vtkMRMLNode)

        def get(self):
            node = self.parameterNode
            if isNode:
                return node.GetNodeReference(name)
            text = node.GetParameter(name)
            return text == "True" if kind is bool else kind(text)

        def set_(self, value):
            if isNode:
                self.parameterNode.SetParameter(name, "")
                self.parameterNode.SetNodeReferenceID(name, value.GetID() if value is not None else None)
            else:
                self.parameterNode.SetParameter(name, str(value))

        return property(get, set_)

    class Wrapper:
        def __init__(self, parameterNode) -> None:
            self.parameterNode = parameterNode
            for name in hints:
                if not parameterNode.HasParameter(name):
                    setattr(self, name, getattr(cls, name, None))

        def AddObserver(self, event, method, priority=0.0):  # observed like its node, as the real wrapper
            return self.parameterNode.AddObserver(event, method, priority)

        def RemoveObserver(self, tag) -> None:
            self.parameterNode.RemoveObserver(tag)

        def connectGui(self, ui):
            return object()

        def disconnectGui(self, tag) -> None:
            pass

    for name, annotation in hints.items():
        setattr(Wrapper, name, field(name, annotation))
    Wrapper.__name__ = cls.__name__
    return Wrapper


class ScriptedLoadableModule:
    def __init__(self, parent) -> None:
        self.parent = parent

    def getDefaultModuleDocumentationLink(self) -> str:
        return ""


class ScriptedLoadableModuleLogic:
    def getParameterNode(self):
        from MedSynthLib.Parameters import getParameterNode

        return getParameterNode(slicer.mrmlScene, type(self).__name__.removesuffix("Logic"))


class ScriptedLoadableModuleWidget:
    def __init__(self, parent=None) -> None:
        self.parent = parent or types.SimpleNamespace(isEntered=True)
        self.layout = FakeWidget()
        self.moduleName = type(self).__name__.removesuffix("Widget")  # as Slicer's base class names it

    def setup(self) -> None:
        pass

    def resourcePath(self, relative: str) -> str:
        module = sys.modules[type(self).__module__]
        return str(Path(module.__file__).parent / "Resources" / relative)


class ScriptedLoadableModuleTest:
    pass


class Recorder:
    """The dialogs and application calls a run made."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.charts: list = []
        self.widgets: dict[str, object] = {}


def install(monkeypatch, settingsFolder: Path) -> Recorder:
    """Put the fakes in place of Slicer's GUI modules for one test."""
    recorder = Recorder()
    qt = types.ModuleType("qt")

    class QTimer:
        def __init__(self) -> None:
            self.active, self.slots = False, []

        def setInterval(self, ms: int) -> None:
            self.interval = ms

        def connect(self, signal, slot) -> None:
            self.slots.append(slot)

        def start(self) -> None:
            self.active = True

        def stop(self) -> None:
            self.active = False

    qt.QTimer = QTimer
    qt.QFileDialog = types.SimpleNamespace(getOpenFileName=lambda *args: "")
    i18n = types.ModuleType("slicer.i18n")
    i18n.tr = lambda text: text
    i18n.translate = lambda context, text: text
    slm = types.ModuleType("slicer.ScriptedLoadableModule")
    for cls in (ScriptedLoadableModule, ScriptedLoadableModuleLogic, ScriptedLoadableModuleWidget,
                ScriptedLoadableModuleTest):
        setattr(slm, cls.__name__, cls)
    pnw = types.ModuleType("slicer.parameterNodeWrapper")
    pnw.parameterNodeWrapper, pnw.Choice = parameterNodeWrapper, Choice
    pnw.Decimals = pnw.Minimum = lambda value: value
    for name, module in (("qt", qt), ("slicer.i18n", i18n), ("slicer.ScriptedLoadableModule", slm),
                         ("slicer.parameterNodeWrapper", pnw)):
        monkeypatch.setitem(sys.modules, name, module)

    @contextlib.contextmanager
    def tryWithErrorDisplay(message=None, show=True, waitCursor=False):
        try:
            yield
        except Exception as error:  # Slicer shows it in a dialog; the GUI goes on
            recorder.errors.append(f"{message} {error}")

    util = slicer.util
    monkeypatch.setattr(util, "tryWithErrorDisplay", tryWithErrorDisplay)
    monkeypatch.setattr(util, "loadUI", lambda path: FakeWidget("root"), raising=False)
    monkeypatch.setattr(util, "childWidgetVariables", lambda widget: recorder.ui, raising=False)
    monkeypatch.setattr(util, "errorDisplay", lambda text, **kw: recorder.errors.append(text), raising=False)
    monkeypatch.setattr(util, "resetSliceViews", lambda: None, raising=False)
    monkeypatch.setattr(util, "WaitCursor", contextlib.nullcontext, raising=False)
    app = types.SimpleNamespace(connect=lambda *args: None, slicerUserSettingsFilePath=str(settingsFolder / "x.ini"))
    monkeypatch.setattr(slicer, "app", app, raising=False)
    plots = types.SimpleNamespace(logic=lambda: types.SimpleNamespace(ShowChartInLayout=recorder.charts.append))
    representation = types.SimpleNamespace(widgetRepresentation=lambda: None)
    monkeypatch.setattr(slicer, "modules", types.SimpleNamespace(plots=plots, medsynth=representation), raising=False)
    assert vtk.vtkCommand.ModifiedEvent  # the widgets observe with vtk's event ids
    return recorder


def loadModule(monkeypatch, recorder: Recorder, module: str):
    """Import ``module``'s module file with its .ui widgets ready for ``childWidgetVariables``."""
    folder = Path(__file__).resolve().parents[2] / module
    recorder.ui = uiWidgets(folder / "Resources" / "UI" / f"{module}.ui")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, module, raising=False)
    return __import__(module)
