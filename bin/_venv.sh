# Sourced by bin/medsynth and bin/test: make sure .venv exists and holds this checkout's requirements.
# torch==2.13.0 goes in first: an unpinned torch would pull several GB of CUDA packages on a CPU machine.
# The stamp records what was installed, so a changed pyproject.toml or requirements file triggers a reinstall.
set -euo pipefail
MEDSYNTH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MEDSYNTH_VENV:-$MEDSYNTH_ROOT/.venv}"
TORCH_SPEC="${MEDSYNTH_TORCH:-torch==2.13.0}"

medsynth_ensure_venv() {
    local extras="$1"
    local stamp="$VENV/.medsynth-stamp"
    local want
    want="$TORCH_SPEC $extras $(cat "$MEDSYNTH_ROOT/pyproject.toml" "$MEDSYNTH_ROOT"/MedSynth/Resources/requirements*.txt | sha256sum | cut -c1-16)"
    if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    echo "medsynth: setting up $VENV ($extras)..." >&2
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
    "$VENV/bin/python" -m pip install --quiet "$TORCH_SPEC" >&2
    "$VENV/bin/python" -m pip install --quiet -e "$MEDSYNTH_ROOT[$extras]" >&2
    echo "$want" > "$stamp"
}

# .venv-py312: this package and its requirements for a second interpreter, without torch, MONAI and deepbet (which
# need torch): the Python of Slicer >= 5.10 for the torch-free tests.
VENV312="${MEDSYNTH_VENV312:-$MEDSYNTH_ROOT/.venv-py312}"
medsynth_ensure_torchless_venv() {
    local python="$1"
    local stamp="$VENV312/.medsynth-stamp"
    local want
    want="$("$python" --version) $(cat "$MEDSYNTH_ROOT/pyproject.toml" "$MEDSYNTH_ROOT"/MedSynth/Resources/requirements*.txt | sha256sum | cut -c1-16)"
    if [ -x "$VENV312/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    echo "medsynth: setting up $VENV312 (no torch)..." >&2
    [ -x "$VENV312/bin/python" ] || "$python" -m venv "$VENV312"
    local requirements
    requirements="$(grep -hvE '^\s*(#|$)|^(torch|monai|deepbet)\b' "$MEDSYNTH_ROOT"/MedSynth/Resources/requirements*.txt)"
    # shellcheck disable=SC2086 - one requirement per word
    "$VENV312/bin/python" -m pip install --quiet $requirements "slicer-core==5.11.*" "pytest>=8" >&2
    "$VENV312/bin/python" -m pip install --quiet --no-deps -e "$MEDSYNTH_ROOT" >&2
    echo "$want" > "$stamp"
}
