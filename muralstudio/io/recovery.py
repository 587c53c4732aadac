"""Autosave and crash recovery, without Qt.

Each running session owns a :class:`RecoverySlot`: a ``<id>.lock`` file naming its process,
and ``<id>.mural``, a project bundle rewritten on every autosave. A clean shutdown removes
both. After a crash the bundle stays and its lock names a process that no longer runs (or the
lock is gone); :func:`find_recoverable` lists such bundles, :func:`load_project` opens one and
:func:`discard` deletes it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from muralstudio.core.document import Mural
from muralstudio.core.errors import MuralStudioError, ProjectError
from muralstudio.io.atomic import atomic_write_bytes
from muralstudio.io.project import EXTENSION, read_project_json, save_project

__all__ = ["RecoveryEntry", "RecoverySlot", "discard", "find_recoverable", "recovery_dir"]

LOCK_SUFFIX = ".lock"


def recovery_dir() -> Path:
    """Where autosaves live: ``$XDG_DATA_HOME/muralstudio/recovery`` (default
    ``~/.local/share/...``; ``%LOCALAPPDATA%\\MuralStudio\\recovery`` on Windows), created now."""
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        folder = Path(os.environ["LOCALAPPDATA"]) / "MuralStudio" / "recovery"
    else:
        base = os.environ.get("XDG_DATA_HOME") or ""
        root = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "share"
        folder = root / "muralstudio" / "recovery"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _process_start(pid: int) -> int | None:
    """The kernel's start time of a process (Linux), to tell a reused pid from ours."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            text = fh.read().decode("ascii", "replace")
        return int(text.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _pid_running(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":  # os.kill would terminate the process on Windows
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return kernel32.GetLastError() == 5  # access denied: it exists
        try:
            code = ctypes.c_ulong()
            ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return bool(ok) and code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    except OSError:
        return False
    return True


def _session_alive(lock: Path) -> bool:
    """Whether the session that wrote ``lock`` still runs (False when the lock is unreadable)."""
    try:
        data = json.loads(lock.read_text("utf-8"))
        pid = int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    host = data.get("host")
    if host and host != socket.gethostname():
        return True  # another machine's session (shared home): we cannot tell, leave it be
    if not _pid_running(pid):
        return False
    started = data.get("process_start")
    if started is not None and (now := _process_start(pid)) is not None and now != started:
        return False  # the pid was reused by another process
    return True


class RecoverySlot:
    """The autosave place of one running session (call :meth:`close` on a clean exit)."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else recovery_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.session_id = uuid.uuid4().hex
        self.started = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        self.path = self.directory / f"{self.session_id}{EXTENSION}"
        self.lock_path = self.directory / f"{self.session_id}{LOCK_SUFFIX}"
        self._lock = threading.Lock()
        self._closed = False
        info = {
            "pid": os.getpid(),
            "started": self.started,
            "process_start": _process_start(os.getpid()),
            "host": socket.gethostname(),
        }
        atomic_write_bytes(self.lock_path, json.dumps(info).encode("utf-8"))

    def autosave(
        self,
        doc: Mural,
        source: str | os.PathLike[str] | None,
        *,
        project: str | os.PathLike[str] | None = None,
        extras: dict[str, Any] | None = None,
    ) -> Path:
        """Save ``doc`` to this session's bundle, atomically; returns its path.

        ``source`` is the scan file behind the document; None embeds the original (a document
        not backed by a file), and so does a source that was moved or changed meanwhile.
        ``project`` is the .mural file the user works on, if any, so a recovery can name it. Raises what :func:`save_project` raises.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("autosave after close()")
            recovery = {
                "session": self.session_id,
                "started": self.started,
                "project": str(Path(project).absolute()) if project is not None else None,
            }
            options = {"extras": extras, "created": self.started, "recovery": recovery}
            if source is not None:
                try:
                    save_project(self.path, doc, source=source, **options)
                    return self.path
                except ProjectError:
                    pass  # the scan was moved or changed meanwhile: keep the pixels safe instead
            save_project(self.path, doc, embed_original=True, source=source, **options)
            return self.path

    def close(self) -> None:
        """Clean shutdown: remove this session's autosave and lock."""
        with self._lock:
            self._closed = True
            for path in (self.path, self.lock_path):
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass


@dataclass(frozen=True)
class RecoveryEntry:
    """An autosave left by a session that ended without closing (a crash)."""

    path: Path  # the .mural bundle; open it with load_project
    modified: datetime  # when it was last autosaved (UTC)
    source_name: str | None  # file name of the original scan, when known
    description: str  # one line for a list in a dialog
    project: Path | None = None  # the project file the session was working on, if any
    readable: bool = True  # False when the bundle is damaged (it can only be discarded)

    @property
    def lock_path(self) -> Path:
        return self.path.with_suffix(LOCK_SUFFIX)


def _describe(path: Path) -> RecoveryEntry:
    st_time = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    try:
        data = read_project_json(path)
    except (MuralStudioError, OSError) as exc:
        return RecoveryEntry(path, st_time, None, f"An autosave that cannot be opened: {exc}",
                             readable=False)
    original = data.get("original") or {}
    source = original.get("name") or None
    rec = data.get("recovery") or {}
    project = Path(rec["project"]) if rec.get("project") else None
    try:
        modified = datetime.fromisoformat(str(data.get("modified")))
        if modified.tzinfo is None:
            modified = modified.replace(tzinfo=timezone.utc)
    except ValueError:
        modified = st_time
    what = project.name if project is not None else (source or "an untitled scan")
    layers = sum(1 for layer in data.get("layers", []) if layer.get("entry"))
    n = len(data.get("candidates", []))
    parts = [f"{layers} marked layer{'s' if layers != 1 else ''}",
             f"{n} candidate{'s' if n != 1 else ''}"]
    when = modified.astimezone().strftime("%Y-%m-%d %H:%M")
    size = f"{original.get('width')} × {original.get('height')}"
    text = f"{what} ({size}): {', '.join(parts)}; autosaved {when}"
    return RecoveryEntry(path, modified, source, text, project)


def find_recoverable(directory: str | os.PathLike[str] | None = None) -> list[RecoveryEntry]:
    """Autosaves whose session is gone (its process no longer runs, or its lock is missing),
    newest first. Stale locks without an autosave are removed on the way."""
    folder = Path(directory) if directory is not None else recovery_dir()
    if not folder.is_dir():
        return []
    entries = []
    for path in folder.glob(f"*{EXTENSION}"):
        if path.name.startswith(".") or not path.is_file():
            continue  # a save's temporary file
        lock = path.with_suffix(LOCK_SUFFIX)
        if lock.exists() and _session_alive(lock):
            continue
        try:
            entries.append(_describe(path))
        except OSError:
            continue  # vanished meanwhile
    for lock in folder.glob(f"*{LOCK_SUFFIX}"):
        if not lock.with_suffix(EXTENSION).exists() and not _session_alive(lock):
            try:
                lock.unlink()
            except OSError:
                pass
    entries.sort(key=lambda e: e.modified, reverse=True)
    return entries


def discard(entry: RecoveryEntry | str | os.PathLike[str]) -> None:
    """Delete a recoverable autosave and its lock."""
    path = entry.path if isinstance(entry, RecoveryEntry) else Path(entry)
    for p in (path, path.with_suffix(LOCK_SUFFIX)):
        try:
            p.unlink()
        except FileNotFoundError:
            pass
