"""The Teams connector (plugins/channels/teams.py) over real HTTP, against a fake Bot Framework.

Sanic serves the channel's blueprint, mounted with Rasa's own ``register`` at /webhooks/teams/webhook.
The only stand-in is the Rasa agent behind it (the trained model is not part of this test): it records
each UserMessage, answers through the real TeamsOutput, so every reply travels token endpoint ->
Bot Connector like in production, and keeps what it said as tracker events, which the shared guard
reads. Tokens are signed with an RSA key the fake publishes as JWKS. The channel acknowledges at once
and answers in the background; ``Harness.post`` waits for that work (``connector.idle()``) before it
returns. The case store is the per-test SQLite store of tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from shutil import copytree
from types import SimpleNamespace
from typing import Any, AsyncIterator, Dict, List, Optional

import aiohttp
import pytest
from PIL import Image
from rasa.core.channels.channel import UserMessage, register
from rasa.shared.exceptions import RasaException
from sanic import Sanic

from bot import reminders
from plugins.channels.delivery import NOT_PROCESSED_MESSAGE
from plugins.channels.identity import teams_identity
from plugins.channels.limits import MAX_MESSAGE_CHARS, TOO_LONG_MESSAGE
from plugins.channels.teams import (
    HERO_CARD,
    MAX_REPLY_CHARS,
    PERSONAL_ONLY_MESSAGE,
    TeamsInput,
    TeamsSettings,
    retry_delay,
    split_text,
)
from bot.language.workdays import add_working_days
from bot.store.db import repositories
from tests.fakes.botframework import FakeBotFramework, new_key

APP_ID = "1b7c5e1a-2f5d-4c1e-9c1a-6d0f1e2a3b4c"
APP_PASSWORD = "geheim-wachtwoord-van-de-bot"
TENANT_ID = "9d3c1f0e-7a6b-4c5d-8e9f-0a1b2c3d4e5f"
TEACHER = "6f1c2d3e-0000-4000-8000-00000000a11e"
STEP_BUTTONS = [
    {"title": "Stap 1: signalen in kaart", "payload": '/choose_step{"step":"1"}'},
    {"title": "Stap 2: collegiale consultatie", "payload": '/choose_step{"step":"2"}'},
]
REPO_ROOT = Path(__file__).resolve().parent.parent


class FakeClock:
    """Monotonic time the test moves by hand, for key and token lifetimes."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TrackerStore:
    """What the guard reads of Rasa's tracker store: each sender's events (here only the bot's turns)."""

    def __init__(self) -> None:
        self.events: Dict[str, List[Dict[str, Any]]] = {}

    async def retrieve(self, sender_id: str) -> Any:
        events = [SimpleNamespace(as_dict=lambda e=event: e) for event in self.events.get(sender_id, [])]
        return SimpleNamespace(events=events)


class RasaAgent:
    """Stands in for rasa.core.agent.Agent where the channel uses it: ``handle_message`` and the
    tracker store (shared by every "replica" given the same agent, like a real tracker store)."""

    def __init__(self) -> None:
        self.messages: List[UserMessage] = []
        self.reply: Dict[str, Any] = {"text": "In welke stap zit u?", "buttons": STEP_BUTTONS}
        self.tracker_store = TrackerStore()

    async def handle_message(self, message: UserMessage) -> None:
        self.messages.append(message)
        said = json.loads(json.dumps(self.reply))  # a copy: send_response consumes the dict it is given
        self.tracker_store.events.setdefault(message.sender_id, []).append({"event": "bot", "data": said})
        await message.output_channel.send_response(message.sender_id, json.loads(json.dumps(self.reply)))


class Harness:
    """The fake Bot Framework, the channel behind a real Sanic server, and the agent stand-in."""

    def __init__(
        self,
        fake: FakeBotFramework,
        agent: RasaAgent,
        clock: FakeClock,
        webhook: str,
        channel: Optional[TeamsInput] = None,
    ) -> None:
        self.fake, self.agent, self.clock, self.webhook, self.channel = fake, agent, clock, webhook, channel

    async def post(self, activity: Dict[str, Any], authorization: Optional[str] = "sign") -> int:
        """POST the activity like the Bot Connector does ("sign": a valid token), then wait until the
        channel has finished the background work it took on."""
        if authorization == "sign":
            authorization = f"Bearer {self.fake.sign(activity)}"
        headers = {"Authorization": authorization} if authorization else {}
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.webhook, json=activity, headers=headers) as reply,
        ):
            status = reply.status
        if self.channel is not None and self.channel.connector is not None:
            await self.channel.connector.idle()
        return status

    async def click(self, button: Dict[str, str]) -> Dict[str, Any]:
        """What Teams sends for a messageBack click: the title as text, the payload in ``value``."""
        activity = self.fake.activity(button["title"])
        activity["value"] = {"payload": button["payload"]}
        assert await self.post(activity) == 200
        return activity

    async def say(self, text: str, **activity_fields: Any) -> Dict[str, Any]:
        activity = self.fake.activity(text, **activity_fields)
        assert await self.post(activity) == 200
        return activity

    def reply_activities(self) -> List[Dict[str, Any]]:
        return [reply.activity for reply in self.fake.replies]


