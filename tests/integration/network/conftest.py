"""Loads the shared chain fixtures of ``fixtures.py`` unless the top-level conftest already did.

(A conftest cannot itself be listed in ``pytest_plugins``: pytest would register it twice.)
"""

from __future__ import annotations

import pytest

PLUGIN = "tests.integration.chain.fixtures"


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(PLUGIN):
        config.pluginmanager.import_plugin(PLUGIN)
