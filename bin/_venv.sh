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
