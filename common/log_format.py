"""Log lines: the request id on every record, secrets never, JSON in production.

``RequestIdFilter`` stamps each record with the current request (or task) id.
``SecretRedactingFilter`` rewrites a record's message when it holds an API key, an
``Authorization`` or ``Cookie`` value, a session id, a password or a token; it is
defence in depth (no code here logs them on purpose), so it also covers what
libraries log. The formatters redact their finished output once more, which covers
exception texts and tracebacks. ``LOG_FORMAT=json`` selects ``JsonFormatter``: one
object per line with time, level, logger, message, request_id and exception.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from common.request_id import current_request_id

REDACTED = "[redacted]"

# A name that marks a secret, then `=`, `:` or a quoted JSON/dict separator, then the
# value up to a delimiter. Covers `apikey: x`, `'apikey': 'x'`, `sessionid=x; ...`,
# `Authorization: Bearer x` (the scheme word is kept, the credential goes).
_NAMED_SECRET = re.compile(
    r"(?P<name>\b(?:apikey|api[_-]?key|x[_-]api[_-]key|authorization|proxy[_-]authorization|cookie|set[_-]cookie"
    r"|sessionid|session[_-]?key|csrftoken|csrfmiddlewaretoken|password|passwd|secret(?:[_-]key)?|token"
    r"|access[_-]token|github[_-]token|http[_-](?:apikey|authorization|cookie))\b)"
    r"(?P<sep>['\"]?\s*[:=]\s*['\"]?)"
    r"(?!(?:(?:bearer|token|basic)\s+)?\[redacted\])"
    r"(?P<scheme>(?:bearer|token|basic)\s+)?"
    r"(?P<value>[^\s'\",;&)}\]]+(?:;\s*[^\s'\",;&)}\]]+=[^\s'\",;&)}\]]+)*)",
    re.IGNORECASE,
)
# A password inside a URL (redis://:pw@host, amqp://user:pw@host).
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?!\[redacted\]@)[^@\s/]+@", re.IGNORECASE
)
# Tokens that are recognisable by their shape alone (GitHub's formats).
_SHAPED_SECRET = re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b")


def redact(text: str) -> str:
    """``text`` with every recognisable secret replaced by ``[redacted]``."""
    if not text:
        return text
    text = _NAMED_SECRET.sub(
        lambda m: f"{m.group('name')}{m.group('sep')}{m.group('scheme') or ''}{REDACTED}", text
    )
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{REDACTED}@", text)
    return _SHAPED_SECRET.sub(REDACTED, text)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id() or "-"
        return True


class SecretRedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the formatter's problem, not ours
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class RedactingTextFormatter(logging.Formatter):
    """The readable format of ``make run``; the finished line is redacted once more."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id[, exception]."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": current_request_id() or None,
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)
