"""Incremental cursors, one per source and scope, saved only after the batch they cover has landed.

A crash between landing and saving re-reads that batch on the next run; landing and staging make the
repeat harmless, so the order (land, then save) is what gives no gaps and no duplicates.
"""

from __future__ import annotations

import json
import os
from pathlib import Path


class SyncState:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._cursors: dict[str, str] = {}
        if self.path.exists():
            self._cursors = json.loads(self.path.read_text())

    def get(self, key: str) -> str | None:
        return self._cursors.get(key)

    def save(self, key: str, value: str) -> None:
        """Record a cursor and write the whole state atomically."""
        self._cursors[key] = value
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temp.write_text(json.dumps(self._cursors, indent=2, sort_keys=True))
        os.replace(temp, self.path)

    def as_dict(self) -> dict[str, str]:
        return dict(self._cursors)
