"""The training module's logic: a tiny real run in a child process, its curves in plot nodes, Stop and an
exact Resume, and the trained model registered in MedSynth's catalog."""

from __future__ import annotations

import time

import pytest
import slicer
from medsynth.core.errors import ConfigError, MedSynthError
from medsynth.phantom import write_phantom_dataset
from MedSynthLib.BackgroundProcess import State
from MedSynthLib.ModelCatalog import ModelCatalog
from MedSynthLib.SynthesisLogic import SynthesisLogic
from MedSynthLib.VolumeConversion import updateNodeFromVolume
from MedSynthTrainLib.BackgroundTraining import BackgroundTraining, canResume, readHistory, registerModel
from MedSynthTrainLib.DatasetCheck import DatasetCheck
from MedSynthTrainLib.TrainingCurves import updateCurves
from MedSynthTrainLib.TrainingParameters import TrainingParameters

TINY = ("model.hyperparameters.ngf=4 model.hyperparameters.n_blocks=2 model.hyperparameters.dense_blocks=1 "
        "model.discriminator_hyperparameters.ndf=4 model.discriminator_hyperparameters.n_layers=2 data.size=48 "
        "optim.slices_per_epoch=8 data.validation=0.25 data.test=0.25")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("phantoms")
    write_phantom_dataset(folder, 4, shape=(40, 44, 24), seed=3, contrasts=("T1", "T2"))
    return folder


def parameters(dataset, out, epochs):
    return TrainingParameters(dataFolder=str(dataset), outputFolder=str(out), epochs=epochs, batchSize=2,
                              device="cpu", extraSettings=TINY)


@pytest.mark.torch
def test_a_run_feeds_the_curves_and_its_model_joins_the_catalog(scene, dataset, tmp_path):
    out = tmp_path / "t1t2"
    shown = []
    nodes = None

    def onEpoch(history):
        nonlocal nodes
        nodes = updateCurves(history, nodes)
        shown.append(nodes.table.GetNumberOfRows())

    model = BackgroundTraining(out, parameters(dataset, out, 3).trainArguments()).run(onEpoch=onEpoch)
    assert model == out / "model.safetensors" and shown[-1] == 3 and shown == sorted(shown)
    # the charts show the logged values: losses on a log axis, validation PSNR on its own chart
    history = readHistory(out)
    table = nodes.table.GetTable()
    assert table.GetColumnByName("val_psnr").GetValue(2) == pytest.approx(history[2]["val_psnr"])
    losses = {nodes.lossChart.GetNthPlotSeriesNode(i).GetYColumnName()
              for i in range(nodes.lossChart.GetNumberOfPlotSeriesNodes())}
    logged = {k for k in history[0] if k.startswith("loss_")}  # every loss the objective logs, terms included
    assert losses == logged and {"loss_G", "loss_D", "loss_G_adv", "loss_G_l1"} <= losses
    assert nodes.lossChart.GetYAxisLogScale()
    assert nodes.metricChart.GetNthPlotSeriesNode(0).GetYColumnName() == "val_psnr"
    assert scene.GetNumberOfNodesByClass("vtkMRMLPlotSeriesNode") == len(logged) + 1  # updated in place

    catalog = ModelCatalog(tmp_path / "models.json")
    choice = registerModel(out, catalog)
    assert choice.name == "t1t2" and choice in catalog.models("T1->T2")
    node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "sub-T1")
    from medsynth.io import read_volume

    updateNodeFromVolume(node, read_volume(next(dataset.glob("*-T1.nii.gz"))))
    synthetic = SynthesisLogic().synthesize(node, str(choice.path))
    assert synthetic.GetName() == "sub-T1-synthetic-T2"
    assert slicer.util.arrayFromVolume(synthetic).shape == slicer.util.arrayFromVolume(node).shape


@pytest.mark.torch
def test_stop_keeps_finished_epochs_and_resume_completes_the_run(dataset, tmp_path):
    out = tmp_path / "stopped"
    run = BackgroundTraining(out, parameters(dataset, out, 4).trainArguments())
    run.start()
    deadline = time.time() + 120
    while run.poll() is State.RUNNING and "epoch 2/" not in run.job.progress[2]:  # epoch 1 is saved
        assert time.time() < deadline
        time.sleep(0.02)
    run.stop()
    assert run.state is State.CANCELLED and run.job.process.poll() is not None
    assert len(readHistory(out)) == 1 and canResume(out) and not (out / "model.safetensors").exists()
    assert 0.25 <= run.fraction() < 0.5

    model = BackgroundTraining(out).run()  # resume
    history = readHistory(out)
    assert model.name == "model.safetensors" and [row["epoch"] for row in history] == [1, 2, 3, 4]


