"""The lab's state: one JSON document per lab, changed under one lock, persisted atomically.

Layout (families add their own keys under these):
  {"version": 1,
   "organization": {...Exchange org-wide objects: remote_domains, send_connectors, ...},
   "directory": {"domain": ..., "users": {...}, "groups": {...}},
   "hosts": {"EX01": {"role": ..., "receive_connectors": {...}, "registry": {...}, "files": {...},
                      "services": {...}, ...}}}

Use ``with store.read() as data`` for reads and ``with store.write() as data`` for changes; a write
block that raises leaves the state as it was (nothing half-applied) and one that succeeds is on disk
(temp file + fsync + os.replace) before the block returns.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import tempfile
import threading
import typing as t


class Store:
    def __init__(self, initial: dict[str, t.Any], path: str | None = None) -> None:
        self._initial = copy.deepcopy(initial)
        self._lock = threading.RLock()
        self.path = path
        self.generation = 0
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                self._data = json.load(f)
        else:
            self._data = copy.deepcopy(initial)
            self._persist()

    @contextlib.contextmanager
    def read(self) -> t.Iterator[dict[str, t.Any]]:
        with self._lock:
            yield self._data

    @contextlib.contextmanager
    def write(self) -> t.Iterator[dict[str, t.Any]]:
        with self._lock:
            working = copy.deepcopy(self._data)
            yield working
            self._data = working
            self.generation += 1
            self._persist()

    def snapshot(self) -> dict[str, t.Any]:
        with self._lock:
            return copy.deepcopy(self._data)

    def reset(self) -> None:
        with self._lock:
            self._data = copy.deepcopy(self._initial)
            self.generation += 1
            self._persist()

    def _persist(self) -> None:
        if not self.path:
            return
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".state-", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self._data, f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
