"""Errors a user can act on: the CLI prints their message on one line and exits 2."""
import errno

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)  # OSError numbers of a full disk, or of the user's quota used up


class GaitlabError(Exception):
    """Bad input or setup the user can fix (exit code 2)."""


class ModelUnavailable(GaitlabError):
    """The pose model is not on this machine and cannot be fetched."""


class VideoError(GaitlabError):
    """The file is not a readable video with at least one frame."""
