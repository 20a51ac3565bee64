"""torch modules from a spec's layer list, and the meta-device shape check.

Only whitelisted layers exist here; a spec can choose among them and set their sizes, never
supply code. Attention is written out (no fused kernels) so it stays deterministic under
``torch.use_deterministic_algorithms`` on every device. Dropout draws its masks from
``portable_random`` (an integer hash), never from a device generator.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import SpecError
from engine.tasks import spec as s
from engine.tasks.load import CheckedSpec
from engine.training.portable_random import DrawCounter, PortableDropout, attach_counter


class PositionalEmbedding(nn.Module):
    def __init__(self, max_len: int, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(max_len, dim) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.weight[: x.shape[-2]]


class SelfAttention(nn.Module):
    """Multi-head attention whose key projection has no bias.

    A key bias adds q.b to every score of a query: softmax ignores it, so its gradient is
    exactly zero and what reaches it is rounding noise. Adam scales that noise up to full-size
    steps, so the bias walked off differently on every arithmetic (tiny-charlm, measured: an
    honest replay under other CPU kernels differed by 3e-3 in it, 1e-6 everywhere else), as
    far as a cheat. Queries and values keep theirs.
    """

    def __init__(self, dim: int, heads: int, dropout: float, causal: bool) -> None:
        super().__init__()
        self.heads, self.causal = heads, causal
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        bound = 1.0 / math.sqrt(dim)  # nn.Linear's bias initialisation
        self.qv_bias = nn.Parameter(torch.empty(2, dim).uniform_(-bound, bound))
        self.proj = nn.Linear(dim, dim)
        self.drop = PortableDropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        bias = torch.cat((self.qv_bias[0], self.qv_bias.new_zeros(d), self.qv_bias[1]))
        qkv = F.linear(x, self.qkv.weight, bias)
        q, k, v = qkv.view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // self.heads))
        if self.causal:
            mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
            att = att.masked_fill(mask, float("-inf"))
        att = self.drop(att.softmax(dim=-1))
        out: torch.Tensor = self.proj((att @ v).transpose(1, 2).reshape(b, t, d))
        return out


class TransformerBlock(nn.Module):
    def __init__(self, layer: s.TransformerBlock) -> None:
        super().__init__()
        d = layer.dim
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = SelfAttention(d, layer.heads, layer.dropout, layer.causal)
        self.mlp = nn.Sequential(
            nn.Linear(d, layer.ff_dim), nn.GELU(), nn.Linear(layer.ff_dim, d), PortableDropout(layer.dropout)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        out: torch.Tensor = x + self.mlp(self.ln2(x))
        return out


def build_layer(layer: s.Layer) -> nn.Module:
    if isinstance(layer, s.Linear):
        return nn.Linear(layer.in_features, layer.out_features, bias=layer.bias)
    if isinstance(layer, s.Conv2d):
        return nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding)
    if isinstance(layer, s.MaxPool2d):
        return nn.MaxPool2d(layer.kernel_size, layer.stride)
    if isinstance(layer, s.Flatten):
        return nn.Flatten()
    if isinstance(layer, s.ReLU):
        return nn.ReLU()
    if isinstance(layer, s.GELU):
        return nn.GELU()
    if isinstance(layer, s.Tanh):
        return nn.Tanh()
    if isinstance(layer, s.Dropout):
        return PortableDropout(layer.p)
    if isinstance(layer, s.LayerNorm):
        return nn.LayerNorm(layer.normalized_shape)
    if isinstance(layer, s.Embedding):
        return nn.Embedding(layer.num_embeddings, layer.embedding_dim)
    if isinstance(layer, s.PositionalEmbedding):
        return PositionalEmbedding(layer.max_len, layer.dim)
    if isinstance(layer, s.TransformerBlock):
        return TransformerBlock(layer)
    raise SpecError("model", f"layer type {layer.type!r} has no builder")


def build_model(spec: s.TaskSpec) -> nn.Sequential:
    """The model, float32, initialised by the current torch RNG state (seeded by the caller)."""
    return nn.Sequential(*(build_layer(layer) for layer in spec.model))


def meta_dry_run(checked: CheckedSpec) -> None:
    """Run the real modules on the meta device and compare each layer's output shape with
    the static inference; a disagreement or a torch error becomes a SpecError at that layer.
    """
    info = checked.data
    with torch.device("meta"):
        model = build_model(checked.spec)
        counter = DrawCounter(checked.spec.seed)
        counter.at_step(0)
        attach_counter(model, counter)
        dtype = torch.int64 if info.x_is_int else torch.float32
        x = torch.empty((2, *info.x_shape), dtype=dtype)
    for i, (module, layer, expected) in enumerate(zip(model, checked.spec.model, checked.layers)):
        try:
            x = module(x)
        except (RuntimeError, ValueError, IndexError) as e:
            raise SpecError(f"model[{i}] ({layer.type})", f"fails on input {list(x.shape)[1:]}: {e}") from None
        if tuple(x.shape[1:]) != expected.shape:
            raise SpecError(f"model[{i}] ({layer.type})",
                            f"produces {list(x.shape[1:])}, not the expected {list(expected.shape)}")
