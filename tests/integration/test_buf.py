"""`make buf-lint` and `make breaking` in a scratch clone: renaming a JSON name fails the build.

The json_names are the REST contract, so these run the real Makefile targets (with the project's
venv) in a throwaway git repository whose main holds today's proto.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from support import ROOT

PROTO = Path("proto/dnc/v1/dnc.proto")


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # An outer make (CI's `make test`) exports its flags; the scratch make must not inherit them.
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "BUF_AGAINST")
    }
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _git(repo: Path, *args: str) -> None:
    done = _run(repo, "git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args)
    assert done.returncode == 0, done.stderr


def _make(repo: Path, target: str) -> subprocess.CompletedProcess[str]:
    # -o: the venv is the project's own (linked), never reinstalled from the copied pyproject.
    return _run(repo, "make", "--no-print-directory", "-o", ".venv/.installed", target)


def _edit(repo: Path, old: str, new: str) -> None:
    path = repo / PROTO
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose main branch holds today's Makefile, buf.yaml and proto/."""
    for name in ("Makefile", "buf.yaml", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "proto", tmp_path / "proto")
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    fetched = ROOT / ".cache" / "protovalidate"
    if fetched.is_dir():  # else the targets fetch validate.proto themselves (a few seconds)
        shutil.copytree(fetched, tmp_path / ".cache" / "protovalidate")
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", "Makefile", "buf.yaml", "pyproject.toml", "proto")
    _git(tmp_path, "commit", "-q", "-m", "baseline")
    return tmp_path


def test_buf_lint_passes_and_rejects_an_undocumented_field(repo: Path) -> None:
    passed = _make(repo, "buf-lint")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    _edit(repo, "  // The page returned, starting at 1.\n", "")
    failed = _make(repo, "buf-lint")
    assert failed.returncode != 0
    assert 'Field "page" should have a non-empty comment' in failed.stdout


def test_unchanged_proto_is_compatible_with_main(repo: Path) -> None:
    done = _make(repo, "breaking")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "proto/ is compatible with main" in done.stdout


def test_renaming_a_json_name_fails(repo: Path) -> None:
    _edit(repo, 'json_name = "_id"', 'json_name = "id"')
    done = _make(repo, "breaking")
    assert done.returncode != 0
    assert 'changed option "json_name" from "_id" to "id"' in done.stdout
    assert "proto/ is incompatible with main" in done.stdout


def test_dropping_a_json_name_fails(repo: Path) -> None:
    # Without json_name the JSON name falls back to requestUuid: a silent rename for REST clients.
    _edit(repo, ' [json_name = "requestUUID"]', "")
    done = _make(repo, "breaking")
    assert done.returncode != 0
    assert 'from "requestUUID" to "requestUuid"' in done.stdout


def test_main_is_also_compared_with_the_last_release(repo: Path) -> None:
    # On main itself main-vs-main passes; a release tag still catches a break merged since.
    _git(repo, "tag", "v1.0.0")
    _edit(repo, 'json_name = "_id"', 'json_name = "id"')
    _git(repo, "commit", "-q", "-am", "rename _id")
    done = _make(repo, "breaking")
    assert done.returncode != 0
    assert "proto/ is compatible with main" in done.stdout
    assert "proto/ is incompatible with v1.0.0" in done.stdout
