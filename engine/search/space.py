"""The search-space file: a base spec plus the choices to search, as strict, versioned data.

A space is validated like a spec (pydantic, extra fields forbidden, errors that name the field
and a fix). A *candidate* is one value per parameter; :meth:`SearchSpace.build` turns it into a
task spec and checks it with the spec's own checks plus the space's constraints (parameters,
memory, estimated time), so every candidate the search posts is a valid spec. Parameters of an
architecture that is not chosen do not reach the spec: two candidates that differ only there
build the same spec and share its sha256.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import product
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.errors import SpecError, UsageError
from engine.search.reader import Goal as Goal
from engine.search.reader import Params as Params
from engine.search.reader import Value as Value
from engine.search.reader import effective, goal_of
from engine.tasks import spec as s
from engine.tasks.datainfo import data_info
from engine.tasks.load import CheckedSpec, check

SPACE_VERSION = 1
MAX_SPACE_BYTES = 200_000


class SpaceError(UsageError):
    """A search-space file that cannot be searched; ``path`` names the offending field."""

    def __init__(self, path: str, problem: str, *, hint: str | None = None) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem, hint=hint)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


T = TypeVar("T")
Options = Annotated[list[T], Field(min_length=1, max_length=16)]


Width = Annotated[int, Field(gt=0, le=4096)]


class MlpSpace(Strict):
    """Flatten, then ``hidden_layers`` x (Linear ``width``, activation, Dropout), then Linear."""

    kind: Literal["mlp"]
    hidden_layers: Options[Annotated[int, Field(ge=0, le=8)]]
    width: Options[Width]


class CnnSpace(Strict):
    """``conv_layers`` x (Conv2d ``channels`` ``kernel_size`` same-padded, activation,
    MaxPool2d 2), Flatten, an optional hidden Linear (``hidden`` 0: none), then Linear."""

    kind: Literal["cnn"]
    conv_layers: Options[Annotated[int, Field(ge=1, le=4)]]
    channels: Options[Annotated[int, Field(gt=0, le=512)]]
    kernel_size: Options[Annotated[int, Field(gt=0, le=7)]]
    hidden: Options[Annotated[int, Field(ge=0, le=4096)]] = [0]


class TransformerSpace(Strict):
    """Embedding + positions of width ``dim``, ``blocks`` transformer blocks, LayerNorm, Linear."""

    kind: Literal["transformer"]
    blocks: Options[Annotated[int, Field(ge=1, le=8)]]
    dim: Options[Annotated[int, Field(gt=0, le=1024)]]
    heads: Options[Annotated[int, Field(gt=0, le=16)]]
    ff_mult: Options[Annotated[int, Field(gt=0, le=8)]]


Architecture = Annotated[MlpSpace | CnnSpace | TransformerSpace, Field(discriminator="kind")]


class Choices(Strict):
    """Training choices; a field left out keeps the base spec's value."""

    activation: Options[Literal["ReLU", "GELU", "Tanh"]] = ["ReLU"]
    dropout: Options[Annotated[float, Field(ge=0.0, lt=1.0)]] = [0.0]
    optimizer: Options[Literal["sgd", "adam", "adamw"]] | None = None
    lr: Options[Annotated[float, Field(gt=0.0, le=10.0)]] | None = None
    batch_size: Options[Annotated[int, Field(gt=0, le=65536)]] | None = None
    steps: Options[Annotated[int, Field(gt=0, le=10_000_000)]] | None = None


class Constraints(Strict):
    """What every candidate must fit: they become its spec's limits. Time is estimated from the
    spec's FLOPs at ``reference_gflops`` (a slow worker's rate), as the worker estimates it."""

    max_params: Annotated[int, Field(gt=0)]
    max_memory_mb: Annotated[int, Field(gt=0)]
    max_seconds: Annotated[int, Field(gt=0)]
    reference_gflops: Annotated[float, Field(gt=0.0)] = 1.0


