"""Compacting a conversation: its older turns summarised by the session's model.

The summary rides in the system message of every later request, in place of the turns it covers;
those turns stay in the session (and the store, and on screen). A summary is model output like
any reply: whoever shows it passes it through the terminal sanitiser first.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import aclosing

from ttt.core.api import current_engine, get_config
from ttt.core.errors import AIError, InvalidRequestError
from ttt.core.types import ErrorEvent, Message, TextDelta

SUMMARY_HEADING = "Summary of the earlier conversation (its turns are not repeated below):"
INSTRUCTION = (
    "Summarise the conversation so far for your own later use, in place of it: the user's goals "
    "and preferences, facts and decisions, names, numbers, file names and code identifiers, and "
    "open questions. Be concise; write only the summary."
)


def with_summary(system: str | None, summary: str) -> str | None:
    """The system prompt a request carries: the session's (or the config's) plus the summary."""
    if not summary:
        return system
    base = get_config().system if system is None else system
    return f"{base}\n\n{SUMMARY_HEADING}\n{summary}" if base else f"{SUMMARY_HEADING}\n{summary}"


def compact_cut(messages: Sequence[Message], start: int, keep_turns: int) -> int:
    """Where the newest ``keep_turns`` turns after ``messages[start]`` begin: what comes before is
    summarised. A turn starts at a user message, so a tool call stays with its result."""
    starts = [i for i in range(start, len(messages)) if messages[i].role == "user"]
    if len(starts) <= max(keep_turns, 0):
        raise InvalidRequestError(
            f"Nothing to compact: the conversation has {len(starts)} turn(s) since the last summary "
            f"and the newest {keep_turns} stay as they are."
        )
    return starts[-keep_turns] if keep_turns > 0 else len(messages)


async def summarise(messages: Sequence[Message], model: str | None) -> str:
    """A summary of ``messages`` from ``model`` (no tools); raises the turn's error if it fails."""
    from ttt.core.engine import TurnOptions

    text: list[str] = []
    request = [*messages, Message.user(INSTRUCTION)]
    async with aclosing(current_engine().run(request, TurnOptions(model=model))) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                text.append(event.text)
            elif isinstance(event, ErrorEvent):
                raise event.error
    summary = "".join(text).strip()
    if not summary:
        raise AIError("The model returned an empty summary; nothing was compacted.")
    return summary
