"""The hostile inputs ``bench.hostile`` throws at the real CLI and the real blob server.

A CLI case is a command line plus the files it reads, written into the case's own folder
(``{d}`` in an argument is that folder). A socket case is raw bytes sent to a running
``idlegrid blobs serve``. Issue 16 lists the inputs that used to crash; the rest are their
neighbours: the same boundary crossed another way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MLP = json.loads((REPO / "resources" / "tasks" / "digits-mlp.json").read_text())
TINY = {**MLP, "steps": 4, "checkpoint_every": 2, "schedule": {"kind": "constant"}}
SHA = "ab" * 32


@dataclass(frozen=True)
class CliCase:
    name: str
    args: tuple[str, ...]
    files: dict[str, bytes | None] = field(default_factory=dict)  # relative path -> bytes; None: a folder
    job: bool = False  # copy the trained template job to {d}/job first


def spec_text(**fields: object) -> bytes:
    return json.dumps({**TINY, **fields}).encode()


def with_lr(token: str) -> bytes:
    return spec_text().replace(b'"lr": 0.003', b'"lr": ' + token.encode())


def huge_model(width: int, **limits: int) -> bytes:
    model = [{"type": "Linear", "in_features": 64, "out_features": width}, {"type": "ReLU"},
             {"type": "Linear", "in_features": width, "out_features": width}, {"type": "ReLU"},
             {"type": "Linear", "in_features": width, "out_features": 10}]
    return spec_text(model=model, batch_size=65536, limits=limits)


NESTED = b"[" * 100_000
SPECS: dict[str, bytes | None] = {
    "nested-array": NESTED,
    "nested-object": b'{"a":' * 100_000,
    "lr-infinity": with_lr("Infinity"),
    "lr-minus-infinity": with_lr("-Infinity"),
    "lr-nan": with_lr("NaN"),
    "lr-1e999": with_lr("1e999"),
    "steps-string": spec_text(steps="600"),
    "steps-true": spec_text(steps=True),
    "batch-float": spec_text(batch_size=64.0),
    "seed-2-64": spec_text(seed=2**64),
    "seed-2-80": spec_text(seed=2**80),
    "seed-negative": spec_text(seed=-1),
    "params-1e12-limits-raised": huge_model(1_000_000, max_params=10**13, max_memory_mb=10**9),
    "params-over-ram": huge_model(99_000, max_params=10**10, max_memory_mb=1_048_576),
    "duplicate-key": spec_text()[:-1] + b', "steps": 5}',
    "int-5000-digits": spec_text()[:-1] + b', "x": ' + b"9" * 5000 + b"}",
    "not-utf8": b'{"version": 1, "name": "\xff\xfe"}',
    "empty": b"",
    "folder": None,
    "over-1mb": b" " * 1_100_000 + b"{}",
    "array": b"[1, 2, 3]",
    "null": b"null",
    "key-with-newline": spec_text()[:-1] + b', "a\\nb": 1}',
    "version-2": spec_text(version=2),
    "version-true": spec_text(version=True),
    "name-100k": spec_text(name="a" * 100_000),
    "steps-negative": spec_text(steps=-5),
    "betas-strings": spec_text(optimizer={"kind": "adam", "lr": 0.003, "betas": ["0.9", "0.99"]}),
    "model-1000-layers": spec_text(model=[{"type": "ReLU"}] * 1000),
    "dataset-unknown": spec_text(dataset={"kind": "imagenet"}),
    "lr-negative": with_lr("-1"),
    "width-2-40": spec_text(model=[{"type": "Linear", "in_features": 64, "out_features": 2**40}]),
}


def cli_cases() -> list[CliCase]:
    cases = [CliCase(f"validate/{name}", ("task", "validate", "{d}/spec.json"), {"spec.json": raw})
             for name, raw in SPECS.items()]
    cases += [CliCase("validate/missing-file", ("task", "validate", "{d}/nope.json"))]
    for name in ("nested-array", "lr-infinity", "steps-string", "seed-2-80"):
        cases.append(CliCase(f"requester-post/{name}", ("requester", "post", "{d}/spec.json", "--reward", "1"),
                             {"spec.json": SPECS[name]}))
    for name in ("nested-array", "params-over-ram", "params-1e12-limits-raised"):
        cases.append(CliCase(f"train/{name}", ("train", "{d}/spec.json", "--out", "{d}/out", "-q", "--device", "cpu"),
                             {"spec.json": SPECS[name]}))
    cases.append(CliCase("train/blobs-folder-without-the-blob",
                         ("train", "{d}/spec.json", "--out", "{d}/out", "-q", "--blobs", "{d}/blobs"),
                         {"spec.json": spec_text(dataset={"kind": "blob", "sha256": SHA, "size": 10, "samples": 8,
                                                          "x_shape": [64], "classes": 10}),
                          "blobs": None}))
    cases += replay_cases() + settings_cases() + keystore_cases() + history_cases()
    return cases


def replay_cases() -> list[CliCase]:
    replay = ("replay", "{d}/spec.json", "--from", "{d}/job", "--segment")
    tiny = {"spec.json": spec_text()}
    return [
        CliCase("replay/segment-out-of-range", (*replay, "9"), tiny, job=True),
        CliCase("replay/segment-negative", (*replay, "-1"), tiny, job=True),
        CliCase("replay/another-spec", (*replay, "0"), {"spec.json": spec_text(seed=99)}, job=True),
        CliCase("replay/corrupt-checkpoint", (*replay, "0"), {**tiny, "job/ckpt-00001.safetensors": b"\xff" * 64},
                job=True),
        CliCase("replay/checkpoint-huge-header", (*replay, "0"),
                {**tiny, "job/ckpt-00001.safetensors": (2**62).to_bytes(8, "little") + b"{}"}, job=True),
        CliCase("replay/manifest-garbage", (*replay, "0"), {**tiny, "job/manifest.json": b"\x00garbage"}, job=True),
        CliCase("replay/manifest-nested", (*replay, "0"), {**tiny, "job/manifest.json": NESTED}, job=True),
        CliCase("replay/manifest-wrong-types", (*replay, "0"),
                {**tiny, "job/manifest.json": json.dumps({"format": 1, "spec_sha256": 5, "steps": "4",
                                                          "checkpoint_every": 2, "leaves": [1, 2]}).encode()},
                job=True),
        CliCase("replay/leaves-log-garbage", (*replay, "0"),
                {**tiny, "job/leaves.log": b"9" * 6000 + b" " + b"ab" * 32 + b"\n\xff\xfe"}, job=True),
        CliCase("replay/no-job-folder", (*replay, "0"), tiny),
    ]


def settings_cases() -> list[CliCase]:
    bad: dict[str, bytes | None] = {
        "not-utf8": b'[wallet]\naddress = "\xff\xfe"\n',
        "folder": None,
        "nested-arrays": b"a = " + b"[" * 10_000 + b"]" * 10_000 + b"\n",
        "huge-int": b"[worker]\nmax_memory_mb = " + b"9" * 5000 + b"\n",
        "binary": bytes(range(256)),
        "over-1mb": b"# " + b"x" * 1_100_000 + b"\n",
    }
    cases = []
    for name, raw in bad.items():
        for command in (("wallet", "show"), ("worker", "--once")):
            cases.append(CliCase(f"settings/{name}/{'-'.join(command)}", command,
                                 {"home/config/settings.toml": raw}))
    return cases


def keystore_cases() -> list[CliCase]:
    stores: dict[str, bytes | None] = {
        "nested": NESTED,
        "not-json": b"\x00\x01 not json",
        "scrypt-n-2-40": json.dumps({"version": 3, "crypto": {
            "cipher": "aes-128-ctr", "cipherparams": {"iv": "00" * 16}, "ciphertext": "00" * 32, "kdf": "scrypt",
            "kdfparams": {"n": 2**40, "r": 8, "p": 1, "dklen": 32, "salt": "00"}, "mac": "00" * 32}}).encode(),
        "folder": None,
        "huge": b'{"a": "' + b"x" * 2_000_000 + b'"}',
    }
    return [CliCase(f"keystore/{name}", ("wallet", "import", "{d}/key.json", "--passphrase-file", "{d}/pass"),
                    {"key.json": raw, "pass": b"secret\n"}) for name, raw in stores.items()]


def history_cases() -> list[CliCase]:
    return [
        CliCase("history/empty-file", ("history", "--db", "{d}/h.sqlite3"), {"h.sqlite3": b""}),
        CliCase("history/garbage", ("history", "--db", "{d}/h.sqlite3"), {"h.sqlite3": b"garbage" * 100}),
        CliCase("history/folder", ("history", "--db", "{d}/h.sqlite3"), {"h.sqlite3": None}),
        CliCase("history/sqlite-header-only", ("history", "--db", "{d}/h.sqlite3"),
                {"h.sqlite3": b"SQLite format 3\x00" + b"\x00" * 84}),
    ]


# -- raw requests to the blob server ---------------------------------------------------------

SOCKET_CASES: dict[str, bytes] = {
    "garbage": b"garbage\r\n\r\n",
    "binary": bytes(range(256)) + b"\r\n\r\n",
    "http-9.9": b"GET / HTTP/9.9\r\n\r\n",
    "http-0.9": b"GET /health\r\n\r\n",
    "delete": f"DELETE /blobs/{SHA} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
    "post": b"POST /blobs/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
    "unknown-method": b"BREW /pot HTTP/1.1\r\n\r\n",
    "two-content-lengths": f"PUT /blobs/{SHA} HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabc".encode(),
    "content-length-superscript": f"PUT /blobs/{SHA} HTTP/1.1\r\nContent-Length: \u00b2\r\n\r\nab".encode(),
    "content-length-5000-digits": f"PUT /blobs/{SHA} HTTP/1.1\r\nContent-Length: {'9' * 5000}\r\n\r\n".encode(),
    "chunked": f"PUT /blobs/{SHA} HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".encode(),
    "chunked-and-length": (f"PUT /blobs/{SHA} HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
                           "abc").encode(),
    "wrong-hash": f"PUT /blobs/{SHA} HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc".encode(),
    "traversal": b"GET /blobs/../../etc/passwd HTTP/1.1\r\n\r\n",
    "encoded-traversal": b"GET /blobs/%2e%2e%2fetc%2fpasswd HTTP/1.1\r\n\r\n",
    "200-headers": b"GET /health HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n",
    "70k-url": b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n",
    "header-70k": b"GET /health HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n",
    "negative-length": f"PUT /blobs/{SHA} HTTP/1.1\r\nContent-Length: -5\r\n\r\n".encode(),
    "over-max-size": f"PUT /blobs/{SHA} HTTP/1.1\r\nContent-Length: {10**15}\r\n\r\n".encode(),
}

Check = Callable[[bytes], str | None]
