"""Errors of the images domain (messages as PocketLLM's original backend words them)."""

from switchboard.core.errors import Invalid


class InvalidImageModel(Invalid):
    """A model the image pricing table does not list."""

    default_code = "invalid_model"

    def __init__(self, message: str = "Invalid model") -> None:
        super().__init__(message, param="model")


class InvalidImageOption(Invalid):
    """A size, quality, style or count the model does not offer."""

    default_code = "invalid_image_option"
