"""One synthesis as the module runs it, from its parameter node to the results in the scene.

``runFromParameters`` is the blocking version (the module's self-test, scripts); the GUI runs the model in
a ``BackgroundSynthesis`` and then calls ``completeRun`` the same way: the synthetic volume is recorded in
the parameter node and shown in the three slice views, and when a reference is chosen it is compared
(difference overlay and metrics table) and the metrics are returned for display.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from medsynth.errors import InputError
from medsynth.progress import CancelToken, ProgressCallback

from .ComparisonLogic import ComparisonLogic
from .ModelCatalog import ModelCatalog
from .Parameters import SynthesisParameters
from .SynthesisLogic import SynthesisLogic, showInViews

SHOWN_METRICS = (("psnr", "PSNR", "{:.2f} dB"), ("ssim_3d", "SSIM", "{:.3f}"), ("mae", "MAE", "{:.4g}"))


@dataclass
class RunResult:
    parameters: SynthesisParameters
    metrics: dict | None = None  # {"mask": {...}, "whole": {...}} when a reference was compared


def readParameters(parameterNode) -> SynthesisParameters:
    """The parameter node's settings, checked for what a run needs."""
    parameters = SynthesisParameters.read(parameterNode)
    if parameters.inputVolume is None:
        raise InputError("choose an input volume")
    if parameters.referenceVolume is not None and parameters.referenceVolume is parameters.inputVolume:
        raise InputError("the reference must be a real target-contrast volume, not the input itself")
    return parameters


def completeRun(parameterNode, outputNode, scene=None) -> RunResult:
    """Record ``outputNode`` as the run's output, show it, and compare it with the reference if any."""
    parameters = SynthesisParameters.read(parameterNode)
    parameters.outputVolume = outputNode
    scene = scene or outputNode.GetScene()
    metrics = None
    if parameters.referenceVolume is not None:
        parameters.differenceVolume, parameters.metricsTable, metrics = ComparisonLogic(scene).compare(
            outputNode, parameters.referenceVolume, differenceNode=parameters.differenceVolume,
            tableNode=parameters.metricsTable)
    else:
        showInViews(scene, outputNode)
    parameters.write(parameterNode)
    return RunResult(parameters, metrics)


def runFromParameters(parameterNode, catalog: ModelCatalog | None = None, progress: ProgressCallback | None = None,
                      cancel: CancelToken | None = None) -> RunResult:
    """Blocking: synthesize with the node's settings, then ``completeRun``."""
    parameters = readParameters(parameterNode)
    choice = parameters.chooseModel(catalog or ModelCatalog())
    output = SynthesisLogic(parameterNode.GetScene()).synthesize(
        parameters.inputVolume, str(choice.path), parameters.inferenceOptions(), parameters.outputVolume,
        progress, cancel)
    return completeRun(parameterNode, output)


def metricsHtml(metrics: dict | None) -> str:
    """PSNR, SSIM and MAE inside the head mask, for the module's metrics display."""
    if not metrics:
        return ""
    cells = "".join(f"<td><b>{label}</b> {html.escape(fmt.format(metrics['mask'][key]))}</td>"
                    for key, label, fmt in SHOWN_METRICS)
    return f"<table cellspacing='8'><tr>{cells}</tr></table><i>inside the head mask of the reference</i>"
