"""The one error every part of brain may raise to say "a restart cannot fix this"."""


class FatalError(Exception):
    """A problem restarting cannot fix (no device, bad credentials, no weights).

    A node exits with ``EXIT_FATAL`` and the supervisor does not restart it; a command
    exits with an error. The message is the one sentence that tells the user what to do.
    """
