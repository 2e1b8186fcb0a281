"""Description of one officially hosted file, shared by loaders (error messages) and fetch."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RemoteFile:
    path: str  # where it goes, relative to the data dir
    url: str  # official location
    md5: str = ""
    sha256: str = ""

    @property
    def filename(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def checksum_text(self) -> str:
        return f"sha256 {self.sha256}" if self.sha256 else f"md5 {self.md5}"
