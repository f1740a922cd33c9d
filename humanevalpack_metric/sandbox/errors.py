"""The sandbox's exceptions: isolation that cannot be had, and runs that cannot be set up."""


class SandboxUnavailable(RuntimeError):
    """The requested isolation cannot be provided on this machine."""


class SandboxError(RuntimeError):
    """A run could not be set up (bad work dir, no free slot); not the program's fault."""
