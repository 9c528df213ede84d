"""How the command line ends: exit statuses and one-line error messages."""

from __future__ import annotations

import sys
from typing import Any

import click

from strongroom_client.errors import NotFound, StrongroomError

NOT_FOUND = 2
USAGE = 2
ERROR = 1


class Failure(Exception):
    """A client-side error with its exit status (the message is shown as is)."""

    def __init__(self, message: str, status: int = ERROR) -> None:
        super().__init__(message)
        self.status = status


def say(message: str) -> None:
    sys.stderr.write(f"strongroom: error: {message}\n")
    sys.stderr.flush()


def run(command: click.Command, args: list[str]) -> int:
    try:
        result: Any = command.main(args, prog_name="strongroom", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        sys.stderr.write("\n")
        return 130
    except click.exceptions.NoArgsIsHelpError as exc:
        sys.stdout.write(exc.format_message() + "\n")  # a bare group: its help
        return USAGE
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        say(f"{exc.format_message()}{hint}")
        return USAGE
    except click.ClickException as exc:
        say(exc.format_message())
        return exc.exit_code
    except NotFound as exc:
        say(str(exc))
        return NOT_FOUND
    except StrongroomError as exc:
        say(str(exc) + _hint(exc))
        return ERROR
    except Failure as exc:
        say(str(exc))
        return exc.status
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        say(f"{exc.strerror or exc}{where}")
        return ERROR
    except Exception as exc:
        say(f"internal error of the client ({type(exc).__name__})")
        return ERROR
    return result if isinstance(result, int) else 0


def _hint(exc: StrongroomError) -> str:
    if exc.code in ("invalid_token", "unauthorized"):
        return " (log in with `strongroom login`)"
    return ""
