"""Allow ``python -m muralstudio``."""

from muralstudio.cli import main

raise SystemExit(main())