def test_start_from_a_model_fine_tunes_it_with_its_own_architecture(dataset, tmp_path):
    arguments = TrainingParameters(dataFolder=str(dataset), outputFolder=str(tmp_path / "tuned"), architecture="unet",
                                   initModel=" real-unet-T1-T2 ").trainArguments()
    assert arguments[arguments.index("--init") + 1] == "real-unet-T1-T2" and "--arch" not in arguments
    scratch = TrainingParameters(dataFolder=str(dataset), outputFolder=str(tmp_path / "new")).trainArguments()
    assert "--init" not in scratch and scratch[scratch.index("--arch") + 1] == "pgan"


def test_bad_settings_are_refused_before_anything_runs(dataset, tmp_path):
    with pytest.raises(ConfigError, match="dataset folder"):
        TrainingParameters(dataFolder=str(tmp_path / "nowhere"), outputFolder=str(tmp_path)).trainArguments()
    with pytest.raises(ConfigError, match="data: source and target are both T1"):  # the command's own check
        TrainingParameters(dataFolder=str(dataset), outputFolder=str(tmp_path), target="T1").checkedArguments()
    with pytest.raises(ConfigError, match="section.key=value"):
        TrainingParameters(dataFolder=str(dataset), outputFolder=str(tmp_path),
                           extraSettings="ngf").trainArguments()
    with pytest.raises(ConfigError, match="architecture must be one of"):
        TrainingParameters(architecture="resnet")
    with pytest.raises(ConfigError, match=r"data.target_root \(--target-data\) is for unpaired architectures "
                                          r"\(cyclegan, unit\); 'pgan' trains on co-registered pairs"):
        TrainingParameters(dataFolder=str(dataset), outputFolder=str(tmp_path), targetFolder=str(dataset),
                           ).checkedArguments()
    with pytest.raises(ConfigError, match="optim.epochs must be between 1 and 100000"):  # TrainConfig's range
        TrainingParameters(dataFolder=str(dataset), outputFolder=str(tmp_path),
                           extraSettings="optim.epochs=0").checkedArguments()
    with pytest.raises(ConfigError, match="target folder '.*nowhere' does not exist"):
        TrainingParameters(dataFolder=str(dataset), outputFolder=str(tmp_path), architecture="cyclegan",
                           targetFolder=str(tmp_path / "nowhere")).trainArguments()
    with pytest.raises(ConfigError, match="cannot be resumed"):
        BackgroundTraining(tmp_path / "empty")
    with pytest.raises(MedSynthError, match="no trained model"):
        registerModel(tmp_path, ModelCatalog(tmp_path / "models.json"))


@pytest.mark.torch
def test_an_unpaired_run_takes_a_target_folder_and_shows_every_loss(scene, tmp_path):
    mri, ct = tmp_path / "mri", tmp_path / "ct"
    write_phantom_dataset(mri, 2, shape=(40, 44, 24), seed=5, contrasts=("T1",))
    write_phantom_dataset(ct, 2, shape=(40, 44, 24), seed=9, contrasts=("CT",))
    node = TrainingParameters(dataFolder=str(mri), targetFolder=str(ct), outputFolder=str(tmp_path / "run"),
                              architecture="cyclegan", source="T1", target="CT", epochs=1, device="cpu",
                              extraSettings="model.hyperparameters.ngf=4 model.hyperparameters.n_blocks=1 "
                                            "model.discriminator_hyperparameters.ndf=4 data.size=48 data.spacing=6 "
                                            "optim.slices_per_epoch=2")
    assert node.unpaired and "--target-data" in node.trainArguments()
    model = BackgroundTraining(tmp_path / "run", node.trainArguments()).run()
    nodes = updateCurves(readHistory(tmp_path / "run"), scene=scene)
    losses = {nodes.lossChart.GetNthPlotSeriesNode(i).GetYColumnName()
              for i in range(nodes.lossChart.GetNumberOfPlotSeriesNodes())}
    assert {"loss_G", "loss_D", "loss_G_cycle_ABA", "loss_G_cycle_BAB", "loss_G_idt_A", "loss_D_B"} <= losses
    assert model.is_file() and (tmp_path / "run" / "model-reverse.safetensors").is_file()
    catalog = ModelCatalog(tmp_path / "models.json")
    choice = registerModel(tmp_path / "run", catalog)  # listed by mapping and architecture, run in Slicer
    assert choice in catalog.models("T1->CT", "cyclegan") and "cyclegan" in catalog.menu("T1->CT").architectures
    node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "head-T1")
    from medsynth.io import read_volume

    updateNodeFromVolume(node, read_volume(next(mri.glob("*-T1.nii.gz"))))
    synthetic = SynthesisLogic().synthesize(node, str(choice.path))
    assert synthetic.GetName() == "head-T1-synthetic-CT" and synthetic.GetDisplayNode().GetWindow() == 1000.0
    summary = DatasetCheck()
    summary.start(str(mri), source="T1", target="CT", unpaired=True, targetFolder=str(ct))
    assert "unpaired: 2 source (T1), 2 target (CT) volumes" in summary.wait()


