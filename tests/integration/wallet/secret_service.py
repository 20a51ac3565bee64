"""A private Secret Service for tests: a D-Bus session bus and an unlocked gnome-keyring.

Both daemons run as subprocesses over a scratch folder, so the user's own keyring is never
touched; :func:`running` yields the ``DBUS_SESSION_BUS_ADDRESS`` to talk to them.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

PASSWORD = b"idlegrid-test-keyring"
INSTALL_HINT = (
    "install the Debian packages dbus and gnome-keyring (tools/system-deps.sh does it as root), "
    "or set IDLEGRID_ALLOW_NO_KEYRING=1 to skip the real-keyring tests"
)


class SecretServiceUnavailable(RuntimeError):
    pass


def _read_address(bus: subprocess.Popen[bytes], timeout: float) -> str:
    assert bus.stdout is not None
    ready, _, _ = select.select([bus.stdout], [], [], timeout)
    line = bus.stdout.readline().decode().strip() if ready else ""
    if not line:
        raise SecretServiceUnavailable(f"dbus-daemon printed no bus address within {timeout:g} s")
    return line


def _has_owner(conn: object, name: str) -> bool:
    """Ask the bus itself: unlike a call to ``name``, this never D-Bus-activates a second,
    password-less gnome-keyring that would take the name from ours."""
    from jeepney import DBus

    return bool(conn.send_and_get_reply(DBus().NameHasOwner(name)).body[0])


def _wait_for_secrets(keyring_daemon: subprocess.Popen[bytes], timeout: float) -> None:
    """Poll until org.freedesktop.secrets answers with an unlocked default collection."""
    import secretstorage

    deadline = time.monotonic() + timeout
    problem = "not started"
    while time.monotonic() < deadline:
        if keyring_daemon.poll() is not None:
            raise SecretServiceUnavailable(f"gnome-keyring-daemon exited with status {keyring_daemon.returncode}")
        try:
            with contextlib.closing(secretstorage.dbus_init()) as conn:
                if not _has_owner(conn, "org.freedesktop.secrets"):
                    problem = "org.freedesktop.secrets is not on the bus yet"
                # Collection(), not get_default_collection(): that one would ask (through a
                # prompt nobody can answer) to create the collection --unlock is still creating.
                elif secretstorage.Collection(conn).is_locked():
                    problem = "the default collection is locked"
                else:
                    return
        except Exception as e:  # the login collection is not created yet
            problem = f"{type(e).__name__}: {e}"
        time.sleep(0.05)
    raise SecretServiceUnavailable(f"the Secret Service did not come up within {timeout:g} s ({problem})")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def running(scratch: Path, timeout: float = 15) -> Iterator[str]:
    """Start dbus-daemon and gnome-keyring-daemon; yield the bus address; stop both."""
    missing = [tool for tool in ("dbus-daemon", "gnome-keyring-daemon") if not shutil.which(tool)]
    if missing:
        raise SecretServiceUnavailable(f"{', '.join(missing)} not found")
    run_dir = scratch / "run"
    run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    log = (scratch / "daemons.log").open("wb")
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
        stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
    )
    keyring_daemon = None
    try:
        address = _read_address(bus, timeout)
        env = {
            **os.environ,
            "DBUS_SESSION_BUS_ADDRESS": address,
            "HOME": str(scratch / "home"),
            "XDG_RUNTIME_DIR": str(run_dir),
            "XDG_DATA_HOME": str(scratch / "data"),
            "XDG_CONFIG_HOME": str(scratch / "config"),
        }
        keyring_daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE, stdout=log, stderr=log, env=env,
        )
        assert keyring_daemon.stdin is not None
        keyring_daemon.stdin.write(PASSWORD)
        keyring_daemon.stdin.close()
        saved = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = address
        try:
            _wait_for_secrets(keyring_daemon, timeout)
            yield address
        finally:
            if saved is None:
                os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)
            else:
                os.environ["DBUS_SESSION_BUS_ADDRESS"] = saved
    except SecretServiceUnavailable as e:
        log.flush()
        details = (scratch / "daemons.log").read_text(errors="replace").strip()
        raise SecretServiceUnavailable(f"{e}\n{details}" if details else str(e)) from None
    finally:
        if keyring_daemon is not None:
            _stop(keyring_daemon)
        _stop(bus)
        log.close()
