"""bot/logs.py: a library's debug record loses its text, ours keep theirs, and nothing above DEBUG changes."""

from __future__ import annotations

import logging

import pytest

from bot.logs import WITHHELD, is_own, withhold_library_debug

SECRET = "Fatma zei dat haar oom aan haar zit"


@pytest.fixture
def withheld():
    previous = logging.getLogRecordFactory()
    withhold_library_debug()
    yield
    logging.setLogRecordFactory(previous)


def test_a_librarys_debug_message_is_withheld_with_its_arguments(withheld, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("rasa.core.processor").debug("Received user message '%s'", SECRET)
    logging.getLogger("rasa_sdk.executor").debug(f"Received request {SECRET}")
    assert SECRET not in caplog.text
    assert [r.getMessage() for r in caplog.records] == [WITHHELD, WITHHELD]
    assert [r.name for r in caplog.records] == ["rasa.core.processor", "rasa_sdk.executor"]  # what ran stays


def test_our_debug_messages_and_every_higher_level_are_kept(withheld, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("plugins.channels.rest").debug("rest: %d replies", 2)
    logging.getLogger("rasa.core.processor").warning("Circuit breaker tripped")
    assert [r.getMessage() for r in caplog.records] == ["rest: 2 replies", "Circuit breaker tripped"]


def test_installing_twice_wraps_once(withheld) -> None:
    factory = logging.getLogRecordFactory()
    withhold_library_debug()
    assert logging.getLogRecordFactory() is factory


@pytest.mark.parametrize(
    "name,own",
    [
        ("bot", True),
        ("bot.notes", True),
        ("plugins.nlu.safety", True),
        ("actions.notes", True),
        ("deploy.jsonlog", True),
        ("botocore", False),
        ("rasa", False),
        ("sanic.root", False),
        ("root", False),
    ],
)
def test_own_loggers_are_told_apart_by_package(name: str, own: bool) -> None:
    assert is_own(name) is own
