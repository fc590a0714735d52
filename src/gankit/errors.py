"""Errors that are the user's to fix.

A `UserError` carries one line that says what is wrong and what is expected;
the CLI prints it on stderr and exits with status 2, without a traceback.
Anything else escaping the CLI is a bug in gankit and keeps its traceback.
"""
from __future__ import annotations


class UserError(Exception):
    """Bad input (config, data, CLI, checkpoint): one clear line, exit status 2."""


class DivergenceError(UserError):
    """Training produced a non-finite loss or weight."""
