"""JSON-lines logging for the production runner (scripts/serve.sh): one object per line, no user text.

Why: a school board's log collector (journald, Loki, Elastic) parses JSON lines without regexes, and
logs are kept longer and read by more people than the dossier. So a record carries only what an admin
needs (time, level, logger, message) and an exception only as its type and where it was raised: an
exception's message or a traceback's source line can quote what a teacher typed. DEBUG is refused by
deploy/preflight.py because Rasa logs every user message at that level.

Both servers are started through it: ``python -m deploy.jsonlog actions.server --port N`` and
``python -m deploy.jsonlog rasa run ...`` (logging configured, then the module run as ``__main__``).
Why not Rasa's ``--logging-config-file``: Rasa 3.6 applies that file and then installs coloredlogs,
which replaces the root handler on stderr with its own plain-text one; for ``rasa`` that step is
switched off here, so the JSON handler stays.
"""

from __future__ import annotations

import json
import logging
import os
import runpy
import sys
import traceback
from datetime import datetime, timezone
from typing import Any, Dict, Optional, Sequence


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg"[, "exc", "at"]}`` per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: Dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            frames = traceback.extract_tb(error.__traceback__)
            entry["exc"] = type(error).__name__
            entry["at"] = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "unknown"
        return json.dumps(entry, ensure_ascii=False)


def configure(level: Optional[str] = None) -> None:
    """Root logger -> stderr as JSON lines at ``LOG_LEVEL`` (default INFO); replaces any handler.
    Python warnings go through logging too, so a library's warning is a JSON line, not bare text."""
    logging.captureWarnings(True)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("LOG_LEVEL", "INFO"))
    for name in ("sanic.root", "sanic.error", "sanic.access", "sanic.server"):
        # Sanic adds its own plain-text handlers; its records must go through ours instead.
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True


def _keep_json_logging(_level: Optional[str]) -> None:
    """Stands in for Rasa's coloredlogs set-up, which would replace the JSON handler."""


def main(argv: Sequence[str]) -> None:
    """``python -m deploy.jsonlog MODULE [ARGS...]``: run MODULE as ``__main__`` with JSON logging."""
    if not argv:
        raise SystemExit("usage: python -m deploy.jsonlog MODULE [ARGS...]")
    configure()
    module, args = argv[0], list(argv[1:])
    if module == "rasa":
        import rasa.utils.io

        rasa.utils.io.configure_colored_logging = _keep_json_logging
    sys.argv = [module] + args
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
