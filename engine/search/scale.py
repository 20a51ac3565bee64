"""A space with tens of thousands of distinct candidates (an MLP grid over digits), for the
coordinator's scale test and benchmark against the simulated market."""

from __future__ import annotations

import json
from pathlib import Path

from engine.search.load import parse_space
from engine.search.space import SearchSpace

DIGITS = Path(__file__).resolve().parents[2] / "resources" / "search" / "digits.json"


def wide_space() -> SearchSpace:
    """24,576 distinct MLPs: 4 depths x 16 widths x 3 activations x 16 learning rates x 8 batch sizes."""
    body = json.loads(DIGITS.read_text(encoding="utf-8"))
    body["name"] = "digits-wide"
    body["architectures"] = {"mlp": {"kind": "mlp", "hidden_layers": [1, 2, 3, 4], "width": list(range(16, 272, 16))}}
    body["choices"] = {"activation": ["ReLU", "GELU", "Tanh"], "lr": [round(0.0005 * (i + 1), 4) for i in range(16)],
                       "batch_size": [16 * (i + 1) for i in range(8)]}
    body["constraints"]["max_params"] = 300_000
    return parse_space(json.dumps(body))