@pytest.mark.torch
def test_a_failing_run_reports_the_trainers_message(dataset, tmp_path):
    arguments = [*parameters(dataset, tmp_path / "bad", 2).trainArguments(), "--set", "optim.lr=-1"]
    with pytest.raises(MedSynthError, match=r"optim.lr must be in \(0, 1\], got -1"):
        BackgroundTraining(tmp_path / "bad", arguments).run()


def test_training_parameters_survive_a_scene_save_and_reload(scene, tmp_path):
    nodes = updateCurves([{"epoch": 1.0, "loss_G": 2.0, "loss_D": 0.7, "val_psnr": 20.0}])
    node = TrainingParameters.parameterNode(scene)
    TrainingParameters(dataFolder="/data/ixi", source="PD", architecture="nie", epochs=7, learningRate=2e-4,
                       historyTable=nodes.table, lossChart=nodes.lossChart, metricChart=nodes.metricChart).write(node)
    path = tmp_path / "scene.mrml"
    scene.SetURL(str(path))
    scene.Commit()
    reloaded = slicer.vtkMRMLScene()
    reloaded.SetURL(str(path))
    reloaded.Import()
    back = TrainingParameters.read(TrainingParameters.parameterNode(reloaded))
    assert (back.dataFolder, back.source, back.architecture, back.epochs, back.learningRate) == \
        ("/data/ixi", "PD", "nie", 7, 2e-4)
    assert back.lossChart.GetName() == "MedSynthTrain losses" and back.historyTable is not None


def test_epochs_reach_the_runs_node_and_follow_a_closed_scene(scene):
    import types

    from MedSynthTrainLib.TrainingLogic import TrainingJob, TrainingLogic
    from MedSynthTrainLib.TrainingParameters import TrainingParameters

    rows = [{"epoch": 1.0, "loss_G": 2.0, "loss_D": 0.5, "val_psnr": 20.0}]
    job = TrainingJob(TrainingParameters.parameterNode(scene), types.SimpleNamespace(history=lambda: rows))
    logic = TrainingLogic()
    assert logic.showEpochs(job) and not logic.showEpochs(job)  # once per new epoch
    assert TrainingParameters.read(job.parameterNode).historyTable.GetTable().GetNumberOfRows() == 1
    scene.Clear(False)  # the user closes the scene while the run goes on
    rows.append({"epoch": 2.0, "loss_G": 1.5, "loss_D": 0.6, "val_psnr": 22.0})
    assert logic.showEpochs(job)
    table = TrainingParameters.read(TrainingParameters.parameterNode(scene)).historyTable
    assert table.GetScene() is scene and table.GetTable().GetNumberOfRows() == 2


@pytest.mark.parametrize("changes", [
    {},
    {"architecture": "unet", "batchSize": 4, "pattern": "{subject}-{contrast}.nii.gz", "modelName": "mine",
     "extraSettings": "model.hyperparameters.ngf=16 data.normalization=nyul"},
    {"initModel": "real-unet-T1-T2", "epochs": 3, "learningRate": 5e-5},
])
def test_the_module_checks_exactly_what_it_asks_medsynth_train_to_run(dataset, tmp_path, changes):
    """The settings checked in Slicer's process are the ones the child parses from the arguments it gets."""
    import argparse

    from medsynth.cli import cmd_train

    node = TrainingParameters(dataFolder=str(dataset), outputFolder=str(tmp_path / "run"), **changes)
    parser = argparse.ArgumentParser()
    cmd_train.add_parser(parser.add_subparsers())
    parsed = parser.parse_args(["train", *node.checkedArguments()])
    assert cmd_train.overrides_from(parsed) == node.settings()
