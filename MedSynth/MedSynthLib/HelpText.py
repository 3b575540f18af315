"""The module's help and acknowledgement text, with its architectures and papers read from the package's one
registry (``medsynth.core.architectures``, torch-free), so a new architecture appears here without an edit."""

from __future__ import annotations

import html

from medsynth.core.architectures import architectures
from medsynth.core.citations import DEEPBET2024, NYUL2000


def architectureItems() -> str:
    """An HTML list of the generators and baselines, each with its one-line description."""
    items = [f"<li><b>{html.escape(a.name)}</b>: {html.escape(a.description)}"
             f"{' (baseline)' if a.role == 'baseline' else ''}</li>"
             for role in ("generator", "baseline") for a in architectures(role)]
    return "<ul>" + "".join(items) + "</ul>"


def references() -> str:
    """Every paper the architectures cite (and Nyul's standardization, which models may use, and deepbet, the
    skull stripping), once each."""
    papers = dict.fromkeys(c for a in architectures() for c in a.citations)
    papers[NYUL2000] = papers[DEEPBET2024] = None
    return "<br>".join(html.escape(p) for p in papers)
