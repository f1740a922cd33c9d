"""The CLI's user error."""

from __future__ import annotations

from typing import Optional


class CliError(Exception):
    """A user error: printed as ``commitpack: error: <message>`` with exit status 2."""


def cli_error_in_chain(error: BaseException) -> Optional[CliError]:
    """The first CliError among ``error`` and its causes, or ``None``."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, CliError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def run_cli(parser, argv, prog: str) -> int:
    """Parse ``argv`` with ``parser`` and run the chosen command's ``handler``; a CliError is printed
    as ``<prog>: error: <message>`` and gives exit status 2."""
    import sys

    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except CliError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