@asynccontextmanager
async def sanic_server(channel: TeamsInput, agent: RasaAgent) -> AsyncIterator[str]:
    """Serve ``channel`` the way `rasa run` does; yields the webhook URL."""
    app = Sanic(f"teams_test_{uuid.uuid4().hex}")
    app.ctx.agent = agent
    register([channel], app, route="/webhooks/")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/webhooks/teams/webhook"
    finally:
        await server.before_stop()
        await server.close()
        await server.after_stop()


class Sleeps(list):
    """Records the back-off delays instead of waiting them."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def settings_for(fake: FakeBotFramework, **overrides: Any) -> TeamsSettings:
    values = dict(
        app_id=APP_ID,
        app_password=APP_PASSWORD,
        tenant_id=TENANT_ID,
        openid_metadata_url=fake.openid_metadata_url,
        token_endpoint=fake.token_endpoint,
    )
    return TeamsSettings(**{**values, **overrides})


@pytest.fixture(autouse=True)
def sanic_test_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sanic 21.12 can start several apps in one process only in test mode (it rewrites methods once)."""
    monkeypatch.setattr(Sanic, "test_mode", True)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotFramework]:
    service = await FakeBotFramework(APP_ID, APP_PASSWORD, TENANT_ID).start()
    yield service
    await service.stop()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def teams(fake: FakeBotFramework, sleeps: Sleeps) -> AsyncIterator[Harness]:
    clock, agent = FakeClock(), RasaAgent()
    channel = TeamsInput(settings_for(fake), clock=clock, sleep=sleeps)
    async with sanic_server(channel, agent) as webhook:
        yield Harness(fake, agent, clock, webhook, channel)


# --- inbound: identity, text, metadata ---------------------------------------------------------------


async def test_message_reaches_rasa_as_the_teacher_without_the_mention(teams: Harness) -> None:
    activity = await teams.say("<at>Meldwijzer</at>  Ik maak me zorgen over een leerling uit groep 5 ")

    [message] = teams.agent.messages
    assert message.text == "Ik maak me zorgen over een leerling uit groep 5"
    assert message.sender_id == teams_identity(TENANT_ID, TEACHER)  # namespaced: no other channel can name it
    assert message.input_channel == "teams"
    assert message.metadata == {"conversation_id": activity["conversation"]["id"], "tenant_id": TENANT_ID}


async def test_sender_falls_back_to_the_teams_user_id_without_an_aad_object_id(teams: Harness) -> None:
    activity = teams.fake.activity("Hallo")
    del activity["from"]["aadObjectId"]
    assert await teams.post(activity) == 200
    assert teams.agent.messages[0].sender_id == teams_identity(TENANT_ID, "29:1AbCdEfTeacher")


# --- outbound: hero card, token, routing ------------------------------------------------------------


async def test_reply_is_a_hero_card_with_message_back_buttons_in_reply_to_the_message(teams: Harness) -> None:
    activity = await teams.say("Waar begin ik?")

    [reply] = teams.fake.replies
    assert reply.conversation_id == activity["conversation"]["id"]  # ':' and ';' survived the URL
    assert reply.reply_to_id == activity["id"]
    sent = reply.activity
    assert sent["type"] == "message" and sent["replyToId"] == activity["id"]
    assert sent["from"] == activity["recipient"] and sent["recipient"] == activity["from"]
    assert sent["conversation"] == {"id": activity["conversation"]["id"]}
    [card] = sent["attachments"]
    assert card["contentType"] == HERO_CARD
    assert card["content"]["text"] == "In welke stap zit u?"
    assert card["content"]["buttons"] == [
        {
            "type": "messageBack",
            "title": button["title"],
            "text": button["title"],
            "displayText": button["title"],
            "value": {"payload": button["payload"]},
        }
        for button in STEP_BUTTONS
    ]


