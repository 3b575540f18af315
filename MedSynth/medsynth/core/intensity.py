"""Per-volume intensity normalizations, each stored as parameters and exactly invertible.

A normalization is a plain dict so it can live in a JSON model card::

    {"kind": "minmax", "percentiles": [0.0, 99.5]}               # how to fit it on a volume
    {"kind": "minmax", "params": {"lo": 0.0, "hi": 812.5}}          # fitted: ready to apply/invert

Kinds:

- ``minmax``: clip to [lo, hi] and map linearly to [-1, 1] (seed 000). ``lo`` is the ``percentiles[0]``
  percentile of the whole volume (the background floor), ``hi`` the ``percentiles[1]`` percentile of the
  foreground (so it does not depend on how much air the field of view holds).
- ``zscore``: ``(x - mean) / std`` over the foreground (seeds 001/002). No clipping.
- ``window``: like ``minmax`` with fixed ``lo``/``hi`` (CT in HU, default -1024..3071).
- ``percentile``: the ``percentiles`` (default 1st and 99th) of the *foreground* map linearly to -1 and 1, so
  neither the amount of air nor the background level of another scanner moves the scale; values are kept up
  to half a range beyond (clipped to [-2, 2]), so the background stays below the darkest tissue.
- ``nyul``: Nyul & Udupa's piecewise-linear histogram standardization (IEEE TMI 19(2):143-50, 2000): the
  foreground's ``percentiles`` (landmarks) map to a ``standard`` scale learned over the training subjects
  (``training.data.nyul_standard``), linear beyond the end landmarks and clipped to [-2, 2] like ``percentile``. It
  lines up every tissue class between sites, not only the two ends of the range.

``invert(apply(x))`` returns ``x`` exactly for every kind, except where ``minmax``/``window`` clipped it.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from .contrasts import CONTRASTS
from .errors import ConfigError

KINDS = ("minmax", "zscore", "window", "percentile", "nyul")
DEFAULT_PERCENTILES = (0.0, 99.5)
FOREGROUND_PERCENTILES = (1.0, 99.0)
PERCENTILE_CLIP = 2.0  # |normalized value| kept for the percentile kind
CT_WINDOW = CONTRASTS["CT"].hounsfield_window
# intensity-normalization's default landmarks: the 1st and 99th percentiles and the deciles between them
NYUL_PERCENTILES = (1.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 99.0)


def fit(spec: dict[str, Any], array: np.ndarray, mask: np.ndarray | None = None) -> dict[str, Any]:
    """Return ``spec`` with ``params`` fitted on ``array`` (foreground ``mask`` where relevant)."""
    kind = _kind(spec)
    data = np.asarray(array, dtype=np.float32)
    fg = data[mask] if mask is not None and mask.any() else data.ravel()
    if kind == "minmax":
        p_lo, p_hi = spec.get("percentiles", DEFAULT_PERCENTILES)
        lo = float(np.percentile(data, p_lo)) if p_lo > 0 else float(data.min())
        hi = float(np.percentile(fg, p_hi))
        if hi <= lo:
            hi = float(data.max())
        params = {"lo": lo, "hi": hi}
    elif kind == "percentile":
        p_lo, p_hi = spec.get("percentiles", FOREGROUND_PERCENTILES)
        lo, hi = (float(v) for v in np.percentile(fg, [p_lo, p_hi]))
        if hi <= lo:
            lo, hi = float(fg.min()), float(fg.max())
        if hi <= lo:
            hi = lo + 1.0
        params = {"lo": lo, "hi": hi}
    elif kind == "nyul":
        params = {"landmarks": increasing_landmarks(np.percentile(fg, spec.get("percentiles", NYUL_PERCENTILES)))}
    elif kind == "zscore":
        std = float(fg.std())
        params = {"mean": float(fg.mean()), "std": std if std > 0 else 1.0}
    else:
        lo, hi = spec.get("params", {}).get("lo", CT_WINDOW[0]), spec.get("params", {}).get("hi", CT_WINDOW[1])
        params = {"lo": float(lo), "hi": float(hi)}
    return {**spec, "kind": kind, "params": params}


def apply(norm: dict[str, Any], array: np.ndarray) -> np.ndarray:
    """Map raw intensities to the normalized scale (float32)."""
    kind, p = _kind(norm), _params(norm)
    if kind == "nyul":
        y = _piecewise(array, p["landmarks"], norm["standard"])
        np.clip(y, -PERCENTILE_CLIP, PERCENTILE_CLIP, out=y)
        return y
    # one float32 copy, changed in place: a volume's worth of memory, not one per arithmetic step
    if kind == "zscore":
        y = np.array(array, dtype=np.float32)
        y -= np.float32(p["mean"])
        y /= np.float32(p["std"])
        return y
    lo, hi = p["lo"], p["hi"]
    y = np.array(array, dtype=np.float32) if kind == "percentile" else np.clip(array, lo, hi).astype(np.float32)
    y -= np.float32(lo)
    y *= np.float32(2.0 / (hi - lo))
    y -= np.float32(1.0)
    if kind == "percentile":
        np.clip(y, -PERCENTILE_CLIP, PERCENTILE_CLIP, out=y)
    return y


def invert(norm: dict[str, Any], array: np.ndarray) -> np.ndarray:
    """Map normalized values back to raw intensities (float32)."""
    kind, p = _kind(norm), _params(norm)
    if kind == "nyul":
        return _piecewise(array, norm["standard"], p["landmarks"])
    y = np.array(array, dtype=np.float32)  # one copy, changed in place
    if kind == "zscore":
        y *= np.float32(p["std"])
        y += np.float32(p["mean"])
        return y
    y += np.float32(1.0)
    y *= np.float32(0.5 * (p["hi"] - p["lo"]))
    y += np.float32(p["lo"])
    return y


def increasing_landmarks(values) -> list[float]:
    """Strictly increasing landmarks: a tie (as in a volume of few grey levels) would make the map a step."""
    out = [float(v) for v in values]
    step = max(out[-1] - out[0], 1e-6) * 1e-6
    for k in range(1, len(out)):
        out[k] = max(out[k], out[k - 1] + step)
    return out


def _piecewise(array: np.ndarray, xs: list[float], ys: list[float]) -> np.ndarray:
    """The piecewise-linear map through ``(xs, ys)``, continued linearly beyond both ends (float32)."""
    x = np.asarray(array, dtype=np.float32)
    xs_, ys_ = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    y = np.interp(x, xs_, ys_).astype(np.float32)
    for end, (a, b) in ((x < xs_[0], (0, 1)), (x > xs_[-1], (-2, -1))):
        slope = (ys_[b] - ys_[a]) / (xs_[b] - xs_[a])
        y[end] = (ys_[a] + slope * (x[end] - xs_[a])).astype(np.float32)
    return y


def apply_value(norm: dict[str, Any], value: float) -> float:
    """Normalized value of one raw intensity (e.g. the background level)."""
    return float(apply(norm, np.array([value]))[0])


def validate(spec: Any, where: str, fitted: bool = False) -> None:
    """Raise :class:`ConfigError` if ``spec`` is not a well-formed normalization."""
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected a normalization object, got {type(spec).__name__}")
    if _kind(spec, where) == "nyul":
        _check_nyul(spec, where)
        if fitted:
            _params(spec, where)
        return
    percentiles = spec.get("percentiles")
    if percentiles is not None and not (
        isinstance(percentiles, list) and len(percentiles) == 2 and all(_number(v) for v in percentiles)
        and 0 <= percentiles[0] < percentiles[1] <= 100
    ):
        raise ConfigError(f"{where}: percentiles must be [low, high] with 0 <= low < high <= 100, got {percentiles!r}")
    params = spec.get("params", {})
    if not isinstance(params, dict):
        raise ConfigError(f"{where}: params must be an object of numbers, got {type(params).__name__}")
    for key, value in {**params, "background": spec.get("background", 0.0)}.items():
        if not _number(value) or abs(value) > MAX_INTENSITY:
            raise ConfigError(f"{where}: {key} must be a finite number within +-{MAX_INTENSITY:g}, got {value!r}")
    if fitted:
        _params(spec, where)


MAX_INTENSITY = 1e30


def _number(value: Any) -> bool:
    import math

    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_nyul(spec: dict[str, Any], where: str) -> None:
    percentiles = spec.get("percentiles")
    if not (isinstance(percentiles, list) and len(percentiles) >= 3 and all(_number(v) for v in percentiles)
            and all(0 <= a < b <= 100 for a, b in itertools.pairwise(percentiles))):
        raise ConfigError(f"{where}: nyul percentiles must be 3 or more increasing numbers in [0, 100], got "
                          f"{percentiles!r}")
    params = spec.get("params")
    named = {"standard": spec.get("standard")}
    if params is not None:
        named["params.landmarks"] = params.get("landmarks") if isinstance(params, dict) else params
    for key, values in named.items():
        if not (isinstance(values, list) and len(values) == len(percentiles)
                and all(_number(v) and abs(v) <= MAX_INTENSITY for v in values)
                and all(a < b for a, b in itertools.pairwise(values))):
            raise ConfigError(f"{where}: nyul {key} must be {len(percentiles)} increasing finite numbers (one per "
                              f"percentile), got {values!r}")


def _kind(spec: dict[str, Any], where: str = "normalization") -> str:
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"{where}: unknown normalization kind {kind!r}; expected one of {', '.join(KINDS)}")
    return kind


def _params(norm: dict[str, Any], where: str = "normalization") -> dict[str, float]:
    kind = _kind(norm, where)
    p = norm.get("params")
    if kind == "nyul":
        _check_nyul(norm, where)
        if not isinstance(p, dict) or "landmarks" not in p:
            raise ConfigError(f"{where}: 'nyul' normalization needs fitted landmarks (params.landmarks)")
        return p
    need = ("mean", "std") if kind == "zscore" else ("lo", "hi")
    if not isinstance(p, dict) or any(not isinstance(p.get(k), (int, float)) for k in need):
        raise ConfigError(f"{where}: '{kind}' normalization needs numeric params {', '.join(need)}")
    if (kind == "zscore" and p["std"] <= 0) or (kind != "zscore" and p["hi"] <= p["lo"]):
        raise ConfigError(f"{where}: degenerate '{kind}' params {p}")
    return p


def default_normalization(contrast: str) -> dict[str, Any]:
    """Seed 000's per-volume min-max to [-1, 1] for MR; a fixed HU window for CT (``Contrast.hounsfield_window``)."""
    window = CONTRASTS[contrast].hounsfield_window if contrast in CONTRASTS else None
    if window is not None:
        return {"kind": "window", "params": {"lo": window[0], "hi": window[1]}}
    return {"kind": "minmax", "percentiles": list(DEFAULT_PERCENTILES)}


# Rorden et al.'s Cormack units (NeuroImage 61(4):957-65, 2012; the Clinical toolbox's scct template): air at
# 0 and the soft-tissue range -100..100 HU stretched tenfold, c = h + 1000 + 9 * clip(h + 100, 0, 200).
CORMACK_DARK, CORMACK_MID, CORMACK_GAIN = 900.0, 200.0, 10.0


def cormack_to_hounsfield(values: np.ndarray) -> np.ndarray:
    """The exact inverse of the Cormack transform: HU from Cormack units (air, clamped at -1000 HU, is 0)."""
    c = np.asarray(values, dtype=np.float32)
    boost = np.clip(c - CORMACK_DARK, 0.0, CORMACK_MID * CORMACK_GAIN) * ((CORMACK_GAIN - 1) / CORMACK_GAIN)
    return (c - 1000.0 - boost).astype(np.float32)
