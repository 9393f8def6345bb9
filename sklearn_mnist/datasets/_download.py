"""Checksummed downloads that never leave a half-written file behind."""

import hashlib
import http.client
import logging
import os
import tempfile
import time
import urllib.error
import urllib.request

from tqdm.auto import tqdm

logger = logging.getLogger(__name__)

_CHUNK = 1 << 16


def sha256sum(path):
    """SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch_once(url, dest, sha256, timeout):
    """Download ``url`` to a temporary file beside ``dest``; rename on success."""
    directory = os.path.dirname(dest) or "."
    fd, tmp = tempfile.mkstemp(
        prefix=f".{os.path.basename(dest)}.", suffix=".part", dir=directory
    )
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
            raise OSError(f"truncated download: got {received} of {total} bytes")
        actual = digest.hexdigest()
        if actual != sha256:
            raise OSError(
                f"checksum mismatch: SHA-256 {actual} differs from the expected "
                f"{sha256}; the file may be corrupted"
            )
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def download(urls, dest, sha256, *, n_retries=3, delay=1.0, timeout=30.0):
    """Download the first of ``urls`` that yields a file with the right checksum.

    Each URL is tried ``1 + n_retries`` times. Nothing is written to ``dest``
    unless the complete file passed the SHA-256 check.

    Raises
    ------
    OSError
        If every attempt failed; the message lists the last error per URL.
    """
    errors = []
    for url in urls:
        for attempt in range(n_retries + 1):
            logger.info("Downloading %s (attempt %d)", url, attempt + 1)
            try:
                _fetch_once(url, dest, sha256, timeout)
                return dest
            except urllib.error.HTTPError as exc:
                error = exc
                if 400 <= exc.code < 500:  # not found, forbidden: retrying won't help
                    break
            except (OSError, ValueError, http.client.HTTPException) as exc:
                # URLError, timeouts, resets, incomplete reads, bad checksums
                error = exc
            logger.warning("Download of %s failed: %s", url, error)
            if attempt < n_retries:
                time.sleep(delay)
        errors.append(f"{url}: {error}")
    raise OSError(
        f"Could not download {os.path.basename(dest)} from any mirror:\n  "
        + "\n  ".join(errors)
    )
