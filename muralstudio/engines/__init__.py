"""Restoration engines. Importing this package registers the built-in engines."""

from muralstudio.engines import classical as _classical  # noqa: F401  (registers engines)
from muralstudio.engines import colorize as _colorize  # noqa: F401  (registers; torch loads on first run)
from muralstudio.engines import diffusion as _diffusion  # noqa: F401  (registers; torch loads on first run)
from muralstudio.engines import pconv as _pconv  # noqa: F401  (registers; torch loads on first run)
from muralstudio.engines.base import (  # noqa: F401
    Engine,
    InpaintRequest,
    InpaintResult,
    ParamSpec,
    Progress,
    drive,
    engine_names,
    get_engine,
)