async def test_access_token_comes_from_the_single_tenant_endpoint_and_is_reused(teams: Harness) -> None:
    await teams.say("Eerste vraag")
    await teams.say("Tweede vraag")

    [request] = teams.fake.token_requests
    assert request["tenant"] == TENANT_ID
    assert request["form"] == {
        "grant_type": "client_credentials",
        "client_id": APP_ID,
        "client_secret": APP_PASSWORD,
        "scope": "https://api.botframework.com/.default",
    }
    assert {reply.authorization for reply in teams.fake.replies} == {"Bearer access-1"}


async def test_access_token_is_renewed_before_it_expires(teams: Harness) -> None:
    await teams.say("Eerste vraag")
    teams.clock.now += 3599 - 300  # the fake's lifetime minus the renewal margin
    await teams.say("Later op de dag")

    assert len(teams.fake.token_requests) == 2
    assert teams.fake.replies[-1].authorization == "Bearer access-2"


async def test_token_refused_by_the_bot_connector_is_fetched_anew(teams: Harness) -> None:
    await teams.say("Eerste vraag")
    teams.fake.revoke_tokens()
    await teams.say("Tweede vraag")  # its typing indicator is refused with 401, so the reply gets a new token
    await teams.say("Derde vraag")

    assert len(teams.fake.token_requests) == 2
    assert [reply.authorization for reply in teams.fake.replies] == [
        "Bearer access-1",
        "Bearer access-2",
        "Bearer access-2",
    ]


async def test_wrong_client_secret_logs_the_failure_and_still_acknowledges(
    fake: FakeBotFramework, caplog: pytest.LogCaptureFixture
) -> None:
    agent = RasaAgent()
    channel = TeamsInput(settings_for(fake, app_password="verlopen-geheim"))
    async with sanic_server(channel, agent) as webhook:
        caplog.set_level(logging.INFO)
        assert await Harness(fake, agent, FakeClock(), webhook, channel).post(fake.activity("Hallo")) == 200

    assert len(agent.messages) == 1 and fake.replies == []
    assert any("token endpoint answered 401 invalid_client" in r.getMessage() for r in caplog.records)


# --- authentication ----------------------------------------------------------------------------------

OTHER_KEY = new_key()


REJECTED = {
    "missing header": lambda fake, activity: None,
    "not a bearer token": lambda fake, activity: f"Basic {fake.sign(activity)}",
    "bad signature": lambda fake, activity: f"Bearer {fake.sign(activity, private_key=OTHER_KEY)}",
    "wrong audience": lambda fake, activity: (
        f"Bearer {fake.sign(activity, aud='11111111-2222-3333-4444-555555555555')}"
    ),
    "expired": lambda fake, activity: f"Bearer {fake.sign(activity, exp=int(time.time()) - 3600)}",
    "wrong issuer": lambda fake, activity: f"Bearer {fake.sign(activity, iss='https://sts.windows.net/evil/')}",
    "other serviceUrl in token": lambda fake, activity: (
        f"Bearer {fake.sign(activity, serviceurl='https://attacker.example/')}"
    ),
    "no serviceUrl claim": lambda fake, activity: f"Bearer {fake.sign(activity, serviceurl=None)}",
    "unknown key id": lambda fake, activity: f"Bearer {fake.sign(activity, kid='nope', private_key=OTHER_KEY)}",
    "garbage": lambda fake, activity: "Bearer not-a-jwt",
}


@pytest.mark.parametrize("case", list(REJECTED))
async def test_request_without_a_valid_bot_connector_token_is_refused(teams: Harness, case: str) -> None:
    activity = teams.fake.activity("Dit mag nooit bij Rasa aankomen")

    assert await teams.post(activity, authorization=REJECTED[case](teams.fake, activity)) == 401
    assert teams.agent.messages == [] and teams.fake.replies == []


async def test_activity_with_a_service_url_other_than_the_signed_one_is_refused(teams: Harness) -> None:
    """The body is not signed: an attacker replaying a token must not redirect our replies (and token)."""
    activity = teams.fake.activity("Hallo")
    token = teams.fake.sign(activity)
    activity["serviceUrl"] = "https://attacker.example/"

    assert await teams.post(activity, authorization=f"Bearer {token}") == 401
    assert teams.agent.messages == [] and teams.fake.token_requests == []


async def test_key_endorsed_for_another_channel_cannot_vouch_for_teams(teams: Harness) -> None:
    activity = teams.fake.activity("Hallo")
    activity["channelId"] = "webchat"

    assert await teams.post(activity) == 401
    assert teams.agent.messages == []


async def test_rotated_key_is_fetched_once_per_cooldown(teams: Harness) -> None:
    await teams.say("Voor de rotatie")
    teams.fake.current_kid = teams.fake.add_key()
    teams.clock.now += 10
    refused = teams.fake.activity("Vlak na de rotatie")

    assert await teams.post(refused) == 401  # within the cooldown: no second fetch
    assert teams.fake.jwks_fetches == 1
    teams.clock.now += 300
    await teams.say("Na de cooldown")
    assert teams.fake.jwks_fetches == 2
    assert [m.text for m in teams.agent.messages] == ["Voor de rotatie", "Na de cooldown"]


