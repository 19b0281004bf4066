"""Resent REST messages: which stored replies answer a copy, and how keys become message ids."""

from __future__ import annotations

import pytest
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from plugins.channels.idempotency import earlier_replies, message_id_for, one_copy_at_a_time, replies_to, valid_key

BUTTONS = [{"title": "Leerkracht", "payload": '/inform_role{"role":"teacher"}'}]
EVENTS = [
    SessionStarted(),
    UserUttered("hallo", message_id="a"),
    BotUttered("Goedendag.", {}),
    UserUttered("ik maak me zorgen", message_id="b"),
    ActionExecuted("action_start_case"),
    BotUttered("Wat is uw rol?", {"buttons": BUTTONS}),
    BotUttered("Bij gevaar: 112.", {}),
    UserUttered("wie kan ik bellen?", message_id="c"),
]


def test_the_replies_of_the_resent_message_and_no_others() -> None:
    assert replies_to(EVENTS, "b", "rest:x:juf") == [
        {"recipient_id": "rest:x:juf", "text": "Wat is uw rol?", "buttons": BUTTONS},
        {"recipient_id": "rest:x:juf", "text": "Bij gevaar: 112."},
    ]
    assert replies_to(EVENTS, "a", "r") == [{"recipient_id": "r", "text": "Goedendag."}]


def test_a_message_without_stored_replies_and_one_never_processed_differ() -> None:
    assert replies_to(EVENTS, "c", "r") == []  # processed, no answer stored (action server was down)
    assert replies_to(EVENTS, "d", "r") is None  # not in the conversation: process it


def test_a_key_means_the_same_message_only_in_its_own_conversation() -> None:
    assert message_id_for("rest:a:juf", "1") == message_id_for("rest:a:juf", "1")
    assert message_id_for("rest:a:juf", "1") != message_id_for("rest:b:juf", "1")
    assert len(message_id_for("rest:a:juf", "1")) == 32


@pytest.mark.parametrize(
    "key,valid",
    [
        ("juf-1-0", True),
        ("3f2a.b:c_d", True),
        ("x" * 128, True),
        ("", False),
        ("x" * 129, False),
        ("met spatie", False),
        ("é", False),
    ],
)
def test_keys_are_short_plain_ascii(key: str, valid: bool) -> None:
    assert valid_key(key) is valid


class Agent:
    """The two stores of a Rasa agent that the channel uses, the real in-memory ones."""

    def __init__(self) -> None:
        self.lock_store = InMemoryLockStore()
        self.tracker_store = InMemoryTrackerStore(Domain.empty())


async def test_stored_replies_are_read_back_under_the_resend_lock() -> None:
    agent = Agent()
    assert await earlier_replies(agent, "rest:x:juf", "b") is None  # no conversation yet
    await agent.tracker_store.save(DialogueStateTracker.from_events("rest:x:juf", EVENTS))
    async with one_copy_at_a_time(agent, "rest:x:juf"):
        assert agent.lock_store.get_lock("rest:x:juf#resend").is_someone_waiting()
        replies = await earlier_replies(agent, "rest:x:juf", "b")
    assert [reply["text"] for reply in replies or []] == ["Wat is uw rol?", "Bij gevaar: 112."]
    assert agent.lock_store.get_lock("rest:x:juf#resend") is None  # released
