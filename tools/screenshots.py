"""Screenshots of the desktop app for the docs, taken from the real app on a real local devnet.

Run under a virtual X server: ``xvfb-run -a .venv/bin/python tools/screenshots.py`` (what
``make screenshots`` does). In a throwaway ``IDLEGRID_HOME`` it creates a wallet (keystore
file), starts ``idlegrid devnet`` on free ports (anvil, TaskMarket, blob server, demo
requester and verifier), runs the app's Shell with a real worker that trains the demo tasks
(on the CPU where there is no GPU), and saves into ``docs/screenshots/``:

- ``dashboard.png``   the dashboard while a job is training (headline, progress, loss chart, device)
- ``dashboard-dark.png``  the same in the dark scheme; ``earnings-dark.png`` its earnings tab
- ``earnings.png``    the earnings tab (today, this week, all time, net profit, Withdraw)
- ``history.png``     the dashboard's history tab
- ``search.png``      the dashboard's Search tab after a real 8-candidate ``idlegrid search`` on the
  devnet, whose candidates the app's worker trained
- ``settings.png``    the settings dialog (Simple); ``settings-advanced.png`` with Advanced open
- ``settings-network.png``  its network tab
- ``wallet.png``      the wallet window (address, QR code, balance on the devnet)
- ``wizard.png``      the first-run wizard's wallet page; ``wizard-policy.png`` its policy page
- ``dashboard-1.5x.png``  the whole 1366x768 screen at 1.5x scaling with the dashboard on it (a
  second run of this tool in its own Xvfb, ``--scale 1.5``)

It prints one line per file and exits non-zero (saying what it waited for) when the app does not
get there within ``--timeout`` seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
WORKER_ACCOUNT = 3  # a funded anvil dev account that is neither the demo requester nor verifier
SEARCH_ACCOUNT = 5  # the search's requester: none of the above
SEARCH_BUDGET = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_home(home: Path) -> None:
    """Settings for the app's screenshots: a wallet, and train whenever possible (nobody sits
    at a virtual X)."""
    os.environ["IDLEGRID_HOME"] = str(home)
    from engine.config import save_section
    from engine.gpu.settings import GpuSettings, PolicySettings
    from engine.wallet import identity
    from engine.wallet.keys import SecretKey

    # a busy build machine must not pause the demo job: on the CPU backend "others" is the CPU load
    save_section("policy", PolicySettings(run_when="always", unknown_idle="treat_as_idle",
                                          foreign_utilization_pct=100, pause_on_foreign_process=False))
    save_section("gpu", GpuSettings(allow_cpu=True))
    from app.profit import SECTION, EarningsSettings

    save_section(SECTION, EarningsSettings(electricity_price=0.30, currency="EUR", eth_price=3000.0))
    identity.keep_in_keystore(SecretKey.generate(), home / "wallet.json", "screenshot wallet", scrypt_n=2**14)


class Shots:
    """Pumps the Qt event loop while waiting, and saves widgets as PNG files."""

    def __init__(self, app: object, out: Path, deadline: float) -> None:
        self.app = app
        self.out = out
        self.deadline = deadline
        out.mkdir(parents=True, exist_ok=True)

    def wait(self, what: str, ready: Callable[[], bool], settle: float = 0.5) -> None:
        while not ready():
            if time.monotonic() > self.deadline:
                raise SystemExit(f"screenshots: timed out waiting for {what}")
            self.pump(0.1)
        self.pump(settle)

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents()  # type: ignore[attr-defined]
            time.sleep(0.02)

    def save(self, widget: object, name: str, settle: float = 0.5) -> None:
        widget.show()  # type: ignore[attr-defined]
        widget.raise_()  # type: ignore[attr-defined]
        self.pump(settle)
        path = self.out / name
        if not widget.grab().save(str(path)):  # type: ignore[attr-defined]
            raise SystemExit(f"screenshots: could not write {path}")
        print(f"screenshot: {path.relative_to(REPO) if path.is_relative_to(REPO) else path}", flush=True)


def _done(event: object) -> float:
    data = getattr(event, "data", None) or {}
    return data.get("step", 0) / max(1, data.get("steps", 1))


def first_run_shots(shots: Shots, home: Path) -> None:
    """The wizard as a new user meets it: an empty home, so no wallet yet."""
    os.environ["IDLEGRID_HOME"] = str(home)
    home.mkdir(parents=True)
    from app.wizard import FirstRunWizard, PolicyPage

    wizard = FirstRunWizard()
    wizard.show()
    wizard.next()
    shots.save(wizard, "wizard.png")
    page = wizard.wallet_page
    page.file.setText(str(home / "wallet.json"))
    page.passphrase.setText("screenshot wallet")
    page.passphrase_again.setText("screenshot wallet")
    wizard.next()
    if not isinstance(wizard.currentPage(), PolicyPage):
        raise SystemExit(f"screenshots: the wizard's wallet page refused: {page.error_label.text()}")
    shots.save(wizard, "wizard-policy.png")
    wizard.close()


def scaled_shot(shots: Shots, app: object, shell: object, scale: str) -> None:
    """The whole screen with the dashboard mid-job: it fits 1366x768 at this scale."""
    dashboard = app.open_window("dashboard")  # type: ignore[attr-defined]
    progress: list[object] = []
    shell.bridge.progress.connect(progress.append)  # type: ignore[attr-defined]
    shots.wait("the worker to be half-way through a task (progress events)",
               lambda: bool(progress) and 0.4 <= _done(progress[-1]) <= 0.8, settle=0.0)
    dashboard.move(0, 0)
    shots.pump(0.2)
    path = shots.out / f"dashboard-{scale}x.png"
    if not app.primaryScreen().grabWindow(0).save(str(path)):  # type: ignore[attr-defined]
        raise SystemExit(f"screenshots: could not write {path}")
    print(f"screenshot: {path.relative_to(REPO) if path.is_relative_to(REPO) else path}", flush=True)


def run(out: Path, timeout: float, scale: str | None = None) -> int:
    # never the user's keyring: wallets made here are throwaway keystore files
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    scratch = Path(tempfile.mkdtemp(prefix="idlegrid-screens-"))
    from app.application import Application

    app = Application(["idlegrid"])
    shots = Shots(app, out, time.monotonic() + timeout)
    shell = None
    devnet = None
    try:
        if scale is None:
            first_run_shots(shots, scratch / "first-run")
        prepare_home(scratch / "home")
        devnet, shell = start_app(app)
        if scale is None:
            app_shots(shots, app, shell)
        else:
            scaled_shot(shots, app, shell, scale)
    finally:
        if shell is not None:
            shell.quit()
            shots.deadline = time.monotonic() + 90
            try:
                shots.wait("the engine to checkpoint and stop", lambda: not shell.host.running(), settle=0.1)
            except SystemExit as e:
                print(e, file=sys.stderr)
        if devnet is not None:
            devnet.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        from app.dashboard import DashboardWindow

        for widget in app.topLevelWidgets():  # delete every window while the app still exists
            if isinstance(widget, DashboardWindow):
                widget.shutdown()  # quitting: closing it must not ask "Quit idlegrid?" (a modal dialog here aborted)
            widget.close()
            widget.deleteLater()
        shots.pump(0.2)
    return 0


def start_app(app: object) -> tuple[object, object]:
    """``idlegrid devnet`` on free ports, then the app's Shell with a real worker on it."""
    from eth_account import Account

    from app.shell import Shell
    from engine.chain.devnet import DEV_KEYS
    from engine.service.devnet_child import DevnetProcess

    devnet = DevnetProcess(command=[sys.executable, "-m", "engine", "devnet", "--port", str(free_port()),
                                    "--blob-port", str(free_port())])
    devnet.start()

    def worker(listener):  # type: ignore[no-untyped-def]
        from engine.worker import Worker

        return Worker.from_settings(devnet=True, listener=listener, signer=Account.from_key(DEV_KEYS[WORKER_ACCOUNT]))

    shell = Shell(app, devnet=True, worker_factory=worker, quit_app=False)  # type: ignore[arg-type]
    shell.bridge.event.connect(lambda e: e.kind.value != "progress" and print(
        f"engine: {e.kind.value}: {e.message}", file=sys.stderr, flush=True))
    shell.start()
    return devnet, shell


