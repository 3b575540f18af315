"""The parameter-node plumbing of Slicer's scripted-module template, shared by the MedSynth and MedSynthTrain
widgets: follow the scene's parameter node, connect it to the .ui (``SlicerParameterName``), and refresh
the GUI when it changes. Imports slicer only; the widgets add their own Qt parts.

As in the template, leaving the module (``exit``) disconnects the GUI but keeps the node: a background run
that ends while the user is in another module still finds the node its results go into.

Mixed into ``ScriptedLoadableModuleWidget`` together with ``VTKObservationMixin``; a widget sets
``self.ui`` and ``self.logic`` and implements ``updateGUIFromParameterNode``.
"""

from __future__ import annotations

import slicer
import vtk

from .SlicerVersion import unsupportedMessage


class ParameterNodeWidget:
    _parameterNode = None
    _parameterNodeGuiTag = None
    supported = True  # False on a Slicer MedSynth cannot run in: then there is no .ui and no logic to follow

    def supportedSlicer(self) -> bool:
        """False (with the reason shown in the module panel) on a Slicer MedSynth cannot run in."""
        message = unsupportedMessage()
        self.supported = message is None
        if message is None:
            return True
        import qt

        label = qt.QLabel(message)
        label.wordWrap = True
        self.layout.addWidget(label)
        self.layout.addStretch(1)
        return False

    def setupModuleUi(self, logic) -> None:
        """Load ``Resources/UI/<module>.ui`` into the module panel, as ``self.ui``; follow scene closes."""
        uiWidget = slicer.util.loadUI(self.resourcePath(f"UI/{self.moduleName}.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = logic
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)

    def enter(self) -> None:
        if self.supported:
            self.initializeParameterNode()

    def exit(self) -> None:
        """Stop reacting to the node (the GUI is updated again on enter); the node itself is kept."""
        if self.supported:
            self.disconnectParameterNode()

    def onSceneStartClose(self, caller, event) -> None:
        self.setParameterNode(None)

    def onSceneEndClose(self, caller, event) -> None:
        if self.supported and self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self) -> None:
        self.setParameterNode(self.logic.getParameterNode())

    def disconnectParameterNode(self) -> None:
        if self._parameterNode is not None and self._parameterNodeGuiTag is not None:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.updateGUIFromParameterNode)

    def setParameterNode(self, inputParameterNode) -> None:
        """Follow ``inputParameterNode`` (a ``@parameterNodeWrapper`` instance, or None to let go)."""
        self.disconnectParameterNode()
        self._parameterNode = inputParameterNode
        if self._parameterNode is not None:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self.updateGUIFromParameterNode)
            self.updateGUIFromParameterNode()

    def updateGUIFromParameterNode(self, caller=None, event=None) -> None:
        raise NotImplementedError
