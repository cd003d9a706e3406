"""brain's errors: one base for all of them, and the one that says "a restart cannot
fix this"."""


class BrainError(Exception):
    """Every error brain raises on purpose. Its message is one sentence that says what is
    wrong and how to fix it, fit to show a user as it is; catch this to catch them all."""


class FatalError(BrainError):
    """A problem restarting cannot fix (no device, bad credentials, no weights).

    A node exits with ``EXIT_FATAL`` and the supervisor does not restart it; a command
    exits with an error. The message is the one sentence that tells the user what to do.
    """