def app_shots(shots: Shots, app: object, shell: object) -> None:
    """Dashboard mid-job, history, settings and wallet of the running app."""
    from app import theme
    from app.settings import SettingsDialog
    from app.wallet_window import WalletWindow

    dashboard = app.open_window("dashboard")  # type: ignore[attr-defined]
    progress: list[object] = []
    shell.bridge.progress.connect(progress.append)  # type: ignore[attr-defined]
    shots.wait("the worker to be half-way through a task (progress events)",
               lambda: bool(progress) and 0.4 <= _done(progress[-1]) <= 0.8, settle=0.0)
    shots.save(dashboard, "dashboard.png", settle=0.05)
    theme.use_scheme(app, dark=True)  # type: ignore[arg-type]
    shots.save(dashboard, "dashboard-dark.png", settle=0.05)
    dashboard.tabs.setCurrentWidget(dashboard.earnings_panel)
    dashboard.refresh()
    shots.save(dashboard, "earnings-dark.png")
    theme.use_scheme(app, dark=False)  # type: ignore[arg-type]
    shots.save(dashboard, "earnings.png")
    dashboard.tabs.setCurrentWidget(dashboard.history_panel)
    dashboard.refresh()
    shots.save(dashboard, "history.png")
    search_shot(shots, dashboard)

    settings = SettingsDialog()
    shots.save(settings, "settings.png")
    settings.policy_form.advanced_button.click()
    shots.save(settings, "settings-advanced.png")
    settings.tabs.setCurrentIndex(1)
    shots.save(settings, "settings-network.png")
    settings.close()

    wallet = WalletWindow()
    shots.wait("the wallet balance", lambda: " on " in wallet.balance_label.text() or
               wallet.balance_label.text().startswith("unknown"))
    shots.save(wallet, "wallet.png")
    wallet.close()


