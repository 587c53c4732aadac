"""ICC colour profiles: the sRGB profile we embed in what we generate, and profile names."""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import ImageCms


@lru_cache(maxsize=1)
def srgb_profile() -> bytes:
    """An sRGB ICC profile (made by littlecms inside Pillow, no file needed)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def profile_name(data: bytes | None) -> str:
    """The profile's description ('sRGB IEC61966-2.1', ...) or a short fallback."""
    if not data:
        return "no profile"
    try:
        prof = ImageCms.ImageCmsProfile(io.BytesIO(data))
        return ImageCms.getProfileDescription(prof).strip() or "unnamed profile"
    except (OSError, ImageCms.PyCMSError):
        return "unreadable profile"
