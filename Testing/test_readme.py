"""The README's command-line examples run as written (in a scratch folder)."""

import re
import shlex
from pathlib import Path

from medsynth.cli.main import main

README = Path(__file__).resolve().parents[1] / "README.md"


def section_commands(title: str) -> list[str]:
    section = README.read_text().split(f"## {title}", 1)[1].split("\n## ", 1)[0]
    return [line for block in re.findall(r"```bash\n(.*?)```", section, re.S) for line in block.splitlines()
            if line.startswith("bin/medsynth ")]


def run_commands(commands: list[str]) -> None:
    for command in commands:
        assert main(["-q", *shlex.split(command)[1:]]) == 0, command


def test_readme_cli_session_runs(tmp_path, monkeypatch, capsys):
    commands = section_commands("Command line")
    assert len(commands) >= 5
    monkeypatch.chdir(tmp_path)
    run_commands(commands)
    assert (tmp_path / "syn-T2.nii.gz").exists() and (tmp_path / "syn-T2_difference.png").exists()


def test_readme_training_session_runs(tmp_path, monkeypatch):
    commands = section_commands("Training your own model")
    assert [c.split()[1] for c in commands] == ["phantom", "prepare", "train", "synthesize", "train", "synthesize",
                                                "phantom", "phantom", "train", "synthesize"]
    monkeypatch.chdir(tmp_path)
    run_commands(commands)
    assert (tmp_path / "prepared" / "report.csv").exists() and (tmp_path / "run" / "model.safetensors").exists()
    assert (tmp_path / "syn-T2.nii.gz").exists() and (tmp_path / "syn3d-T2.nii.gz").exists()
    assert (tmp_path / "syn-CT.nii.gz").exists() and (tmp_path / "run-ct" / "model-reverse.safetensors").exists()


def test_readme_python_example_runs(tmp_path, monkeypatch):
    text = README.read_text().split("## Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    assert main(["-q", "phantom", "data", "--subjects", "1", "--shape", "64", "64", "40",
                 "--contrasts", "T1", "T2"]) == 0
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "syn-T2.nii.gz").exists()


def test_readme_slicer_console_example_runs(tmp_path, monkeypatch):
    """The console example, against a real MRML scene from slicer-core."""
    import sys

    import pytest

    slicer = pytest.importorskip("slicer")
    sys.path.insert(0, str(README.parent / "MedSynth"))
    code = re.search(r"```python\n(.*?)```", README.read_text().split("## 3D Slicer", 1)[1], re.S).group(1)
    slicer.mrmlScene = slicer.vtkMRMLScene()
    namespace = {}
    try:
        exec(compile(code, "README.md", "exec"), namespace)
        assert namespace["metrics"]["mask"]["psnr"] > 20
        assert namespace["t2FromPD"].GetName() == "MedSynthPhantom-PD-synthetic-T2"
    finally:
        slicer.mrmlScene = None


def test_readme_batch_example_runs(tmp_path):
    """The plain-Python batch line (the Slicer line differs only in the launcher)."""
    import subprocess
    import sys

    section = README.read_text().split("## 3D Slicer", 1)[1].split("\n## ", 1)[0]
    slicer_line, python_line = re.search(r"```bash\n(.*?)```", section, re.S).group(1).strip().splitlines()
    assert slicer_line.split("--python-script ", 1)[1] == python_line.split(" ", 1)[1]
    assert main(["-q", "phantom", str(tmp_path / "data"), "--subjects", "1", "--shape", "64", "64", "40",
                 "--contrasts", "T1", "T2"]) == 0
    args = shlex.split(python_line)[1:]
    args[0] = str(README.parent / args[0])
    done = subprocess.run([sys.executable, *args], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "syn" / "metrics.csv").is_file()
    assert (tmp_path / "syn" / "phantom001-T1-synthetic-T2.nii.gz").is_file()
