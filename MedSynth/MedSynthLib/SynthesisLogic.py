"""Synthesis on volume nodes in this process: the blocking console and batch API.

``SynthesisLogic().synthesize(inputNode, model="phantom-pgan-T1-T2")`` runs a model on a volume node and
returns a new scalar volume node on exactly the input's grid, named after the input and the target
contrast, placed next to the input (see ``OutputNodes``). This call blocks and imports torch into the
calling process; the module's GUI runs the same work in a background process instead
(``BackgroundSynthesis``).
"""

from __future__ import annotations

from medsynth.core.options import InferenceOptions
from medsynth.core.progress import CancelToken, ProgressCallback

from .OutputNodes import StoredSynthesis, reusableOutput, storeSynthesis
from .VolumeConversion import volumeFromNode


class SynthesisLogic:
    """Run MedSynth models on volume nodes of a scene (``slicer.mrmlScene`` unless given)."""

    def __init__(self, scene=None) -> None:
        self.scene = scene

    def loadModel(self, model):
        """A catalog name or a model file (its card validated), or an already loaded model."""
        from medsynth.checkpoint import LoadedModel, load_model
        from medsynth.core.catalog import resolve_model

        return model if isinstance(model, LoadedModel) else load_model(resolve_model(model))

    def synthesize(self, inputNode, model, options=None, outputNode=None, progress: ProgressCallback | None = None,
                   cancel: CancelToken | None = None):
        """Synthesize the model's target contrast from ``inputNode``; returns the output volume node.

        ``outputNode`` is reused if given and free for this run (see ``OutputNodes.reusableOutput``), else
        a new node is created. On an error or a cancel, nothing is added to the scene and a given
        ``outputNode`` is left as it was. Out-of-domain warnings go to the log (Slicer's Python console).
        """
        return self.synthesizeAll(inputNode, model, options, outputNode, progress=progress, cancel=cancel).output

    def synthesizeAll(self, inputNode, model, options=None, outputNode=None, uncertaintyNode=None,
                      uncertainty: bool = False, progress: ProgressCallback | None = None,
                      cancel: CancelToken | None = None, extraInputNodes=(),
                      skullStrip: bool = False) -> StoredSynthesis:
        """``synthesize``, with the uncertainty map (``uncertainty``) and the out-of-domain warnings;
        ``extraInputNodes``: a many-to-one model's further inputs, in its card's order; ``skullStrip``: extract
        the brain first (``medsynth.pipeline.synthesize_volumes``)."""
        from medsynth.pipeline import synthesize_volumes

        loaded = self.loadModel(model)
        key = loaded.card.name if loaded is model else str(model)  # what the output records as its model
        outputNode = reusableOutput(outputNode, inputNode, loaded.card.mapping, model=key,
                                    extraInputNodes=extraInputNodes)
        volumes = [volumeFromNode(node) for node in (inputNode, *extraInputNodes)]
        result = synthesize_volumes(volumes, loaded, options or InferenceOptions(), progress, cancel, uncertainty,
                                    skullStrip)
        return storeSynthesis(inputNode, result, loaded.card.mapping, outputNode, uncertaintyNode, self.scene,
                              model=key, modelName=loaded.card.name)