async def test_known_keys_are_reused_for_a_day_then_fetched_again(teams: Harness) -> None:
    await teams.say("Ochtend")
    teams.clock.now += 23 * 3600
    await teams.say("Middag")
    assert teams.fake.jwks_fetches == 1
    teams.clock.now += 2 * 3600
    await teams.say("Volgende dag")
    assert teams.fake.jwks_fetches == 2


async def test_activity_from_another_tenant_is_refused(teams: Harness) -> None:
    activity = teams.fake.activity("Hallo", tenant_id="00000000-0000-4000-8000-0000000000ff")

    assert await teams.post(activity) == 403
    assert teams.agent.messages == []


# --- buttons -----------------------------------------------------------------------------------------


async def test_clicking_a_button_sends_its_payload_from_the_message_back_value_to_rasa(teams: Harness) -> None:
    await teams.say("Waar begin ik?")
    await teams.click(STEP_BUTTONS[1])

    assert teams.agent.messages[1].text == STEP_BUTTONS[1]["payload"]


async def test_a_clicked_payload_the_bot_never_offered_goes_to_the_nlu_as_text(teams: Harness) -> None:
    await teams.click({"title": "Ik ben aandachtsfunctionaris", "payload": '/choose_role{"role":"attention_officer"}'})

    assert teams.agent.messages[0].text == 'choose_role{"role":"attention_officer"}'


async def test_typing_a_button_title_counts_as_the_click(teams: Harness) -> None:
    await teams.say("Waar begin ik?")
    await teams.say(STEP_BUTTONS[1]["title"])

    assert teams.agent.messages[1].text == STEP_BUTTONS[1]["payload"]


async def test_typing_a_button_title_differently_cased_counts_as_the_click(teams: Harness) -> None:
    await teams.say("Waar begin ik?")
    await teams.say("stap 2:  Collegiale consultatie")

    assert teams.agent.messages[1].text == STEP_BUTTONS[1]["payload"]


async def test_clicks_and_titles_survive_a_restart_because_the_offer_is_read_from_the_tracker(
    fake: FakeBotFramework,
) -> None:
    agent = RasaAgent()  # the tracker store outlives the Rasa process, like the SQL tracker store
    first = TeamsInput(settings_for(fake), sleep=Sleeps())
    async with sanic_server(first, agent) as webhook:
        await Harness(fake, agent, FakeClock(), webhook, first).say("Waar begin ik?")
    restarted = TeamsInput(settings_for(fake), sleep=Sleeps())
    async with sanic_server(restarted, agent) as webhook:
        harness = Harness(fake, agent, FakeClock(), webhook, restarted)
        await harness.click(STEP_BUTTONS[0])
        await harness.say(STEP_BUTTONS[1]["title"].upper())

    assert [m.text for m in agent.messages[1:]] == [STEP_BUTTONS[0]["payload"], STEP_BUTTONS[1]["payload"]]


async def test_typed_intent_payload_goes_to_the_nlu_as_text(teams: Harness) -> None:
    await teams.say('/choose_role{"role":"attention_officer"}')

    assert teams.agent.messages[0].text == 'choose_role{"role":"attention_officer"}'


async def test_typed_payload_of_an_offered_button_is_accepted(teams: Harness) -> None:
    await teams.say("Waar begin ik?")
    await teams.say(STEP_BUTTONS[0]["payload"])

    assert teams.agent.messages[1].text == STEP_BUTTONS[0]["payload"]


async def test_more_than_six_buttons_continue_on_a_second_card(teams: Harness) -> None:
    teams.agent.reply = {
        "text": "Kies een regio.",
        "buttons": [{"title": f"Regio {n}", "payload": f'/choose_region{{"region":"{n}"}}'} for n in range(8)],
    }
    await teams.say("Welke regio?")

    cards = teams.reply_activities()[0]["attachments"]
    assert [len(card["content"]["buttons"]) for card in cards] == [6, 2]
    assert cards[0]["content"]["text"] == "Kies een regio." and "text" not in cards[1]["content"]


# --- reminders ---------------------------------------------------------------------------------------


def teacher_followup() -> int:
    store = repositories()
    case = store.cases.create(teams_identity(TENANT_ID, TEACHER), "org-1", "Leerling Merel")
    return store.followups.add(case.id, "vt_feedback", date.today(), "Vraag Veilig Thuis om terugkoppeling.").id