def search_shot(shots: Shots, dashboard: object) -> None:
    """A real search on the devnet, its candidates trained by the app's worker, then its tab."""
    log_path = Path(os.environ["IDLEGRID_HOME"]) / "search.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "engine", "search", str(REPO / "resources/search/digits.json"),
                                 "--devnet", "--dev-account", str(SEARCH_ACCOUNT), "--budget", str(SEARCH_BUDGET),
                                 "--parallel", "2", "--window", "60"], cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        try:
            shots.wait(f"the search of {SEARCH_BUDGET} candidates to finish", lambda: proc.poll() is not None, settle=0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if proc.returncode != 0:
        raise SystemExit(f"screenshots: `idlegrid search` failed:\n{log_path.read_text(errors='replace')[-2000:]}")
    panel = dashboard.search_panel  # type: ignore[attr-defined]
    dashboard.tabs.setCurrentWidget(panel)  # type: ignore[attr-defined]
    shots.wait("the Search tab to show the finished search",
               lambda: panel.snapshot is not None and panel.snapshot.done == SEARCH_BUDGET)
    shots.save(dashboard, "search.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots", help="where to write the PNGs")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the app (default 300)")
    parser.add_argument("--scale", help="only the scaled screen shot, at this QT_SCALE_FACTOR (run by the tool)")
    args = parser.parse_args(argv)
    if os.environ.get("QT_QPA_PLATFORM", "xcb") == "xcb" and not os.environ.get("DISPLAY"):
        print("screenshots: no X display; run it as `xvfb-run -a .venv/bin/python tools/screenshots.py`",
              file=sys.stderr)
        return 2
    if args.scale is not None:
        return run(args.out, args.timeout, args.scale)
    code = run(args.out, args.timeout)
    if code == 0:  # 1.5x needs its own process (the scale is fixed at start) and a 1366x768 screen
        env = {**os.environ, "QT_SCALE_FACTOR": "1.5"}
        code = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1366x768x24", sys.executable, __file__,
                               "--out", str(args.out), "--timeout", str(args.timeout), "--scale", "1.5"],
                              env=env).returncode
    return code


if __name__ == "__main__":
    sys.exit(main())
