"""Checksummed downloads that never leave a half-written file behind."""

import hashlib
import http.client
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request

from tqdm.auto import tqdm

from ..utils import open_temp_beside

logger = logging.getLogger(__name__)

_CHUNK = 1 << 16


def sha256sum(path):
    """SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _BadDownload(OSError):
    """The server answered, but not with the file: truncated or corrupted."""


def _is_transient(error, url):
    """Whether trying ``url`` again after ``error`` may succeed.

    Timeouts, reset connections, server errors (5xx, 408, 429) and truncated or
    corrupted bodies may go away; an unknown host, a refused connection, a
    missing page, a bad certificate or a local ``file:`` URL will not.
    """
    if urllib.parse.urlsplit(url).scheme == "file":
        return False  # a local file reads the same every time
    if isinstance(error, urllib.error.HTTPError):
        return error.code >= 500 or error.code in (408, 429)
    if isinstance(error, urllib.error.URLError):
        error = error.reason  # what went wrong while connecting
    return isinstance(
        error,
        (
            TimeoutError,
            ConnectionResetError,  # includes http.client.RemoteDisconnected
            ConnectionAbortedError,
            BrokenPipeError,
            http.client.IncompleteRead,
            _BadDownload,
        ),
    )


def _fetch_once(url, dest, sha256, timeout):
    """Download ``url`` to a temporary file beside ``dest``; rename on success."""
    tmp, fd = open_temp_beside(dest, suffix=".part")
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                total = response.headers.get("Content-Length")
                total = int(total) if total and total.isdigit() else None
                received = 0
                with tqdm(
                    total=total,
                    unit="B",
                    unit_scale=True,
                    desc=os.path.basename(dest),
                    disable=None,
                    leave=False,
                ) as bar:
                    while chunk := response.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
        if total is not None and received != total:
            raise _BadDownload(f"truncated download: got {received} of {total} bytes")
        actual = digest.hexdigest()
        if actual != sha256:
            raise _BadDownload(
                f"checksum mismatch: SHA-256 {actual} differs from the expected "
                f"{sha256}; the file may be corrupted"
            )
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def download(urls, dest, sha256, *, n_retries=3, delay=1.0, timeout=30.0, hint=None):
    """Download the first of ``urls`` that yields a file with the right checksum.

    Each URL is tried once, and up to ``n_retries`` more times after an error
    that may be transient: a timeout, a reset connection, a server error (5xx,
    408, 429), a truncated body or a checksum mismatch. Other errors (unknown
    host, connection refused, 404, any error on a ``file:`` URL) move on to the
    next URL at once. Nothing is written to ``dest`` unless the complete file
    passed the SHA-256 check; it then has the permissions the umask allows.

    Parameters
    ----------
    urls : list of str
        Where to download from, in order: ``http(s)``, ``ftp`` or ``file`` URLs.
    dest : str
        Destination path; its folder must exist.
    sha256 : str
        Expected SHA-256 hex digest of the file.
    n_retries : int, default=3
        Extra attempts per URL after a transient error.
    delay : float, default=1.0
        Seconds between attempts on the same URL.
    timeout : float, default=30.0
        Seconds to wait for the server before an attempt counts as failed.
    hint : str, default=None
        Appended to the error message when every URL failed.

    Returns
    -------
    dest : str
        The destination path.

    Raises
    ------
    OSError
        If every URL failed; the message lists the last error per URL, then
        ``hint``.
    """
    errors = []
    for url in urls:
        for attempt in range(n_retries + 1):
            logger.info("Downloading %s (attempt %d)", url, attempt + 1)
            try:
                _fetch_once(url, dest, sha256, timeout)
                return dest
            except (OSError, ValueError, http.client.HTTPException) as exc:
                error = exc
            if attempt == n_retries or not _is_transient(error, url):
                logger.warning("Download of %s failed: %s", url, error)
                break
            logger.warning(
                "Download of %s failed: %s; retrying in %g s", url, error, delay
            )
            time.sleep(delay)
        errors.append(f"{url}: {error}")
    message = (
        f"Could not download {os.path.basename(dest)} from any mirror:\n  "
        + "\n  ".join(errors)
    )
    raise OSError(f"{message}\n{hint}" if hint else message)
