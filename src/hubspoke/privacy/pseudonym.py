"""Keyed pseudonyms for young people: ``young_person_id`` from a service's case reference.

``young_person_id = HMAC-SHA256(key, f"{service_id}:{case_ref}")`` truncated to
16 hex characters (the standard library's :mod:`hmac`). The same service and case
reference give the same id in every year, so re-referrals link; without the key
nobody can recompute an id from a case reference (a plain hash could be reversed
by trying every reference).

Case references are normalised before hashing (:func:`normalise_ref`): Unicode
NFKC (full-width letters, non-breaking spaces), format characters such as
zero-width spaces removed, white space trimmed, upper case. An ordinary ASCII
reference such as ``S04-00012`` is unchanged by the first two steps, so its
pseudonym is the same as before they were added.

At national scale (a million case references) :func:`hash_ahead` hashes the
distinct pairs in a child Python process, with the same standard-library HMAC,
while the caller cleans the rows; :func:`pseudonymise` then looks the ids up.

Where the key lives
-------------------
The key is 32 random bytes (hex text) in ``Settings.key_file``: environment
variable ``HUBSPOKE_KEY_FILE``, default ``~/.config/hubspoke/pseudonym.key``. It
is created on first use with :mod:`secrets`, mode ``0600``, in folders created
with mode ``0700``; :func:`key_permission_problem` names a key others can read.
It must never sit in the repository or in ``data/processed``: :func:`load_key`
refuses a key path inside the processed or raw folder or the project checkout.

Which key made the data
-----------------------
:func:`key_fingerprint` is an HMAC of a fixed label under the key: it tells two
keys apart but reveals nothing of the key. ``hubspoke clean`` stores it beside
the processed data and refuses to clean with another key (or to create a new one
when the key file has gone missing), because the ids would silently stop linking
to earlier years; see :func:`check_key_fingerprint`.

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
import stat
import subprocess
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hubspoke.config import Settings
from hubspoke.errors import ConfigError

#: Hex characters kept from the HMAC digest (64 bits).
ID_LENGTH = 16
KEY_BYTES = 32
#: What :func:`key_fingerprint` hashes under the key (never the key itself).
FINGERPRINT_LABEL = b"hubspoke pseudonym key fingerprint v1"
#: Mode of the key file and of the folders created for it.
KEY_FILE_MODE = 0o600
KEY_DIR_MODE = 0o700


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


def _make_private_dirs(folder: Path) -> None:
    """Create ``folder`` and any missing parents with mode 0700 (existing folders are left alone)."""
    missing = []
    for parent in (folder, *folder.parents):
        if parent.exists():
            break
        missing.append(parent)
    for path in reversed(missing):
        try:
            path.mkdir(mode=KEY_DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(path, KEY_DIR_MODE)  # mkdir's mode is filtered by the umask


def create_key(key_file: Path) -> bytes:
    """Write a new random key to ``key_file`` with mode 0600 (never overwrites).

    Folders created on the way get mode 0700.
    """
    key = secrets.token_hex(KEY_BYTES)
    try:
        _make_private_dirs(key_file.parent)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    except FileExistsError:
        return read_key(key_file)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the pseudonymisation key ({exc.strerror})", file=key_file
        ) from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    os.chmod(key_file, KEY_FILE_MODE)
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


def key_path(settings: Settings) -> Path:
    """The key file of ``settings`` (``~`` expanded)."""
    return Path(settings.key_file).expanduser()


def load_key(settings: Settings, *, create: bool = True) -> bytes:
    """The key from ``settings.key_file``, created on first use; refuses unsafe locations.

    With ``create=False`` a missing key file is a :class:`ConfigError` instead.
    """
    key_file = key_path(settings)
    check_key_location(key_file, settings)
    if key_file.exists():
        return read_key(key_file)
    if not create:
        raise ConfigError("the pseudonymisation key file does not exist", file=key_file)
    return create_key(key_file)


def key_permission_problem(key_file: Path) -> str | None:
    """A warning when the key file can be read (or written) by its group or by others, else None."""
    try:
        mode = stat.S_IMODE(Path(key_file).stat().st_mode)
    except OSError:
        return None
    loose = mode & (stat.S_IRWXG | stat.S_IRWXO)
    if not loose:
        return None
    return (
        f"the pseudonymisation key {key_file} is readable or writable by other users "
        f"(mode {mode:04o}); restrict it with `chmod 600 {key_file}`"
    )


def key_fingerprint(key: bytes) -> str:
    """A short fingerprint of the key: HMAC-SHA256 of a fixed label, 16 hex characters.

    The same key always gives the same fingerprint and different keys give
    different ones; the key cannot be recovered from it.
    """
    return hmac.new(key, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:ID_LENGTH]


def check_key_fingerprint(key: bytes, expected: str, *, key_file: Path, folder: Path) -> None:
    """Refuse ``key`` when its fingerprint is not ``expected`` (the key that made ``folder``)."""
    found = key_fingerprint(key)
    if found != expected:
        raise ConfigError(
            f"the pseudonymisation key (fingerprint {found}) is not the key the processed data "
            f"in {folder} were made with (fingerprint {expected}): young people's ids would stop "
            "linking to earlier years. Point HUBSPOKE_KEY_FILE at the original key, or start "
            "afresh on purpose (`hubspoke clean --fresh-key`, or clean_all(..., fresh_key=True))",
            file=key_file,
        )


def normalise_ref(case_ref: object) -> str:
    """A case reference as hashed: NFKC, format characters (e.g. zero-width space) removed, trimmed, upper case."""
    text = str(case_ref)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return text.strip().upper()


def pseudonym(key: bytes, service_id: str, case_ref: str) -> str:
    """One young person's id: HMAC-SHA256 of ``service_id:case_ref``, first 16 hex characters.

    ``case_ref`` is normalised first (:func:`normalise_ref`).
    """
    message = f"{service_id}:{normalise_ref(case_ref)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:ID_LENGTH]


def _pairs(service_id: pd.Series, case_ref: pd.Series) -> pd.Series:
    """``service_id:case_ref`` as hashed, the reference normalised (:func:`normalise_ref`); NA if either is."""
    text = case_ref.astype("string")
    ref = text.str.strip().str.upper()
    # Only references with non-ASCII characters need NFKC and format characters removed.
    odd = ~text.str.isascii().fillna(True).to_numpy(dtype=bool)
    if odd.any():
        ref = ref.copy()
        ref.iloc[odd] = [normalise_ref(v) for v in text.iloc[odd]]
    return service_id.astype("string") + ":" + ref


def pseudonymise(
    key: bytes,
    service_id: pd.Series,
    case_ref: pd.Series,
    *,
    ahead: HashedAhead | None = None,
) -> pd.Series:
    """Vectorised :func:`pseudonym` over two aligned series (hashes each distinct pair once).

    Case references are normalised first (:func:`normalise_ref`), so ``c0012``,
    ``C0012 `` and ``C0012`` with a zero-width space link. A missing case
    reference gives a missing id. ``ahead`` (from :func:`hash_ahead` with the
    same key) holds pairs already hashed; only the others are hashed here.
    """
    pairs = _pairs(service_id, case_ref)
    if ahead is not None:
        found = ahead.lookup(pairs)
        if found is not None:
            return found
    codes, uniques = pd.factorize(pairs, use_na_sentinel=True)
    one = _hmac_hex(key)
    messages = uniques.to_numpy(dtype=object).tolist()
    digests = pd.array([*map(one, messages), None], dtype="string")
    return pd.Series(digests.take(np.where(codes < 0, len(uniques), codes)), index=pairs.index)


def _hmac_hex(key: bytes) -> Callable[[str], str]:
    """``message -> HMAC-SHA256(key, message) hex[:ID_LENGTH]`` with the standard library's :mod:`hmac`.

    The keyed HMAC object is set up once and copied per message (the key's
    padded states are not recomputed each time).
    """
    base = hmac.new(key, digestmod=hashlib.sha256)
    keep = ID_LENGTH // 2

    def one(message: str) -> str:
        h = base.copy()
        h.update(message.encode())
        return h.digest()[:keep].hex()

    return one


# ---------------------------------------------------------------------------
# Hashing ahead, in a child process
# ---------------------------------------------------------------------------

#: Distinct pairs from which :func:`hash_ahead` starts a child process (fewer are hashed
#: in a fraction of a second, less than starting the child costs).
AHEAD_MIN_PAIRS = 50_000

#: The child: reads the key and the messages from stdin (two int64 sizes, the key, the
#: messages' n + 1 int64 offsets, their bytes), writes ID_LENGTH hex characters per
#: message. The standard library's hmac, as :func:`_hmac_hex`; nothing else imported.
_CHILD = f"""
import hashlib, hmac, sys
from array import array
data = sys.stdin.buffer.read()
sizes = array("q", data[:16])
key_size, n = sizes[0], sizes[1]
key = data[16 : 16 + key_size]
offsets = array("q", data[16 + key_size : 24 + key_size + 8 * n])
blob = data[24 + key_size + 8 * n :]
base = hmac.new(key, digestmod=hashlib.sha256)
out = []
for i in range(n):
    h = base.copy()
    h.update(blob[offsets[i] : offsets[i + 1]])
    out.append(h.hexdigest()[:{ID_LENGTH}])
