"""The error tree: every error ttt raises on purpose is an ``AIError`` with its exit code,
importable from ``ttt.core.errors`` and, for the store's, from its public module too."""

from __future__ import annotations

import inspect

from ttt.core import errors
from ttt.core.session import store


def test_every_error_is_an_ai_error_named_in_the_module_docstring() -> None:
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, Exception)]
    assert len(classes) == 15
    for cls in classes:
        assert issubclass(cls, errors.AIError)
        assert cls.__name__ in (errors.__doc__ or ""), f"{cls.__name__} is missing from the tree"


def test_exit_codes_and_store_paths_are_kept() -> None:
    assert errors.SessionFileError.exit_code == 2
    assert errors.StoreError.exit_code == errors.SessionNotFoundError.exit_code == 1
    assert issubclass(errors.SchemaTooNewError, errors.StoreError)
    assert store.StoreError is errors.StoreError and store.SessionNotFoundError is errors.SessionNotFoundError
