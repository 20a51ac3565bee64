"""The control protocol's parser: every hostile message is one clear ProtocolError, never a crash."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.events import EngineEvent, Kind
from engine.service.errors import ProtocolError
from engine.service.protocol import (
    MAX_DEPTH,
    MAX_LINE,
    Command,
    decode_line,
    depth,
    encode,
    event_from_json,
    parse_request,
)


def _parse(line: bytes):  # type: ignore[no-untyped-def]
    return parse_request(decode_line(line))


def test_each_command_parses_with_its_fields() -> None:
    assert _parse(b'{"cmd": "status"}').command is Command.STATUS
    assert _parse(b'{"cmd": "snooze", "seconds": 90}').seconds == 90.0
    assert _parse(b'{"cmd": "pause", "reason": "gaming"}').reason == "gaming"
    assert _parse(b'{"cmd": "unlock", "passphrase": "p w"}').passphrase == "p w"


@pytest.mark.parametrize(("line", "says"), [
    (b"x" * (MAX_LINE + 1), "too long"),
    (b"\xff\xfe", "not UTF-8"),
    (b"{" * 10_000, "nested deeper"),
    (b"[" * 30_000 + b"]" * 30_000, "nested deeper"),
    (b'{"cmd": "status"', "not JSON"),
    (b"[1, 2]", "not an object"),
    (b'"status"', "not an object"),
    (b'{"cmd": "format_disk"}', "unknown command"),
    (b'{"cmd": ["status"]}', "unknown command"),
    (b'{"cmd": "status", "extra": 1}', "unexpected field"),
    (b'{"cmd": "snooze"}', "seconds must be"),
    (b'{"cmd": "snooze", "seconds": "1h"}', "seconds must be"),
    (b'{"cmd": "snooze", "seconds": true}', "seconds must be"),
    (b'{"cmd": "snooze", "seconds": -5}', "seconds must be"),
    (b'{"cmd": "snooze", "seconds": 1e999}', "seconds must be"),
    (b'{"cmd": "snooze", "seconds": NaN}', "seconds must be"),
    (b'{"cmd": "snooze", "seconds": 99999999}', "seconds must be"),
    (b'{"cmd": "pause", "reason": {"a": 1}}', "reason must be text"),
    (b'{"cmd": "pause", "reason": "' + b"r" * 5000 + b'"}', "reason must be text"),
    (b'{"cmd": "unlock"}', "passphrase must be text"),
])
def test_a_hostile_message_is_one_clear_protocol_error(line: bytes, says: str) -> None:
    with pytest.raises(ProtocolError, match=says) as e:
        _parse(line)
    assert e.value.hint or "must be" in e.value.message


def test_depth_skips_brackets_inside_strings() -> None:
    assert depth('{"a": "[[[[[[[[{{{{{"}') == 1
    assert depth('{"a": "\\"[[[["}') == 1
    assert depth("[" * (MAX_DEPTH + 1)) == MAX_DEPTH + 1


@given(st.binary(max_size=300))
def test_no_bytes_at_all_make_the_parser_raise_anything_but_a_protocol_error(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        _parse(data)


@given(st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3)))
def test_no_json_value_makes_the_parser_raise_anything_but_a_protocol_error(value: object) -> None:
    with contextlib.suppress(ProtocolError):
        _parse(json.dumps(value).encode())


def test_an_event_survives_the_wire_and_a_malformed_one_is_refused() -> None:
    event = EngineEvent(Kind.PROGRESS, "step 3/10", 7, {"step": 3, "steps": 10, "loss": float("nan")})
    line = encode({"event": event.to_json()})
    back = event_from_json(json.loads(line)["event"])
    got = (back.kind, back.message, back.task_id, back.data["step"], back.at)
    assert got == (Kind.PROGRESS, "step 3/10", 7, 3, event.at)
    for bad in ({"kind": "nope", "message": "", "at": 0}, {"kind": "log"}, [], {"kind": "log", "message": "m",
                                                                                "at": 1, "task_id": "x"}):
        with pytest.raises(ProtocolError):
            event_from_json(bad)
