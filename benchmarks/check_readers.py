"""Do real applications open our exports with their layers?  GIMP and Krita, headless.

    python benchmarks/check_readers.py [--out DIR] [--readers gimp,krita] [--timeout 120]
                                       [--krita-default-config]

Makes a small demo mural (512 × 384, 16-bit), restores it, and exports it as a layered TIFF
(Photoshop layers in tag 37724), a multipage TIFF and an OpenRaster file; then again from an
8-bit PNG copy of the scan. Each file is opened by every reader that is installed:

- GIMP 2.10 (`gimp -i -b`, Script-Fu): `gimp-file-load` non-interactively.  The TIFF loader
  then loads every page as a layer (its default target), but skips any page whose colour
  model differs from the first page's (so our mask pages of an RGB scan are RGB); it does
  not read tag 37724 at all.  ORA needs the
  Python-Fu plug-in `file-openraster`, which Debian 12's GIMP lacks.
- Krita 5 (`kritarunner` + a Python script, QT_QPA_PLATFORM=offscreen): `openDocument`, then
  the layer stack.  Krita's PNG reader asks which profile to use for a 16-bit PNG without an
  iCCP chunk, in a modal dialog, even in batch mode, which hangs a headless run; our ORA
  layers therefore all carry a profile (mask layers sRGB).  By default this script also runs
  kritarunner with a private XDG_CONFIG_HOME whose kritarunnerrc says `pasteBehaviour=0`, so
  a file from elsewhere cannot hang it; `--krita-default-config` checks our files without
  that safety net.

Ground truth is what the exporter wrote, read back with psdtags, tifffile and zipfile.
A reader that is not installed is skipped with a message; with none installed the script
only prints the ground truth.  Needs no GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import psdtags
import tifffile

from muralstudio.cli import report_errors

FORMATS = [("layered-tiff", "tif"), ("multipage-tiff", "tif"), ("ora", "ora")]

# GimpPrecision (GIMP 2.10) -> bits per channel
GIMP_PRECISION = {100: "u8 linear", 150: "u8", 200: "u16 linear", 250: "u16", 300: "u32 linear", 350: "u32",
                  500: "half linear", 550: "half", 600: "float linear", 650: "float", 700: "double linear",
                  750: "double"}


@dataclass
class Layer:
    name: str
    x: int
    y: int
    w: int
    h: int
    depth: str = ""
    visible: bool | None = None


@dataclass
class Result:
    opened: bool
    layers: list[Layer] = field(default_factory=list)
    depth: str = ""
    note: str = ""


# ------------------------------------------------------------------------ making the files


def muralstudio_cli() -> list[str]:
    beside = Path(sys.executable).parent / "muralstudio"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("muralstudio")
    if found:
        return [found]
    return [sys.executable, "-m", "muralstudio"]


def make_files(out: Path) -> dict[tuple[str, int], Path]:
    cli = muralstudio_cli()

    def ms(*args):
        subprocess.run(cli + [str(a) for a in args], check=True, cwd=out, capture_output=True, text=True)

    ms("demo", "--out", "demo", "--width", 512, "--height", 384)
    scan16, mask = out / "demo" / "mural.tif", out / "demo" / "mask" / "mural.png"
    ms("restore", scan16, "--mask", mask, "--out", "restored16.tif", "-q")
    scan = cv2.imread(str(scan16), cv2.IMREAD_UNCHANGED)
    cv2.imwrite(str(out / "mural8.png"), (scan >> 8).astype("uint8"))
    ms("restore", out / "mural8.png", "--mask", mask, "--out", "restored8.png", "-q")
    files = {}
    for bits, image, restored in [(16, scan16, out / "restored16.tif"), (8, out / "mural8.png", out / "restored8.png")]:
        for fmt, ext in FORMATS:
            path = out / f"export{bits}-{fmt}.{ext}"
            ms("export", "--image", image, "--mask", mask, "--restored", restored, "--format", fmt,
               "--out", path, "--force", "-q")
            files[(fmt, bits)] = path
    return files


# ------------------------------------------------------------------------ ground truth


def truth(fmt: str, path: Path) -> Result:
    if fmt == "layered-tiff":
        isd = psdtags.TiffImageSourceData.fromtiff(path)
        bits = "16" if isd.layers.key == psdtags.PsdKey.LAYER_16 else "8"
        layers = []
        for layer in isd.layers:  # bottom first
            top, left, bottom, right = layer.rectangle
            hidden = bool(layer.flags & psdtags.PsdLayerFlag.VISIBLE)  # the PSD bit means "hidden"
            layers.append(Layer(layer.name, left, top, right - left, bottom - top, bits, not hidden))
        return Result(True, layers, bits, "psdtags, tag 37724")
    if fmt == "multipage-tiff":
        layers = []
        with tifffile.TiffFile(path) as tf:
            for page in tf.pages:  # first page first
                layers.append(Layer(page.tags.valueof(285) or "", 0, 0, page.imagewidth, page.imagelength,
                                    f"{page.bitspersample}{'' if page.samplesperpixel > 1 else ' grey'}"))
        return Result(True, layers, str(layers[0].depth), "tifffile, one page per layer")
    with zipfile.ZipFile(path) as zf:
        stack = ET.fromstring(zf.read("stack.xml")).find("stack")
        layers = []
        for el in stack.findall("layer"):  # top first
            png = zf.read(el.get("src"))
            w, h = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
            layers.append(Layer(el.get("name"), int(el.get("x")), int(el.get("y")), w, h, str(png[24]),
                                el.get("visibility") != "hidden"))
    return Result(True, layers, layers[-1].depth, "zipfile, stack.xml")


# ------------------------------------------------------------------------ GIMP

GIMP_SCRIPT = """
(begin
  (define (num x) (number->string x))
  (define (say s) (gimp-message (string-append "MURALPROBE " s)))
  (let* ((f "{path}")
         (img (car (gimp-file-load RUN-NONINTERACTIVE f f)))
         (got (gimp-image-get-layers img))
         (n (car got))
         (layers (cadr got)))
    (say (string-append "IMAGE " (num n) " " (num (car (gimp-image-get-precision img))) " "
                        (num (car (gimp-image-width img))) " " (num (car (gimp-image-height img)))))
    (let loop ((i 0))
      (if (< i n)
          (let* ((l (vector-ref layers i))
                 (off (gimp-drawable-offsets l)))
            (say (string-append "LAYER " (num (car off)) " " (num (cadr off)) " "
                                (num (car (gimp-drawable-width l))) " " (num (car (gimp-drawable-height l))) " "
                                (num (car (gimp-item-get-visible l))) " " (car (gimp-item-get-name l))))
            (loop (+ i 1)))))))
