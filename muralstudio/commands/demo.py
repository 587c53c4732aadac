"""``muralstudio demo``: write the procedural demo mural, its masks and its truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from muralstudio.core.damage import FILL_CLASSES
from muralstudio.core.errors import ImageWriteError
from muralstudio.core.raster import RasterImage, Resolution
from muralstudio.demo import make_demo_mural
from muralstudio.io.atomic import atomic_write_bytes
from muralstudio.io.icc import srgb_profile
from muralstudio.io.images import write_image
from muralstudio.io.masks import write_mask

DEMO_NAME = "mural"


def write_demo(out: Path, width: int = 2048, height: int = 1536, seed: int = 0) -> Path:
    """Write the demo set into ``out`` and return the path of the damaged scan.

    Layout (pairs by file stem for ``restore`` and ``eval``):
    ``mural.tif`` the damaged 16-bit scan; ``masks/<class>.png`` one mask per damage class;
    ``mask/mural.png`` the classes an inpainter fills (crack, flaking, loss);
    ``gt/mural.tif`` the undamaged painting; ``demo.json`` what was made and how.
    """
    try:
        for sub in ("", "masks", "mask", "gt"):
            (out / sub).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageWriteError(f"Cannot create the demo folder {out}: {exc.strerror}.") from None
    demo = make_demo_mural(width, height, seed)
    meta = {"MuralStudio": json.dumps({"demo": {"seed": seed, "generator": "muralstudio.demo"}})}
    res = Resolution(300.0, 300.0, "inch")
    scan = RasterImage(demo.damaged, icc_profile=srgb_profile(), resolution=res, metadata=meta)
    truth = RasterImage(demo.clean, icc_profile=srgb_profile(), resolution=res, metadata=meta)
    for name, mask in demo.masks.items():
        write_mask(out / "masks" / f"{name}.png", mask)
    fill = np.zeros(demo.damaged.shape[:2], bool)
    for cls in FILL_CLASSES:
        fill |= demo.masks[cls.value]
    write_mask(out / "mask" / f"{DEMO_NAME}.png", fill)
    write_image(out / "gt" / f"{DEMO_NAME}.tif", truth)
    scan_path = out / f"{DEMO_NAME}.tif"
    write_image(scan_path, scan)
    coverage = {k: round(float(v.mean()) * 100, 3) for k, v in demo.masks.items()}
    summary = {"width": width, "height": height, "seed": seed, "coverage_percent": coverage}
    atomic_write_bytes(out / "demo.json", (json.dumps(summary, indent=2) + "\n").encode())
    return scan_path
