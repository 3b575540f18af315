"""Entry point of the ``medsynth`` command: subcommands, logging and user-facing errors."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from .. import __version__
from ..core.errors import Cancelled, MedSynthError
from ..core.progress import PROGRESS_PREFIX
from . import cmd_demo, cmd_evaluate, cmd_ixi, cmd_models, cmd_phantom, cmd_prepare, cmd_synthesize, cmd_train
from .common import echo

SUBCOMMANDS = (cmd_phantom, cmd_ixi, cmd_prepare, cmd_synthesize, cmd_evaluate, cmd_models, cmd_train, cmd_demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="medsynth",
        description="Synthesize unacquired MRI contrasts and modalities (T1w, T2w, PD, FLAIR, CT) from acquired "
        "ones, evaluate them against real images, and make phantom data to try it all on.",
        epilog="Run `medsynth COMMAND --help` for the options of a command. Start with `medsynth demo`.",
    )
    parser.add_argument("--version", action="version", version=f"medsynth {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show debug messages")
    parser.add_argument("-q", "--quiet", action="store_true", help="show warnings and errors only, no progress bars")
    parser.add_argument("--progress-lines", action="store_true",
                        help=f"report progress as '{PROGRESS_PREFIX} DONE TOTAL MESSAGE' lines on stderr instead of "
                             "bars (for programs driving medsynth, such as the Slicer module)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, turned into an interruption so every temporary output is cleaned up on the way out."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum, frame) -> None:
    raise Terminated(signum)


def handle_termination() -> None:
    """SIGTERM and SIGHUP (a closed terminal, a killed job) end the command like Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        return
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _terminate)


def main(argv: list[str] | None = None) -> int:
    handle_termination()
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s" if args.verbose
                        else "medsynth: %(levelname)s: %(message)s")
    if not args.verbose:
        logging.getLogger("medsynth").setLevel(level)
        logging.getLogger().setLevel(logging.WARNING)
    try:
        return int(args.run(args) or 0)
    except MedSynthError as exc:
        echo(f"medsynth: error: {exc}", err=True)
        return 2
    except Cancelled as exc:
        echo(f"medsynth: {exc}", err=True)
        return 128 + int(getattr(exc, "signum", signal.SIGINT))
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        echo(f"medsynth: stopped by {signal.Signals(signum).name}; nothing was written", err=True)
        return 128 + int(signum)
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - silence the interpreter's own flush at exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
