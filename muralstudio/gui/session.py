"""The open document with where it came from and whether it has unsaved changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from muralstudio.core.damage import DamageClass
from muralstudio.core.document import Mural, mask_key
from muralstudio.io.images import read_image
from muralstudio.io.masks import read_mask

PROJECT_SUFFIX = ".mural"


@dataclass
class Session:
    """A document and its files: the scan it was opened from and the project it is saved in."""

    doc: Mural
    source: Path | None = None
    project: Path | None = None
    saved_position: int = 0
    extras: dict = field(default_factory=dict)

    @property
    def dirty(self) -> bool:
        return self.doc.history.position != self.saved_position

    def mark_saved(self, project: Path) -> None:
        self.project = project
        self.saved_position = self.doc.history.position

    @property
    def title(self) -> str:
        name = self.project.name if self.project else (self.source.name if self.source else "Untitled")
        return name


def open_path(path: Path) -> Session:
    """A session for an image or a ``.mural`` project (typed errors on bad files)."""
    if path.suffix.lower() == PROJECT_SUFFIX:
        from muralstudio.io.project import load_project

        doc, info = load_project(path)
        session = Session(doc, source=info.source, project=path, extras=dict(info.extras or {}))
        session.saved_position = doc.history.position
        return session
    return Session(Mural(read_image(path)), source=path)


def load_class_masks(doc: Mural, folder: Path) -> int:
    """Mark the damage from ``folder/<class>.png`` files (the demo's layout) as one step each."""
    count = 0
    for cls in DamageClass:
        p = folder / f"{cls.value}.png"
        if p.exists():
            doc.set_layer(mask_key(cls), read_mask(p, doc.shape), f"Import {cls.value} mask")
            count += 1
    return count
