"""Moved to tests/eventually.py; this name stays only for files written meanwhile."""

from tests.eventually import eventually

__all__ = ["eventually"]
