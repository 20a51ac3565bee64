"""How long the user has been idle (no keyboard or mouse input), per desktop and OS.

Each detector returns seconds, or None when it cannot tell (not that desktop, library or
service missing). :class:`IdleChain` asks them in order and answers None ("unknown") when
none does; the policy then applies ``unknown_idle``. A detector whose library or program is
missing stops asking. OS calls are injectable: the Windows and macOS paths are unit-tested
with fakes here and run for real only on those systems.

- X11: the XScreenSaver extension (libX11 + libXss via ctypes, XScreenSaverQueryInfo).
- GNOME (Wayland or X11): org.gnome.Mutter.IdleMonitor.GetIdletime over D-Bus (ms).
- KDE and others: org.freedesktop.ScreenSaver.GetSessionIdleTime over D-Bus (ms, as KDE
  implements it).
- Windows: GetLastInputInfo against GetTickCount (ctypes, user32/kernel32).
- macOS: HIDIdleTime (ns) of IOHIDSystem, from ``ioreg -c IOHIDSystem``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

log = logging.getLogger(__name__)

Run = Callable[[Sequence[str]], str]


def run_command(argv: Sequence[str], timeout: float = 2.0) -> str:
    """stdout of a short command; raises OSError / CalledProcessError / TimeoutExpired."""
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=True).stdout


class IdleDetector(Protocol):
    name: str

    def idle_seconds(self) -> float | None: ...


class X11Idle:
    """XScreenSaverQueryInfo on ``$DISPLAY``; None without X or without libXss."""

    name = "x11"

    class _Info(ctypes.Structure):
        _fields_ = [
            ("window", ctypes.c_ulong),
            ("state", ctypes.c_int),
            ("kind", ctypes.c_int),
            ("til_or_since", ctypes.c_ulong),
            ("idle", ctypes.c_ulong),
            ("event_mask", ctypes.c_ulong),
        ]

    def __init__(self, load: Callable[[str], Any | None] | None = None, env: Mapping[str, str] = os.environ) -> None:
        self._load = load or self._load_library
        self._env = env
        self._libs: tuple[Any, Any] | None = None
        self._available = True

    @staticmethod
    def _load_library(name: str) -> Any | None:
        path = ctypes.util.find_library(name)
        return ctypes.CDLL(path) if path else None

    def _libraries(self) -> tuple[Any, Any] | None:
        if self._libs is None and self._available:
            x11, xss = self._load("X11"), self._load("Xss")
            if x11 is None or xss is None:
                self._available = False
                return None
            x11.XOpenDisplay.restype = ctypes.c_void_p
            x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
            x11.XDefaultRootWindow.restype = ctypes.c_ulong
            x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
            x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
            x11.XFree.argtypes = [ctypes.c_void_p]
            xss.XScreenSaverAllocInfo.restype = ctypes.POINTER(self._Info)
            xss.XScreenSaverQueryInfo.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(self._Info)]
            self._libs = (x11, xss)
        return self._libs

    def idle_seconds(self) -> float | None:
        if not self._env.get("DISPLAY"):
            return None
        libs = self._libraries()
        if libs is None:
            return None
        x11, xss = libs
        display = x11.XOpenDisplay(None)
        if not display:
            return None
        try:
            info = xss.XScreenSaverAllocInfo()
            if not info:
                return None
            try:
                if not xss.XScreenSaverQueryInfo(display, x11.XDefaultRootWindow(display), info):
                    return None
                return float(info.contents.idle) / 1000.0
            finally:
                x11.XFree(info)
        finally:
            x11.XCloseDisplay(display)


class DbusIdle:
    """A D-Bus method on the session bus that answers idle milliseconds, via ``gdbus call``."""

    _NUMBER = re.compile(r"\((?:uint32|uint64)?\s*(\d+),?\)")

    def __init__(self, name: str, dest: str, path: str, method: str, run: Run = run_command) -> None:
        self.name = name
        self._argv = ["gdbus", "call", "--session", "--dest", dest, "--object-path", path, "--method", method]
        self._run = run
        self._available = True

    def idle_seconds(self) -> float | None:
        if not self._available:
            return None
        try:
            out = self._run(self._argv)
        except FileNotFoundError:
            self._available = False  # no gdbus on this system
            return None
        except (OSError, subprocess.SubprocessError):
            return None  # the service is not there (now); ask again next time
        m = self._NUMBER.search(out)
        return int(m.group(1)) / 1000.0 if m else None


def mutter_idle(run: Run = run_command) -> DbusIdle:
    return DbusIdle(
        "gnome-mutter",
        "org.gnome.Mutter.IdleMonitor",
        "/org/gnome/Mutter/IdleMonitor/Core",
        "org.gnome.Mutter.IdleMonitor.GetIdletime",
        run,
    )


def freedesktop_idle(run: Run = run_command) -> DbusIdle:
    return DbusIdle(
        "freedesktop-screensaver",
        "org.freedesktop.ScreenSaver",
        "/org/freedesktop/ScreenSaver",
        "org.freedesktop.ScreenSaver.GetSessionIdleTime",
        run,
    )


class WindowsIdle:
    """GetLastInputInfo: milliseconds since the last input, from the 32-bit tick count."""

    name = "windows"

    class _LastInputInfo(ctypes.Structure):
        _fields_ = [("cbSize", ctypes.c_uint), ("dwTime", ctypes.c_uint)]

    def __init__(self, user32: Any | None = None, kernel32: Any | None = None) -> None:
        windll = getattr(ctypes, "windll", None)
        self._user32 = user32 or (windll.user32 if windll else None)
        self._kernel32 = kernel32 or (windll.kernel32 if windll else None)

    def idle_seconds(self) -> float | None:
        if self._user32 is None or self._kernel32 is None:
            return None
        info = self._LastInputInfo()
        info.cbSize = ctypes.sizeof(info)
        if not self._user32.GetLastInputInfo(ctypes.byref(info)):
            return None
        ticks = self._kernel32.GetTickCount() & 0xFFFFFFFF
        return float((ticks - info.dwTime) & 0xFFFFFFFF) / 1000.0  # the tick count wraps after 49.7 days


class MacIdle:
    """``ioreg -c IOHIDSystem``: HIDIdleTime in nanoseconds."""

    name = "macos"
    _IDLE = re.compile(r'"HIDIdleTime"\s*=\s*(\d+)')

    def __init__(self, run: Run = run_command) -> None:
        self._run = run

    def idle_seconds(self) -> float | None:
        try:
            out = self._run(["ioreg", "-c", "IOHIDSystem", "-d", "4"])
        except (OSError, subprocess.SubprocessError):
            return None
        m = self._IDLE.search(out)
        return int(m.group(1)) / 1e9 if m else None


class IdleChain:
    """Asks each detector in turn; the first number wins. ``source`` names who answered."""

    def __init__(self, detectors: Sequence[IdleDetector]) -> None:
        self.detectors = list(detectors)
        self.source: str | None = None

    def idle_seconds(self) -> float | None:
        for detector in self.detectors:
            try:
                seconds = detector.idle_seconds()
            except Exception as e:  # a detector must never stop the worker
                log.debug("idle detector %s failed: %s", detector.name, e)
                continue
            if seconds is not None and seconds >= 0:
                self.source = detector.name
                return seconds
        self.source = None
        return None


def default_chain(platform: str = sys.platform, env: Mapping[str, str] = os.environ) -> IdleChain:
    """The detectors that can work on ``platform``, most direct first."""
    if platform.startswith("win"):
        return IdleChain([WindowsIdle()])
    if platform == "darwin":
        return IdleChain([MacIdle()])
    detectors: list[IdleDetector] = [mutter_idle(), freedesktop_idle()]
    if env.get("XDG_SESSION_TYPE") != "wayland":
        detectors.insert(0, X11Idle(env=env))  # under Wayland X11 sees only Xwayland input
    return IdleChain(detectors)