async def click_reminder(teams: Harness, action: str, followup_id: Any) -> None:
    activity = teams.fake.activity(reminders.BUTTON_TITLES.get(action, action))
    activity["value"] = {"reminder": action, "followup_id": followup_id}
    assert await teams.post(activity) == 200


async def test_a_message_keeps_the_conversation_reference_for_reminders(teams: Harness) -> None:
    activity = await teams.say("Hallo")

    stored = repositories().conversation_references.get(teams_identity(TENANT_ID, TEACHER), "teams")
    assert stored == {
        "service_url": teams.fake.service_url,
        "conversation_id": activity["conversation"]["id"],
        "tenant_id": TENANT_ID,
        "bot": activity["recipient"],
        "user": activity["from"],
    }


async def test_reminder_done_is_settled_by_the_channel_without_rasa(teams: Harness) -> None:
    followup_id = teacher_followup()

    await click_reminder(teams, reminders.DONE, followup_id)

    assert teams.agent.messages == []
    assert [reply["text"] for reply in teams.reply_activities()] == [reminders.DONE_MESSAGE]
    assert repositories().followups.open_for(teams_identity(TENANT_ID, TEACHER), date.today()) == []


async def test_reminder_later_moves_it_a_working_week(teams: Harness) -> None:
    followup_id = teacher_followup()

    await click_reminder(teams, reminders.LATER, followup_id)

    [followup] = repositories().followups.open_for(teams_identity(TENANT_ID, TEACHER), date.today())
    assert followup.due_on == add_working_days(date.today(), 5)
    assert [reply["text"] for reply in teams.reply_activities()] == [
        f"Goed, ik herinner u op {followup.due_on:%d-%m-%Y} opnieuw."
    ]


async def test_reminder_of_someone_else_is_refused_politely(teams: Harness) -> None:
    store = repositories()
    case = store.cases.create("teams:other:colleague", "org-1", "Leerling Daan")
    followup_id = store.followups.add(case.id, "vt_feedback", date.today(), "Terugkoppeling vragen.").id

    await click_reminder(teams, reminders.DONE, followup_id)

    assert [reply["text"] for reply in teams.reply_activities()] == [reminders.UNKNOWN_MESSAGE]
    assert store.followups.open_for("teams:other:colleague", date.today())[0].done_at is None


async def test_reminder_open_case_switches_rasa_to_the_reminders_case(teams: Harness) -> None:
    followup_id = teacher_followup()
    [followup] = repositories().followups.open_for(teams_identity(TENANT_ID, TEACHER), date.today())

    await click_reminder(teams, reminders.OPEN, followup_id)

    assert [m.text for m in teams.agent.messages] == [f'/switch_case{{"case_ref": "{followup.case_id}"}}']


async def test_reminder_open_case_of_someone_else_names_no_case(teams: Harness) -> None:
    store = repositories()
    case = store.cases.create("teams:other:colleague", "org-1", "Leerling Daan")
    followup_id = store.followups.add(case.id, "vt_feedback", date.today(), "Terugkoppeling vragen.").id

    await click_reminder(teams, reminders.OPEN, followup_id)

    assert [m.text for m in teams.agent.messages] == [reminders.OPEN_CASE_PAYLOAD]


