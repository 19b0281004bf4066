"""Reminders that arrive (bot/reminders.py): due follow-ups as proactive Teams messages, exactly once.

Two schedulers, each with its own engine (as two replicas have), run against one database and one fake
Bot Framework service; the proactive messages are what the fake recorded. The buttons are exercised
through the real Teams channel (tests/test_channels_teams.py's harness pattern, kept small here).
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone
from typing import Any, AsyncIterator, Dict, List

import pytest
import sqlalchemy as sa

from bot import reminders
from plugins.channels.teams import TeamsConnector, TeamsSettings
from bot.language.workdays import add_working_days
from bot.store.db import repositories, sqlite_pragmas
from bot.store.models import ConversationReference, FollowUp
from bot.store.repositories import Repositories
from tests.fakes.botframework import FakeBotFramework

APP_ID = "1b7c5e1a-2f5d-4c1e-9c1a-6d0f1e2a3b4c"
APP_PASSWORD = "geheim-wachtwoord-van-de-bot"
TENANT_ID = "9d3c1f0e-7a6b-4c5d-8e9f-0a1b2c3d4e5f"
TEACHER = f"teams:{TENANT_ID}:6f1c2d3e-0000-4000-8000-00000000a11e"
COLLEAGUE = f"teams:{TENANT_ID}:6f1c2d3e-0000-4000-8000-00000000b0b0"
WEB_TEACHER = "web:teacher-7"
CONVERSATION = "a:1Fq9Xy-Personal"
TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def separate_store(url: str) -> Repositories:
    """Repositories over an engine of their own: a second replica, not a second handle on the first."""
    engine = sa.create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", sqlite_pragmas)
    return Repositories(engine)


def reference(fake: FakeBotFramework) -> Dict[str, Any]:
    return {
        "service_url": fake.service_url,
        "conversation_id": CONVERSATION,
        "tenant_id": TENANT_ID,
        "bot": {"id": f"28:{APP_ID}", "name": "Meldwijzer"},
        "user": {"id": "29:1AbCdEfTeacher", "aadObjectId": TEACHER.rsplit(":", 1)[1]},
    }


def due_followup(store: Repositories, owner: str, due_on: date = TODAY, pseudonym: str = "Leerling Merel") -> int:
    case = store.cases.create(owner, "org-1", pseudonym)
    return store.followups.add(case.id, "vt_feedback", due_on, "Vraag Veilig Thuis om terugkoppeling.").id


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotFramework]:
    service = await FakeBotFramework(APP_ID, APP_PASSWORD, TENANT_ID).start()
    yield service
    await service.stop()


async def no_sleep(_: float) -> None:
    return None


@pytest.fixture
async def connectors(fake: FakeBotFramework) -> AsyncIterator[List[TeamsConnector]]:
    settings = TeamsSettings(
        APP_ID,
        APP_PASSWORD,
        TENANT_ID,
        openid_metadata_url=fake.openid_metadata_url,
        token_endpoint=fake.token_endpoint,
    )
    made = [TeamsConnector(settings, sleep=no_sleep) for _ in range(2)]
    yield made
    for connector in made:
        await connector.http.close()


def scheduler(store: Repositories, connector: TeamsConnector, today: date = TODAY) -> reminders.ReminderScheduler:
    return reminders.ReminderScheduler(
        lambda: store, connector.send_reminder, 300, clock=lambda: NOW, today=lambda: today
    )


def followup_row(store: Repositories, followup_id: int) -> FollowUp:
    with store.engine.connect() as connection:
        return connection.execute(sa.select(FollowUp).where(FollowUp.id == followup_id)).one()


# --- exactly once, two replicas ----------------------------------------------------------------------


async def test_two_schedulers_on_postgresql_send_each_due_reminder_exactly_once(
    pg_database: str, fake: FakeBotFramework, connectors: List[TeamsConnector]
) -> None:
    first, second = repositories(pg_database), separate_store(pg_database)
    first.conversation_references.save(TEACHER, "teams", reference(fake))
    ids = [due_followup(first, TEACHER, pseudonym=f"Leerling {n}") for n in range(12)]
    replicas = [scheduler(first, connectors[0]), scheduler(second, connectors[1])]

    sent = await asyncio.gather(*(replica.run_once() for replica in replicas))
    again = await asyncio.gather(*(replica.run_once() for replica in replicas))

    assert sum(sent) == 12 and again == [0, 0]
    cards = [reply.activity["attachments"][0]["content"] for reply in fake.proactive()]
    clicked_ids = sorted(card["buttons"][0]["value"]["followup_id"] for card in cards)
    assert clicked_ids == sorted(ids)  # each follow-up once, none twice
    assert all(followup_row(first, i).reminded_at is not None for i in ids)
    second.engine.dispose()


async def test_two_schedulers_on_sqlite_send_a_due_reminder_once(
    fake: FakeBotFramework, connectors: List[TeamsConnector], tmp_path
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    first, second = repositories(url), separate_store(url)
    first.conversation_references.save(TEACHER, "teams", reference(fake))
    due_followup(first, TEACHER)

    sent = await asyncio.gather(scheduler(first, connectors[0]).run_once(), scheduler(second, connectors[1]).run_once())

    assert sum(sent) == 1 and len(fake.proactive()) == 1
    second.engine.dispose()


# --- what arrives --------------------------------------------------------------------------------------


async def test_the_reminder_names_the_case_and_offers_done_later_and_open(
    fake: FakeBotFramework, connectors: List[TeamsConnector]
) -> None:
    store = repositories()
    store.conversation_references.save(TEACHER, "teams", reference(fake))
    followup_id = due_followup(store, TEACHER, due_on=TODAY - timedelta(days=3))

    assert await scheduler(store, connectors[0]).run_once() == 1

    [reply] = fake.proactive()
    assert reply.conversation_id == CONVERSATION and reply.reply_to_id == ""
    assert reply.activity["recipient"] == reference(fake)["user"] and "replyToId" not in reply.activity
    card = reply.activity["attachments"][0]["content"]
    assert card["text"] == (
        "Herinnering voor casus Leerling Merel (gepland op 27-02-2026):\nVraag Veilig Thuis om terugkoppeling."
    )
    assert [(b["type"], b["title"], b["value"]) for b in card["buttons"]] == [
        ("messageBack", "Gedaan", {"reminder": "done", "followup_id": followup_id}),
        ("messageBack", "Later (1 week)", {"reminder": "later", "followup_id": followup_id}),
        ("messageBack", "Open casus", {"reminder": "open", "followup_id": followup_id}),
    ]


async def test_not_yet_due_done_closed_and_web_only_follow_ups_are_not_sent(
    fake: FakeBotFramework, connectors: List[TeamsConnector]
) -> None:
    store = repositories()
    store.conversation_references.save(TEACHER, "teams", reference(fake))
    due_followup(store, TEACHER, due_on=TODAY + timedelta(days=1))
    store.followups.complete(due_followup(store, TEACHER), TEACHER, None)
    closed = store.cases.create(TEACHER, "org-1", "Leerling Gesloten")
    store.followups.add(closed.id, "vt_feedback", TODAY, "Gesloten casus.")
    store.cases.close(closed.id)
    web_only = due_followup(store, WEB_TEACHER)

    assert await scheduler(store, connectors[0]).run_once() == 0
    assert fake.proactive() == []
    # The web user still sees it at the next conversation (action_session_start reads open_for).
    assert [f.id for f in store.followups.open_for(WEB_TEACHER, TODAY)] == [web_only]


async def test_a_failed_send_is_retried_at_the_next_run(
    fake: FakeBotFramework, connectors: List[TeamsConnector]
) -> None:
    store = repositories()
    store.conversation_references.save(TEACHER, "teams", reference(fake))
    followup_id = due_followup(store, TEACHER)
    fake.fail_replies = True

    assert await scheduler(store, connectors[0]).run_once() == 0
    assert followup_row(store, followup_id).reminded_at is None
    fake.fail_replies = False
    assert await scheduler(store, connectors[0]).run_once() == 1


async def test_a_lease_left_by_a_crashed_scheduler_expires(
    fake: FakeBotFramework, connectors: List[TeamsConnector]
) -> None:
    store = repositories()
    store.conversation_references.save(TEACHER, "teams", reference(fake))
    due_followup(store, TEACHER)
    [claimed] = store.followups.claim_due(TODAY, NOW, reminders.LEASE, "teams")  # ... and then it crashed

    assert await scheduler(store, connectors[0]).run_once() == 0
    later = reminders.ReminderScheduler(
        lambda: store,
        connectors[0].send_reminder,
        300,
        clock=lambda: NOW + reminders.LEASE + timedelta(seconds=1),
        today=lambda: TODAY,
    )
    assert await later.run_once() == 1
    assert (
        claimed.followup.id
        == fake.proactive()[0].activity["attachments"][0]["content"]["buttons"][0]["value"]["followup_id"]
    )


# --- the buttons -----------------------------------------------------------------------------------------


def test_later_moves_the_due_date_by_five_working_days_over_the_easter_feestdagen() -> None:
    store = repositories()
    followup_id = due_followup(store, TEACHER, due_on=date(2026, 4, 1))

    answer = reminders.answer_click(store, followup_id, reminders.LATER, TEACHER, today=date(2026, 4, 2))

    # Thu 2 April 2026 + 5 werkdagen: Goede Vrijdag, the weekend and tweede Paasdag do not count.
    assert answer == "Goed, ik herinner u op 13-04-2026 opnieuw."
    [followup] = store.followups.open_for(TEACHER, date(2026, 4, 2))
    assert followup.due_on == date(2026, 4, 13) == add_working_days(date(2026, 4, 2), 5)
    assert followup.snoozes == 1 and followup.reminded_at is None


async def test_a_snoozed_reminder_arrives_again_on_its_new_date(
    fake: FakeBotFramework, connectors: List[TeamsConnector]
) -> None:
    store = repositories()
    store.conversation_references.save(TEACHER, "teams", reference(fake))
    followup_id = due_followup(store, TEACHER)
    assert await scheduler(store, connectors[0]).run_once() == 1
    reminders.answer_click(store, followup_id, reminders.LATER, TEACHER, today=TODAY)

    assert await scheduler(store, connectors[0], today=TODAY + timedelta(days=6)).run_once() == 0
    assert await scheduler(store, connectors[0], today=reminders.snoozed_until(TODAY)).run_once() == 1


def test_done_completes_the_follow_up_for_its_owner_only() -> None:
    store = repositories()
    followup_id = due_followup(store, TEACHER)

    assert reminders.answer_click(store, followup_id, reminders.DONE, COLLEAGUE) == reminders.UNKNOWN_MESSAGE
    assert store.followups.open_for(TEACHER, TODAY)
    assert reminders.answer_click(store, followup_id, reminders.DONE, TEACHER) == reminders.DONE_MESSAGE
    assert store.followups.open_for(TEACHER, TODAY) == []


@pytest.mark.parametrize(
    "followup_id,action", [("niet-een-getal", "done"), (999, "later"), (None, "done"), (1, "iets-anders")]
)
def test_an_odd_or_forged_click_gets_the_polite_answer_and_changes_nothing(followup_id: Any, action: str) -> None:
    store = repositories()
    real = due_followup(store, TEACHER)

    assert reminders.answer_click(store, followup_id, action, TEACHER) == reminders.UNKNOWN_MESSAGE
    [followup] = store.followups.open_for(TEACHER, TODAY)
    assert followup.id == real and followup.due_on == TODAY and followup.snoozes == 0


def test_later_on_a_follow_up_already_done_keeps_it_done() -> None:
    store = repositories()
    followup_id = due_followup(store, TEACHER)
    store.followups.complete(followup_id, TEACHER, None)

    answer = reminders.answer_click(store, followup_id, reminders.LATER, TEACHER, today=TODAY)

    assert answer == "Dit punt was al afgerond; ik herinner u er niet meer aan."
    assert followup_row(store, followup_id).due_on == TODAY


# --- configuration and storage -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "environ,on,seconds",
    [
        ({}, False, 300.0),
        ({"MELDWIJZER_REMINDERS": "1"}, True, 300.0),
        ({"MELDWIJZER_REMINDERS": "0", "MELDWIJZER_REMINDERS_INTERVAL": "60"}, False, 60.0),
        ({"MELDWIJZER_REMINDERS_INTERVAL": "1"}, False, 10.0),
        ({"MELDWIJZER_REMINDERS_INTERVAL": "vaak"}, False, 300.0),
    ],
)
def test_environment_switches_the_scheduler_and_sets_its_interval(
    environ: Dict[str, str], on: bool, seconds: float
) -> None:
    assert (reminders.enabled(environ), reminders.interval(environ)) == (on, seconds)


def test_the_conversation_reference_is_stored_encrypted(fake: FakeBotFramework) -> None:
    store = repositories()
    store.conversation_references.save(TEACHER, "teams", reference(fake))

    with store.engine.connect() as connection:
        raw = connection.execute(sa.text(f"SELECT reference FROM {ConversationReference.__tablename__}")).scalar_one()
    assert CONVERSATION.encode() not in bytes(raw) and TENANT_ID.encode() not in bytes(raw)
    assert store.conversation_references.get(TEACHER, "teams") == reference(fake)
