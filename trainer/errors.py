"""Failures a user can act on: each becomes one `error` event (message + hint) and exit code 1."""
from __future__ import annotations


class TrainerError(Exception):
    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint
