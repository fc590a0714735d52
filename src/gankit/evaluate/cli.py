"""The `gankit evaluate` command (placeholder until its module lands)."""
from __future__ import annotations

import argparse


def add_subcommand(sub: argparse._SubParsersAction) -> None:
    """Register `gankit evaluate` on the main parser's sub-commands."""
    return None