class BaseSpec(Strict):
    """Every spec field but ``version``, ``name``, ``model`` and ``limits`` (the search sets those)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)
    dataset: s.Dataset
    loss: Literal["cross_entropy", "mse"]
    optimizer: s.Optimizer
    schedule: s.Schedule = s.ConstantSchedule()
    batch_size: Annotated[int, Field(gt=0, le=65536)]
    steps: Annotated[int, Field(gt=0, le=10_000_000)]
    checkpoint_every: Annotated[int, Field(gt=0)]
    seed: Annotated[int, Field(ge=0)] = 0
    threads: Annotated[int, Field(gt=0, le=64)] = 1
    evaluation: s.Evaluation = s.Evaluation()
    verification: s.Verification = s.ToleranceVerification()


class SpaceFile(Strict):
    version: Literal[1]
    name: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")]
    description: str = ""
    base: BaseSpec
    architectures: Annotated[dict[Annotated[str, Field(pattern=r"^[a-z0-9_]{1,16}$")], Architecture],
                             Field(min_length=1, max_length=8)]
    choices: Choices = Choices()
    constraints: Constraints

    @model_validator(mode="after")
    def _values_unique(self) -> SpaceFile:
        for where, model in [
            ("choices", self.choices),
            *((f"architectures.{k}", a) for k, a in self.architectures.items()),
        ]:
            for field, values in model.__dict__.items():
                if isinstance(values, list) and len(set(values)) != len(values):
                    raise ValueError(f"{where}.{field} lists a value twice")
        return self


@dataclass(frozen=True)
class Candidate:
    """A buildable candidate: its effective parameters, its spec and the spec's sha256."""

    params: Params
    checked: CheckedSpec

    @property
    def sha256(self) -> str:
        return self.checked.sha256


class SearchSpace:
    """A validated space: its Optuna-style parameters and how a choice becomes a spec."""

    def __init__(self, file: SpaceFile) -> None:
        self.file = file
        self.name = file.name
        metric = file.base.evaluation.metric
        self.metric = metric
        self.goal = goal_of(metric)
        self._info = data_info(file.base.dataset)

    # ------------------------------------------------------------ parameters

    def parameters(self) -> dict[str, list[Value]]:
        """Every parameter and its values, in a fixed order: ``arch``, then ``<arch>.<field>``
        for each architecture, then the training choices that are searched."""
        params: dict[str, list[Value]] = {"arch": list(self.file.architectures)}
        for name, arch in self.file.architectures.items():
            for field, values in arch.__dict__.items():
                if field != "kind":
                    params[f"{name}.{field}"] = list(values)
        for field, values in self.file.choices.__dict__.items():
            if values is not None:
                params[field] = list(values)
        return params

    def effective(self, params: Mapping[str, Value]) -> Params:
        """Only the parameters that reach the spec (the chosen architecture's, and the rest)."""
        return effective(params)

    def enumerate(self) -> Iterator[Params]:
        """Every distinct effective choice (the full grid, an architecture's own fields only)."""
        choice_names = [k for k in self.parameters() if k != "arch" and "." not in k]
        params = self.parameters()
        for arch in self.file.architectures:
            names = [k for k in params if k.startswith(arch + ".")] + choice_names
            for values in product(*(params[n] for n in names)):
                yield {"arch": arch, **dict(zip(names, values))}

    # ------------------------------------------------------------ building

    def build(self, params: Mapping[str, Value]) -> Candidate:
        """The candidate's spec, checked; :class:`SpecError` if it breaks the spec's rules or
        the constraints."""
        eff = self.effective(params)
        spec_dict = self._spec_dict(eff)
        try:
            spec = s.TaskSpec.model_validate(spec_dict)
        except ValidationError as e:
            raise SpecError("candidate", str(e.errors(include_url=False)[0]["msg"])) from None
        checked = check(spec)
        limits = self.file.constraints
        seconds = checked.estimate.total_flops / (limits.reference_gflops * 1e9)
        if seconds > limits.max_seconds:
            raise SpecError("constraints.max_seconds", f"about {seconds:,.0f} s of training at "
                            f"{limits.reference_gflops} GFLOP/s, over {limits.max_seconds} s")
        return Candidate(eff, checked)

    def valid(self, params: Mapping[str, Value]) -> bool:
        try:
            self.build(params)
        except SpecError:
            return False
        return True

    def _spec_dict(self, eff: Params) -> dict[str, Any]:
        base = self.file.base.model_dump(mode="json")
        arch = self.file.architectures[str(eff["arch"])]
        own = {k.split(".", 1)[1]: v for k, v in eff.items() if "." in k}
        act, dropout = str(eff.get("activation", "ReLU")), float(eff.get("dropout", 0.0))
        if eff.get("optimizer") is not None and eff["optimizer"] != base["optimizer"]["kind"]:
            base["optimizer"] = {"kind": eff["optimizer"], "lr": base["optimizer"]["lr"]}
        if "lr" in eff:
            base["optimizer"]["lr"] = eff["lr"]
        for key in ("batch_size", "steps"):
            if key in eff:
                base[key] = eff[key]
        base["checkpoint_every"] = min(base["checkpoint_every"], base["steps"])
        schedule = base.get("schedule") or {}
        if "warmup_steps" in schedule and schedule["warmup_steps"] >= base["steps"]:
            schedule["warmup_steps"] = base["steps"] // 10
        layers = self._model(arch, own, act, dropout)
        digest = hashlib.sha256(json.dumps(eff, sort_keys=True).encode()).hexdigest()[:10]
        limits = self.file.constraints
        return {"version": s.SPEC_VERSION, "name": f"{self.name}-{eff['arch']}-{digest}", "model": layers,
                **base, "limits": {"max_params": limits.max_params, "max_memory_mb": limits.max_memory_mb,
                                   "max_seconds": limits.max_seconds}}

    def _model(self, arch: Any, own: dict[str, Value], act: str, dropout: float) -> list[dict[str, Any]]:
        info = self._info
        out = info.classes if info.classes is not None else math.prod(info.y_shape)
        if isinstance(arch, MlpSpace):
            return _mlp(math.prod(info.x_shape), int(own["hidden_layers"]), int(own["width"]), out, act, dropout)
        if isinstance(arch, CnnSpace):
            return _cnn(info.x_shape, own, out, act, dropout)
        return _transformer(info.x_shape, own, out, dropout)


