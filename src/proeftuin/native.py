"""The scrubber compiled to a C extension with mypyc, beside its pure-Python source.

`privacy.py` stays the one source of the scrubber. `python -m proeftuin.native build` compiles a copy
of it as the module `proeftuin._privacy_native` (mypyc: the same code, about 1.3x faster on this
machine) and writes the hash of the source it was built from beside it. `privacy.py` uses the compiled
classes only when that hash is the hash of the source it runs: an edited `privacy.py` is never shadowed
by a stale build; it runs as pure Python until the next build (`make install` builds again).

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
from pathlib import Path
from types import ModuleType

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE = PACKAGE_DIR / "privacy.py"
MODULE = "_privacy_native"
STAMP = PACKAGE_DIR / f"{MODULE}.sha256"


def source_hash(source: Path = SOURCE) -> str:
    return hashlib.sha256(source.read_bytes()).hexdigest()


def compiled_scrubber(source: Path = SOURCE, stamp: Path = STAMP) -> ModuleType | None:
    """The compiled scrubber module, or None: not built, built from another version of the source,
    not loadable here, or switched off with PROEFTUIN_PRIVACY_PURE=1."""
    if os.environ.get("PROEFTUIN_PRIVACY_PURE", "").strip() not in ("", "0"):
        return None
    try:
        if stamp.read_text(encoding="ascii").strip() != source_hash(source):
            return None  # built from another version of privacy.py: the source wins
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
    return None


def build(quiet: bool = False) -> bool:
    """Compile privacy.py into proeftuin/_privacy_native*.so and stamp it. False (with the reason on
    stderr) when it cannot be built here; the scrubber then runs as pure Python."""
    missing = _missing_tools()
    if missing:
        sys.stderr.write(f"Snelle scrubber niet gebouwd: {missing}. De scrubber werkt, maar trager (puur Python).\n")
        return False
    digest = source_hash()
    with tempfile.TemporaryDirectory(prefix="proeftuin-native-") as tmp:
        package = Path(tmp) / "proeftuin"
        package.mkdir()
        (package / "__init__.py").write_text("")
        shutil.copyfile(SOURCE, package / f"{MODULE}.py")
        command = [sys.executable, "-m", "mypyc", "--ignore-missing-imports", f"proeftuin/{MODULE}.py"]
        result = subprocess.run(command, cwd=tmp, capture_output=True, text=True, check=False)  # noqa: S603
        # the module and, for a module in a package, mypyc's runtime library beside it
        built = sorted(package.glob(f"{MODULE}*.so")) + sorted(package.glob(f"{MODULE}*.pyd"))
        if result.returncode != 0 or not built:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            sys.stderr.write(f"Snelle scrubber niet gebouwd: mypyc faalde (exit {result.returncode}).\n{tail}\n"
                             "De scrubber werkt, maar trager (puur Python).\n")
            return False
        STAMP.unlink(missing_ok=True)  # no stamp while the files change
        for old in [*PACKAGE_DIR.glob(f"{MODULE}*.so"), *PACKAGE_DIR.glob(f"{MODULE}*.pyd")]:
            old.unlink()
        for extension in built:
            shutil.copyfile(extension, PACKAGE_DIR / extension.name)
    STAMP.write_text(digest + "\n", encoding="ascii")
    if not quiet:
        sys.stdout.write(f"Snelle scrubber gebouwd: {', '.join(p.name for p in built)}\n")
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
