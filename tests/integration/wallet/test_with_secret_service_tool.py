from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO


def test_helper_script_runs_a_command_under_a_private_unlocked_secret_service(idlegrid_home) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "PYTHON_KEYRING_BACKEND")}
    code = (
        "import keyring; keyring.set_password('idlegrid-tool-test', 'u', 's'); "
        "print(type(keyring.get_keyring()).__module__, keyring.get_password('idlegrid-tool-test', 'u'))"
    )
    result = subprocess.run(
        [str(REPO / "tools" / "with-secret-service.sh"), sys.executable, "-c", code],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["keyring.backends.SecretService", "s"]
