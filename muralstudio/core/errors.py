"""Typed errors a user can cause, each with a message fit for a dialog or one CLI line."""

from __future__ import annotations


class MuralStudioError(Exception):
    """Base of every error caused by user input; ``str(err)`` is one readable sentence."""


class ImageReadError(MuralStudioError):
    """A file could not be read as an image (missing, unreadable, not an image)."""


class CorruptImageError(ImageReadError):
    """The file is an image of a known format but its data is damaged or truncated."""


class UnsupportedImageError(ImageReadError):
    """The image is valid but of a kind we do not handle (float samples, 32-bit, ...)."""


class ImageTooLargeError(ImageReadError):
    """Decoding the image would need more memory than the machine has available."""


class ImageWriteError(MuralStudioError):
    """An image or file could not be written (permission, disk full, bad path, format)."""


class MaskMismatchError(MuralStudioError):
    """A mask does not fit the image it belongs to (size differs)."""


class EngineError(MuralStudioError):
    """An engine could not run on the given request (bad parameters, nothing to restore)."""


class Cancelled(MuralStudioError):
    """The user cancelled a running job."""


class ProjectError(MuralStudioError):
    """A project file could not be opened or saved (damaged, newer format, original missing)."""


class ModelError(MuralStudioError):
    """Network weights are missing, damaged or do not fit the network they are loaded into."""


class TrainingError(MuralStudioError):
    """A training or fine-tuning run cannot start or go on (no data, no usable patches)."""


class HintsFileError(MuralStudioError):
    """A colour-hints file could not be read, or its hints do not fit the image."""
