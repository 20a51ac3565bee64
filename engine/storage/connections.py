"""Persistent HTTP/1.1 connections to one blob server, shared by the threads of one client.

A checkpoint upload is a HEAD then a PUT, and a job uploads a dozen of them: opening a TCP
connection per request costs a round trip and a server thread each time. The pool keeps idle
connections open (the server speaks HTTP/1.1 keep-alive) and lends each to one request at a
time. A connection goes back only after its answer was read to the end and the server did not
ask to close it; anything else closes it. A reused connection the server closed meanwhile (its
idle timeout) fails before any answer arrives: :meth:`ConnectionPool.is_stale_failure` tells
the client to send that request once more on a fresh connection, which is not a retry.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable

Connection = http.client.HTTPConnection
STALE_ERRORS = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class ConnectionPool:
    """Up to ``size`` idle connections made by ``factory``; thread-safe."""

    def __init__(self, factory: Callable[[], Connection], size: int = 8) -> None:
        self._factory = factory
        self._size = size
        self._idle: list[Connection] = []
        self._lock = threading.Lock()

    def take(self, *, fresh: bool = False) -> tuple[Connection, bool]:
        """A connection and whether it was used before (so may have been closed by the server)."""
        if not fresh:
            with self._lock:
                if self._idle:
                    return self._idle.pop(), True
        return self._factory(), False

    def give(self, conn: Connection, response: http.client.HTTPResponse | None) -> None:
        """Keep ``conn`` for the next request if its last answer is done and allows it; else close it."""
        if response is None or not response.isclosed() or response.will_close:
            conn.close()
            return
        with self._lock:
            if len(self._idle) < self._size:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    @staticmethod
    def is_stale_failure(error: BaseException, reused: bool) -> bool:
        """A reused connection that died before answering: the server closed it while it was idle."""
        return reused and isinstance(error, STALE_ERRORS)
