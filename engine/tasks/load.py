"""Loading and validating a task spec.

Validation happens in two layers: pydantic checks each field, then ``check`` the things that
need the whole spec (layers chain, output fits the loss and dataset, limits hold). Every error
is a ``SpecError`` naming the field path and what would be valid.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.errors import SpecError
from engine.safejson import JsonLimits, UntrustedJsonError, loads
from engine.tasks import spec as s
from engine.tasks.datainfo import DataInfo, data_info
from engine.tasks.estimate import ResourceEstimate, estimate
from engine.tasks.shapes import LayerShape, infer_shapes

MAX_SPEC_BYTES = 1_000_000
# Checked on the raw bytes before any parsing (see engine.safejson): a spec is a few levels deep.
SPEC_LIMITS = JsonLimits(max_bytes=MAX_SPEC_BYTES, max_depth=16, max_items=10_000, max_string=4096)


@dataclass(frozen=True)
class CheckedSpec:
    """A spec that passed every check, with what the checks learned about it."""

    spec: s.TaskSpec
    data: DataInfo
    layers: list[LayerShape]
    estimate: ResourceEstimate
    sha256: str  # of the canonical JSON, see ``canonical_json``

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.layers[-1].shape


def canonical_json(spec: s.TaskSpec) -> bytes:
    """The spec as compact JSON with sorted keys: what its hash commits to."""
    return json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":")).encode()


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in s.LAYER_TYPES or part in _UNION_TAGS:
            continue  # pydantic puts the union member's tag in the path; the user never wrote it
        else:
            name = str(part) if _PLAIN_KEY.fullmatch(str(part)) else json.dumps(str(part)[:40])  # a stranger's key
            out += f".{name}" if out else name
    return out


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_]{1,64}")


_UNION_TAGS = {
    "digits", "synthetic_classification", "synthetic_regression", "text", "blob",
    "sgd", "adam", "adamw", "constant", "warmup", "cosine", "exact", "tolerance",
}


def _from_validation_error(e: ValidationError) -> SpecError:
    err = e.errors(include_url=False)[0]
    path = _loc(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        return SpecError(path, "is not a known field", hint="remove it or check its spelling")
    ctx = err.get("ctx", {})
    field = str(ctx.get("discriminator", "")).strip("'")
    if kind == "union_tag_invalid":
        where = f"{path}.{field}" if path else field
        return SpecError(
            where, f"{ctx.get('tag', '?')!r} is not supported", hint=f"valid: {ctx.get('expected_tags', '')}"
        )
    if kind == "union_tag_not_found":
        return SpecError(f"{path}.{field}" if path else field, "is required")
    if kind == "missing":
        return SpecError(path, "is required")
    return SpecError(path, err["msg"], hint=_TYPE_HINTS.get(kind))


# Strict types: a quoted number or a boolean is refused, never converted (the spec hash
# commits to the value as written).
_TYPE_HINTS = {
    "int_type": "write a whole JSON number without quotes (true/false are not numbers)",
    "float_type": "write a JSON number without quotes (true/false are not numbers)",
    "bool_type": "write true or false without quotes",
    "string_type": "write a JSON string in double quotes",
    "finite_number": "use a finite number",
}


def parse(data: bytes | str | dict[str, Any], origin: str = "spec") -> s.TaskSpec:
    """Fields only: JSON syntax and each field's type and range."""
    if isinstance(data, (bytes, str)):
        try:
            data = loads(data, limits=SPEC_LIMITS, what=origin)
        except UntrustedJsonError as e:
            raise SpecError(
                "", e.message, hint="a spec is a small JSON object: see resources/tasks/ for examples"
            ) from None
    if not isinstance(data, dict):
        raise SpecError("", f"{origin} must be a JSON object")
    version = data.get("version", s.SPEC_VERSION)
    if type(version) is not int or version != s.SPEC_VERSION:
        raise SpecError("version", f"{repr(version)[:40]} is not supported",
                        hint=f"this idlegrid reads version {s.SPEC_VERSION}; upgrade idlegrid")
    try:
        return s.TaskSpec.model_validate(data)
    except ValidationError as e:
        raise _from_validation_error(e) from None


