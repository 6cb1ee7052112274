"""`make install` installs exactly uv.lock, and refuses a pyproject.toml the lock does not match."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from support import ROOT

UV = ROOT / ".cache" / "uv"


def lock_check(folder: Path) -> subprocess.CompletedProcess[str]:
    # -o: the folder borrows this checkout's uv, which make must not rebuild there.
    return subprocess.run(
        ["make", "--no-print-directory", "-o", ".cache/uv/bin/uv", "lock-check"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_dependency_added_without_the_lock_stops_the_install(tmp_path: Path) -> None:
    for name in ("Makefile", "pyproject.toml", "uv.lock", "uv-bootstrap.txt", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "uv").symlink_to(UV)

    matching = lock_check(tmp_path)
    assert matching.returncode == 0, matching.stdout + matching.stderr

    pyproject = tmp_path / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(
        text.replace('    "orjson>=3.10,<4",\n', '    "orjson>=3.10,<4",\n    "six",\n')
    )
    assert pyproject.read_text() != text
    drifted = lock_check(tmp_path)
    assert drifted.returncode != 0
    assert "uv.lock does not match pyproject.toml: run 'make lock'" in drifted.stdout


def test_the_lock_pins_every_package_with_hashes() -> None:
    lock = (ROOT / "uv.lock").read_text()
    packages = lock.count("\n[[package]]\n")
    assert packages > 50
    # Every package but this project itself (an editable source) carries its files' hashes.
    assert lock.count('\nsource = { registry = "https://pypi.org/simple" }') == packages - 1
    assert 'sdist = { url = "' in lock
    assert 'hash = "sha256:' in lock
    bootstrap = (ROOT / "uv-bootstrap.txt").read_text()
    assert "uv==" in bootstrap
    assert "--hash=sha256:" in bootstrap
