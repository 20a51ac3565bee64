"""Static shape inference over a spec's layers, per sample (no batch dimension).

Pure Python, so the worker (inside the GUI process, which never imports torch) can reject a
spec whose layers do not chain before it claims the task. ``engine.training.model`` checks
the same shapes again with a meta-device dry run of the real modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from engine.errors import SpecError
from engine.tasks import spec as s


@dataclass(frozen=True)
class LayerShape:
    """One layer's output and cost, per sample."""

    shape: tuple[int, ...]
    is_int: bool
    params: int
    flops: int  # forward multiply-adds x 2
    activations: int  # elements the layer keeps for backward


def _fail(i: int, layer: s.Layer, problem: str, hint: str | None = None) -> SpecError:
    return SpecError(f"model[{i}] ({layer.type})", problem, hint=hint)


def _need_float(i: int, layer: s.Layer, is_int: bool) -> None:
    if is_int:
        raise _fail(i, layer, "gets integer token ids", hint="start the model with an Embedding layer")


def _need_rank(i: int, layer: s.Layer, shape: tuple[int, ...], rank: int, what: str) -> None:
    if len(shape) != rank:
        raise _fail(i, layer, f"expects {what}, gets shape {list(shape)}")


def _last_dim(i: int, layer: s.Layer, shape: tuple[int, ...], want: int, field: str) -> None:
    if not shape or shape[-1] != want:
        got = shape[-1] if shape else "a scalar"
        raise _fail(i, layer, f"{field}={want} but its input's last dimension is {got}",
                    hint=f"set {field} to {got}")


def infer_layer(i: int, layer: s.Layer, shape: tuple[int, ...], is_int: bool) -> LayerShape:
    """Output shape and cost of ``layer`` given its per-sample input."""
    n = prod(shape)
    if isinstance(layer, s.Linear):
        _need_float(i, layer, is_int)
        _last_dim(i, layer, shape, layer.in_features, "in_features")
        rows = n // layer.in_features
        params = layer.in_features * layer.out_features + (layer.out_features if layer.bias else 0)
        out = (*shape[:-1], layer.out_features)
        return LayerShape(out, False, params, 2 * rows * layer.in_features * layer.out_features, prod(out))
    if isinstance(layer, s.Conv2d):
        _need_float(i, layer, is_int)
        _need_rank(i, layer, shape, 3, "(channels, height, width)")
        c, h, w = shape
        if c != layer.in_channels:
            raise _fail(i, layer, f"in_channels={layer.in_channels} but its input has {c} channels",
                        hint=f"set in_channels to {c}")
        k, st, p = layer.kernel_size, layer.stride, layer.padding
        oh, ow = (h + 2 * p - k) // st + 1, (w + 2 * p - k) // st + 1
        if oh < 1 or ow < 1:
            raise _fail(i, layer, f"kernel {k} does not fit a {h}x{w} input with padding {p}",
                        hint="use a smaller kernel_size or more padding")
        params = layer.out_channels * (c * k * k + 1)
        out = (layer.out_channels, oh, ow)
        return LayerShape(out, False, params, 2 * c * k * k * prod(out), prod(out))
    if isinstance(layer, s.MaxPool2d):
        _need_float(i, layer, is_int)
        _need_rank(i, layer, shape, 3, "(channels, height, width)")
        c, h, w = shape
        k, st = layer.kernel_size, layer.stride or layer.kernel_size
        oh, ow = (h - k) // st + 1, (w - k) // st + 1
        if oh < 1 or ow < 1:
            raise _fail(i, layer, f"kernel {k} does not fit a {h}x{w} input", hint="use a smaller kernel_size")
        out = (c, oh, ow)
        return LayerShape(out, False, 0, k * k * prod(out), prod(out))
    if isinstance(layer, s.Flatten):
        return LayerShape((n,), is_int, 0, 0, 0)
    if isinstance(layer, (s.ReLU, s.GELU, s.Tanh, s.Dropout)):
        _need_float(i, layer, is_int)
        return LayerShape(shape, False, 0, 4 * n, n)
    if isinstance(layer, s.LayerNorm):
        _need_float(i, layer, is_int)
        _last_dim(i, layer, shape, layer.normalized_shape, "normalized_shape")
        return LayerShape(shape, False, 2 * layer.normalized_shape, 8 * n, 2 * n)
    if isinstance(layer, s.Embedding):
        if not is_int:
            raise _fail(i, layer, "needs integer token ids but gets float features",
                        hint="use Embedding only on a text dataset or integer inputs")
        out = (*shape, layer.embedding_dim)
        return LayerShape(out, False, layer.num_embeddings * layer.embedding_dim, 0, prod(out))
    if isinstance(layer, s.PositionalEmbedding):
        _need_float(i, layer, is_int)
        _need_rank(i, layer, shape, 2, "(positions, dim)")
        if shape[0] > layer.max_len:
            raise _fail(i, layer, f"max_len={layer.max_len} but the input has {shape[0]} positions",
                        hint=f"set max_len to at least {shape[0]}")
        _last_dim(i, layer, shape, layer.dim, "dim")
        return LayerShape(shape, False, layer.max_len * layer.dim, n, 0)
    if isinstance(layer, s.TransformerBlock):
        _need_float(i, layer, is_int)
        _need_rank(i, layer, shape, 2, "(positions, dim)")
        _last_dim(i, layer, shape, layer.dim, "dim")
        t, d, f = shape[0], layer.dim, layer.ff_dim
        params = 4 * d * d + 3 * d + 2 * d * f + f + d + 4 * d  # no key bias: see training.model
        flops = 2 * t * (4 * d * d + 2 * d * f) + 4 * t * t * d
        acts = t * (10 * d + 2 * f) + 2 * layer.heads * t * t
        return LayerShape(shape, False, params, flops, acts)
    raise _fail(i, layer, f"unknown layer type; valid: {', '.join(s.LAYER_TYPES)}")


def infer_shapes(spec: s.TaskSpec, x_shape: tuple[int, ...], x_is_int: bool) -> list[LayerShape]:
    out = []
    shape, is_int = x_shape, x_is_int
    for i, layer in enumerate(spec.model):
        ls = infer_layer(i, layer, shape, is_int)
        out.append(ls)
        shape, is_int = ls.shape, ls.is_int
    return out
