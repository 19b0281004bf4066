"""Attack: read a stolen database and name the owner of every case. No stored column of the case store or
the tracker store may hold a clear identity, nor the Entra object id, web ``sub`` or REST sender in it;
the same person still keeps the same case, and ``roles grant``, migration and rotation keep working.
Each store on SQLite and PostgreSQL (the tracker store in the same database, as a small deployment may)."""

from __future__ import annotations

import re
from typing import Any, Dict, Iterator, List

import pytest
import sqlalchemy as sa
from alembic import command
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.steps import ActionNewCase
from bot import cases
from bot.store import identities, keys
from bot.store.cli import roles_command
from bot.store.db import alembic_config, dispose_all, get_engine, repositories
from bot.store.identities import IdentityKeyError
from bot.store.repositories import AccessDenied, Repositories
from plugins.channels.identity import rest_clients, teams_identity, web_identity
from plugins.channels.rest import Admitted, admit
from plugins.channels.teams import conversation_reference, sender_id, tenant_id
from plugins.tracker_store import EncryptedSQLTrackerStore

ORG = "symbio"
TENANT = "9d3c1f0e-7a6b-4c5d-8e9f-0a1b2c3d4e5f"
OBJECT_ID = "6f1c2d3e-0000-4000-8000-00000000a11e"
WEB_SUB = "juf.jansen@school.nl"
REST_SENDER = "mentor-37"
DOMAIN = Domain.empty()


