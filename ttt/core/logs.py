"""Logging under the ``ttt`` logger: a rotating file in the log dir, and secrets never written.

Every record passes the redaction filter (``ttt.core.secrets.redact``) before any handler
formats it. The filter sits on ttt's own loggers (so records are clean
whatever handlers a host program adds) and on ttt's handlers (for the third-party loggers they
also collect at ``--debug``). The library adds no handler of its own; ``setup_logging`` is for
the CLI and the TUI.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ttt.core.secrets import redact

ROOT = "ttt"
MAX_BYTES = 2_000_000
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Libraries whose records matter when debugging a request (their handlers stay ours, redacted).
THIRD_PARTY = ("httpx", "openai", "ollama", "LiteLLM")


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and traceback) with secrets removed; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_ttt_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is
            message = f"{record.msg} {record.args}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record._ttt_redacted = True
        return True


_FILTER = RedactingFilter()
logging.getLogger(ROOT).addHandler(logging.NullHandler())
logging.getLogger(ROOT).addFilter(_FILTER)


def get_logger(name: str) -> logging.Logger:
    """``ttt.<name>``, with the redaction filter on it."""
    logger = logging.getLogger(f"{ROOT}.{name}")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


class _LogFile(logging.Handler):
    """The rotating log file, opened with the first record: most runs write none, and
    ``logging.handlers`` is slow to import."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._file: logging.Handler | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self._file is None:
            self._file = _rotating_file(self.path)
            self._file.setFormatter(self.formatter)
        self._file.emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        """A log that can't be written (disk full, folder gone) must never print a traceback on
        the user's terminal or stop ttt: the record is dropped."""

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        super().close()


def _rotating_file(path: Path) -> logging.Handler:
    """A rotating file handler whose files are private (0600) and whose errors are dropped."""
    import logging.handlers

    from ttt.core.config import private_opener

    class PrivateRotatingFile(logging.handlers.RotatingFileHandler):
        def _open(self) -> Any:
            return open(
                self.baseFilename,
                self.mode,
                encoding=self.encoding,
                errors=self.errors,
                opener=private_opener,
            )

        handleError = _LogFile.handleError

    return PrivateRotatingFile(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True)


def log_file() -> Path:
    from ttt.core.config import paths

    return paths().log_dir / "ttt.log"


def _level(value: str | int) -> int:
    if isinstance(value, int):
        return value
    level = logging.getLevelName(value.strip().upper())
    return level if isinstance(level, int) else logging.WARNING


def setup_logging(level: str | int = "WARNING", *, stderr: bool = False) -> Path | None:
    """Send ttt's records at ``level`` and above to the rotating log file (and to stderr when
    asked, for ``--debug``); calling it again replaces what an earlier call installed.

    Returns the log file, or None when it can't be opened (logging must never stop ttt)."""
    numeric = _level(level)
    loggers = [logging.getLogger(ROOT), *(logging.getLogger(n) for n in THIRD_PARTY)]
    for logger in loggers:
        for handler in [h for h in logger.handlers if getattr(h, "_ttt", False)]:
            logger.removeHandler(handler)
            handler.close()
    handlers: list[logging.Handler] = []
    file = log_file()
    path: Path | None = file
    try:
        from ttt.core.config import private_dir

        private_dir(file.parent)
        handlers.append(_LogFile(file))
    except OSError:
        path = None
    if stderr:
        handlers.append(logging.StreamHandler())
    for handler in handlers:
        handler._ttt = True  # type: ignore[attr-defined]
        handler.setLevel(numeric)
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(_FILTER)
    for logger in loggers:
        if logger.name != ROOT and numeric > logging.DEBUG:
            logger.setLevel(logging.NOTSET)  # third-party records only when debugging
            continue
        logger.setLevel(numeric)
        for handler in handlers:
            logger.addHandler(handler)
    return path