def _check_output(spec: s.TaskSpec, info: DataInfo, out: tuple[int, ...]) -> None:
    last = f"model[{len(spec.model) - 1}]"
    if spec.loss == "cross_entropy":
        if info.classes is None:
            raise SpecError("loss", "cross_entropy needs class labels, but the dataset has float targets",
                            hint='use "loss": "mse"')
        if out[:-1] != info.y_shape or len(out) != len(info.y_shape) + 1:
            want = [*info.y_shape, info.classes]
            raise SpecError(last, f"outputs shape {list(out)}, but cross_entropy on this dataset needs {want}")
        if out[-1] < info.classes:
            raise SpecError(last, f"outputs {out[-1]} scores but the dataset has {info.classes} classes",
                            hint=f"make the last layer output {info.classes}")
    else:
        if info.classes is not None:
            raise SpecError("loss", "mse needs float targets, but the dataset has class labels",
                            hint='use "loss": "cross_entropy"')
        if out != info.y_shape:
            raise SpecError(last, f"outputs shape {list(out)} but the targets have shape {list(info.y_shape)}")
    if spec.evaluation.metric == "mse" and info.classes is not None:
        raise SpecError("evaluation.metric", "mse needs float targets", hint='use "accuracy"')
    if spec.evaluation.metric in ("accuracy", "perplexity") and info.classes is None:
        raise SpecError("evaluation.metric", f"{spec.evaluation.metric} needs class labels", hint='use "mse"')


def check(spec: s.TaskSpec) -> CheckedSpec:
    """Whole-spec checks; returns the facts the trainer and the worker need."""
    if spec.checkpoint_every > spec.steps:
        raise SpecError("checkpoint_every", f"{spec.checkpoint_every} is larger than steps ({spec.steps})",
                        hint=f"use a value from 1 to {spec.steps}")
    if isinstance(spec.schedule, (s.WarmupSchedule, s.CosineSchedule)) and spec.schedule.warmup_steps >= spec.steps:
        raise SpecError("schedule.warmup_steps", f"{spec.schedule.warmup_steps} is not below steps ({spec.steps})")
    info = data_info(spec.dataset)
    holdout = int(info.samples * spec.evaluation.holdout)
    if holdout < 1 or info.samples - holdout < 1:
        raise SpecError("dataset", f"{info.samples} samples cannot be split with holdout {spec.evaluation.holdout}")
    layers = infer_shapes(spec, info.x_shape, info.x_is_int)
    if layers[-1].is_int:
        raise SpecError(f"model[{len(spec.model) - 1}]", "the model outputs integers", hint="end with a Linear layer")
    _check_output(spec, info, layers[-1].shape)
    est = estimate(spec, layers)
    if est.params > spec.limits.max_params:
        raise SpecError(
            "limits.max_params",
            f"the model has {est.params:,} parameters, over the limit {spec.limits.max_params:,}",
            hint="raise the limit or shrink the model",
        )
    if est.memory_mb > spec.limits.max_memory_mb:
        raise SpecError(
            "limits.max_memory_mb",
            f"training needs about {est.memory_mb:,.0f} MB, over the limit {spec.limits.max_memory_mb:,}",
            hint="raise the limit, or lower batch_size or the model size",
        )
    return CheckedSpec(spec, info, layers, est, hashlib.sha256(canonical_json(spec)).hexdigest())


def load_spec(path: str | Path) -> CheckedSpec:
    """Read, parse and check a spec file; errors name the file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError("", f"spec file {path} does not exist") from None
    except OSError as e:
        raise SpecError("", f"cannot read spec file {path}: {e.strerror}") from None
    try:
        return check(parse(raw, origin="the file"))
    except SpecError as e:
        raise SpecError(f"{path}: {e.path}" if e.path else str(path), e.problem, hint=e.hint) from None
