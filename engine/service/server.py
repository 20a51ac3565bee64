"""The control API's server: one thread per connection, every request hostile input.

A connection sends requests (one JSON line each) and gets one answer line per request, or
sends ``subscribe`` and from then on receives the event stream. Limits: at most
:data:`MAX_CLIENTS` connections at once (more are answered with an error and closed), a
command connection idle for :data:`IDLE_TIMEOUT_S` is closed, and a message over the size or
depth limits gets one clear error; a message that breaks the framing (an over-long line) also
ends its connection. Nothing a client sends can raise out of its thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from engine.errors import IdlegridError
from engine.service.errors import ProtocolError
from engine.service.hub import EventHub, Message
from engine.service.protocol import (
    Command,
    Request,
    decode_line,
    encode,
    failure,
    ok,
    parse_request,
)
from engine.service.transport import Stream, StreamListener

MAX_CLIENTS = 32
IDLE_TIMEOUT_S = 60.0
HEARTBEAT_S = 30.0      # a subscriber gets {"ping": true} this often, so a dead one is noticed
log = logging.getLogger(__name__)

Handler = Callable[[Request], dict[str, Any]]


class ControlServer:
    """Accepts connections on ``listener`` and answers them with ``handle``."""

    def __init__(self, listener: StreamListener, handle: Handler, hub: EventHub,
                 on_stop: Callable[[], None] | None = None) -> None:
        self.listener = listener
        self.handle = handle
        self.hub = hub
        self.on_stop = on_stop  # runs once ``stop`` is answered: stopping first could end the process mid-answer
        self._slots = threading.BoundedSemaphore(MAX_CLIENTS)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="idlegrid-control", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._closed.set()
        self.listener.close()
        self.hub.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                stream = self.listener.accept()
            except OSError:
                if self._closed.is_set():
                    return
                continue
            if not self._slots.acquire(blocking=False):
                threading.Thread(target=_refuse, args=(stream,), name="idlegrid-refuse", daemon=True).start()
                continue
            threading.Thread(target=self._serve, args=(stream,), name="idlegrid-client", daemon=True).start()

    def _serve(self, stream: Stream) -> None:
        try:
            self._conversation(stream)
        except Exception as e:  # a bug must not take the service down; the client just loses its line
            log.error("control connection failed", exc_info=e)
        finally:
            stream.close()
            self._slots.release()

    def _conversation(self, stream: Stream) -> None:
        stream.settimeout(IDLE_TIMEOUT_S)
        while not self._closed.is_set():
            try:
                line = stream.read_line()
            except ProtocolError as e:  # framing lost: answer once, then hang up
                _say(stream, failure(e.message, e.hint))
                return
            except OSError:  # timeout, reset
                return
            if line is None:
                return
            if not line.strip():
                continue
            try:
                request = parse_request(decode_line(line))
            except ProtocolError as e:
                if not _say(stream, failure(e.message, e.hint)):
                    return
                continue
            if request.command is Command.SUBSCRIBE:
                self._stream_events(stream)
                return
            if not _say(stream, self._answer(request)):
                return
            if request.command is Command.STOP:
                if self.on_stop is not None:
                    self.on_stop()
                return

    def _answer(self, request: Request) -> Message:
        try:
            return ok(self.handle(request))
        except IdlegridError as e:
            return failure(e.message, e.hint)
        except Exception as e:
            log.error("command %s failed", request.command.value, exc_info=e)
            return failure(f"{request.command.value} failed: unexpected {type(e).__name__}: {e}",
                           "this is a bug in idlegrid; the service's log has the details")

    def _stream_events(self, stream: Stream) -> None:
        stream.settimeout(None)
        q, first = self.hub.subscribe()
        try:
            if not all(_say(stream, m) for m in [ok({"subscribed": True}), *first]):
                return
            while True:
                try:
                    message = q.get(timeout=HEARTBEAT_S)
                except queue.Empty:
                    message = {"ping": True}
                if message is None:
                    _say(stream, failure("the subscription ended (the service stops, or this client fell behind)",
                                         "subscribe again"))
                    return
                if not _say(stream, message):
                    return
        finally:
            self.hub.unsubscribe(q)


def _refuse(stream: Stream) -> None:
    _say(stream, failure(f"too many connections (over {MAX_CLIENTS})", "close other clients of the service"))
    stream.close()


def _say(stream: Stream, message: Message) -> bool:
    """Write one message; False when the client is gone."""
    try:
        stream.write(encode(message))
        return True
    except OSError:
        return False
