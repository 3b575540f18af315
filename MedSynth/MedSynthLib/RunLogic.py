"""The MedSynth module's logic: the one door through which the GUI, the console and batch scripts run.

Everything the widget does goes through ``RunLogic`` (the module's ``MedSynthLogic`` is one): the model
menu and card, adding a model file, installing dependencies, and a run as ``start()`` (a background job
the GUI polls) then ``finish(job)`` (the result into the scene, compared with the reference). Scripts get
the same checks and the same placement with the blocking ``run()``. ``SynthesisLogicProtocol`` is what
the widget relies on, so tests drive the widget with a mock of it.

Imports of the ``medsynth`` package happen inside the methods: the module file imports this at Slicer's
start, before MedSynth's Python packages may be installed.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from medsynth.core.errors import MedSynthError

from .Dependencies import DependencyLogic
from .Parameters import MAX_INPUTS, SynthesisParameters, getParameterNode

SHOWN_METRICS = (("psnr", "PSNR", "{:.2f} dB"), ("ssim_3d", "SSIM", "{:.3f}"), ("mae", "MAE", "{:.4g}"))
CONVENTION_TEXT = {"raw": "intensities as they are",
                   "own-scale": "each image on its own robust scale (1st-99th percentile inside the mask), as the "
                                "scales differ",
                   "calibrated": "the synthetic image fitted to the reference's intensities"}


class ComparisonError(MedSynthError):
    """The synthesis succeeded and its volume is in the scene, but the comparison with the reference failed
    (a reference that does not overlap, one under a non-linear transform): the message says both."""


@dataclass
class RunResult:
    parameters: SynthesisParameters
    metrics: dict | None = None  # {"mask": {...}, "whole": {...}, "info": {...}} when a reference was compared
    warnings: list[str] = field(default_factory=list)  # the input lies far outside the model's training domain
    uncertainShare: float | None = None  # of the head above the model's calibrated error threshold


@dataclass
class SynthesisJob:
    """A background run as ``RunLogic.start`` returns it: the child process and the node it reports to."""

    parameterNode: Any  # the vtkMRMLScriptedModuleNode the run was started from
    process: Any  # a BackgroundSynthesis
    modelName: str = ""
    outputVolume: Any = None  # the node the result goes into (None: a new one)
    uncertaintyVolume: Any = None  # the node the uncertainty map goes into (None: a new one, if asked for)

    @property
    def state(self):
        return self.process.state

    @property
    def progress(self) -> tuple[int, int, str]:
        return self.process.progress

    @property
    def error(self) -> str:
        return self.process.error

    def poll(self):
        return self.process.poll()

    def cancel(self) -> None:
        self.process.cancel()


@dataclass
class ModelMenuState:
    """What the module's mapping, architecture and model combo boxes show."""

    menu: Any  # ModelCatalog.ModelMenu
    problems: list[str] = field(default_factory=list)


class SynthesisLogicProtocol(Protocol):
    """What ``MedSynthWidget`` needs from its logic."""

    def getParameterNode(self): ...
    def missingDependencies(self) -> list[str]: ...
    def installDependencies(self, confirm) -> bool: ...
    def modelMenu(self, parameterNode) -> ModelMenuState: ...
    def modelCardHtml(self, parameterNode) -> str: ...
    def addModelFile(self, parameterNode, path: str): ...
    def releaseStaleOutputs(self, parameterNode) -> None: ...
    def start(self, parameterNode) -> SynthesisJob: ...
    def finish(self, job: SynthesisJob) -> RunResult: ...
    def metricsHtml(self, result: RunResult) -> str: ...


def rawNode(parameterNode):
    """The vtkMRMLScriptedModuleNode behind a ``@parameterNodeWrapper`` instance (or the node itself)."""
    return getattr(parameterNode, "parameterNode", parameterNode)


