"""Check the built folder app: it starts, opens the demo mural, restores, finds its weights.

    python packaging/check_build.py [--dist dist/muralstudio] [--build-seconds N]

Runs the frozen program (never the Python package) with the offscreen Qt platform and
throw-away settings, cache and autosave folders:

1. ``muralstudio --version`` prints ``muralstudio X.Y.Z`` (the version of this checkout);
2. ``muralstudio demo --out DIR`` writes the demo mural (TIFF via tifffile/imagecodecs);
3. ``muralstudio DIR/mural.tif --masks DIR/masks --self-test`` opens it in the main window,
   runs Qt a few seconds and runs every shipped model on a small image (sha256 checked);
4. ``muralstudio restore ... --engine telea`` restores the demo (OpenCV, 16-bit TIFF out);
5. the weight files in the folder match the manifest's sha256.

Then it prints the build time (when given), the folder's size and its largest parts.
Standard library only: it runs with any Python 3.11+. Exit status 0 when every check passed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 600


def source_version() -> str:
    """``__version__`` of the checkout, read without importing the package."""
    text = (ROOT / "muralstudio" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if match is None:
        raise SystemExit("check_build: no __version__ in muralstudio/__init__.py")
    return match.group(1)


def program(dist: Path) -> Path:
    """The console program of the folder app on this platform."""
    names = ["muralstudio-cli.exe", "muralstudio.exe"] if sys.platform == "win32" else ["muralstudio"]
    for name in names:
        if (dist / name).is_file():
            return dist / name
    raise SystemExit(f"check_build: no program {names[0]} in {dist}; run packaging/build.sh first")


def folder_size(dist: Path) -> tuple[int, int, list[tuple[int, str]]]:
    """Total bytes, number of files, and the 10 largest parts (top-level entries of _internal)."""
    total = count = 0
    parts: dict[str, int] = {}
    for dirpath, _dirs, files in os.walk(dist):
        for name in files:
            path = Path(dirpath) / name
            if path.is_symlink():
                continue
            size = path.stat().st_size
            total += size
            count += 1
            rel = path.relative_to(dist).parts
            key = "/".join(rel[:2]) if rel[0] == "_internal" and len(rel) > 1 else rel[0]
            parts[key] = parts.get(key, 0) + size
    largest = sorted(((v, k) for k, v in parts.items()), reverse=True)[:10]
    return total, count, largest


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Checker:
    """Runs the checks, prints one line each, remembers failures."""

    def __init__(self, exe: Path, env: dict[str, str]) -> None:
        self.exe, self.env, self.failures = exe, env, []

    def run(self, what: str, args: list[str], expect: list[str]) -> str:
        t0 = time.perf_counter()
        try:
            done = subprocess.run([str(self.exe), *args], env=self.env, capture_output=True,
                                  text=True, timeout=TIMEOUT)
            out, code = done.stdout + done.stderr, done.returncode
        except subprocess.TimeoutExpired as exc:
            out, code = f"{exc.stdout or ''}{exc.stderr or ''}\n(timed out after {TIMEOUT} s)", -1
        missing = [e for e in expect if e not in out]
        ok = code == 0 and not missing
        print(f"{'ok    ' if ok else 'FAILED'} {what} ({time.perf_counter() - t0:.1f} s)")
        if not ok:
            self.failures.append(what)
            print(f"       exit status {code}; missing in the output: {missing}\n"
                  + "\n".join(f"       | {line}" for line in out.strip().splitlines()[-30:]))
        else:
            for line in out.strip().splitlines():
                if line.startswith(("self-test:", "muralstudio ")):
                    print(f"       {line}")
        return out

    def check(self, what: str, ok: bool, detail: str = "") -> None:
        print(f"{'ok    ' if ok else 'FAILED'} {what}{': ' + detail if detail else ''}")
        if not ok:
            self.failures.append(what)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check the built folder app.")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist" / "muralstudio", help="the built folder")
    parser.add_argument("--build-seconds", type=float, help="how long the build took (build.sh passes it)")
    parser.add_argument("--demo-size", default="2048x1536", help="size of the demo mural (default 2048x1536)")
    args = parser.parse_args(argv)
    dist = args.dist.resolve()
    exe = program(dist)
    width, height = args.demo_size.lower().split("x")
    with tempfile.TemporaryDirectory(prefix="muralstudio-check-") as tmp:
        home = Path(tmp)
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(home / "config"),
                   XDG_DATA_HOME=str(home / "data"), XDG_CACHE_HOME=str(home / "cache"),
                   LOCALAPPDATA=str(home / "data"), PYTHONDONTWRITEBYTECODE="1")
        env.pop("PYTHONPATH", None)  # the frozen app must stand on its own
        c = Checker(exe, env)
        print(f"check_build: {exe}")
        c.run("--version", ["--version"], [f"muralstudio {source_version()}"])
        demo = home / "demo"
        c.run(f"demo mural {width} x {height}", ["demo", "--out", str(demo), "--width", width,
                                                   "--height", height], ["Demo mural written"])
        shipped = json.loads((ROOT / "models" / "manifest.json").read_text(encoding="utf-8"))["models"]
        c.run("open the demo offscreen (--self-test), every shipped model",
              [str(demo / "mural.tif"), "--masks", str(demo / "masks"), "--self-test"],
              ["self-test: opened mural.tif", *(f"{name} model loaded" for name in shipped), "self-test: ok"])
        c.run("restore the demo with Telea", ["restore", str(demo / "mural.tif"), "--mask",
                                              str(demo / "mask" / "mural.png"), "--out",
                                              str(home / "restored.tif"), "-q"], [])
        c.check("restored file written", (home / "restored.tif").is_file())
    models = dist / "_internal" / "models"
    entries = json.loads((models / "manifest.json").read_text(encoding="utf-8")).get("models", {}) \
        if (models / "manifest.json").is_file() else {}
    c.check("shipped models in the folder", bool(entries), str(models))
    for name, entry in sorted(entries.items()):
        path = models / entry["file"]
        digest = sha256_of(path) if path.is_file() else "missing"
        c.check(f"model {name} sha256", digest == entry["sha256"], f"{entry['file']} {digest[:12]}")

    total, count, largest = folder_size(dist)
    print()
    if args.build_seconds is not None:
        print(f"build time:  {args.build_seconds:.0f} s ({args.build_seconds / 60:.1f} min)")
    print(f"folder size: {total / 2**20:.0f} MiB in {count} files ({dist})")
    for size, part in largest:
        print(f"  {size / 2**20:8.1f} MiB  {part}")
    print(f"\ncheck_build: {'all checks passed' if not c.failures else 'FAILED: ' + ', '.join(c.failures)}")
    return 0 if not c.failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
