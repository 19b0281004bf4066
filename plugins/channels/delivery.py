"""Every message gets an answer, even when the action server is down or Rasa fails.

Why: when the action server cannot be reached, Rasa logs the error, drops that action's events and
carries on, so the user would get no reply at all: silence in a stressful moment. Rasa calls
``send_response`` on the output channel once per bot message; ``CountingOutput`` counts those calls and
``deliver`` apologises when a message produced none. Two cases, two texts:
- Rasa handled the message but an action produced nothing (action server down): what the user typed is
  in the tracker, with the form's slots, so the next try carries on where this one stopped.
- Rasa itself failed (lock store, tracker store, database): the message may not have been stored at
  all, so the user is asked to send it again — never told that nothing was lost.
"""

from __future__ import annotations

import logging
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, Text

from rasa.core.channels.channel import OutputChannel, UserMessage

from plugins.channels.admission import BUSY_MESSAGE, Busy, admission
from plugins.channels.guard import guard_message
from bot.errors import describe
from bot.texts import DANGER_LINE

logger = logging.getLogger(__name__)

NOT_PROCESSED_MESSAGE = (
    "Sorry, uw bericht kon ik nu niet verwerken. Wilt u het over een minuut opnieuw sturen? " + DANGER_LINE
)
NO_ANSWER_MESSAGE = (
    "Sorry, er ging bij mij iets mis. Wat u al had ingevoerd is niet verloren; probeer het over een "
    "minuut nog eens. " + DANGER_LINE
)


class CountingOutput(OutputChannel):
    """Mixin for an output channel: counts the bot messages Rasa hands it (``replies``)."""

    replies: int = 0

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        self.replies += 1
        await super().send_response(recipient_id, message)


async def deliver(
    message: UserMessage,
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    channel: str,
    expect_reply: bool = True,
    guard_with: Any = None,
) -> bool:
    """Hand the message to Rasa; if that fails or yields no reply, send the apology with the numbers.
    Under overload (``admission``) the message is not handed over: the busy answer is sent and False
    returned, so a channel that can (REST) answers 503 and the client knows to send it again.

    ``message.output_channel`` must be a ``CountingOutput``. Errors are logged without message text.
    ``expect_reply=False`` (a session start the channel sends itself) apologises only for a failure.
    ``guard_with``: the Sanic app whose agent's tracker tells what the bot offered; the typed text is
    guarded (``plugins.channels.guard``) first, inside the same failure handling: a conversation that
    cannot be read is a failure like any other, answered with "please send it again".
    """
    output = message.output_channel
    before = output.replies
    failed = True
    try:
        async with admission().admitted():
            if guard_with is not None:
                message.text = await guard_message(guard_with, message.sender_id, message.text)
            await on_new_message(message)
        failed = False
    except Busy:
        logger.warning("%s: refused a message under overload (busy answer sent)", channel)
        await output.send_text_message(message.sender_id, BUSY_MESSAGE)
        return False
    except CancelledError:
        logger.error("%s: message handling timed out", channel)
    except Exception as error:  # noqa: BLE001 - the user must never be left without an answer
        logger.error("%s: message handling failed: %s", channel, describe(error))
    if output.replies == before and (failed or expect_reply):
        logger.warning("%s: no reply was produced; the apology was sent instead", channel)
        await output.send_text_message(message.sender_id, NOT_PROCESSED_MESSAGE if failed else NO_ANSWER_MESSAGE)
    return True
