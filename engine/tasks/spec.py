"""The task spec: what to train, as data.

A spec is JSON, validated by the strict pydantic models below (unknown fields fail, with the
field path). It names layers, datasets and optimizers from a whitelist, never code, so a
worker can run a stranger's task without running a stranger's program.

Types are strict because the spec's hash commits to its values: ``"600"`` is not 600 and
``true`` is not 1 (either would give two spellings of one task, or one spelling read two
ways), floats must be finite, and every number has a ceiling the trainer can honour exactly
(seeds are 64-bit, see ``engine.training.sampling``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import Strict as StrictType

SPEC_VERSION = 1

# Hard ceilings: no spec may raise its limits past these, whatever machine it meets.
MAX_PARAMS = 10_000_000_000        # 40 GB of float32 weights
MAX_MEMORY_MB = 1_048_576          # 1 TiB
MAX_SECONDS = 30 * 24 * 3600       # 30 days
MAX_BLOB_BYTES = 1 << 40           # 1 TiB
MAX_ELEMENTS = 1 << 31             # one dimension, a sample count or a class count
MAX_WIDTH = 1 << 24                # one layer's features, channels or vocabulary

PosInt = Annotated[int, Field(gt=0, le=MAX_WIDTH)]
NonNegInt = Annotated[int, Field(ge=0, le=MAX_WIDTH)]
Dim = Annotated[int, Field(gt=0, le=MAX_ELEMENTS)]
Seed = Annotated[int, Field(ge=0, lt=2**64)]  # the trainer mixes seeds as 64-bit words
Probability = Annotated[float, Field(ge=0.0, lt=1.0)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


# --- layers -------------------------------------------------------------------------------


class Linear(Strict):
    type: Literal["Linear"]
    in_features: PosInt
    out_features: PosInt
    bias: bool = True


class Conv2d(Strict):
    type: Literal["Conv2d"]
    in_channels: PosInt
    out_channels: PosInt
    kernel_size: PosInt
    stride: PosInt = 1
    padding: NonNegInt = 0


class MaxPool2d(Strict):
    type: Literal["MaxPool2d"]
    kernel_size: PosInt
    stride: PosInt | None = None


class Flatten(Strict):
    type: Literal["Flatten"]


class ReLU(Strict):
    type: Literal["ReLU"]


class GELU(Strict):
    type: Literal["GELU"]


class Tanh(Strict):
    type: Literal["Tanh"]


class Dropout(Strict):
    type: Literal["Dropout"]
    p: Probability = 0.1


class LayerNorm(Strict):
    type: Literal["LayerNorm"]
    normalized_shape: PosInt


class Embedding(Strict):
    type: Literal["Embedding"]
    num_embeddings: PosInt
    embedding_dim: PosInt


class PositionalEmbedding(Strict):
    """Learned absolute positions added to a (T, dim) input."""

    type: Literal["PositionalEmbedding"]
    max_len: PosInt
    dim: PosInt


class TransformerBlock(Strict):
    """Pre-norm block: x + attn(ln(x)), then x + mlp(ln(x)); causal for language models."""

    type: Literal["TransformerBlock"]
    dim: PosInt
    heads: PosInt
    ff_dim: PosInt
    dropout: Probability = 0.0
    causal: bool = True

    @model_validator(mode="after")
    def _heads_divide_dim(self) -> TransformerBlock:
        if self.dim % self.heads:
            raise ValueError(f"dim {self.dim} is not divisible by heads {self.heads}")
        return self


Layer = Annotated[
    Linear
    | Conv2d
    | MaxPool2d
    | Flatten
    | ReLU
    | GELU
    | Tanh
    | Dropout
    | LayerNorm
    | Embedding
    | PositionalEmbedding
    | TransformerBlock,
    Field(discriminator="type"),
]
LAYER_TYPES = (
    "Linear", "Conv2d", "MaxPool2d", "Flatten", "ReLU", "GELU", "Tanh", "Dropout", "LayerNorm",
    "Embedding", "PositionalEmbedding", "TransformerBlock",
)

# --- datasets -----------------------------------------------------------------------------


class DigitsData(Strict):
    """scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), scaled to [0, 1]."""

    kind: Literal["digits"]
    layout: Literal["flat", "image"] = "flat"


class SyntheticClassificationData(Strict):
    kind: Literal["synthetic_classification"]
    samples: Annotated[int, Field(gt=0, le=1_000_000)]
    features: Annotated[int, Field(gt=0, le=4096)]
    classes: Annotated[int, Field(ge=2, le=1000)]
    noise: Annotated[float, Field(ge=0.0, le=1e6)] = 1.0
    seed: Seed = 0


class SyntheticRegressionData(Strict):
    kind: Literal["synthetic_regression"]
    samples: Annotated[int, Field(gt=0, le=1_000_000)]
    features: Annotated[int, Field(gt=0, le=4096)]
    targets: Annotated[int, Field(gt=0, le=1024)] = 1
    noise: Annotated[float, Field(ge=0.0, le=1e6)] = 0.1
    seed: Seed = 0


class TextData(Strict):
    """A corpus shipped in resources/data/, as (context) -> (next char at each position)."""

    kind: Literal["text"]
    corpus: Literal["tiny-corpus"] = "tiny-corpus"
    context: Annotated[int, Field(gt=1, le=1024)]


class BlobData(Strict):
    """A safetensors file with tensors ``x`` and ``y``, fetched by its sha256.

    Shapes are declared so a spec can be checked before the blob is downloaded; they are
    checked again against the file. ``classes`` set means integer class labels in ``y``.
    """

    kind: Literal["blob"]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    size: Annotated[int, Field(gt=0, le=MAX_BLOB_BYTES)]
    samples: Annotated[int, Field(gt=0, le=MAX_ELEMENTS)]
    x_shape: Annotated[list[Dim], Field(max_length=8)]
    x_dtype: Literal["float32", "int64"] = "float32"
    y_shape: Annotated[list[Dim], Field(max_length=8)] = Field(default_factory=list)
    classes: Annotated[int, Field(ge=2, le=MAX_ELEMENTS)] | None = None


Dataset = Annotated[
    DigitsData | SyntheticClassificationData | SyntheticRegressionData | TextData | BlobData,
    Field(discriminator="kind"),
]

# --- optimisation -------------------------------------------------------------------------

PosFloat = Annotated[float, Field(gt=0.0, le=1e6)]
Beta = Annotated[float, StrictType(), Field(ge=0.0, lt=1.0)]
# JSON has no tuples: the pair itself may come as a list; its items stay strict floats
Betas = Annotated[tuple[Beta, Beta], Field(strict=False)]
Decay = Annotated[float, Field(ge=0.0, le=1e6)]


class Sgd(Strict):
    kind: Literal["sgd"]
    lr: PosFloat
    momentum: Beta = 0.0
    nesterov: bool = False
    weight_decay: Decay = 0.0


class Adam(Strict):
    kind: Literal["adam"]
    lr: PosFloat
    betas: Betas = (0.9, 0.999)
    eps: PosFloat = 1e-8
    weight_decay: Decay = 0.0


class AdamW(Strict):
    kind: Literal["adamw"]
    lr: PosFloat
    betas: Betas = (0.9, 0.999)
    eps: PosFloat = 1e-8
    weight_decay: Decay = 0.01


Optimizer = Annotated[Sgd | Adam | AdamW, Field(discriminator="kind")]


class ConstantSchedule(Strict):
    kind: Literal["constant"] = "constant"


class WarmupSchedule(Strict):
    """Linear warm-up from 0 to the optimizer's lr, then constant."""

    kind: Literal["warmup"]
    warmup_steps: PosInt


