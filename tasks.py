#!/usr/bin/env python3
"""The two set-up commands of the README, with nothing but Python 3.11 and pip.

    python3 tasks.py demo    # create .venv if missing, install, run `skillmatch demo`
    python3 tasks.py test    # create .venv if missing, install, run the whole test suite

The environment is reinstalled only when pyproject.toml or constraints.txt changed since the
last install (a stamp file in .venv records their hash).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".skillmatch-installed"
PYTEST_NO_TESTS = 5
TEST_WORKERS = 2
"""pytest-xdist processes for the suite (the machines it runs on have 2 cores); `-n N` on the command line overrides."""


def _inputs_hash() -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def _run(*args: str | Path) -> int:
    return subprocess.call([str(a) for a in args], cwd=ROOT)


def ensure_environment() -> None:
    """Create .venv and install the package (editable, with its test tools) pinned by constraints.txt, once."""
    if sys.version_info < (3, 11):
        sys.exit(f"skillmatch needs Python >= 3.11; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"creating the environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    wanted = _inputs_hash()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    print(f"installing skillmatch and its pinned dependencies into {VENV}", flush=True)
    code = _run(PYTHON, "-m", "pip", "install", "--disable-pip-version-check", "-q",
                "-c", ROOT / "constraints.txt", "-e", ".[test]")
    if code != 0:
        sys.exit(f"installing the environment failed (pip exit {code})")
    STAMP.write_text(wanted)


def demo(args: list[str]) -> int:
    ensure_environment()
    return _run(BIN / "skillmatch", "demo", *args)


def test(args: list[str]) -> int:
    ensure_environment()
    chose_workers = any(a.startswith(("-n", "--numprocesses", "--dist")) or a == "no:xdist" for a in args)
    code = _run(PYTHON, "-m", "pytest", *([] if chose_workers else ["-n", str(TEST_WORKERS)]), *args)
    if code == PYTEST_NO_TESTS:
        print("pytest collected no tests: that is a failure, not a pass", file=sys.stderr)
        return 1
    return code


def main() -> int:
    commands = {"demo": demo, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    raise SystemExit(main())
