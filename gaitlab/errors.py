"""Errors a user can act on: the CLI prints their message on one line and exits 2."""


class GaitlabError(Exception):
    """Bad input or setup the user can fix (exit code 2)."""


class ModelUnavailable(GaitlabError):
    """The pose model is not on this machine and cannot be fetched."""


class VideoError(GaitlabError):
    """The file is not a readable video with at least one frame."""
