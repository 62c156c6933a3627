"""Keyed pseudonyms for young people: ``young_person_id`` from a service's case reference.

``young_person_id = HMAC-SHA256(key, f"{service_id}:{case_ref}")`` truncated to
16 hex characters. The same service and case reference give the same id in
every year, so re-referrals link; without the key nobody can recompute an id
from a case reference (a plain hash could be reversed by trying every
reference).

Where the key lives
-------------------
The key is 32 random bytes (hex text) in ``Settings.key_file``: environment
variable ``HUBSPOKE_KEY_FILE``, default ``~/.config/hubspoke/pseudonym.key``. It
is created on first use with :mod:`secrets`, mode ``0600``. It must never sit in
the repository or in ``data/processed``: :func:`load_key` refuses a key path
inside the processed or raw folder or the project checkout.

Sharing the key in a team
-------------------------
Everyone who cleans data that must link with other people's output needs the
*same* key; a different key gives different ids. One person (the data
custodian) runs ``hubspoke clean`` once to create it, then shares the key file
through the team's approved secure channel (an encrypted password manager
entry or the secure file store holding the raw data), never by e-mail, chat or
git. Each member saves it to their own key path with mode ``0600`` (``chmod 600``),
or points ``HUBSPOKE_KEY_FILE`` at it. Losing the key means ids cannot be
reproduced; rotating it means re-cleaning everything. Destroying the key at the
end of the project makes the processed data effectively anonymous with respect
to case references.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from hubspoke.config import Settings
from hubspoke.errors import ConfigError

#: Hex characters kept from the HMAC digest (64 bits).
ID_LENGTH = 16
KEY_BYTES = 32


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def check_key_location(key_file: Path, settings: Settings) -> None:
    """Refuse a key path inside the processed folder, the raw folder or the project checkout."""
    folders = [
        ("processed data folder", settings.processed_dir),
        ("raw data folder", settings.raw_dir),
    ]
    if any((Path(settings.root) / marker).exists() for marker in (".git", "pyproject.toml")):
        folders.append(("project checkout", settings.root))
    for label, folder in folders:
        if _inside(key_file, folder):
            raise ConfigError(
                f"the pseudonymisation key must not live inside the {label} ({folder}); "
                "set HUBSPOKE_KEY_FILE to a path outside it",
                file=key_file,
            )


def create_key(key_file: Path) -> bytes:
    """Write a new random key to ``key_file`` with mode 0600 (never overwrites)."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(KEY_BYTES)
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_key(key_file)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the pseudonymisation key ({exc.strerror})", file=key_file
        ) from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    os.chmod(key_file, 0o600)
    return key.encode("ascii")


def read_key(key_file: Path) -> bytes:
    """Read an existing key; refuse an empty or unreadable one."""
    try:
        text = key_file.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the pseudonymisation key ({exc})", file=key_file) from None
    if len(text) < 32:
        raise ConfigError(
            "the pseudonymisation key file is too short (expected 64 hex characters)", file=key_file
        )
    return text.encode("ascii")


def load_key(settings: Settings) -> bytes:
    """The key from ``settings.key_file``, created on first use; refuses unsafe locations."""
    key_file = Path(settings.key_file).expanduser()
    check_key_location(key_file, settings)
    if key_file.exists():
        return read_key(key_file)
    return create_key(key_file)


def pseudonym(key: bytes, service_id: str, case_ref: str) -> str:
    """One young person's id: HMAC-SHA256 of ``service_id:case_ref``, first 16 hex characters."""
    message = f"{service_id}:{str(case_ref).strip().upper()}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:ID_LENGTH]


def pseudonymise(key: bytes, service_id: pd.Series, case_ref: pd.Series) -> pd.Series:
    """Vectorised :func:`pseudonym` over two aligned series (hashes each distinct pair once).

    Case references are trimmed and folded to upper case first, so ``c0012`` and
    ``C0012 `` link. A missing case reference gives a missing id.
    """
    ref = case_ref.astype("string").str.strip().str.upper()
    pairs = service_id.astype("string") + ":" + ref
    codes, uniques = pd.factorize(pairs, use_na_sentinel=True)
    one = _hmac_hex(key)
    messages = uniques.to_numpy(dtype=object).tolist()
    digests = pd.array([*map(one, messages), None], dtype="string")
    return pd.Series(digests.take(np.where(codes < 0, len(uniques), codes)), index=pairs.index)


_BLOCK = 64  # SHA-256 block size in bytes


def _hmac_hex(key: bytes) -> Callable[[str], str]:
    """A fast ``message -> HMAC-SHA256(key, message) hex[:ID_LENGTH]`` (RFC 2104, same digests).

    The key's inner and outer padded states are hashed once; each message then
    costs two copies and two updates instead of a full HMAC set-up.
    """
    block = hashlib.sha256(key).digest() if len(key) > _BLOCK else key
    block = block.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def one(message: str) -> str:
        i = inner.copy()
        i.update(message.encode())
        o = outer.copy()
        o.update(i.digest())
        return o.hexdigest()[:ID_LENGTH]

    return one
