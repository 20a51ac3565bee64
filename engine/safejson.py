"""One JSON loader for everything that crosses a trust boundary.

``json.loads`` recurses once per nesting level in C. py_ecc (imported with the wallet) raises
Python's recursion limit to 100,000, so 100,000 ``[`` overflow the C stack and kill the
process with a segfault before Python can raise anything. This loader therefore checks, on
the raw text and before parsing: the size, the nesting depth (a linear scan that skips
strings), and the element count; then it parses with hooks that refuse what ``json`` would
otherwise let through: ``NaN``/``Infinity`` and overflowing floats (``1e999``), integers with
more digits than a limit, duplicate object keys (two readers could see two different values),
and over-long strings. Every refusal is one :class:`UntrustedJsonError` that says which limit.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, NoReturn

from engine.errors import UsageError

# A JSON string literal, written so the regex engine never backtracks: runs of plain
# characters, each escape consumed whole.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


@dataclass(frozen=True)
class JsonLimits:
    """What one document may hold. The defaults suit a task spec."""

    max_bytes: int = 1_000_000
    max_depth: int = 32
    max_items: int = 100_000       # array elements plus object members, all levels together
    max_string: int = 65_536       # characters in one string (keys included)
    max_int_digits: int = 40       # enough for any 128-bit value
    finite_only: bool = True       # False only for our own runner's lines (a NaN loss is news)


DEFAULT_LIMITS = JsonLimits()


class UntrustedJsonError(UsageError):
    """A document broke a limit or is not JSON; callers re-raise it as their own error type."""


def _refuse(what: str, problem: str) -> NoReturn:
    raise UntrustedJsonError(f"{what} {problem}")


def check_shape(raw: bytes, limits: JsonLimits, what: str) -> None:
    """Depth and element count of ``raw`` without parsing it: strings are blanked first so a
    bracket or comma inside one does not count."""
    bare = _STRING.sub(b'""', raw)
    depth = 0
    for m in _BRACKETS.finditer(bare):
        if m.group() in (b"[", b"{"):
            depth += 1
            if depth > limits.max_depth:
                _refuse(what, f"is nested deeper than {limits.max_depth} levels")
        else:
            depth -= 1
    if bare.count(b",") + bare.count(b":") > limits.max_items:
        _refuse(what, f"has more than {limits.max_items:,} elements")


def loads(data: bytes | str, *, limits: JsonLimits = DEFAULT_LIMITS, what: str = "the document") -> Any:
    """Parse ``data`` (UTF-8 if bytes) under ``limits``; a refusal raises UntrustedJsonError."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if len(raw) > limits.max_bytes:
        _refuse(what, f"is {len(raw):,} bytes; at most {limits.max_bytes:,} are accepted")
    check_shape(raw, limits, what)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        _refuse(what, f"is not UTF-8 text (byte {e.start})")

    def no_constant(name: str) -> NoReturn:
        _refuse(what, f"holds {name}, which is not a number JSON allows; use a finite number")

    def finite_float(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            _refuse(what, f"holds {text[:20]}, which overflows a 64-bit float; use a finite number")
        return value

    def bounded_int(text: str) -> int:
        if len(text.lstrip("-")) > limits.max_int_digits:
            _refuse(what, f"holds an integer of {len(text)} digits; at most {limits.max_int_digits} are accepted")
        return int(text)

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                _refuse(what, f"has the key {key[:40]!r} twice in one object; keep one")
            out[key] = value
        return out

    try:
        value = json.loads(text, parse_constant=no_constant if limits.finite_only else float,
                           parse_float=finite_float if limits.finite_only else float,
                           parse_int=bounded_int, object_pairs_hook=unique_keys)
    except json.JSONDecodeError as e:
        _refuse(what, f"is not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})")
    except RecursionError:  # cannot happen under max_depth; kept as the last line of defence
        _refuse(what, "is nested too deeply")
    _check_strings(value, limits, what)
    return value


def _check_strings(value: Any, limits: JsonLimits, what: str) -> None:
    """Every string (and key) under the length limit; depth is already bounded."""
    if isinstance(value, str):
        if len(value) > limits.max_string:
            _refuse(what, f"holds a string of {len(value):,} characters; at most {limits.max_string:,} are accepted")
    elif isinstance(value, list):
        for item in value:
            _check_strings(item, limits, what)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, limits, what)
            _check_strings(item, limits, what)
