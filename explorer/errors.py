"""Errors a user can act on. Each carries one sentence meant to be shown as it is, no traceback."""


class ExplorerError(Exception):
    """Base class: the message says what went wrong and what to do about it."""


class DatasetError(ExplorerError):
    """A dataset is missing, corrupted or could not be downloaded."""


class ModelFileError(ExplorerError):
    """A model file or its card is missing, malformed or does not match."""


class ConfigError(ExplorerError):
    """A setting is out of range or of the wrong kind."""