async def test_the_scheduler_runs_in_the_channel_when_switched_on(
    fake: FakeBotFramework, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MELDWIJZER_REMINDERS", "1")
    teacher_followup()
    repositories().conversation_references.save(
        teams_identity(TENANT_ID, TEACHER),
        "teams",
        {
            "service_url": fake.service_url,
            "conversation_id": "a:1Fq9Xy-Personal",
            "tenant_id": TENANT_ID,
            "bot": {"id": f"28:{APP_ID}"},
            "user": {"id": "29:1AbCdEfTeacher"},
        },
    )
    channel = TeamsInput(settings_for(fake), sleep=Sleeps())
    async with sanic_server(channel, RasaAgent()):
        assert channel.scheduler is not None
        for _ in range(100):  # the first run starts with the server; wait for it, not for a time
            if fake.proactive():
                break
            await asyncio.sleep(0.05)
    assert len(fake.proactive()) == 1


# --- limits and conversation kinds -------------------------------------------------------------------


async def test_message_over_the_limit_is_refused_politely(teams: Harness) -> None:
    await teams.say("a" * (MAX_MESSAGE_CHARS + 1))

    assert teams.agent.messages == []
    assert [reply["text"] for reply in teams.reply_activities()] == [TOO_LONG_MESSAGE]


async def test_message_at_the_limit_after_removing_the_mention_is_accepted(teams: Harness) -> None:
    await teams.say("<at>Meldwijzer</at> " + "a" * MAX_MESSAGE_CHARS)

    assert [len(m.text) for m in teams.agent.messages] == [MAX_MESSAGE_CHARS]


async def test_long_reply_is_split_at_paragraphs_with_the_buttons_on_the_last_part(teams: Harness) -> None:
    paragraphs = [f"Alinea {n}. " + "De meldcode vraagt zorgvuldigheid. " * 55 for n in range(4)]
    teams.agent.reply = {"text": "\n\n".join(paragraphs), "buttons": STEP_BUTTONS}
    await teams.say("Leg alles uit")

    sent = teams.reply_activities()
    texts = [a.get("text") or a["attachments"][0]["content"]["text"] for a in sent]
    assert len(sent) > 1 and all(len(text) <= MAX_REPLY_CHARS for text in texts)
    assert "\n\n".join(texts) == "\n\n".join(p.strip() for p in paragraphs)
    assert all("attachments" not in a for a in sent[:-1]) and sent[-1]["attachments"][0]["content"]["buttons"]


async def test_group_chat_gets_the_personal_chat_notice_and_nothing_reaches_rasa(teams: Harness) -> None:
    await teams.say("<at>Meldwijzer</at> help", conversation_type="groupChat", conversation_id="19:abc123@thread.v2")

    assert teams.agent.messages == []
    assert [reply["text"] for reply in teams.reply_activities()] == [PERSONAL_ONLY_MESSAGE]


def lifecycle_activity(fake: FakeBotFramework, **fields: Any) -> Dict[str, Any]:
    activity = fake.activity("")
    del activity["text"]
    activity.update(fields)
    return activity


async def test_bot_added_to_the_chat_greets_with_the_main_buttons(teams: Harness) -> None:
    activity = lifecycle_activity(teams.fake, type="conversationUpdate")
    activity["membersAdded"] = [activity["recipient"]]

    assert await teams.post(activity) == 200

    [message] = teams.agent.messages
    assert message.text == "/greet"  # Rasa's greeting: utter_greet with the three main buttons
    assert message.sender_id == teams_identity(TENANT_ID, TEACHER)
    [reply] = teams.reply_activities()
    assert reply["attachments"][0]["content"]["buttons"][0]["value"] == {"payload": STEP_BUTTONS[0]["payload"]}


async def test_installing_the_app_greets_and_uninstalling_does_not(teams: Harness) -> None:
    assert await teams.post(lifecycle_activity(teams.fake, type="installationUpdate", action="add")) == 200
    assert await teams.post(lifecycle_activity(teams.fake, type="installationUpdate", action="remove")) == 200

    assert [m.text for m in teams.agent.messages] == ["/greet"]


async def test_install_with_both_lifecycle_activities_greets_once(teams: Harness) -> None:
    added = lifecycle_activity(teams.fake, type="conversationUpdate")
    added["membersAdded"] = [added["recipient"]]

    assert await teams.post(lifecycle_activity(teams.fake, type="installationUpdate", action="add")) == 200
    assert await teams.post(added) == 200

    assert [m.text for m in teams.agent.messages] == ["/greet"] and len(teams.fake.replies) == 1


async def test_a_user_joining_is_acknowledged_without_a_message(teams: Harness) -> None:
    activity = lifecycle_activity(teams.fake, type="conversationUpdate")
    activity["membersAdded"] = [activity["from"]]

    assert await teams.post(activity) == 200
    assert teams.agent.messages == [] and teams.fake.replies == []


async def test_typing_is_shown_before_the_answer(teams: Harness) -> None:
    activity = await teams.say("Wat moet ik nu doen?")

    [typing] = teams.fake.typing
    assert typing.activity["type"] == "typing" and typing.reply_to_id == activity["id"]
    assert typing.activity["recipient"] == activity["from"]
    assert len(teams.fake.replies) == 1


async def test_a_retried_activity_is_answered_once(teams: Harness) -> None:
    activity = teams.fake.activity("Ik maak me zorgen")

    assert await teams.post(activity) == 200
    assert await teams.post(activity) == 200  # the Bot Connector's retry: acknowledged, not processed

    assert len(teams.agent.messages) == 1 and len(teams.fake.replies) == 1


async def test_a_retry_at_another_replica_is_recognised_through_the_database(fake: FakeBotFramework) -> None:
    agent = RasaAgent()
    replicas = [TeamsInput(settings_for(fake), sleep=Sleeps()) for _ in range(2)]  # same MELDWIJZER_DB_URL
    activity = fake.activity("Ik maak me zorgen")
    async with sanic_server(replicas[0], agent) as first, sanic_server(replicas[1], agent) as second:
        statuses = [
            await Harness(fake, agent, FakeClock(), url, channel).post(activity)
            for url, channel in ((first, replicas[0]), (second, replicas[1]))
        ]

    assert statuses == [200, 200]
    assert len(agent.messages) == 1 and len(fake.replies) == 1


async def test_the_answer_follows_the_acknowledgement(fake: FakeBotFramework) -> None:
    """Rasa still working must not hold up the HTTP answer (the Bot Connector gives up after 15 s)."""
    release = asyncio.Event()

    class SlowAgent(RasaAgent):
        async def handle_message(self, message: UserMessage) -> None:
            await release.wait()
            await super().handle_message(message)

    agent, channel = SlowAgent(), TeamsInput(settings_for(fake), sleep=Sleeps())
    async with sanic_server(channel, agent) as webhook:
        harness = Harness(fake, agent, FakeClock(), webhook)  # no channel: post does not wait
        assert await harness.post(fake.activity("Hallo")) == 200
        assert fake.replies == []
        release.set()
        await channel.connector.idle()

    assert len(fake.replies) == 1


async def test_an_unreadable_tracker_store_still_gets_the_user_an_answer(teams: Harness) -> None:
    async def broken(_: str) -> None:
        raise ConnectionError("tracker store down")

    teams.agent.tracker_store.retrieve = broken

    await teams.say("Hallo")

    assert teams.agent.messages == []
    assert [reply["text"] for reply in teams.reply_activities()] == [NOT_PROCESSED_MESSAGE]


async def test_throttled_reply_is_retried_after_retry_after_then_delivered(teams: Harness, sleeps: Sleeps) -> None:
    teams.fake.fail_next, teams.fake.retry_after = [429, 503], "2"

    await teams.say("Hallo")

    assert teams.fake.refused == [429, 503] and sleeps == [2.0, 2.0]
    assert len(teams.fake.replies) == 1


@pytest.mark.parametrize(
    "header,attempt,seconds",
    [
        ("7", 0, 7.0),
        (None, 0, 1.0),
        (None, 2, 4.0),
        ("3600", 0, 30.0),
        ("nonsense", 1, 2.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 1, 0.0),  # a date in the past: try again at once
    ],
)
def test_retry_delay_honours_retry_after_within_the_cap(header: Optional[str], attempt: int, seconds: float) -> None:
    assert retry_delay(header, attempt) == seconds


async def test_server_errors_are_retried_with_growing_delays_and_then_given_up(teams: Harness, sleeps: Sleeps) -> None:
    teams.fake.fail_next = [500] * 10

    await teams.say("Hallo")

    assert teams.fake.refused == [500] * 4 and sleeps == [1.0, 2.0, 4.0]
    assert teams.fake.replies == []


async def test_failed_reply_is_logged_without_the_text(teams: Harness, caplog: pytest.LogCaptureFixture) -> None:
    teams.fake.fail_replies = True
    teams.agent.reply = {"text": "Noteer wat u zag bij Sanne."}
    caplog.set_level(logging.DEBUG, logger="plugins.channels.teams")
    caplog.set_level(logging.INFO)

    await teams.say("Sanne had blauwe plekken")

    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and "Bot Connector answered 500" in errors[0].getMessage()
    non_debug = " ".join(r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG)
    assert "Sanne" not in non_debug


# --- configuration -----------------------------------------------------------------------------------


def test_environment_wins_over_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROSOFT_APP_ID", APP_ID)
    monkeypatch.setenv("MICROSOFT_APP_PASSWORD", APP_PASSWORD)
    monkeypatch.setenv("MICROSOFT_APP_TENANT_ID", TENANT_ID)
    channel = TeamsInput.from_credentials({"app_id": "uit-het-bestand", "allowed_service_urls": ["https://smba."]})

    settings = channel.connector.settings
    assert (settings.app_id, settings.app_password, settings.tenant_id) == (APP_ID, APP_PASSWORD, TENANT_ID)
    assert settings.token_url == f"https://login.microsoftonline.com/{TENANT_ID}/oauth2/v2.0/token"
    assert settings.allowed_service_urls == ("https://smba.",)


def test_partial_configuration_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MICROSOFT_APP_ID", "MICROSOFT_APP_PASSWORD", "MICROSOFT_APP_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RasaException, match=r"tenant_id \(MICROSOFT_APP_TENANT_ID\)"):
        TeamsInput.from_credentials({"app_id": APP_ID, "app_password": APP_PASSWORD})