sys.stdout.buffer.write("".join(out).encode("ascii"))
"""


class HashedAhead:
    """Distinct ``service_id:case_ref`` pairs being hashed in a child process (see :func:`hash_ahead`).

    The child uses the standard library's :mod:`hmac` exactly as :func:`pseudonymise`
    does, so the ids are the same bytes; it only moves the work to the other core
    while the caller does something else. Use it as a context manager (or call
    :meth:`close`): a child still running is ended.
    """

    def __init__(self, messages: pa.LargeStringArray, proc: subprocess.Popen[bytes]) -> None:
        self.messages = messages
        self._proc: subprocess.Popen[bytes] | None = proc
        self._digests: pa.LargeStringArray | None = None

    def __enter__(self) -> HashedAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the child if it is still running."""
        if self._proc is not None:
            self._proc.kill()
            self._finish(self._proc)
            self._proc = None

    @staticmethod
    def _finish(proc: subprocess.Popen[bytes]) -> bytes:
        """What the child wrote, once it has ended (its pipes closed)."""
        assert proc.stdout is not None  # opened by hash_ahead
        with proc.stdout:
            out = proc.stdout.read()
        proc.wait()
        return out

    def digests(self) -> pa.LargeStringArray | None:
        """The id of each message, in order (waits for the child); None when the child failed."""
        if self._proc is not None:
            out = self._finish(self._proc)
            ok = self._proc.returncode == 0 and len(out) == ID_LENGTH * len(self.messages)
            self._proc = None
            if ok:
                offsets = np.arange(len(self.messages) + 1, dtype=np.int64) * ID_LENGTH
                self._digests = pa.LargeStringArray.from_buffers(
                    len(self.messages), pa.py_buffer(offsets), pa.py_buffer(out)
                )
        return self._digests

    def lookup(self, pairs: pd.Series) -> pd.Series | None:
        """The ids of ``pairs`` (from :func:`_pairs`; NA stays NA), or None when one was not hashed ahead."""
        digests = self.digests()
        if digests is None:
            return None
        wanted = _large_strings(pairs)
        positions = pc.index_in(wanted, value_set=self.messages)
        if positions.null_count != wanted.null_count:
            return None
        ids = pc.take(digests, positions)
        return pd.Series(pd.arrays.ArrowStringArray(ids), index=pairs.index)


