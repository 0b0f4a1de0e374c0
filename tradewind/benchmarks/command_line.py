"""The bench scripts' argument parser (`bench/*.py`)."""

from __future__ import annotations

import argparse
from typing import NoReturn


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a bad argument prints one line, `PROG: error: MESSAGE`, to stderr and
    exits with status 2: no usage dump (`--help` has it)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")
