"""Packaging glue that pyproject.toml cannot express: the wheel carries the repository's
top-level ``models/`` (shipped weights + manifest) and ``resources/icons`` as
``muralstudio/_data/models`` and ``muralstudio/_data/resources/icons``, where
``muralstudio.core.resources`` finds them (a new folder under resources/ needs a line in
DATA and PACKAGE_DATA). Everything else is in pyproject.toml; an editable install keeps
reading the checkout's own folders.
"""

from setuptools import find_packages, setup

DATA = {
    "muralstudio._data.models": "models",
    "muralstudio._data.resources": "resources",
    "muralstudio._data.resources.icons": "resources/icons",
}
PACKAGE_DATA = {
    "muralstudio._data.models": ["*.pt", "manifest.json", "README.md"],
    "muralstudio._data.resources.icons": ["*.svg", "*.png", "*.ico", "*.icns"],
}

setup(
    packages=find_packages(include=["muralstudio", "muralstudio.*"]) + list(DATA),
    package_dir=DATA,
    package_data=PACKAGE_DATA,
)