@pytest.fixture
def stores(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The case store and the tracker store in one fresh database of each dialect."""
    monkeypatch.setenv("MELDWIJZER_DB_URL", db_url)
    monkeypatch.setenv("MELDWIJZER_TRACKER_DB_URL", db_url)
    monkeypatch.setenv("MELDWIJZER_PROFILE", ORG)
    yield db_url
    dispose_all()


def rest_caller(sender: str) -> str:
    """The identity the REST channel (local mode) admits a request with ``sender`` as."""
    admitted = admit(
        None, rest_clients({"MELDWIJZER_REST_LOCAL": "1"}), "127.0.0.1", 40, {"sender": sender, "message": "x"}
    )
    assert isinstance(admitted, Admitted)
    return admitted.identity


def teams_activity(text: str) -> Dict[str, Any]:
    """A personal-chat message as the Bot Connector delivers it (already verified by the channel)."""
    return {
        "type": "message",
        "id": "act-1",
        "text": text,
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
        "from": {"id": "29:1AbCdEfTeacher", "aadObjectId": OBJECT_ID},
        "recipient": {"id": "28:bot"},
        "conversation": {"id": "a:personal-chat", "conversationType": "personal", "tenantId": TENANT},
        "channelData": {"tenant": {"id": TENANT}},
    }


def action_tracker(sender: str, case_id: Any = None) -> Tracker:
    message = {"text": "nieuwe casus", "intent": {"name": "new_case", "confidence": 1.0}, "entities": []}
    return Tracker.from_dict(
        {
            "sender_id": sender,
            "slots": {"role": "teacher", "case_id": case_id, "requested_slot": None},
            "latest_message": message,
            "events": [{"event": "action", "name": "action_listen"}, {"event": "user", "text": "x"}],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


async def new_case(sender: str, domain: Dict[str, Any]) -> str:
    """Run the action server's "nieuwe casus" for ``sender``; the id of the case it opened."""
    events = await ActionNewCase().run(CollectingDispatcher(), action_tracker(sender), domain)
    return next(e["value"] for e in events if e["event"] == "slot" and e["name"] == "case_id")


async def converse(sender: str, text: str) -> None:
    tracker = DialogueStateTracker(sender, [])
    for event in (ActionExecuted("action_session_start"), SessionStarted(), UserUttered(text)):
        tracker.update(event)
    await EncryptedSQLTrackerStore(domain=DOMAIN).save(tracker)


def every_stored_value(url: str) -> List[str]:
    """Every value of every column of every table, as text, as someone reading a dump would see it."""
    engine = get_engine(url)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    values: List[str] = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(sa.select(table)):
                values += [bytes(v).decode("latin-1") if isinstance(v, (bytes, memoryview)) else str(v) for v in row]
    return values


async def a_teams_teacher_and_a_rest_sender_at_work(domain: Dict[str, Any]) -> Dict[str, str]:
    """Through the channels' identities and the actions: a Teams teacher opens a case, writes a note,
    closes a second case and practises; a REST sender opens a case; both converse."""
    activity = teams_activity("ik maak me zorgen")
    teacher = teams_identity(tenant_id(activity) or TENANT, sender_id(activity))  # as TeamsConnector does
    rest = rest_caller(REST_SENDER)
    repos = repositories()
    repos.conversation_references.save(teacher, "teams", conversation_reference(activity))
    case_id = await new_case(teacher, domain)
    repos.notes.add(case_id, "signaal", teacher, "teacher", {"waarnemingen": "valt vaak in slaap"}, None)
    closed = repos.cases.get(await new_case(teacher, domain), teacher, "teacher")
    cases.close_case(repos, teacher, closed, next(iter(cases.REASONS)))
    repos.practice.add_result(teacher, ORG, "case_neglect", 1, 2, ["signals"])
    print(roles_command("grant", f"web:{WEB_SUB}", "attention_officer", ORG, "ict"))
    await new_case(rest, domain)
    await converse(teacher, "ik maak me zorgen")
    await converse(rest, "hallo")
    return {"teacher": teacher, "rest": rest, "case": case_id}


async def test_no_stored_column_names_the_person(stores: str, domain: Dict[str, Any]) -> None:
    await a_teams_teacher_and_a_rest_sender_at_work(domain)
    dump = "\n".join(every_stored_value(stores))
    for clear in (OBJECT_ID, f"{TENANT}:{OBJECT_ID}", "29:1AbCdEfTeacher", WEB_SUB, REST_SENDER, "rest:local:"):
        assert clear not in dump
    with get_engine(stores).connect() as connection:
        owners = set(connection.execute(sa.text("SELECT owner_id FROM cases")).scalars())
        senders = set(connection.execute(sa.text("SELECT sender_id FROM events")).scalars())
    assert len(owners) == len(senders) == 2
    assert all(re.fullmatch(r"(teams|rest):[0-9a-f]{64}", person) for person in owners | senders)


async def test_the_same_person_keeps_the_case_and_a_rest_sender_cannot_reach_it(
    stores: str, domain: Dict[str, Any]
) -> None:
    people = await a_teams_teacher_and_a_rest_sender_at_work(domain)
    again = teams_identity(TENANT, OBJECT_ID)  # the next message, any replica, any day
    assert again == people["teacher"] and again.startswith("teams:") and len(again) == len("teams:") + 64
    repos = repositories()
    assert repos.cases.get(people["case"], again, "teacher").id == people["case"]
    assert (await EncryptedSQLTrackerStore(domain=DOMAIN).retrieve(again)).latest_message.text == "ik maak me zorgen"
    for impostor in (OBJECT_ID, f"teams:{TENANT}:{OBJECT_ID}", people["teacher"]):  # a REST caller naming them
        with pytest.raises(AccessDenied):
            repos.cases.get(people["case"], rest_caller(impostor), "teacher")


async def test_roles_grant_with_the_clear_user_works_for_that_user(stores: str, domain: Dict[str, Any]) -> None:
    people = await a_teams_teacher_and_a_rest_sender_at_work(domain)
    officer = web_identity(WEB_SUB)  # how the web channel names the person the admin typed
    assert repositories().cases.get(people["case"], officer, "attention_officer").id == people["case"]
    assert "revoked" in roles_command("revoke", f"web:{WEB_SUB}", "attention_officer", ORG, "ict")
    with pytest.raises(AccessDenied):
        repositories().cases.get(people["case"], officer, "attention_officer")


async def test_rotation_keeps_every_case_with_its_owner_and_grants_and_no_single_key_joins(
    stores: str, domain: Dict[str, Any]
) -> None:
    people = await a_teams_teacher_and_a_rest_sender_at_work(domain)
    [first] = identities.id_keys()
    counts = keys.rotate_ids()
    assert counts == {"case store": 3, "tracker store": 2}  # teacher, REST sender, officer; two conversations
    chain = identities.id_keys()
    assert len(chain) == 2 and chain[0] == first
    teacher, rest, officer = teams_identity(TENANT, OBJECT_ID), people["rest"], web_identity(WEB_SUB)
    assert teacher != people["teacher"] and rest_caller(REST_SENDER) != rest
    repos = repositories()
    assert repos.cases.get(people["case"], teacher, "teacher").id == people["case"]
    assert [len(repos.cases.list_for(teacher, "teacher", ORG))] != [0]
    assert repos.cases.get(people["case"], officer, "attention_officer").id == people["case"]
    assert repos.conversation_references.get(teacher, "teams")["conversation_id"] == "a:personal-chat"
    assert (await EncryptedSQLTrackerStore(domain=DOMAIN).retrieve(teacher)).latest_message.text == "ik maak me zorgen"
    dump = every_stored_value(stores)
    for alone in ([first], [chain[1]]):  # neither key alone gives the stored id
        assert identities.hashed(f"teams:{TENANT}:{OBJECT_ID}", alone) not in dump


async def test_a_rotation_stopped_half_way_refuses_to_start_and_is_finished_by_running_it_again(
    stores: str, domain: Dict[str, Any]
) -> None:
    people = await a_teams_teacher_and_a_rest_sender_at_work(domain)
    identities.add_key()  # the key file has the new key; the stores were not re-hashed yet
    dispose_all()
    with pytest.raises(IdentityKeyError, match="rotate-ids"):
        repositories()
    with pytest.raises(IdentityKeyError, match="rotate-ids"):
        EncryptedSQLTrackerStore(domain=DOMAIN)
    keys.rotate_ids()
    assert len(identities.id_keys()) == 2  # caught up, no third key
    assert repositories().cases.get(people["case"], teams_identity(TENANT, OBJECT_ID), "teacher").id == people["case"]


async def test_a_lost_id_key_stops_the_bot_instead_of_giving_everyone_a_new_identity(
    stores: str, domain: Dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    await a_teams_teacher_and_a_rest_sender_at_work(domain)
    # A restore without the id key file: the next start creates a fresh key (here: at a new path).
    monkeypatch.setenv(identities.ENV_ID_KEY_FILE, str(identities.id_key_file_path().with_name("restored.key")))
    dispose_all()
    with pytest.raises(IdentityKeyError, match="another id key"):
        repositories()
    monkeypatch.setenv(identities.ENV_ID_KEY, identities.new_key().decode())
    with pytest.raises(IdentityKeyError, match="another id key"):
        EncryptedSQLTrackerStore(domain=DOMAIN)


async def test_an_existing_deployment_keeps_its_cases_and_conversations(stores: str) -> None:
    """A case store at revision 0006 and a tracker store written before ids were hashed, with clear ids."""
    clear = f"teams:{TENANT}:{OBJECT_ID}"
    engine = get_engine(stores)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
    repos_before = Repositories(engine)  # the old code wrote through the same repositories, with clear ids
    case = repos_before.cases.create(clear, ORG, "Leerling K3")
    repos_before.roles.grant(clear, ORG, "attention_officer", actor="ict")
    old = DialogueStateTracker(clear, [])
    for event in (ActionExecuted("action_session_start"), SessionStarted(), UserUttered("van voor de update")):
        old.update(event)
    await EncryptedSQLTrackerStore(domain=DOMAIN).save(old)  # written as the old code did (adopted below)
    with engine.begin() as connection:  # undo the adoption, to stand for a store from before it
        connection.execute(sa.text(f"DROP TABLE {identities.TRACKER_CHAIN}"))
        connection.execute(sa.text("UPDATE events SET sender_id = :clear"), {"clear": clear})

    teacher = teams_identity(TENANT, OBJECT_ID)
    repos = repositories()  # migrates to 0007
    assert repos.cases.get(case.id, teacher, "teacher").id == case.id
    assert repos.cases.get(case.id, teacher, "attention_officer").id == case.id  # the grant moved along
    tracker = await EncryptedSQLTrackerStore(domain=DOMAIN).retrieve(teacher)
    assert tracker.latest_message.text == "van voor de update"
    assert clear not in "\n".join(every_stored_value(stores)) and OBJECT_ID not in "\n".join(every_stored_value(stores))
