"""Reading a search-space file: size limit, JSON, strict fields, then every candidate buildable
in principle (each architecture has at least one valid candidate)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine import safejson
from engine.errors import SpecError
from engine.safejson import UntrustedJsonError
from engine.search.space import (
    MAX_SPACE_BYTES,
    SPACE_VERSION,
    SearchSpace,
    SpaceError,
    SpaceFile,
)

_HINTS = {
    "extra_forbidden": "remove it or check its spelling (docs/search.md lists every field)",
    "missing": "add it (docs/search.md lists every field)",
    "too_short": "give at least one value",
}


def _loc(loc: tuple[Any, ...], body: Any) -> str:
    """The field path the user wrote: pydantic's location walked through the document itself,
    so the union tags and validator names it adds (never written by the user) drop out."""
    out, node = "", body
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            out, node = out + f"[{part}]", node[part]
        elif isinstance(part, str) and isinstance(node, dict):
            if part in node:
                out, node = (f"{out}.{part}" if out else part), node[part]
            elif not any(c in part for c in "[(") and part not in _ADDED:
                out, node = (f"{out}.{part}" if out else part), None   # a missing field
    return out


_ADDED = {"mlp", "cnn", "transformer", "digits", "synthetic_classification", "synthetic_regression", "text", "blob",
          "sgd", "adam", "adamw", "constant", "warmup", "cosine", "exact", "tolerance"}


def parse_space(data: bytes | str, origin: str = "the space file") -> SearchSpace:
    if len(data) > MAX_SPACE_BYTES:
        raise SpaceError("", f"{origin} is {len(data):,} bytes; a space file is at most {MAX_SPACE_BYTES:,}")
    try:  # a space is hostile input like a spec: limits checked before parsing (engine.safejson)
        body = safejson.loads(data, what=origin)
    except UntrustedJsonError as e:
        raise SpaceError("", e.message, hint=e.hint or "check the commas and quotes near that spot") from None
    if not isinstance(body, dict):
        raise SpaceError("", f"{origin} must be a JSON object", hint="see resources/search/digits.json")
    if body.get("version", SPACE_VERSION) != SPACE_VERSION:
        raise SpaceError("version", f"{body['version']!r} is not supported",
                         hint=f"this idlegrid reads space version {SPACE_VERSION}; upgrade idlegrid")
    try:
        space = SearchSpace(SpaceFile.model_validate(body))
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        path = _loc(err["loc"], body)
        hint = None if err["type"] == "literal_error" else _HINTS.get(err["type"]) or _expected(err)
        problem = (
            "is not a known field" if err["type"] == "extra_forbidden" else err["msg"].replace("Value error, ", "")
        )
        raise SpaceError(path, problem, hint=hint) from None
    except SpecError as e:
        raise SpaceError(f"base.{e.path}", e.problem, hint=e.hint) from None
    _check_buildable(space)
    return space


def _expected(err: Any) -> str | None:
    ctx = err.get("ctx") or {}
    if "expected" in ctx:
        return f"valid: {ctx['expected']}"
    if "expected_tags" in ctx:
        return f"valid: {ctx['expected_tags']}"
    return None


def _check_buildable(space: SearchSpace) -> None:
    """Each architecture must have a candidate that fits the constraints; the first error of an
    architecture with none is shown (it usually names the limit to raise)."""
    for arch in space.file.architectures:
        first: SpecError | None = None
        for params in space.enumerate():
            if params["arch"] != arch:
                continue
            try:
                space.build(params)
                break
            except SpecError as e:
                first = first or e
        else:
            assert first is not None
            problem = f"{first.path}: {first.problem}".replace("limits.", "constraints.")
            raise SpaceError(f"architectures.{arch}", f"no choice of this architecture makes a valid spec: {problem}",
                             hint=(first.hint or "loosen the constraints or change its values").replace(
                                 "raise the limit", "raise the constraint"))


def load_space(path: str | Path) -> SearchSpace:
    """Read and validate a space file; errors name the file and the field."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpaceError("", f"space file {path} does not exist",
                         hint="the shipped spaces are resources/search/digits.json and charlm.json") from None
    except OSError as e:
        raise SpaceError("", f"cannot read space file {path}: {e.strerror}") from None
    try:
        return parse_space(raw)
    except SpaceError as e:
        raise SpaceError(f"{path}: {e.path}" if e.path else str(path), e.problem, hint=e.hint) from None