class CosineSchedule(Strict):
    """Optional linear warm-up, then cosine decay to ``min_lr_ratio * lr`` at the last step."""

    kind: Literal["cosine"]
    warmup_steps: NonNegInt = 0
    min_lr_ratio: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0


Schedule = Annotated[
    ConstantSchedule | WarmupSchedule | CosineSchedule, Field(discriminator="kind")
]

# --- evaluation, limits, verification ---------------------------------------------------


class Evaluation(Strict):
    holdout: Annotated[float, Field(gt=0.0, le=0.5)] = 0.2
    metric: Literal["accuracy", "mse", "perplexity"] = "accuracy"


class Limits(Strict):
    """A requester's own caps; each has a hard ceiling no spec can raise (MAX_* above)."""

    max_params: Annotated[int, Field(gt=0, le=MAX_PARAMS)] = 10_000_000
    max_memory_mb: Annotated[int, Field(gt=0, le=MAX_MEMORY_MB)] = 4096
    max_seconds: Annotated[int, Field(gt=0, le=MAX_SECONDS)] = 3600


class ExactVerification(Strict):
    """Bitwise-equal hashes. Only for a spec that names the arithmetic it requires
    (``engine.training.determinism.arithmetic``): results differ in the last bits on every
    other CPU model, kernel level and GPU, so only workers and verifiers with it take part."""

    mode: Literal["exact"] = "exact"
    arithmetic: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._/:+-]+$")]


DEFAULT_MAX_DISTANCE = 5e-5  # measured by bench.verify: honest <= 1.9e-6, cheats >= 1.05e-3 (docs/verification.md)


class ToleranceVerification(Strict):
    """Any arithmetic: committed hashes stay exact, a replay matches when every tensor's
    distance (``engine.training.tolerance``) is at most ``max_distance``."""

    mode: Literal["tolerance"] = "tolerance"
    max_distance: Annotated[float, Field(gt=0.0, le=1.0)] = DEFAULT_MAX_DISTANCE


Verification = Annotated[
    ExactVerification | ToleranceVerification, Field(discriminator="mode")
]

# --- the spec -----------------------------------------------------------------------------


class TaskSpec(Strict):
    version: Literal[1]
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
    model: Annotated[list[Layer], Field(min_length=1, max_length=64)]
    dataset: Dataset
    loss: Literal["cross_entropy", "mse"]
    optimizer: Optimizer
    schedule: Schedule = ConstantSchedule()
    batch_size: Annotated[int, Field(gt=0, le=65536)]
    steps: Annotated[int, Field(gt=0, le=10_000_000)]
    checkpoint_every: Annotated[int, Field(gt=0, le=10_000_000)]
    seed: Seed = 0
    threads: Annotated[int, Field(gt=0, le=64)] = 1
    evaluation: Evaluation = Evaluation()
    limits: Limits = Limits()
    verification: Verification = ToleranceVerification()

    @property
    def num_checkpoints(self) -> int:
        """Leaves of the Merkle tree: the initial weights, then one per segment."""
        return -(-self.steps // self.checkpoint_every) + 1

    def checkpoint_step(self, index: int) -> int:
        """The training step at which checkpoint ``index`` is taken."""
        return min(index * self.checkpoint_every, self.steps)
