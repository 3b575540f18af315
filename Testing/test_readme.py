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
    assert [c.split()[1] for c in commands] == ["phantom", "prepare", "train", "synthesize", "train", "synthesize"]
    monkeypatch.chdir(tmp_path)
    run_commands(commands)
    assert (tmp_path / "prepared" / "report.csv").exists() and (tmp_path / "run" / "model.safetensors").exists()
    assert (tmp_path / "syn-T2.nii.gz").exists() and (tmp_path / "syn3d-T2.nii.gz").exists()


def test_readme_python_example_runs(tmp_path, monkeypatch):
    text = README.read_text().split("## Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    assert main(["-q", "phantom", "data", "--subjects", "1", "--shape", "64", "64", "40",
                 "--contrasts", "T1", "T2"]) == 0
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "syn-T2.nii.gz").exists()
