"""User-idle detectors with their OS calls faked, and the chain's "unknown"."""

from __future__ import annotations

import ctypes
import subprocess

import pytest

from engine.gpu.useridle import (
    DbusIdle,
    IdleChain,
    MacIdle,
    WindowsIdle,
    X11Idle,
    default_chain,
    freedesktop_idle,
    mutter_idle,
)


class Fixed:
    def __init__(self, name: str, value: float | None) -> None:
        self.name, self.value, self.calls = name, value, 0

    def idle_seconds(self) -> float | None:
        self.calls += 1
        return self.value


class Broken:
    name = "broken"

    def idle_seconds(self) -> float | None:
        raise RuntimeError("boom")


def test_the_first_detector_that_answers_wins():
    later = Fixed("later", 5.0)
    chain = IdleChain([Fixed("none", None), Broken(), Fixed("x11", 42.0), later])
    assert chain.idle_seconds() == 42.0
    assert chain.source == "x11"
    assert later.calls == 0


def test_when_no_detector_answers_idle_is_unknown():
    chain = IdleChain([Fixed("a", None), Broken(), Fixed("negative", -1.0)])
    assert chain.idle_seconds() is None
    assert chain.source is None


def test_mutter_reply_is_parsed_from_milliseconds():
    calls = []

    def run(argv):
        calls.append(argv)
        return "(uint64 125000,)\n"

    assert mutter_idle(run).idle_seconds() == 125.0
    assert calls[0][:3] == ["gdbus", "call", "--session"]
    assert "org.gnome.Mutter.IdleMonitor.GetIdletime" in calls[0]


def test_freedesktop_reply_is_parsed():
    assert freedesktop_idle(lambda argv: "(uint32 3000,)").idle_seconds() == 3.0


@pytest.mark.parametrize(
    "error",
    [subprocess.CalledProcessError(1, "gdbus"), subprocess.TimeoutExpired("gdbus", 2), PermissionError()],
)
def test_a_missing_dbus_service_is_unknown_and_asked_again(error):
    calls = []

    def run(argv):
        calls.append(argv)
        raise error

    d = mutter_idle(run)
    assert d.idle_seconds() is None
    assert d.idle_seconds() is None
    assert len(calls) == 2


def test_without_gdbus_the_detector_stops_asking():
    calls = []

    def run(argv):
        calls.append(argv)
        raise FileNotFoundError("gdbus")

    d = DbusIdle("x", "a.b", "/a/b", "a.b.C", run)
    assert d.idle_seconds() is None
    assert d.idle_seconds() is None
    assert len(calls) == 1


def test_garbage_from_dbus_is_unknown():
    assert freedesktop_idle(lambda argv: "Error: nope").idle_seconds() is None


def test_macos_hid_idle_time_is_nanoseconds():
    out = '  |   "HIDIdleTime" = 7500000000\n  |   "Other" = 1\n'
    assert MacIdle(lambda argv: out).idle_seconds() == 7.5
    assert MacIdle(lambda argv: "no such key").idle_seconds() is None


class FakeUser32:
    def __init__(self, last_input_ms: int, ok: bool = True) -> None:
        self.last, self.ok = last_input_ms, ok

    def GetLastInputInfo(self, ref) -> int:
        info = ctypes.cast(ref, ctypes.POINTER(WindowsIdle._LastInputInfo)).contents
        assert info.cbSize == ctypes.sizeof(WindowsIdle._LastInputInfo)
        info.dwTime = self.last
        return int(self.ok)


class FakeKernel32:
    def __init__(self, ticks: int) -> None:
        self.ticks = ticks

    def GetTickCount(self) -> int:
        return self.ticks


@pytest.mark.parametrize(
    ("last", "ticks", "seconds"),
    [(1000, 61_000, 60.0), (0xFFFF_FC18, 1000, 2.0)],  # the second wraps past 2**32 ms
)
def test_windows_last_input_against_tick_count(last, ticks, seconds):
    assert WindowsIdle(FakeUser32(last), FakeKernel32(ticks)).idle_seconds() == seconds


def test_windows_call_failing_is_unknown():
    assert WindowsIdle(FakeUser32(0, ok=False), FakeKernel32(5)).idle_seconds() is None


def test_x11_without_display_or_libraries_is_unknown():
    assert X11Idle(load=lambda name: pytest.fail("must not load"), env={}).idle_seconds() is None
    loads = []

    def load(name):
        loads.append(name)

    d = X11Idle(load=load, env={"DISPLAY": ":0"})
    assert d.idle_seconds() is None
    assert d.idle_seconds() is None
    assert loads == ["X11", "Xss"]  # not retried once missing


def test_x11_queries_the_screensaver_extension():
    info = X11Idle._Info(idle=90_500)

    class Fn:
        def __init__(self, result):
            self.result = result

        def __call__(self, *args):
            return self.result(*args) if callable(self.result) else self.result

    class Lib:
        pass

    x11, xss = Lib(), Lib()
    x11.XOpenDisplay, x11.XDefaultRootWindow = Fn(1234), Fn(77)
    x11.XCloseDisplay, x11.XFree = Fn(0), Fn(0)
    xss.XScreenSaverAllocInfo = Fn(ctypes.pointer(info))
    xss.XScreenSaverQueryInfo = Fn(lambda display, root, ptr: int(display == 1234 and root == 77))
    libs = {"X11": x11, "Xss": xss}
    assert X11Idle(load=libs.get, env={"DISPLAY": ":0"}).idle_seconds() == 90.5


def test_the_real_x11_detector_here_answers_or_says_unknown():
    got = X11Idle().idle_seconds()
    assert got is None or got >= 0


@pytest.mark.parametrize(
    ("platform", "env", "names"),
    [
        ("linux", {"DISPLAY": ":0"}, ["x11", "gnome-mutter", "freedesktop-screensaver"]),
        ("linux", {"XDG_SESSION_TYPE": "wayland"}, ["gnome-mutter", "freedesktop-screensaver"]),
        ("win32", {}, ["windows"]),
        ("darwin", {}, ["macos"]),
    ],
)
def test_default_chain_per_platform(platform, env, names):
    assert [d.name for d in default_chain(platform, env).detectors] == names