async def test_unconfigured_channel_stays_off(monkeypatch: pytest.MonkeyPatch, fake: FakeBotFramework) -> None:
    for name in ("MICROSOFT_APP_ID", "MICROSOFT_APP_PASSWORD", "MICROSOFT_APP_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    agent = RasaAgent()
    channel = TeamsInput.from_credentials(None)
    async with sanic_server(channel, agent) as webhook:
        assert await Harness(fake, agent, FakeClock(), webhook, channel).post(fake.activity("Hallo")) == 503
    assert agent.messages == []


async def test_unreachable_signing_keys_answer_503_so_the_connector_retries(fake: FakeBotFramework) -> None:
    agent = RasaAgent()
    channel = TeamsInput(settings_for(fake, openid_metadata_url=f"{fake.base_url}/niet-gevonden"))
    async with sanic_server(channel, agent) as webhook:
        assert await Harness(fake, agent, FakeClock(), webhook).post(fake.activity("Hallo")) == 503
    assert agent.messages == []


async def test_service_url_outside_the_allowed_prefixes_is_refused(fake: FakeBotFramework) -> None:
    agent = RasaAgent()
    channel = TeamsInput(settings_for(fake, allowed_service_urls=("https://smba.trafficmanager.net/",)))
    async with sanic_server(channel, agent) as webhook:
        assert await Harness(fake, agent, FakeClock(), webhook).post(fake.activity("Hallo")) == 401
    assert agent.messages == []


# --- splitting ---------------------------------------------------------------------------------------


def test_split_falls_back_to_sentences_inside_a_long_paragraph() -> None:
    paragraph = " ".join(f"Dit is zin {n}." for n in range(30))

    parts = split_text(paragraph, limit=60)

    assert all(len(part) <= 60 and part.endswith(".") for part in parts)
    assert " ".join(parts) == paragraph


# --- the app package ---------------------------------------------------------------------------------

PACKAGE_ENV = {
    "MICROSOFT_APP_ID": APP_ID,
    "TEAMS_DEVELOPER_NAME": "Stichting Voorbeeldscholen",
    "TEAMS_WEBSITE_URL": "https://scholen.example/meldwijzer",
    "TEAMS_PRIVACY_URL": "https://scholen.example/privacy",
    "TEAMS_TERMS_URL": "https://scholen.example/voorwaarden",
}


def run_package(
    tmp_path: Path, env: Dict[str, str], source: Path = REPO_ROOT / "bot" / "teams"
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "teams_package.py"),
            "--source",
            str(source),
            "--output",
            str(tmp_path / "meldwijzer-teams.zip"),
        ],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_package_holds_the_manifest_with_the_app_id_and_both_icons(tmp_path: Path) -> None:
    result = run_package(tmp_path, PACKAGE_ENV)

    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "meldwijzer-teams.zip") as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(package.read("manifest.json"))
    assert manifest["id"] == APP_ID and manifest["bots"][0]["botId"] == APP_ID
    assert manifest["bots"][0]["scopes"] == ["personal"]
    assert manifest["developer"]["privacyUrl"] == PACKAGE_ENV["TEAMS_PRIVACY_URL"]
    assert manifest["localizationInfo"] == {"defaultLanguageTag": "nl-nl"}


