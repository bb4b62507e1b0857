"""User-facing errors: the CLI prints their message as one line and exits with status 2."""


class NnlabError(Exception):
    """A problem with what the user gave us (input, config, run directory), not a bug."""


class ConfigError(NnlabError):
    """An unknown config key, a value of the wrong type, or an unreadable config file."""


class DataError(NnlabError):
    """A data or input file that is missing, truncated, mislabelled or holds NaN."""


class CheckpointError(NnlabError):
    """A run directory or checkpoint that is missing, corrupt or from another model."""


class WriteError(NnlabError):
    """An output that could not be written: no space left, no permission, a read-only disk.

    The writer removed its temporary file and left the previous version of the file in place.
    """


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training after a checkpoint was written; its message is the command that continues the run."""


def one_line(error: BaseException) -> str:
    """An exception's message folded onto one line (its type's name when it has none), for a one-line error."""
    return " ".join(str(error).split()) or type(error).__name__