"""


def run_gimp(path: Path, timeout: float) -> Result:
    quoted = str(path).replace("\\", "\\\\").replace('"', '\\"')
    cmd = ["gimp", "-i", "-d", "-f", "-b", GIMP_SCRIPT.replace("{path}", quoted), "-b", "(gimp-quit 0)"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Result(False, note=f"timed out after {timeout:.0f} s")
    text = proc.stdout + proc.stderr
    image = re.search(r"MURALPROBE IMAGE (\d+) (\d+) (\d+) (\d+)", text)
    if not image:
        errors = [ln.strip() for ln in text.splitlines()
                  if "execution error" in ln.lower() or ln.startswith("Error:") or "GIMP-Error" in ln]
        detail = re.search(r"Execution error for procedure 'gimp-file-load':\s*\n(.*)", text)
        return Result(False, note=(detail.group(1).strip() if detail else "; ".join(errors[-2:])) or "no output")
    precision = int(image.group(2))
    layers = []
    for m in re.finditer(r"MURALPROBE LAYER (-?\d+) (-?\d+) (\d+) (\d+) (\d) (.*)", text):
        x, y, w, h, vis, name = m.groups()
        layers.append(Layer(name.strip(), int(x), int(y), int(w), int(h), "", vis == "1"))
    return Result(True, layers, GIMP_PRECISION.get(precision, str(precision)), "stack top first")


# ------------------------------------------------------------------------ Krita

KRITA_SCRIPT = '''
import json
from krita import Krita


def walk(node):
    out = []
    for child in node.childNodes():
        b = child.bounds()
        out.append({"name": child.name(), "x": b.x(), "y": b.y(), "w": b.width(), "h": b.height(),
                    "visible": child.visible(), "depth": child.colorDepth(), "model": child.colorModel()})
        out += walk(child)
    return out


def main(args):
    app = Krita.instance()
    app.setBatchmode(True)
    for path in args:
        doc = app.openDocument(path)
        if doc is None:
            print("MURALPROBE " + json.dumps({"opened": False}), flush=True)
            continue
        doc.waitForDone()
        print("MURALPROBE " + json.dumps({"opened": True, "depth": doc.colorDepth(), "model": doc.colorModel(),
                                          "layers": walk(doc.rootNode())}), flush=True)
        doc.close()
'''


def run_krita(path: Path, timeout: float, work: Path, default_config: bool) -> Result:
    scripts = work / "krita-scripts"
    scripts.mkdir(exist_ok=True)
    (scripts / "mural_probe.py").write_text(textwrap.dedent(KRITA_SCRIPT))
    config = work / "krita-config"
    config.mkdir(exist_ok=True)
    rc = config / "kritarunnerrc"
    if default_config:
        rc.unlink(missing_ok=True)
    else:
        rc.write_text("pasteBehaviour=0\n")  # no "which profile?" dialog for 16-bit PNGs without iCCP
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(scripts), XDG_CONFIG_HOME=str(config),
               XDG_DATA_HOME=str(work / "krita-data"), XDG_RUNTIME_DIR=str(work))
    cmd = ["kritarunner", "-s", "mural_probe", "-f", "main", str(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Result(False, note=f"hung for {timeout:.0f} s (a modal dialog offscreen?)")
    text = proc.stdout + proc.stderr
    m = re.search(r"MURALPROBE (\{.*\})", text)
    if not m:
        tail = [ln for ln in text.splitlines() if "krita.scripting" in ln or "Error" in ln]
        return Result(False, note="; ".join(tail[-3:]) or f"exit {proc.returncode}, no output")
    got = json.loads(m.group(1))
    if not got["opened"]:
        return Result(False, note="openDocument returned None")
    layers = [Layer(d["name"], d["x"], d["y"], d["w"], d["h"], f"{d['depth']} {d['model']}", d["visible"])
              for d in got["layers"]]
    depth = f"{got['depth']} {got['model']}"
    inner = sorted({layer.depth for layer in layers} - {depth})
    if inner:
        depth += " (layers " + ", ".join(inner) + ")"
    return Result(True, layers, depth,
                  "stack bottom first; sizes are the non-transparent extent")


# ------------------------------------------------------------------------ table


def compare(want: Result, got: Result) -> str:
    if not got.opened:
        return "-"
    names = [layer.name for layer in got.layers]
    missing = [layer.name for layer in want.layers if layer.name not in names]
    if not missing:
        return "all layer names"
    if len(missing) == len(want.layers):
        return f"no names match ({len(got.layers)}/{len(want.layers)} layers)"
    return "missing: " + ", ".join(missing)


def describe(result: Result) -> str:
    if not result.opened:
        return "-"
    return "; ".join(f"{layer.name or '?'} {layer.w}x{layer.h}+{layer.x}+{layer.y}"
                     + ("" if layer.visible is None else ("" if layer.visible else " hidden"))
                     for layer in result.layers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder for the files (default: a temporary one, removed)")
    parser.add_argument("--readers", default="gimp,krita")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per reader per file")
    parser.add_argument("--krita-default-config", action="store_true",
                        help="run Krita without pasteBehaviour=0 (16-bit ORA then shows a modal dialog)")
    args = parser.parse_args()

    tmp = None
    if args.out is None:
        tmp = tempfile.TemporaryDirectory(prefix="muralstudio-readers-")
        out = Path(tmp.name)
    else:
        out = args.out
        out.mkdir(parents=True, exist_ok=True)
    out = out.resolve()

    readers = {}
    for name in [r.strip() for r in args.readers.split(",") if r.strip()]:
        exe = {"gimp": "gimp", "krita": "kritarunner"}.get(name)
        if exe is None:
            print(f"unknown reader {name!r}; known: gimp, krita", file=sys.stderr)
            return 2
        if shutil.which(exe) is None:
            print(f"SKIP {name}: `{exe}` is not installed "
                  f"(apt-get install --no-install-recommends {'gimp' if name == 'gimp' else 'krita python3-pyqt5'})")
            continue
        readers[name] = exe
    if not readers:
        print("No reader is installed: printing only what the exporter wrote.")

    print(f"Making the files in {out} ...", flush=True)
    files = make_files(out)

    rows = []
    for (fmt, bits), path in files.items():
        want = truth(fmt, path)
        rows.append((fmt, bits, "ours", want, "ground truth: " + want.note))
        for name in readers:
            print(f"  {name} <- {path.name}", flush=True)
            if name == "gimp":
                got = run_gimp(path, args.timeout)
            else:
                got = run_krita(path, args.timeout, out, args.krita_default_config)
            rows.append((fmt, bits, name, got, compare(want, got)))

    print()
    header = f"{'format':<15} {'bits':>4} {'reader':<6} {'opened':<6} {'layers':>6} {'depth':<12} verdict"
    print(header)
    print("-" * len(header))
    for fmt, bits, reader, result, verdict in rows:
        print(f"{fmt:<15} {bits:>4} {reader:<6} {'yes' if result.opened else 'NO':<6} "
              f"{len(result.layers) if result.opened else '-':>6} {result.depth:<12} {verdict}")
        if result.opened:
            print(" " * 8 + "layers: " + describe(result))
        if result.note and reader != "ours":
            print(" " * 8 + "note: " + result.note)
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(report_errors(main, __file__))