def test_package_refuses_a_manifest_without_dutch_as_its_language(tmp_path: Path) -> None:
    source = copytree(REPO_ROOT / "bot" / "teams", tmp_path / "teams")
    manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    del manifest["localizationInfo"]
    (source / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    result = run_package(tmp_path, PACKAGE_ENV, source)

    assert result.returncode == 1 and "localizationInfo.defaultLanguageTag must be nl-nl" in result.stderr


def test_package_refuses_a_missing_app_id_and_a_wrong_icon(tmp_path: Path) -> None:
    source = copytree(REPO_ROOT / "bot" / "teams", tmp_path / "teams")
    Image.new("RGBA", (64, 64), (255, 255, 255, 0)).save(source / "outline.png")
    env = {**PACKAGE_ENV, "MICROSOFT_APP_ID": "niet-een-guid"}

    result = run_package(tmp_path, env, source)

    assert result.returncode == 1 and not (tmp_path / "meldwijzer-teams.zip").exists()
    assert "id must be a GUID" in result.stderr
    assert "icons.outline: outline.png is a PNG of (64, 64)" in result.stderr


def test_package_refuses_an_outline_icon_that_is_not_white(tmp_path: Path) -> None:
    source = copytree(REPO_ROOT / "bot" / "teams", tmp_path / "teams")
    Image.new("RGBA", (32, 32), (30, 94, 140, 255)).save(source / "outline.png")

    result = run_package(tmp_path, PACKAGE_ENV, source)

    assert result.returncode == 1 and "must be white on a transparent background" in result.stderr