def _hidden(act: str, dropout: float) -> list[dict[str, Any]]:
    return [{"type": act}] + ([{"type": "Dropout", "p": dropout}] if dropout > 0 else [])


def _mlp(features: int, depth: int, width: int, out: int, act: str, dropout: float) -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = [{"type": "Flatten"}]
    size = features
    for _ in range(depth):
        layers += [{"type": "Linear", "in_features": size, "out_features": width}, *_hidden(act, dropout)]
        size = width
    return [*layers, {"type": "Linear", "in_features": size, "out_features": out}]


def _cnn(x_shape: tuple[int, ...], own: dict[str, Value], out: int, act: str, dropout: float) -> list[dict[str, Any]]:
    if len(x_shape) != 3:
        raise SpecError("base.dataset", f"a cnn needs image inputs (channels, height, width), not {list(x_shape)}",
                        hint='use the dataset\'s image layout, e.g. "dataset": {"kind": "digits", "layout": "image"}')
    channels, height, width = x_shape
    k, c, hidden = int(own["kernel_size"]), int(own["channels"]), int(own["hidden"])
    layers: list[dict[str, Any]] = []
    for _ in range(int(own["conv_layers"])):
        layers += [{"type": "Conv2d", "in_channels": channels, "out_channels": c, "kernel_size": k, "padding": k // 2},
                   {"type": act}, {"type": "MaxPool2d", "kernel_size": 2}]
        channels, height, width = c, height // 2, width // 2
    if height < 1 or width < 1:
        raise SpecError("candidate", f"{own['conv_layers']} pooling layers shrink the image to nothing")
    layers.append({"type": "Flatten"})
    size = channels * height * width
    if hidden:
        layers += [{"type": "Linear", "in_features": size, "out_features": hidden}, *_hidden(act, dropout)]
        size = hidden
    return [*layers, {"type": "Linear", "in_features": size, "out_features": out}]


def _transformer(x_shape: tuple[int, ...], own: dict[str, Value], vocab: int, dropout: float) -> list[dict[str, Any]]:
    dim, heads = int(own["dim"]), int(own["heads"])
    if dim % heads:
        raise SpecError("candidate", f"dim {dim} is not divisible by heads {heads}")
    block = {
        "type": "TransformerBlock",
        "dim": dim,
        "heads": heads,
        "ff_dim": dim * int(own["ff_mult"]),
        "dropout": dropout,
    }
    return [{"type": "Embedding", "num_embeddings": vocab, "embedding_dim": dim},
            {"type": "PositionalEmbedding", "max_len": x_shape[-1], "dim": dim},
            *([block] * int(own["blocks"])),
            {"type": "LayerNorm", "normalized_shape": dim},
            {"type": "Linear", "in_features": dim, "out_features": vocab}]
