"""Render the application icon's PNG sizes (and the Windows .ico / macOS .icns) from its SVG.

    python packaging/render_icons.py            # writes resources/icons/muralstudio-<N>.png etc.
    python packaging/render_icons.py --check    # exit 1 when a rendered file is missing

Rendering uses Qt's SVG renderer (PySide6's QtSvg, part of PySide6-Essentials) on the
offscreen platform, so no display is needed; the .ico and .icns are assembled by Pillow from
the PNGs. Run it again after editing ``resources/icons/muralstudio.svg`` and commit the output.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SVG = ICONS / "muralstudio.svg"
SIZES = (16, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 32, 48, 64, 128, 256)


def png_path(size: int) -> Path:
    """Where the PNG of one size lives."""
    return ICONS / f"muralstudio-{size}.png"


def outputs() -> list[Path]:
    """Every file this script writes."""
    return [png_path(s) for s in SIZES] + [ICONS / "muralstudio.ico", ICONS / "muralstudio.icns"]


def render_png(svg: Path, size: int, out: Path) -> None:
    """Draw ``svg`` into a transparent ``size`` × ``size`` PNG."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {svg} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    if not image.save(str(out), "PNG"):
        raise SystemExit(f"render_icons: cannot write {out}")


def write_platform_icons() -> None:
    """The Windows .ico (several sizes in one file) and the macOS .icns, from the PNGs."""
    from PIL import Image

    big = Image.open(png_path(512)).convert("RGBA")
    big.save(ICONS / "muralstudio.ico", sizes=[(s, s) for s in ICO_SIZES])
    big.save(ICONS / "muralstudio.icns")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that every output exists")
    args = parser.parse_args(argv)
    if args.check:
        missing = [p for p in outputs() if not p.is_file()]
        for p in missing:
            print(f"render_icons: missing {p}", file=sys.stderr)
        return 1 if missing else 0
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # QPainter needs one
    for size in SIZES:
        render_png(SVG, size, png_path(size))
    app.processEvents()
    write_platform_icons()
    for p in outputs():
        print(f"{p.relative_to(ICONS.parents[1])}  {p.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
