"""Adjustments to the Rasa server process, installed when it loads our tracker store (endpoints.yml).

Why: Rasa 3.6's ``RemoteAction._validate_action_result`` calls ``jsonschema.validate`` on every response
of the action server. That function checks the large events schema against its meta-schema and builds a
new validator on every call: about 40 ms per action on this machine kind, as much as the whole NLU
pipeline for a message. The schema is a constant, so a validator built once gives the same verdict (and
the same error text) for a fraction of the cost.

The patch is pinned to the Rasa release it was written for: ``install()`` refuses to patch another
version or a method whose source changed, so an upgrade makes us look again instead of silently
changing behaviour.
"""
from __future__ import annotations

import hashlib
import inspect
from functools import lru_cache
from typing import Any, Dict, Text

PATCHED_RASA_VERSION = "3.6.21"
# sha256 of the source of RemoteAction._validate_action_result in that release.
PATCHED_SOURCE_SHA256 = "f8cdb4be6812396167ced74161b2ccd65c5ea676ad86d7d359d8c322d9d8dc42"
_INSTALLED_MARK = "_meldwijzer_compiled_validator"


@lru_cache(maxsize=1)
def _validator() -> Any:
    """The action-response validator, built (and its schema checked) once per process."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
    """Rasa's check with a prebuilt validator; errors carry Rasa's own explanation."""
    from jsonschema import ValidationError
    from rasa.shared.constants import DOCS_BASE_URL

    try:
        _validator().validate(result)
        return True
    except ValidationError as error:
        error.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error


def original_source_sha256() -> str:
    """Fingerprint of the method we replace, as the installed Rasa ships it."""
    from rasa.core.actions.action import RemoteAction

    method = getattr(RemoteAction._validate_action_result, "__wrapped__", RemoteAction._validate_action_result)
    return hashlib.sha256(inspect.getsource(method).encode("utf-8")).hexdigest()


def install() -> None:
    """Replace the per-call validation with the prebuilt validator (idempotent)."""
    import rasa
    from rasa.core.actions.action import RemoteAction

    if getattr(RemoteAction._validate_action_result, _INSTALLED_MARK, False):
        return
    if rasa.__version__ != PATCHED_RASA_VERSION or original_source_sha256() != PATCHED_SOURCE_SHA256:
        raise RuntimeError(
            f"bot.server patches RemoteAction._validate_action_result of Rasa {PATCHED_RASA_VERSION}; "
            f"this is Rasa {rasa.__version__} with a different method: review bot/server.py before upgrading"
        )
    patched = _validate_action_result
    patched.__wrapped__ = RemoteAction._validate_action_result  # type: ignore[attr-defined]
    setattr(patched, _INSTALLED_MARK, True)
    RemoteAction._validate_action_result = patched  # type: ignore[assignment]
