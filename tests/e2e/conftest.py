"""End-to-end tests: a failing test's report carries the logs of every subprocess still open."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.procs import OPEN


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and OPEN:
        report.sections.append(("subprocess logs", "\n".join(p.logs() for p in OPEN)))
