"""The scrubber compiled to C extensions with mypyc, beside its pure-Python source.

The package `privacy/` stays the one source of the scrubber. `python -m proeftuin.native build` compiles
a copy of all its modules, as one mypyc group, into the package `proeftuin._privacy_native` (the same
code, about 1.3x faster on this machine; calls between its modules stay native calls) and writes the
hash of the sources it was built from beside it. `privacy/__init__.py` uses the compiled classes only
when that hash is the hash of the sources it runs: an edited, added or removed module is never shadowed
by a stale build; the scrubber runs as pure Python until the next build (`make install` builds again).

Without a C compiler, Python headers or mypy the build says so and everything runs as pure Python,
with the same findings, more slowly. `PROEFTUIN_PRIVACY_PURE=1` forces the pure-Python scrubber.

Run: python -m proeftuin.native [build|status]
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_DIR = PACKAGE_DIR / "privacy"
SOURCE = SOURCE_DIR / "__init__.py"  # the package's entry module (`Scrubber`); `sources()` are all of them
MODULE = "_privacy_native"
STAMP = PACKAGE_DIR / f"{MODULE}.sha256"
# setup.py for the build: all modules in one group, so that its shared library is
# proeftuin/_privacy_native__mypyc*.so (mypyc names a group of several modules by a hash otherwise).
_SETUP = """\
import sys
from setuptools import setup
from mypyc.build import mypycify

setup(name="proeftuin-privacy-native", script_args=["build_ext", "--inplace"],
      ext_modules=mypycify(["--ignore-missing-imports", *sys.argv[1:]], group_name="proeftuin.{module}"))
"""


def sources() -> list[Path]:
    """Every module of the privacy package: all of them are compiled, so the stamp covers all."""
    return sorted(SOURCE_DIR.glob("*.py"))


def source_hash(source: Path | Iterable[Path] | None = None) -> str:
    """One hash over the names and contents of the given files (by default `sources()`)."""
    paths = [source] if isinstance(source, Path) else sorted(sources() if source is None else source)
    digest = hashlib.sha256()
    for path in paths:
        content = path.read_bytes()
        digest.update(f"{path.name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def compiled_scrubber(source: Path | Iterable[Path] | None = None, stamp: Path = STAMP) -> ModuleType | None:
    """The compiled scrubber package, or None: not built, built from another version of the sources,
    not loadable here, or switched off with PROEFTUIN_PRIVACY_PURE=1."""
    if os.environ.get("PROEFTUIN_PRIVACY_PURE", "").strip() not in ("", "0"):
        return None
    try:
        if stamp.read_text(encoding="ascii").strip() != source_hash(source):
            return None  # built from another version of privacy/: the sources win
        return importlib.import_module(f"proeftuin.{MODULE}")
    except (OSError, ImportError, UnicodeDecodeError):
        return None


def _missing_tools() -> str | None:
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        return "geen C-compiler (installeer 'gcc', op Debian: apt-get install gcc)"
    include = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not include.exists():
        return f"geen Python-headers ({include}; op Debian: apt-get install python3-dev)"
    if importlib.util.find_spec("mypyc") is None:
        return "mypy/mypyc ontbreekt (pip install mypy)"
    if importlib.util.find_spec("setuptools") is None:
        return "setuptools ontbreekt (pip install setuptools)"
    return None


def _remove_build() -> None:
    STAMP.unlink(missing_ok=True)  # no stamp while the files change
    for old in [*PACKAGE_DIR.glob(f"{MODULE}*.so"), *PACKAGE_DIR.glob(f"{MODULE}*.pyd")]:
        old.unlink()  # the shared library, and a single-module build from before privacy/ was a package
    shutil.rmtree(PACKAGE_DIR / MODULE, ignore_errors=True)


def build(quiet: bool = False) -> bool:
    """Compile the privacy package into proeftuin/_privacy_native/ (one extension per module, and
    mypyc's shared library proeftuin/_privacy_native__mypyc*.so beside it) and stamp it. False (with
    the reason on stderr) when it cannot be built here; the scrubber then runs as pure Python."""
    missing = _missing_tools()
    if missing:
        sys.stderr.write(f"Snelle scrubber niet gebouwd: {missing}. De scrubber werkt, maar trager (puur Python).\n")
        return False
    files = sources()
    digest = source_hash(files)
    with tempfile.TemporaryDirectory(prefix="proeftuin-native-") as tmp:
        package = Path(tmp) / "proeftuin"
        target = package / MODULE
        target.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        for path in files:  # the modules import each other relatively: the copies as they are
            shutil.copyfile(path, target / path.name)
        (Path(tmp) / "setup.py").write_text(_SETUP.format(module=MODULE))
        command = [sys.executable, "setup.py", *(f"proeftuin/{MODULE}/{path.name}" for path in files)]
        result = subprocess.run(command, cwd=tmp, capture_output=True, text=True, check=False)  # noqa: S603
        lib = sorted(package.glob(f"{MODULE}__mypyc*.so")) + sorted(package.glob(f"{MODULE}__mypyc*.pyd"))
        built = sorted(target.glob("*.so")) + sorted(target.glob("*.pyd"))
        if result.returncode != 0 or not lib or len(built) != len(files):
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            sys.stderr.write(f"Snelle scrubber niet gebouwd: mypyc faalde (exit {result.returncode}).\n{tail}\n"
                             "De scrubber werkt, maar trager (puur Python).\n")
            return False
        _remove_build()
        (PACKAGE_DIR / MODULE).mkdir()
        for extension in built:  # only the extensions: no .py copy that could be imported instead
            shutil.copyfile(extension, PACKAGE_DIR / MODULE / extension.name)
        for extension in lib:
            shutil.copyfile(extension, PACKAGE_DIR / extension.name)
    STAMP.write_text(digest + "\n", encoding="ascii")
    if not quiet:
        names = [p.name for p in lib] + [f"{MODULE}/{p.name}" for p in built]
        sys.stdout.write(f"Snelle scrubber gebouwd: {', '.join(names)}\n")
    return True


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        sys.stdout.write(__doc__ or "")
        return 0
    if args[0] == "build":
        ok = build()
        return 0 if ok or "--if-possible" in args else 1
    if args[0] == "status":
        module = compiled_scrubber()
        state = f"gecompileerd: {module.__file__}" if module else "puur Python (niet gebouwd, of verouderd)"
        sys.stdout.write(state + "\n")
        return 0
    sys.stderr.write(f"Onbekend commando {args[0]!r}: gebruik 'build' of 'status'.\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
