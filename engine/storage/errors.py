"""The errors of the blob store: every file, socket or HTTP failure leaves ``engine.storage`` as one of these.

Each names what went wrong and where (the blob's URL or file), and says how to fix it, so the
CLI prints it as is and the app shows it in a dialog.
"""

from __future__ import annotations

from engine.errors import IdlegridError

START_HINT = (
    "start a blob server with `idlegrid blobs serve` (or the whole local network with "
    "`idlegrid devnet`), or point network.blob_url in the settings at a running one"
)


class StorageError(IdlegridError):
    """Something went wrong storing or fetching a blob."""


class InvalidBlobAddress(StorageError):
    """A blob address that is not a sha256 in 64 lowercase hex digits."""

    exit_code = 2

    def __init__(self, value: object) -> None:
        self.value = value
        super().__init__(
            f"{value!r} is not a blob address",
            hint="a blob address is the sha256 of its bytes: 64 lowercase hex digits",
        )


class BlobNotFound(StorageError):
    """The store has no blob with this address; ``where`` is its URL or file."""

    def __init__(self, sha256: str, where: str) -> None:
        self.sha256 = sha256
        self.where = where
        super().__init__(
            f"blob {sha256} not found at {where}",
            hint="upload it first (`idlegrid blobs put FILE`), or check which blob store it was put to",
        )


class BlobCorrupt(StorageError):
    """The bytes a store gave do not hash to the address asked for."""

    def __init__(self, sha256: str, where: str, got: str, attempts: int = 1) -> None:
        self.sha256 = sha256
        self.where = where
        self.got = got
        self.attempts = attempts
        tries = "" if attempts == 1 else f" (after {attempts} attempts)"
        super().__init__(
            f"blob {sha256} from {where} is corrupt: its bytes hash to {got}{tries}",
            hint="the store's copy is damaged: remove it from the store's folder, then upload the "
            "original again (`idlegrid blobs put FILE`)",
        )


class BlobTooLarge(StorageError):
    """A blob is larger than the limit of whoever receives it."""

    def __init__(self, where: str, size: int, limit: int, *, limit_of: str = "the limit") -> None:
        self.where = where
        self.size = size
        self.limit = limit
        super().__init__(
            f"blob at {where} is too large: {size:,} bytes, above {limit_of} of {limit:,} bytes",
            hint="raise the limit (`idlegrid blobs serve --max-size`, or the caller's max_size) "
            "if the blob is expected to be this large",
        )


class StorageUnavailable(StorageError):
    """The blob server did not answer properly, even after retrying with back-off."""

    def __init__(self, url: str, attempts: int, cause: str) -> None:
        self.url = url
        self.attempts = attempts
        self.cause = cause
        times = "1 attempt" if attempts == 1 else f"{attempts} attempts"
        super().__init__(f"the blob store at {url} is unavailable after {times} ({cause})", hint=START_HINT)


class BlobRefused(StorageError):
    """The blob server answered a request with an error that retrying cannot fix."""

    def __init__(self, url: str, status: int, reason: str) -> None:
        self.url = url
        self.status = status
        self.reason = reason
        super().__init__(f"the blob store refused {url}: HTTP {status}: {reason}")


class StorageRootError(StorageError):
    """A local store's folder cannot be used (a file, unwritable, cannot be created)."""

    exit_code = 2


class StorageLocationError(StorageError):
    """A store location that is neither an http(s) URL nor a local path."""

    exit_code = 2

    def __init__(self, location: str, problem: str) -> None:
        self.location = location
        super().__init__(
            f"blob store location {location!r} {problem}",
            hint="use an http:// or https:// URL of a blob server, or a local folder (path or file:// URL)",
        )


class BlobFileError(StorageError):
    """A local file named by the caller cannot be read or written (the source of a put, the target of a get)."""

    exit_code = 2
