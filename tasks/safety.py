"""The task boundary: what a task's failure tells Prefect (state message, logs, events).

A failed task's exception text becomes its run state's message, is logged with its
traceback and travels in the state-change event. So every task is wrapped in `guarded`:
a database error leaves as a `DatabaseFailure` (operation, error class, SQLSTATE; the
driver's text and the chain behind it are dropped), any other error has ID-, phone- and
bank-account-like numbers masked in its text. `install_log_masking` masks the same in every
log record (message and traceback), whatever code logged it: the last line of defence for
tasks not yet wrapped and for code outside tasks.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from zhucun.db import DatabaseFailure, describe_db_error
from zhucun.privacy import mask_text

P = ParamSpec("P")
R = TypeVar("R")


def safe_exception(exc: BaseException, operation: str = "") -> BaseException | None:
    """The exception to raise instead of `exc`, or None when `exc` is safe as it is."""
    if isinstance(exc, DatabaseFailure):
        return DatabaseFailure(str(exc), operation=exc.operation, sqlstate=exc.sqlstate)
    if isinstance(exc, DBAPIError):
        message, code = describe_db_error(exc.orig, exc.statement)
        return DatabaseFailure(f"{operation}: {message}", operation=operation, sqlstate=code)
    if isinstance(exc, SQLAlchemyError):  # not a driver error: still may quote a value
        return DatabaseFailure(
            f"{operation}: database error {type(exc).__name__}", operation=operation
        )
    text = str(exc)
    masked = mask_text(text)
    if masked == text and exc.__cause__ is None and exc.__context__ is None:
        return None
    if masked != text:
        try:
            exc.args = (masked,)
        except (AttributeError, TypeError):
            return RuntimeError(f"{type(exc).__name__}: {masked}")
        if str(exc) != masked:  # an exception that builds its text from other fields
            return RuntimeError(f"{type(exc).__name__}: {masked}")
    exc.__cause__, exc.__context__, exc.__suppress_context__ = None, None, True
    return None


def guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """Wrap a task's function (under `@task`): its failures leave safe."""
    operation = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            replacement = safe_exception(exc, operation)
            if replacement is None:
                raise
            raise replacement from None

    return wrapper


_BASE_FACTORY: Callable[..., logging.LogRecord] | None = None


def _masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    assert _BASE_FACTORY is not None
    record = _BASE_FACTORY(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string is the logger's problem
        return record
    masked = mask_text(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and record.exc_info[0] is not None:
        text = logging.Formatter().formatException(record.exc_info)
        record.exc_text = mask_text(text)
    return record


def install_log_masking() -> None:
    """Mask personal numbers in every log record from now on (idempotent)."""
    global _BASE_FACTORY
    current = logging.getLogRecordFactory()
    if current is _masking_factory:
        return
    _BASE_FACTORY = current
    logging.setLogRecordFactory(_masking_factory)


install_log_masking()
