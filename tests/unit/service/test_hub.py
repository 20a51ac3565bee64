"""The service's event hub: what a subscriber that connects late is told first."""

from __future__ import annotations

from engine.events import EngineEvent, EngineState, Kind
from engine.service.hub import EventHub


def _state(state: EngineState, reason: str, at: float) -> EngineEvent:
    return EngineEvent(Kind.STATE, reason, data={"state": state.value, "reason": reason}, at=at)


def _replayed(hub: EventHub) -> list[tuple[str, str]]:
    _queue, first = hub.subscribe()
    return [(m["event"]["kind"], m["event"]["message"]) for m in first if "event" in m]


def test_a_subscriber_that_connects_after_the_engine_failed_is_told_the_error_and_its_state() -> None:
    # The app spawns the service, then subscribes: a worker that fails in between (no key in the keyring)
    # must still reach the app's dialog, with its hint (a CI run on a loaded machine lost it).
    hub = EventHub(dict)
    hub.listener(_state(EngineState.STARTING, "starting the engine", at=1.0))
    hub.listener(EngineEvent(Kind.ERROR, "no key for the wallet", data={"hint": "import it"}, at=2.0))
    hub.listener(_state(EngineState.ERROR, "no key for the wallet", at=2.0))
    assert _replayed(hub) == [(Kind.ERROR.value, "no key for the wallet"), (Kind.STATE.value, "no key for the wallet")]


def test_an_error_the_engine_got_past_is_not_shown_again_to_a_new_subscriber() -> None:
    hub = EventHub(dict)
    hub.listener(EngineEvent(Kind.ERROR, "gave up task 3", at=1.0))
    hub.listener(_state(EngineState.WAITING, "looking for tasks", at=2.0))
    assert _replayed(hub) == [(Kind.STATE.value, "looking for tasks")]


def test_a_state_of_error_reported_before_an_unrelated_later_error_replays_only_the_state() -> None:
    hub = EventHub(dict)
    hub.listener(_state(EngineState.ERROR, "the engine service stopped", at=1.0))
    hub.listener(EngineEvent(Kind.ERROR, "a later error", at=2.0))
    assert _replayed(hub) == [(Kind.STATE.value, "the engine service stopped")]
