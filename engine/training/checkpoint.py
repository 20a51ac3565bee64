"""Checkpoints: the whole training state at a step, as safetensors (never pickle).

A checkpoint holds ``model.<name>`` (the state dict), ``optim.<param>.<key>`` (the optimizer's
per-parameter state) and ``meta.step``. That is everything the next step depends on: batches,
dropout masks and the learning rate are functions of (seed, step), so a segment replays from
its start checkpoint alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from engine.commit.leaf import leaf_hash
from engine.errors import CheckpointError
from engine.training import stfile, stheader

STEP_KEY = "meta.step"


@dataclass(frozen=True)
class Snapshot:
    """CPU tensors of one checkpoint and their leaf hash."""

    step: int
    tensors: dict[str, torch.Tensor]
    leaf: bytes


def snapshot(step: int, model: nn.Module, optimizer: torch.optim.Optimizer) -> Snapshot:
    tensors = capture(step, model, optimizer)
    return Snapshot(step, tensors, hash_tensors(tensors))


def capture(step: int, model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """CPU copies of every tensor the next step depends on, by checkpoint name."""
    tensors = {name: t.detach().to("cpu", copy=True).contiguous()
               for name, t in state_tensors(model, optimizer).items()}
    tensors[STEP_KEY] = torch.tensor(step, dtype=torch.int64)
    return tensors


def state_tensors(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """The live tensors a checkpoint holds (not copies), by checkpoint name, without the step."""
    tensors = {f"model.{name}": t for name, t in model.state_dict().items()}
    names = {id(p): n for n, p in model.named_parameters()}
    for p, state in optimizer.state.items():
        for key, value in state.items():
            tensors[f"optim.{names[id(p)]}.{key}"] = value if torch.is_tensor(value) else torch.tensor(value)
    return tensors


def hash_tensors(tensors: dict[str, torch.Tensor]) -> bytes:
    return leaf_hash({k: v.numpy() for k, v in tensors.items()})


def write(snap: Snapshot, path: Path, *, atomic: bool = True) -> None:
    """Atomic by default (temp file + rename): a crash leaves the old file or the new one.
    ``atomic=False`` writes in place, for files whose leaf hash is recorded before anyone
    relies on them (a job's leaf checkpoints: see ``jobdir``).

    No fsync: after a power loss a torn file fails its hash check on resume and the job falls
    back to the previous checkpoint, so durability costs nothing on the training path.
    The file is what ``safetensors.torch.save_file`` writes (tested), streamed from the
    tensors' own buffers (``stfile``), so the background writer barely holds the GIL.
    """
    arrays = {name: t.numpy() for name, t in snap.tensors.items()}
    (stfile.write_atomic if atomic else stfile.write_in_place)(path, arrays)


def read(path: Path) -> Snapshot:
    """Load and hash a checkpoint file; safetensors parses data only."""
    hint = "it is corrupt or not a checkpoint: delete it, or fetch it again"
    try:
        stheader.check_file(path, f"checkpoint {path}")  # limits first: the header of a stranger's file
        tensors = load_file(str(path))
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} does not exist",
                              hint="check the path, or train the job that writes it") from None
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"checkpoint {path} is not a readable safetensors file: {e}", hint=hint) from None
    step = tensors.get(STEP_KEY)
    if step is None or step.dtype != torch.int64 or step.ndim != 0:
        raise CheckpointError(f"checkpoint {path} has no valid {STEP_KEY}", hint=hint)
    return Snapshot(int(step), tensors, hash_tensors(tensors))


def restore(snap: Snapshot, model: nn.Module, optimizer: torch.optim.Optimizer, where: str) -> None:
    """Load a snapshot into a freshly built model and optimizer, checking every name and shape."""
    model_sd = {k[len("model."):]: v for k, v in snap.tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(model_sd, strict=True)
    except RuntimeError as e:
        raise CheckpointError(f"{where} does not fit this task's model: {e}") from None
    params = dict(model.named_parameters())
    state: dict[int, dict[str, torch.Tensor]] = {}
    index = {name: i for i, name in enumerate(params)}
    for key, value in snap.tensors.items():
        if not key.startswith("optim."):
            continue
        pname, _, skey = key[len("optim."):].rpartition(".")
        if pname not in params:
            raise CheckpointError(f"{where} has optimizer state for unknown parameter {pname!r}")
        # a copy: the optimizer updates its state in place, and the caller's snapshot (a replay's
        # start checkpoint, measured against afterwards) must stay what it was
        state.setdefault(index[pname], {})[skey] = value.clone()
    sd = optimizer.state_dict()
    try:
        optimizer.load_state_dict({"state": state, "param_groups": sd["param_groups"]})
    except (RuntimeError, ValueError, KeyError) as e:
        raise CheckpointError(f"{where} has unusable optimizer state: {e}") from None
    for key, value in snap.tensors.items():
        if value.dtype not in (torch.float32, torch.int64):
            raise CheckpointError(f"{where}: tensor {key} is {value.dtype}; checkpoints are float32")
