"""``idlegrid history`` and ``idlegrid earnings`` on real databases and real settings files."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from engine.chain.settings import NetworkSettings, save_network
from engine.cli import main
from engine.history import History, default_path
from tests.unit.history.conftest import CHAIN, MARKET, OTHER_MARKET

ETH = 10**18
BIG = 2**64 + 7


@pytest.fixture
def home_history(idlegrid_home: Path) -> Iterator[History]:
    """The history at the default path, where the commands look."""
    with History.open() as history:
        yield history


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _fill(history: History) -> None:
    history.upsert_job(CHAIN, MARKET, 7, "worker", name="digits-mlp", state="submitted", steps=600, steps_done=600,
                       loss=0.0385, metrics={"heldout_loss": 0.07, "accuracy": 0.983}, reward=ETH // 20,
                       stake=ETH // 200)
    history.record_tx(CHAIN, MARKET, 7, "worker", "claim", "0x01", 42_000 * 10**9)
    history.upsert_job(CHAIN, MARKET, 3, "verifier", name="tiny-charlm", state="finalized", outcome="honest",
                       reward=BIG)
    history.add_ledger(CHAIN, MARKET, 2, "reward", ETH // 10, tx_hash="0x02")
    history.add_ledger(CHAIN, MARKET, None, "withdrawn", ETH // 40, tx_hash="0x03")


def test_history_of_an_empty_home_says_so_and_creates_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "history")
    assert code == 0 and out.startswith("no jobs yet") and "idlegrid worker" in out
    assert not default_path().exists()
    assert _run(capsys, "history", "--json")[1].strip() == "[]"


def test_history_prints_a_table_newest_first(home_history: History, capsys: pytest.CaptureFixture[str]) -> None:
    _fill(home_history)
    code, out, _ = _run(capsys, "history")
    header, *rows = out.splitlines()
    assert code == 0
    assert header.split() == ["TASK", "ROLE", "NAME", "STATE", "OUTCOME", "STEPS", "LOSS/METRIC", "REWARD",
                              "ETH", "GAS", "ETH", "UPDATED"]
    assert rows[0].split()[:4] == ["3", "verifier", "tiny-charlm", "finalized"]
    worker = rows[1].split()
    assert worker[:7] == ["7", "worker", "digits-mlp", "submitted", "-", "600/600", "0.0385"]
    assert worker[7:11] == ["acc", "0.983", "0.05", "0.000042"]
    assert "NETWORK" not in header


def test_history_filters_by_role_and_state(home_history: History, capsys: pytest.CaptureFixture[str]) -> None:
    _fill(home_history)
    out = _run(capsys, "history", "--role", "worker")[1]
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["7"]
    out = _run(capsys, "history", "--state", "finalized")[1]
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["3"]
    out = _run(capsys, "history", "--role", "requester", "--state", "open")[1]
    assert out.startswith("no jobs match --role requester --state open")


def test_history_json_keeps_big_wei_exact(home_history: History, capsys: pytest.CaptureFixture[str]) -> None:
    _fill(home_history)
    rows = json.loads(_run(capsys, "history", "--json")[1])
    assert [r["task_id"] for r in rows] == [3, 7]
    assert rows[0]["reward"] == str(BIG) and rows[1]["txs"] == {"claim": "0x01"}
    assert rows[1]["gas_paid"] == str(42_000 * 10**9)


def test_history_names_the_network_when_jobs_span_several(home_history: History,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    home_history.upsert_job(CHAIN, MARKET, 1, "worker", state="claimed")
    home_history.upsert_job(5, OTHER_MARKET, 1, "worker", state="claimed")
    header, *rows = _run(capsys, "history")[1].splitlines()
    assert header.split()[-1] == "NETWORK"
    assert {row.split()[-1] for row in rows} == {"1337:0x5FbD…0aa3", "5:0xe7f1…0512"}


def test_a_corrupt_history_is_an_error_with_a_hint_and_is_kept(idlegrid_home: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = default_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage" * 1000)
    for command in ("history", "earnings"):
        code, out, err = _run(capsys, command)
        assert code == 1 and out == ""
        assert err.startswith(f"error: the history database {path} is unreadable")
        assert "hint: idlegrid left it untouched; move it away" in err
    assert path.read_bytes() == b"\x00garbage" * 1000


def test_a_missing_db_option_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "history", "--db", str(tmp_path / "nope.sqlite3"))
    assert code == 2 and "does not exist" in err


def test_earnings_of_an_empty_home_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "earnings")
    assert code == 0 and out.startswith("no earnings yet") and "idlegrid worker" in out
    assert json.loads(_run(capsys, "earnings", "--json")[1]) == {"networks": []}


def test_earnings_of_the_configured_network(home_history: History, capsys: pytest.CaptureFixture[str]) -> None:
    _fill(home_history)
    home_history.add_ledger(5, OTHER_MARKET, 1, "reward", 9 * ETH)
    save_network(NetworkSettings(chain_id=CHAIN, market_address=MARKET))
    code, out, _ = _run(capsys, "earnings")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"chain {CHAIN}, market {MARKET}"
    values = {line.split()[0]: line.split()[1] for line in lines[1:7]}
    assert values == {"pending": "0.055", "claimable": "0.075", "withdrawn": "0.025", "slashed": "0",
                      "gas": "paid", "earned": "0.1"}
    assert "gas paid   0.000042 ETH" in out
    assert lines[-1].split() == [date.today().isoformat(), "0.1", "ETH"]
    assert "0xe7f1" not in out


def test_earnings_without_a_configured_network_shows_each(home_history: History,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    _fill(home_history)
    home_history.add_ledger(5, OTHER_MARKET, 1, "reward", 9 * ETH)
    out = _run(capsys, "earnings")[1]
    assert f"chain 5, market {OTHER_MARKET}" in out and f"chain {CHAIN}, market {MARKET}" in out
    networks = json.loads(_run(capsys, "earnings", "--json")[1])["networks"]
    assert [(n["chain_id"], n["earned"]) for n in networks] == [(5, str(9 * ETH)), (CHAIN, str(ETH // 10))]
    assert len(networks[0]["per_day"]) == 30 and networks[0]["per_day"][-1] == [date.today().isoformat(), str(9 * ETH)]


def test_earnings_of_a_configured_network_without_entries_is_zero(home_history: History,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    home_history.add_ledger(5, OTHER_MARKET, 1, "reward", 9 * ETH)
    save_network(NetworkSettings(chain_id=CHAIN, market_address=MARKET))
    out = _run(capsys, "earnings")[1]
    assert out.splitlines()[0] == f"chain {CHAIN}, market {MARKET}"
    assert "nothing earned in the last 30 days" in out
    assert "0xe7f1" in _run(capsys, "earnings", "--all")[1]


def test_earnings_of_a_configured_market_not_in_the_history_says_where_it_looked(
        home_history: History, capsys: pytest.CaptureFixture[str]) -> None:
    home_history.add_ledger(5, OTHER_MARKET, 1, "reward", 9 * ETH)
    save_network(NetworkSettings(market_address=MARKET))  # no chain id: every chain of this market
    out = _run(capsys, "earnings")[1]
    assert out.startswith("no earnings yet") and f"on the configured market {MARKET}" in out and "--all" in out


def test_earnings_refuses_a_bad_day_count(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "earnings", "--days", "0")
    assert code == 2 and "--days 0 is out of range" in err


def test_the_commands_run_as_a_real_process(home_history: History) -> None:
    _fill(home_history)
    done = subprocess.run([sys.executable, "-m", "engine", "history", "--role", "verifier"],
                          capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[3])
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1].split()[:2] == ["3", "verifier"]


def test_earnings_show_returned_fined_and_each_kind_under_its_label(home_history: History,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    home_history.add_ledger(CHAIN, MARKET, 4, "audit_fee", ETH // 50, tx_hash="0x11")
    home_history.add_ledger(CHAIN, MARKET, 5, "fine", ETH // 100, tx_hash="0x12")
    home_history.add_ledger(CHAIN, MARKET, 6, "stake_returned", ETH // 20, tx_hash="0x13")
    home_history.add_ledger(CHAIN, MARKET, 6, "data_fault", ETH // 20, tx_hash="0x14")
    save_network(NetworkSettings(chain_id=CHAIN, market_address=MARKET))
    out = _run(capsys, "earnings")[1]
    values = {line.split()[0]: line.split()[1] for line in out.splitlines()[1:9]}
    assert (values["earned"], values["fined"], values["returned"], values["claimable"]) == ("0.07", "0.01", "0.05",
                                                                                             "0.12")
    assert "Audit fees                 0.02 ETH  earned" in out
    assert "Jury fines                 0.01 ETH  lost" in out
    assert "Stakes won on data faults  0.05 ETH  earned" in out
    assert "Stakes returned            0.05 ETH  returned" in out
    data = json.loads(_run(capsys, "earnings", "--json")[1])["networks"][0]
    assert data["by_kind"] == {"audit_fee": str(ETH // 50), "data_fault": str(ETH // 20), "stake_returned":
                               str(ETH // 20), "fine": str(ETH // 100)}
