"""``TurnOptions``: what ``ttt.stream``/``ask`` and ``ChatSession`` both take for one turn."""

from __future__ import annotations

import pytest

from ttt.core.engine import TurnOptions as FromEngine
from ttt.core.types import TurnOptions


def test_keywords_go_on_top_of_a_turn_and_unknown_names_are_refused() -> None:
    base = TurnOptions(model="a", temperature=0.5)
    assert TurnOptions.of(base, model="b") == TurnOptions(model="b", temperature=0.5)
    assert TurnOptions.of(None, private=True) == TurnOptions(private=True)
    with pytest.raises(TypeError):
        TurnOptions.of(base, modle="b")


def test_session_defaults_fill_only_what_is_unset() -> None:
    turn = TurnOptions(model="asked", tools=())
    filled = turn.over(model="session", temperature=0.1, tools=["calculate"])
    assert (filled.model, filled.temperature, filled.tools) == ("asked", 0.1, ())
    assert FromEngine is TurnOptions
