"""Byte streams of whole lines between the service and its clients, on a Unix socket or a
Windows named pipe.

Both sides only need :class:`Stream` (read one line, write one line, close) and a listener
that accepts streams, so the server and the client are the same code on every OS:

- :class:`SocketStream` / :class:`SocketListener`: a Unix socket, created mode 0600 (only this
  user can connect); the line framing is ours, with the read capped at ``MAX_LINE``.
- :class:`MessageStream` / :class:`PipeListener`: Python's ``multiprocessing.connection``
  (a named pipe on Windows, family ``AF_PIPE``), whose messages are length-prefixed: one
  message is one line. Only ``send_bytes``/``recv_bytes`` are used (never its pickling
  ``send``/``recv``), and ``recv_bytes`` is given the same size cap. On POSIX the same class
  runs over ``AF_UNIX``, which is how it is tested here.
"""

from __future__ import annotations

import contextlib
import os
import socket
from multiprocessing.connection import Client, Connection, Listener
from typing import Protocol

from engine.service.errors import ProtocolError
from engine.service.protocol import MAX_LINE

CHUNK = 4096
DRAIN_S = 1.0                 # at close, how long to discard a client's unread input
DRAIN_LIMIT = 4 * 1024 * 1024  # ... and how much of it at most


class Stream(Protocol):
    """One connection: whole lines in and out."""

    def read_line(self) -> bytes | None: ...   # None at end of stream; ProtocolError when over MAX_LINE
    def write(self, line: bytes) -> None: ...
    def settimeout(self, seconds: float | None) -> None: ...
    def close(self) -> None: ...


class StreamListener(Protocol):
    def accept(self) -> Stream: ...   # OSError once closed
    def close(self) -> None: ...


class SocketStream:
    """A connected Unix socket read line by line, at most MAX_LINE bytes a line."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = b""

    def read_line(self) -> bytes | None:
        while b"\n" not in self._buffer:
            if len(self._buffer) > MAX_LINE:
                raise ProtocolError(f"message too long: over {MAX_LINE} bytes without a newline",
                                    hint="send one small JSON object per line")
            chunk = self.sock.recv(CHUNK)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        if len(line) > MAX_LINE:
            raise ProtocolError(f"message too long: over {MAX_LINE} bytes", hint="send one small JSON object per line")
        return line

    def write(self, line: bytes) -> None:
        self.sock.sendall(line)

    def settimeout(self, seconds: float | None) -> None:
        self.sock.settimeout(seconds)

    def close(self) -> None:
        """Hang up politely: unread input left at close would reset the connection and lose the
        last answer (e.g. "message too long") before the client reads it. So: end our side,
        discard what the client still sends (bounded), then close."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
            self.sock.settimeout(DRAIN_S)
            drained = 0
            while drained < DRAIN_LIMIT and (chunk := self.sock.recv(CHUNK * 16)):
                drained += len(chunk)
        except OSError:
            pass
        self.sock.close()


class SocketListener:
    """A Unix socket only this user can connect to (mode 0600)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            self.sock.bind(path)
        finally:
            os.umask(old)
        self.sock.listen(64)

    def accept(self) -> SocketStream:
        conn, _ = self.sock.accept()
        return SocketStream(conn)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in accept()
        self.sock.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)


def connect_socket(path: str, timeout: float) -> SocketStream:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    return SocketStream(sock)


class MessageStream:
    """A ``multiprocessing.connection`` Connection as a line stream (one message, one line)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def read_line(self) -> bytes | None:
        try:
            data = self.conn.recv_bytes(MAX_LINE)
        except EOFError:
            return None
        except OSError as e:
            if "bad message length" in str(e):
                raise ProtocolError(f"message too long: over {MAX_LINE} bytes",
                                    hint="send one small JSON object per message") from None
            raise
        return data.rstrip(b"\n")

    def write(self, line: bytes) -> None:
        self.conn.send_bytes(line)

    def settimeout(self, seconds: float | None) -> None:
        """Pipes have no timeout; an idle client just holds one of the server's threads."""

    def close(self) -> None:
        self.conn.close()


class PipeListener:
    """A named pipe (Windows, ``family="AF_PIPE"``) or, for tests, ``"AF_UNIX"``."""

    def __init__(self, address: str, family: str = "AF_PIPE") -> None:
        self.listener = Listener(address, family=family)  # no authkey: no pickled handshake

    def accept(self) -> MessageStream:
        return MessageStream(self.listener.accept())

    def close(self) -> None:
        self.listener.close()


def connect_pipe(address: str, family: str = "AF_PIPE") -> MessageStream:
    return MessageStream(Client(address, family=family))
