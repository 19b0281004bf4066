"""Every channel answers every message: plugins/channels/delivery.py with the REST, web and Teams outputs."""

from __future__ import annotations

from typing import Any, List

import pytest
from rasa.core.channels.channel import UserMessage

from plugins.channels.delivery import NO_ANSWER_MESSAGE, NOT_PROCESSED_MESSAGE, deliver
from plugins.channels.rest import RestOutput


async def answers(message: UserMessage) -> None:
    await message.output_channel.send_response(message.sender_id, {"text": "Stap 1: ..."})


async def silent(message: UserMessage) -> None:
    """What Rasa does when the action server is down: it logs, drops the events and sends nothing."""


async def crashes(message: UserMessage) -> None:
    await message.output_channel.send_response(message.sender_id, {"text": "eerste deel"})
    raise RuntimeError("boom")


async def crashes_before_answering(message: UserMessage) -> None:
    raise RuntimeError("Sanne zei dat ...")


async def run(handler: Any) -> List[str]:
    output = RestOutput()
    await deliver(UserMessage("ik maak me zorgen", output, "rest-1", input_channel="rest"), handler, "rest")
    return [m.get("text") for m in output.messages]


async def test_a_normal_answer_is_passed_on_unchanged() -> None:
    assert await run(answers) == ["Stap 1: ..."]


async def test_no_answer_from_the_actions_becomes_the_apology_with_the_numbers() -> None:
    """Rasa stored the message; only the answer is missing: the next try carries on."""
    assert await run(silent) == [NO_ANSWER_MESSAGE]
    assert "112" in NO_ANSWER_MESSAGE and "0800-2000" in NO_ANSWER_MESSAGE and "niet verloren" in NO_ANSWER_MESSAGE


async def test_a_failure_of_rasa_itself_asks_to_send_the_message_again() -> None:
    """Lock store, tracker store or database down: the message may not be stored, so never claim it is."""
    assert await run(crashes_before_answering) == [NOT_PROCESSED_MESSAGE]
    assert "opnieuw sturen" in NOT_PROCESSED_MESSAGE and "niet verloren" not in NOT_PROCESSED_MESSAGE
    assert "112" in NOT_PROCESSED_MESSAGE and "0800-2000" in NOT_PROCESSED_MESSAGE


async def test_a_crash_after_a_partial_answer_keeps_what_was_said(caplog: pytest.LogCaptureFixture) -> None:
    assert await run(crashes) == ["eerste deel"]


async def test_the_log_holds_no_message_text(caplog: pytest.LogCaptureFixture) -> None:
    await run(crashes_before_answering)
    assert "message handling failed: RuntimeError at" in caplog.text
    assert "zorgen" not in caplog.text and "Sanne" not in caplog.text  # neither the message nor the error text


async def test_a_session_start_may_be_silent_but_not_fail() -> None:
    output = RestOutput()
    await deliver(UserMessage("/session_start", output, "web-1"), silent, "web", expect_reply=False)
    assert output.messages == []
    await deliver(UserMessage("/session_start", output, "web-1"), crashes_before_answering, "web", expect_reply=False)
    assert [m["text"] for m in output.messages] == [NOT_PROCESSED_MESSAGE]


async def test_under_overload_the_message_is_not_handed_to_rasa_and_the_busy_answer_is_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    from plugins.channels import admission as gate
    from plugins.channels import delivery

    monkeypatch.setattr(delivery, "admission", lambda: full)
    full, release, handled = gate.Admission(limit=1, queue=0, max_wait=5), asyncio.Event(), []

    async def slow(message: UserMessage) -> None:
        handled.append(message.text)
        await release.wait()
        await answers(message)

    first_output, second_output = RestOutput(), RestOutput()
    first = asyncio.create_task(deliver(UserMessage("eerste", first_output, "rest-1"), slow, "rest"))
    await asyncio.sleep(0.01)
    assert await deliver(UserMessage("tweede", second_output, "rest-2"), slow, "rest") is False
    assert [m["text"] for m in second_output.messages] == [gate.BUSY_MESSAGE] and handled == ["eerste"]
    release.set()
    assert await first is True


def _app(tracker_store: Any) -> Any:
    """A Sanic app as the guard sees it: its Rasa agent and that agent's tracker store."""
    from types import SimpleNamespace

    return SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(tracker_store=tracker_store)))


class _DatabaseDown:
    async def retrieve(self, sender_id: str) -> None:
        raise ConnectionRefusedError("database down")


class _NothingOffered:
    async def retrieve(self, sender_id: str) -> None:
        return None


async def test_a_conversation_that_cannot_be_read_is_not_guessed_but_asked_again() -> None:
    """Database down when the typed text is guarded: Rasa never gets the message (a clicked button would
    otherwise arrive as typed text the moment the database is back); the user is asked to resend it."""
    handed: List[str] = []

    async def rasa(message: UserMessage) -> None:
        handed.append(message.text)

    output = RestOutput()
    await deliver(
        UserMessage("/affirm", output, "rest-1", input_channel="rest"), rasa, "rest", guard_with=_app(_DatabaseDown())
    )
    assert handed == [] and [m.get("text") for m in output.messages] == [NOT_PROCESSED_MESSAGE]


async def test_the_guard_runs_before_rasa_sees_the_text() -> None:
    handed: List[str] = []

    async def rasa(message: UserMessage) -> None:
        handed.append(message.text)
        await message.output_channel.send_response(message.sender_id, {"text": "ok"})

    await deliver(
        UserMessage(' /inform_role{"role":"attention_officer"}', RestOutput(), "rest-1", input_channel="rest"),
        rasa,
        "rest",
        guard_with=_app(_NothingOffered()),
    )
    assert handed == ['inform_role{"role":"attention_officer"}']  # not offered: no intent, plain text