def _large_strings(texts: pd.Series) -> pa.ChunkedArray:
    """A text series as one arrow ``large_string`` chunked array (no copy when it already is one)."""
    data = pa.array(texts.array, type=pa.large_string())
    return data if isinstance(data, pa.ChunkedArray) else pa.chunked_array([data])


def hash_ahead(key: bytes, service_id: pd.Series, case_ref: pd.Series) -> HashedAhead | None:
    """Start hashing the distinct pairs of ``service_id`` and ``case_ref`` in a child process.

    Returns at once (None when there are too few pairs to be worth a child, see
    :data:`AHEAD_MIN_PAIRS`, or the child cannot start); pass the result to
    :func:`pseudonymise` as ``ahead``. The rows may be a superset of those later
    pseudonymised (raw rows, before some are quarantined): a pair not hashed
    ahead makes :func:`pseudonymise` hash everything itself.
    """
    messages = pc.unique(_large_strings(_pairs(service_id, case_ref)).drop_null())
    _, offset_buffer, blob = messages.buffers()
    if len(messages) < AHEAD_MIN_PAIRS or offset_buffer is None or blob is None:
        return None
    start = messages.offset
    offsets = np.frombuffer(offset_buffer, dtype=np.int64)[start : start + len(messages) + 1]
    payload = [
        np.array([len(key), len(messages)], dtype=np.int64).tobytes(),
        key,
        (offsets - offsets[0]).tobytes(),
        memoryview(blob)[offsets[0] : offsets[-1]],
    ]
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None
    ahead = HashedAhead(messages, proc)
    try:
        assert proc.stdin is not None
        for part in payload:
            proc.stdin.write(part)
        proc.stdin.close()
    except OSError:
        ahead.close()
        return None
    return ahead
