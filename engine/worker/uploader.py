"""Uploading a job's checkpoints while it trains, so that after training only the result
manifest is left to PUT.

The runner reports each checkpoint it wrote (``checkpoint`` events: index, step, leaf, path);
:class:`CheckpointUploader` puts each file in the blob store on its own thread while training
goes on, and remembers what it uploaded together with the file's identity (inode, size,
modification and change times), taken before and after the upload.
:meth:`CheckpointUploader.finish` waits for the queue and returns only the uploads that still
describe the folder: the same leaf as the job's manifest
and a file not touched since. A checkpoint rewritten afterwards (a resumed job, a cheating
worker's tampering) or whose upload failed is simply not returned, and the worker uploads it
again itself (:mod:`engine.worker.upload`). (A rewrite within the file system's timestamp
granularity, a few milliseconds, of the upload's first read would go unseen; the runner
writes each checkpoint once and the worker only reads the folder after the runner exits.)
Nothing here is journaled: uploads are content-addressed, so after a crash the worker uploads
every checkpoint again (the store
already holds them).
"""

from __future__ import annotations

import os
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import IdlegridError

if TYPE_CHECKING:
    from engine.storage import BlobStore


@dataclass(frozen=True)
class Uploaded:
    """One checkpoint file in the blob store: its leaf, blob sha256, and the file's identity then."""

    index: int
    leaf: str
    path: Path
    blob: str
    identity: tuple[int, int, int, int]


def _identity(path: Path) -> tuple[int, int, int, int] | None:
    """What changes when a file is rewritten: inode, size, modification and change times."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


class CheckpointUploader:
    """A queue of checkpoint files and one thread that puts them in ``store``, in order."""

    def __init__(self, store: BlobStore, *, name: str = "checkpoint-uploader") -> None:
        self.store = store
        self._queue: queue.Queue[tuple[int, str, Path] | None] = queue.Queue()
        self._done: dict[int, Uploaded] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, index: int, leaf: str, path: Path) -> None:
        """Upload ``path`` (checkpoint ``index``, leaf hash ``leaf``) soon; returns at once."""
        if self._thread.is_alive():
            self._queue.put((index, leaf, Path(path)))

    def finish(self, leaves: list[str]) -> dict[int, Uploaded]:
        """Wait for the queue, stop the thread, and return the uploads still valid for the job's
        ``leaves``: the same leaf at the same index, its file unchanged since it was read."""
        self.close()
        with self._lock:
            done = dict(self._done)
        return {index: up for index, up in done.items()
                if index < len(leaves) and leaves[index] == up.leaf and _identity(up.path) == up.identity}

    def close(self, *, wait: bool = True) -> None:
        """Stop the thread once what was submitted is uploaded (idempotent); ``wait=False``
        returns at once (the worker is stopping: what is left is redone after a restart)."""
        if self._thread.is_alive():
            self._queue.put(None)
            if wait:
                self._thread.join()

    def _loop(self) -> None:
        while (item := self._queue.get()) is not None:
            index, leaf, path = item
            before = _identity(path)
            try:
                blob = self.store.put_file(path)
            except (IdlegridError, OSError):
                continue  # not recorded: the worker uploads it again after training, and reports why
            if before is None or _identity(path) != before:
                continue  # rewritten while it was read: what was uploaded may be neither version
            with self._lock:
                self._done[index] = Uploaded(index, leaf, path, blob, before)