class RunLogic(DependencyLogic):
    def __init__(self, scene=None, catalog=None) -> None:
        self.scene = scene
        self._catalog = catalog

    # Models

    @property
    def catalog(self):
        if self._catalog is None:
            from .ModelCatalog import ModelCatalog

            self._catalog = ModelCatalog()
        return self._catalog

    def refreshModels(self) -> None:
        """Read the catalog and the user's model list again (a model was added elsewhere)."""
        self._catalog = None

    def modelMenu(self, parameterNode) -> ModelMenuState:
        """The combo boxes' choices for the node's settings; what stays selected is written back to the node
        (a choice that no longer fits falls back to the first that does)."""
        node = rawNode(parameterNode)
        parameters = SynthesisParameters.read(node)
        menu = self.catalog.menu(parameters.mapping, parameters.architecture, parameters.mode, parameters.model)
        if (menu.mapping, menu.architecture, menu.model) != (parameters.mapping, parameters.architecture,
                                                             parameters.model):
            parameters.mapping, parameters.architecture, parameters.model = menu.mapping, menu.architecture, menu.model
            parameters.write(node)
        return ModelMenuState(menu, list(self.catalog.problems))

    def modelCardHtml(self, parameterNode) -> str:
        """The chosen model's card, or why no model fits the settings."""
        from medsynth.core.catalog import withdrawn_note

        from .ModelCatalog import cardHtml

        parameters = SynthesisParameters.read(rawNode(parameterNode))
        note = withdrawn_note(parameters.mapping)  # the real-data model of this mapping failed the bundling rule
        note = f"<p style='color:#b35900'>{html.escape(note)}</p>" if note else ""
        try:
            choice = parameters.chooseModel(self.catalog)
        except Exception as error:  # an incomplete choice: say why instead of showing a card
            return note + f"<i>{html.escape(str(error))}</i>"
        return note + cardHtml(choice.card)

    def addModelFile(self, parameterNode, path: str):
        """Validate and remember a user's model file, and select it."""
        choice = self.catalog.addModelFile(path)
        node = rawNode(parameterNode)
        parameters = SynthesisParameters.read(node)
        parameters.mapping, parameters.architecture, parameters.model = choice.card.mapping, "", choice.key
        parameters.write(node)
        return choice

    # Running

    def releaseStaleOutputs(self, parameterNode, model: str = "") -> None:
        """Let go of output, difference, table and uncertainty nodes made from another input, mapping or model
        (``model``, or the node's choice: they stay in the scene), so a new run never writes over an earlier
        result. An earlier result of this input, mapping and model is taken up again, with its companions."""
        from .OutputNodes import companions, findOutput, madeFrom

        node = rawNode(parameterNode)
        parameters = SynthesisParameters.read(node)
        output, model = parameters.outputVolume, model or parameters.model
        if output is None or parameters.inputVolume is None or madeFrom(output, parameters.inputVolume,
                                                                         parameters.mapping, model):
            return
        found = findOutput(node.GetScene(), parameters.inputVolume, parameters.mapping, model) if model else None
        parameters.outputVolume = found
        for role, companion in companions(found).items():
            setattr(parameters, role, companion)
        parameters.write(node)

    def prepare(self, parameterNode) -> tuple[SynthesisParameters, Any]:
        """The node's settings checked for a run, and the model they choose; stale outputs let go of."""
        from medsynth.core.errors import InputError

        from .OutputNodes import acquiredVolumes, checkNotAcquired, reusableOutput

        node = rawNode(parameterNode)
        parameters = SynthesisParameters.read(node)
        if parameters.inputVolume is None:
            raise InputError("choose an input volume")
        choice = parameters.chooseModel(self.catalog)
        self.releaseStaleOutputs(node, choice.key)
        parameters = SynthesisParameters.read(node)
        inputs = parameters.inputNodes(len(choice.card.inputs))
        for number, (inputNode, contrast) in enumerate(zip(inputs, choice.card.inputs, strict=True)):
            if inputNode is None:
                raise InputError(f"model '{choice.name}' takes {', '.join(choice.card.inputs)}: choose the {contrast} "
                                 f"volume as input {number + 1}")
            if parameters.referenceVolume is not None and parameters.referenceVolume is inputNode:
                raise InputError("the reference must be a real target-contrast volume, not an input")
        if len({id(n) for n in inputs}) < len(inputs):
            raise InputError(f"model '{choice.name}' takes {', '.join(choice.card.inputs)}: each input must be its own "
                             "volume")
        given = parameters.inputNodes(MAX_INPUTS)  # every acquired input, used by this model or not
        reusableOutput(parameters.outputVolume, parameters.inputVolume, choice.card.mapping, parameters.referenceVolume,
                       choice.key, given[1:])
        kept = {**acquiredVolumes(given, parameters.referenceVolume), "output": parameters.outputVolume}
        checkNotAcquired(parameters.differenceVolume, "difference volume", kept)
        checkNotAcquired(parameters.uncertaintyVolume, "uncertainty map",
                         {**kept, "difference volume": parameters.differenceVolume})
        choice.card.check_request(len(inputs), parameters.uncertainty, method=parameters.uncertaintyMethod)
        return parameters, choice

    def start(self, parameterNode) -> SynthesisJob:
        """Start a background run with the node's settings (checked first; nothing in the scene changes)."""
        from .BackgroundSynthesis import BackgroundSynthesis

        parameters, choice = self.prepare(parameterNode)
        process = BackgroundSynthesis(parameters.inputVolume, choice.key, parameters.inferenceOptions(),
                                      uncertainty=parameters.uncertainty, skullStrip=parameters.skullStrip,
                                      extraInputNodes=parameters.inputNodes(len(choice.card.inputs))[1:])
        process.start()
        return SynthesisJob(rawNode(parameterNode), process, choice.name, parameters.outputVolume,
                            parameters.uncertaintyVolume if parameters.uncertainty else None)

    def finish(self, job: SynthesisJob) -> RunResult:
        """After the job succeeded: its result in the scene, recorded in the job's node, compared and shown.
        The job's temporary files are removed whatever happens."""
        return self.completeRun(job.parameterNode, job.process.store(job.outputVolume, job.uncertaintyVolume))

    def completeRun(self, parameterNode, stored) -> RunResult:
        """Record the run's nodes (an ``OutputNodes.StoredSynthesis``), show them, and compare the output with
        the reference if any; the uncertainty map, when made, is the overlay shown, and the trust mask the label
        layer when the input holds enough untrusted tissue to be warned of."""
        from .ComparisonLogic import ComparisonLogic
        from .OutputNodes import linkCompanions, showInViews, showTrustMask, showUncertainty

        node = rawNode(parameterNode)
        parameters = SynthesisParameters.read(node)
        outputNode = parameters.outputVolume = stored.output
        if stored.uncertainty is not None:
            parameters.uncertaintyVolume = stored.uncertainty
        scene = outputNode.GetScene()
        metrics = None
        showInViews(scene, outputNode)
        parameters.write(node)  # the synthetic volume is recorded and shown before anything else can fail
        if parameters.referenceVolume is not None:
            try:
                parameters.differenceVolume, parameters.metricsTable, metrics = ComparisonLogic(scene).compare(
                    outputNode, parameters.referenceVolume, differenceNode=parameters.differenceVolume,
                    tableNode=parameters.metricsTable, convention=parameters.comparison)
            except Exception as error:  # any failure: the synthetic volume stays, and the message names it
                raise ComparisonError(f"'{outputNode.GetName()}' was synthesized and is kept, but comparing it with "
                                       f"'{parameters.referenceVolume.GetName()}' failed: {error}") from error
            linkCompanions(outputNode, differenceVolume=parameters.differenceVolume,
                           metricsTable=parameters.metricsTable)
        if stored.uncertainty is not None:
            showUncertainty(scene, outputNode, stored.uncertainty)
        if stored.trustMask is not None and stored.warnings:  # shown when it is large enough to be warned of
            showTrustMask(scene, stored.trustMask)
        parameters.write(node)
        for warning in stored.warnings:
            logging.warning("MedSynth: %s", warning)
        return RunResult(parameters, metrics, list(stored.warnings), stored.uncertainShare)

    def run(self, parameterNode=None, progress=None, cancel=None) -> RunResult:
        """Blocking, in this process: synthesize with the node's settings, then ``completeRun``."""
        from .SynthesisLogic import SynthesisLogic

        node = rawNode(parameterNode) if parameterNode is not None else getParameterNode(self.scene)
        parameters, choice = self.prepare(node)
        stored = SynthesisLogic(node.GetScene()).synthesizeAll(
            parameters.inputVolume, choice.key, parameters.inferenceOptions(), parameters.outputVolume,
            parameters.uncertaintyVolume, parameters.uncertainty, progress, cancel,
            extraInputNodes=parameters.inputNodes(len(choice.card.inputs))[1:], skullStrip=parameters.skullStrip)
        return self.completeRun(node, stored)

    @staticmethod
    def metricsHtml(result: RunResult | None) -> str:
        if result is None:
            return ""
        from medsynth.flagging import share_line  # numpy and SciPy: not at Slicer's start-up

        share = "" if result.uncertainShare is None else f"<p>{html.escape(share_line(result.uncertainShare))}</p>"
        return metricsHtml(result.metrics) + share + warningsHtml(result.warnings)


def metricsHtml(metrics: dict | None) -> str:
    """PSNR, SSIM and MAE inside the head mask, and the intensities compared, for the metrics display."""
    if not metrics:
        return ""
    cells = "".join(f"<td><b>{label}</b> {html.escape(fmt.format(metrics['mask'][key]))}</td>"
                    for key, label, fmt in SHOWN_METRICS)
    convention = metrics.get("info", {}).get("convention", "raw")
    return (f"<table cellspacing='8'><tr>{cells}</tr></table><i>inside the head mask of the reference; "
            f"{html.escape(CONVENTION_TEXT.get(convention, convention))}</i>")


def warningsHtml(warnings: list[str]) -> str:
    """The out-of-domain warnings, in the results area where the user looks at the output."""
    if not warnings:
        return ""
    items = "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
    return f"<p style='color:#b35900'><b>Check this result:</b></p><ul>{items}</ul>"


def runFromParameters(parameterNode, catalog=None, progress=None, cancel=None) -> RunResult:
    """Blocking run of a scene's MedSynth parameter node (for scripts without the module)."""
    return RunLogic(rawNode(parameterNode).GetScene(), catalog).run(parameterNode, progress, cancel)


