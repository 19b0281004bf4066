"""Encryption at rest for everything a teacher types: notes, pseudonyms, follow-ups, conversations.

Why: dossier notes about a possibly abused child are the most sensitive data a school holds. A copied
database file or a careless backup must not reveal them, so text is encrypted before it reaches the
database and there is no plaintext fallback: a missing or wrong key stops the bot loudly.

Keys are Fernet keys (AES-128-CBC + HMAC-SHA256). ``MELDWIJZER_SECRET_KEY`` may hold several,
comma-separated, for rotation: the first encrypts, all of them decrypt (``MultiFernet``). Without that
variable the key lives in a file (``MELDWIJZER_KEY_FILE``, default ``var/secret.key``) that is created
on first run with mode 0600, unless ``MELDWIJZER_REQUIRE_KEY=1`` says a key must already exist
(production: a fresh key would silently make the existing data unreadable).
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.knowledge import REPO_ROOT

DEFAULT_KEY_FILE = REPO_ROOT / "var" / "secret.key"

ENV_KEY = "MELDWIJZER_SECRET_KEY"
ENV_KEY_FILE = "MELDWIJZER_KEY_FILE"
ENV_REQUIRE_KEY = "MELDWIJZER_REQUIRE_KEY"
_TOKEN = re.compile(r"[A-Za-z0-9_-]+={0,2}")  # url-safe base64, as Fernet writes it


class EncryptionKeyError(RuntimeError):
    """The encryption key is missing, malformed, unsafe, or does not match the stored data."""


def key_file_path(environ: Optional[Mapping[str, str]] = None) -> Path:
    """Where the key file lives (``MELDWIJZER_KEY_FILE`` or ``var/secret.key`` in the repo)."""
    env = os.environ if environ is None else environ
    return Path(env.get(ENV_KEY_FILE) or DEFAULT_KEY_FILE)


def create_key_file(path: Path, new_key: Callable[[], bytes]) -> None:
    """Write ``new_key()`` with mode 0600 from the start (``os.open``), so no umask can widen it. Shared
    with the id key file (``bot.store.identities``), which is created and guarded the same way."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        if error.errno == errno.EEXIST:  # another process created it first: use theirs
            return
        raise EncryptionKeyError(f"Cannot create encryption key file {path}: {error}") from error
    with os.fdopen(fd, "wb") as handle:
        handle.write(new_key() + b"\n")


def read_key_file(
    path: Path, require: bool, new_key: Callable[[], bytes] = Fernet.generate_key, setting: str = ENV_KEY
) -> str:
    """Return the key file's content, creating the file with ``new_key()`` first unless a key is required
    (``setting`` is the variable that could hold the key instead, named in the error)."""
    if not path.exists():
        if require:
            raise EncryptionKeyError(
                f"Key file {path} does not exist and {ENV_REQUIRE_KEY}=1 forbids creating "
                f"a new one. Restore the key file or set {setting}."
            )
        create_key_file(path, new_key)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise EncryptionKeyError(f"Key file {path} is accessible by other users (mode {mode:o}); run chmod 600.")
    return path.read_text(encoding="ascii")


def _parse_keys(raw: str, origin: str) -> Tuple[Fernet, ...]:
    """Split a comma- or newline-separated key list into Fernet instances, naming the origin on error."""
    parts = [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]
    if not parts:
        raise EncryptionKeyError(f"No encryption key found in {origin}.")
    try:
        return tuple(Fernet(part) for part in parts)
    except (ValueError, TypeError) as error:
        raise EncryptionKeyError(
            f"Malformed encryption key in {origin}: expected url-safe base64 Fernet keys "
            f"(generate one with `Fernet.generate_key()`)."
        ) from error


@lru_cache(maxsize=8)
def _cipher_for(env_keys: Optional[str], key_file: Path, require: bool) -> MultiFernet:
    """Build (and cache) the cipher for one configuration; the cache key is the configuration itself."""
    if env_keys:
        return MultiFernet(_parse_keys(env_keys, ENV_KEY))
    return MultiFernet(_parse_keys(read_key_file(key_file, require), str(key_file)))


def cipher(environ: Optional[Mapping[str, str]] = None) -> MultiFernet:
    """The cipher for the current environment (re-read when the configuration changes), or for
    ``environ`` (the production runner's start-up check validates a configuration before using it)."""
    env = os.environ if environ is None else environ
    return _cipher_for(
        env.get(ENV_KEY) or None,
        key_file_path(env),
        env.get(ENV_REQUIRE_KEY) == "1",
    )


def encrypt(plaintext: bytes) -> bytes:
    """Encrypt with the first (current) key."""
    return cipher().encrypt(plaintext)


def decrypt(token: bytes) -> bytes:
    """Decrypt with any configured key; a mismatch is an ``EncryptionKeyError``, never garbage or None."""
    try:
        return cipher().decrypt(token)
    except InvalidToken as error:
        raise EncryptionKeyError(
            "Cannot decrypt stored data: the configured encryption key does not match the key the data "
            f"was written with (check {ENV_KEY} / {ENV_KEY_FILE}; after a rotation keep the old key "
            "listed after the new one)."
        ) from error


def seal(claims: Dict[str, Any]) -> str:
    """An opaque, authenticated, timestamped token for ``claims`` (a download link, say).

    Why Fernet and not a JWT: a JWT's claims are readable by anyone who sees the URL (a proxy log);
    this token shows nothing, and its built-in timestamp gives the expiry that ``unseal`` checks.
    """
    return encrypt(json.dumps(claims, separators=(",", ":")).encode("utf-8")).decode("ascii")


def unseal(token: str, max_age_seconds: int) -> Optional[Dict[str, Any]]:
    """The claims of a token from ``seal`` not older than ``max_age_seconds``; None when it is forged,
    damaged, expired or from another key. Unlike stored data, a bad token is the visitor's problem."""
    if not _TOKEN.fullmatch(token) or len(token) % 4:
        return None  # base64 decoding would ignore trailing characters; a token must be exactly ours
    try:
        claims = json.loads(cipher().decrypt(token.encode("ascii"), ttl=max_age_seconds))
    except (InvalidToken, UnicodeEncodeError, ValueError):
        return None
    return claims if isinstance(claims, dict) else None
