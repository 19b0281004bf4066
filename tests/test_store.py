"""The case store (bot/store) on SQLite and PostgreSQL: what is kept, who may read it, what is purged,
that teacher text never reaches the disk in clear, and that the migrations match the models.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, List
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session

from bot.store import crypto
from bot.store.cli import parse_older_than, purge
from bot.store.db import alembic_config, get_engine, init_db
from bot.store.models import Base, Case
from bot.store.repositories import AccessDenied, NotFound, Repositories

ORG = "onze_wijs"
OTHER_ORG = "consent"
TEACHER = "teams:teacher-1"
COLLEAGUE = "teams:teacher-2"
OFFICER = "teams:officer-1"
FOREIGN_OFFICER = "teams:officer-9"
SECRET = "Mo vertelde dat vader hem sloeg met een riem"
PSEUDONYM = "Leerling Merel-Zeeuw"
TABLES = {
    "users",
    "cases",
    "weighing_answers",
    "notes",
    "followups",
    "practice_results",
    "deletion_log",
    "role_grants",
    "role_audit",
    "conversation_references",
    "seen_activities",
    "identity_chain",
}


def note_fields(signal: str = SECRET) -> dict:
    """The fields seed 002 asks for: date, place, situation, who else was there, factual signals."""
    return {
        "plaats": "klaslokaal 4",
        "situatie": "na de gym",
        "aanwezigen": "onderwijsassistent",
        "signalen": signal,
        "bron": "leerling zelf",
    }


@pytest.fixture
def people(repos: Repositories) -> Repositories:
    """Two teachers and an aandachtsfunctionaris at one school, an aandachtsfunctionaris elsewhere;
    both officers hold the school's grant (the role they state is only for wording)."""
    repos.users.upsert(TEACHER, organisation_id=ORG, role="teacher")
    repos.users.upsert(COLLEAGUE, organisation_id=ORG, role="teacher")
    repos.users.upsert(OFFICER, organisation_id=ORG, role="attention_officer")
    repos.users.upsert(FOREIGN_OFFICER, organisation_id=OTHER_ORG, role="attention_officer")
    repos.roles.grant(OFFICER, ORG, "attention_officer", actor="admin")
    repos.roles.grant(FOREIGN_OFFICER, OTHER_ORG, "attention_officer", actor="admin")
    return repos


def set_closed_at(repos: Repositories, case_id: str, when: datetime) -> None:
    with Session(repos.engine, future=True) as session, session.begin():
        session.get(Case, case_id).closed_at = when


def raw_rows(repos: Repositories, table: str) -> List[tuple]:
    with repos.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(f"SELECT * FROM {table}"))]


def as_bytes(values: Iterable[object]) -> bytes:
    """Every stored value as bytes, the way someone reading a dump would see it."""
    return b"|".join(bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode("utf-8") for v in values)


# --- migrations ----------------------------------------------------------------------------------


def table_names(engine: sa.engine.Engine) -> set:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_migrations_upgrade_downgrade_upgrade_and_match_the_models(db_url: str) -> None:
    engine = get_engine(db_url)
    init_db(engine)
    assert table_names(engine) == TABLES
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert table_names(engine) == set()

    init_db(engine)
    init_db(engine)  # idempotent: a restart must not fail on an up-to-date schema
    assert table_names(engine) == TABLES


# --- cases and users -----------------------------------------------------------------------------


def test_case_is_created_in_step_1_updated_and_listed(people: Repositories) -> None:
    case = people.cases.create(TEACHER, ORG, PSEUDONYM)
    assert (case.step, case.done, case.status, case.pseudonym) == (1, (), "open", PSEUDONYM)

    updated = people.cases.update_progress(case.id, 3, ["talk_colleague", "observe", "observe"])
    assert (updated.step, updated.done) == (3, ("observe", "talk_colleague"))
    kept = people.cases.update_progress(case.id, None, ["observe"])
    assert (kept.step, kept.done) == (3, ("observe",))
    assert people.cases.open_case(TEACHER) == kept
    assert people.cases.list_for(TEACHER, "teacher", ORG) == [kept]
    assert people.cases.open_case(COLLEAGUE) is None


def test_new_case_for_another_pupil_becomes_current_and_earlier_stays_open(people: Repositories) -> None:
    first = people.cases.create(TEACHER, ORG, "Leerling A")
    second = people.cases.create(TEACHER, ORG, "Leerling B")
    assert people.cases.open_case(TEACHER).id == second.id
    assert {c.id for c in people.cases.list_for(TEACHER, "teacher", ORG)} == {first.id, second.id}

    people.cases.close(second.id)
    assert people.cases.open_case(TEACHER).id == first.id
    closed = people.cases.get(second.id, TEACHER, "teacher")
    assert closed.status == "closed" and closed.closed_at is not None


def test_create_registers_an_unknown_owner(repos: Repositories) -> None:
    repos.cases.create("web:new-user", ORG, PSEUDONYM)
    assert repos.users.get("web:new-user").organisation_id == ORG


def test_user_upsert_keeps_role_and_gemeente_when_not_given(repos: Repositories) -> None:
    repos.users.upsert(TEACHER, organisation_id=ORG, role="ib", gemeente="Hengelo")
    user = repos.users.upsert(TEACHER, organisation_id=ORG)
    assert (user.role, user.gemeente) == ("ib", "Hengelo")
    assert repos.users.upsert(TEACHER, organisation_id=ORG, role="teacher").role == "teacher"
    assert repos.users.get("nobody") is None


def test_timestamps_are_aware_utc_on_every_dialect(people: Repositories) -> None:
    amsterdam = datetime(2024, 3, 31, 9, 30, tzinfo=ZoneInfo("Europe/Amsterdam"))  # CEST, UTC+2
    case = people.cases.create(TEACHER, ORG, PSEUDONYM)
    note = people.notes.add(case.id, "signal", TEACHER, "teacher", note_fields(), amsterdam)
    stored = people.notes.list(case.id, TEACHER, "teacher")[0]
    assert stored.occurred_at == datetime(2024, 3, 31, 7, 30, tzinfo=timezone.utc)
    assert stored.occurred_at.tzinfo == timezone.utc and note.created_at.tzinfo == timezone.utc
    assert people.cases.get(case.id, TEACHER, "teacher").created_at.tzinfo == timezone.utc
    with pytest.raises(sa.exc.StatementError, match="naive") as error:
        people.notes.add(case.id, "signal", TEACHER, "teacher", note_fields(), datetime(2024, 3, 31, 9, 30))
    assert SECRET not in str(error.value)  # failed statements never put note text into a log


# --- access control ------------------------------------------------------------------------------


def test_only_owner_and_attention_officer_of_same_organisation_read_a_case(people: Repositories) -> None:
    case = people.cases.create(TEACHER, ORG, PSEUDONYM)
    people.notes.add(case.id, "signal", TEACHER, "teacher", note_fields(), None)

    assert people.cases.get(case.id, OFFICER, "attention_officer").id == case.id
    assert people.notes.list(case.id, OFFICER, "attention_officer")[0].fields["signalen"] == SECRET
    for viewer, role in [
        (COLLEAGUE, "teacher"),
        (COLLEAGUE, None),
        (FOREIGN_OFFICER, "attention_officer"),
        (OFFICER, "teacher"),
        ("teams:unknown", "attention_officer"),
    ]:
        with pytest.raises(AccessDenied):
            people.cases.get(case.id, viewer, role)
        with pytest.raises(AccessDenied):
            people.notes.list(case.id, viewer, role)
        with pytest.raises(AccessDenied):
            people.notes.add(case.id, "signal", viewer, role, {"signalen": "x"}, None)
    with pytest.raises(NotFound):
        people.cases.get("no-such-case", TEACHER, "teacher")


def test_attention_officer_lists_only_own_organisation(people: Repositories) -> None:
    mine = people.cases.create(TEACHER, ORG, "A")
    colleagues = people.cases.create(COLLEAGUE, ORG, "B")
    people.cases.create("teams:elsewhere", OTHER_ORG, "C")

    assert {c.id for c in people.cases.list_for(OFFICER, "attention_officer", ORG)} == {mine.id, colleagues.id}
    assert [c.id for c in people.cases.list_for(COLLEAGUE, "teacher", ORG)] == [colleagues.id]
    with pytest.raises(AccessDenied):
        people.cases.list_for(FOREIGN_OFFICER, "attention_officer", ORG)


# --- notes, weighing, follow-ups ------------------------------------------------------------------


def test_notes_come_back_decrypted_in_the_order_things_happened(people: Repositories) -> None:
    case = people.cases.create(TEACHER, ORG, PSEUDONYM)
    monday = datetime(2024, 11, 4, 10, 0, tzinfo=timezone.utc)
    later = people.notes.add(
        case.id, "contact", OFFICER, "attention_officer", note_fields("gesprek met IB"), monday + timedelta(days=2)
    )
    earlier = people.notes.add(case.id, "signal", TEACHER, "teacher", note_fields(), monday)
    undated = people.notes.add(case.id, "decision", TEACHER, "teacher", {"besluit": "melden"}, None)

    notes = people.notes.list(case.id, TEACHER, "teacher")
    assert [n.id for n in notes] == [earlier.id, later.id, undated.id]
    assert notes[0].fields == note_fields() and notes[0].kind == "signal"
    assert (notes[1].author_id, notes[1].author_role) == (OFFICER, "attention_officer")


def test_weighing_trace_keeps_answer_order_and_details(people: Repositories) -> None:
    case = people.cases.create(TEACHER, ORG, PSEUDONYM)
    people.weighing.add(case.id, 1, "ja", None, {"toelichting": SECRET})
    people.weighing.add(case.id, 2, "nee", None, {})
    people.weighing.add(case.id, 3, "ja", "start_help", {"hulp": "schoolmaatschappelijk werk"})

    trace = people.weighing.trace(case.id)
    assert [(t.question, t.answer, t.outcome) for t in trace] == [
        (1, "ja", None),
        (2, "nee", None),
        (3, "ja", "start_help"),
    ]
    assert trace[0].details == {"toelichting": SECRET}
    with pytest.raises(NotFound):
        people.weighing.add("no-such-case", 1, "ja", None, {})


def test_open_follow_ups_due_first_then_upcoming_only_open_cases_of_the_owner(people: Repositories) -> None:
    today = date(2024, 11, 20)
    case = people.cases.create(TEACHER, ORG, PSEUDONYM)
    add = people.followups.add
    upcoming_far = add(case.id, "evaluate_help", today + timedelta(days=14), "hulp evalueren")
    overdue = add(case.id, "call_vt", today - timedelta(days=3), "Veilig Thuis terugbellen")
    upcoming = add(case.id, "check_in", today + timedelta(days=1), "even bij Mo langs")
    due_today = add(case.id, "talk_parents", today, "gesprek met ouders")
    finished = add(case.id, "call_vt", today - timedelta(days=5), "al gedaan")
    assert people.followups.complete(finished.id, TEACHER, None).done_at is not None

    closed = people.cases.create(TEACHER, ORG, "oud")
    add(closed.id, "call_vt", today, "hoort bij een gesloten casus")
    people.cases.close(closed.id)
    add(people.cases.create(COLLEAGUE, ORG, "B").id, "call_vt", today, "van een collega")

    result = people.followups.open_for(TEACHER, today)
    assert [f.id for f in result] == [overdue.id, due_today.id, upcoming.id, upcoming_far.id]
    assert [f.is_due(today) for f in result] == [True, True, False, False]
    assert result[0].description == "Veilig Thuis terugbellen"


def test_the_case_follow_ups_include_done_ones_and_only_readers_may_see_or_complete_them(people: Repositories) -> None:
    case = people.cases.create(TEACHER, ORG, PSEUDONYM)
    later = people.followups.add(case.id, "evaluate_help", date(2024, 12, 4), "hulp evalueren")
    first = people.followups.add(case.id, "vt_feedback", date(2024, 11, 27), "terugkoppeling Veilig Thuis")

    with pytest.raises(AccessDenied):
        people.followups.complete(first.id, COLLEAGUE, None)
    with pytest.raises(AccessDenied):
        people.followups.for_case(case.id, COLLEAGUE, None)
    done = people.followups.complete(first.id, TEACHER, None)
    again = people.followups.complete(first.id, TEACHER, None)

    assert again.done_at == done.done_at  # a second click keeps the first moment
    listed = people.followups.for_case(case.id, TEACHER, None)
    assert [(f.id, f.done_at is not None) for f in listed] == [(first.id, True), (later.id, False)]
    assert [f.id for f in people.followups.open_for(TEACHER, date(2024, 12, 31))] == [later.id]
    with pytest.raises(NotFound):
        people.followups.complete(999_999, TEACHER, None)


# --- practice --------------------------------------------------------------------------------------


def test_practice_results_and_anonymous_aggregate(people: Repositories) -> None:
    people.practice.add_result(TEACHER, ORG, "case_bruises", 3, 4, ["signals", "documenting"])
    people.practice.add_result(TEACHER, ORG, "case_bruises", 4, 4, ["signals", "documenting"])
    people.practice.add_result(COLLEAGUE, ORG, "case_neglect", 1, 2, ["signals"])
    people.practice.add_result("teams:other-school", OTHER_ORG, "case_neglect", 0, 2, ["signals"])

    assert people.practice.done_case_ids(TEACHER) == {"case_bruises"}
    report = people.practice.aggregate(ORG)
    assert report["cases"] == [
        {"case_id": "case_bruises", "attempts": 2, "people": 1, "average_score": 3.5, "average_share": 0.875},
        {"case_id": "case_neglect", "attempts": 1, "people": 1, "average_score": 1.0, "average_share": 0.5},
    ]
    signals = next(t for t in report["themes"] if t["theme"] == "signals")
    assert (signals["attempts"], signals["people"], signals["average_share"]) == (3, 2, pytest.approx(0.75))
    assert TEACHER not in repr(report) and COLLEAGUE not in repr(report)
    with pytest.raises(ValueError):
        people.practice.add_result(TEACHER, ORG, "case_bruises", 5, 4, [])


# --- retention --------------------------------------------------------------------------------------


def test_purge_deletes_only_old_closed_cases_and_logs_without_content(people: Repositories) -> None:
    now = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
    old = people.cases.create(TEACHER, ORG, PSEUDONYM)
    people.notes.add(old.id, "signal", TEACHER, "teacher", note_fields(), None)
    people.notes.add(old.id, "decision", TEACHER, "teacher", {"besluit": "melden"}, None)
    people.weighing.add(old.id, 1, "ja", None, {"toelichting": SECRET})
    people.followups.add(old.id, "call_vt", date(2024, 1, 1), "terugbellen")
    people.cases.close(old.id)
    set_closed_at(people, old.id, now - timedelta(days=181))

    recent = people.cases.create(TEACHER, ORG, "recent")
    people.notes.add(recent.id, "signal", TEACHER, "teacher", note_fields(), None)
    people.cases.close(recent.id)
    set_closed_at(people, recent.id, now - timedelta(days=179))
    still_open = people.cases.create(COLLEAGUE, ORG, "open")  # created long before 'now', never closed

    assert people.purge_closed_cases(timedelta(days=180), now=now) == 1

    with pytest.raises(NotFound):
        people.cases.get(old.id, TEACHER, "teacher")
    assert people.weighing.trace(old.id) == []
    for table in ("notes", "weighing_answers", "followups"):
        assert all(old.id not in row for row in raw_rows(people, table))
    assert len(people.notes.list(recent.id, TEACHER, "teacher")) == 1
    assert people.cases.get(still_open.id, COLLEAGUE, "teacher").status == "open"

    log = raw_rows(people, "deletion_log")
    assert len(log) == 1
    _, case_hash, deleted_at, notes, weighing, followups = log[0]
    assert case_hash == hashlib.sha256(old.id.encode()).hexdigest()
    assert (notes, weighing, followups) == (2, 1, 1)
    dump = as_bytes(log[0])
    assert old.id.encode() not in dump and b"Mo" not in dump and PSEUDONYM.encode() not in dump


def test_purge_command_reads_the_period_and_uses_the_configured_store(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MELDWIJZER_DB_URL", db_url)
    from bot.store.db import repositories

    repos = repositories()
    case = repos.cases.create(TEACHER, ORG, PSEUDONYM)
    repos.cases.close(case.id)
    set_closed_at(repos, case.id, datetime.now(timezone.utc) - timedelta(weeks=30))

    assert purge("31w").cases == 0
    result = purge("180d", conversations_older_than="7d")
    assert (result.cases, result.conversation_events) == (1, 0)  # no conversation stored here
    assert parse_older_than("2y") == timedelta(days=730)
    for wrong in ("180", "6m", "-5d", "d"):
        with pytest.raises(ValueError, match="180d"):
            parse_older_than(wrong)


# --- encryption at rest ------------------------------------------------------------------------------


def test_teacher_text_is_not_readable_in_the_database(people: Repositories, db_url: str) -> None:
    case = people.cases.create(TEACHER, ORG, PSEUDONYM)
    people.notes.add(case.id, "signal", TEACHER, "teacher", note_fields(), None)
    people.weighing.add(case.id, 1, "ja", None, {"toelichting": SECRET})
    people.followups.add(case.id, "call_vt", date(2024, 12, 1), f"bellen over {SECRET}")

    for table in ("cases", "notes", "weighing_answers", "followups"):
        dump = as_bytes(value for row in raw_rows(people, table) for value in row)
        assert SECRET.encode() not in dump and PSEUDONYM.encode() not in dump and b"klaslokaal" not in dump
    if db_url.startswith("sqlite"):
        path = Path(db_url[len("sqlite:///") :])
        on_disk = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))  # db, -wal, -shm
        assert SECRET.encode() not in on_disk and b"klaslokaal" not in on_disk
        assert TEACHER.encode() in on_disk  # the check itself can see clear text


def test_wrong_key_fails_loudly_and_rotation_keeps_old_data_readable(
    people: Repositories, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("MELDWIJZER_SECRET_KEY", old_key)
    case = people.cases.create(TEACHER, ORG, PSEUDONYM)
    people.notes.add(case.id, "signal", TEACHER, "teacher", note_fields(), None)

    monkeypatch.setenv("MELDWIJZER_SECRET_KEY", new_key)
    with pytest.raises(crypto.EncryptionKeyError, match="does not match"):
        people.notes.list(case.id, TEACHER, "teacher")

    monkeypatch.setenv("MELDWIJZER_SECRET_KEY", f"{new_key},{old_key}")
    people.notes.add(case.id, "contact", TEACHER, "teacher", {"signalen": "nieuw"}, None)
    assert [n.fields["signalen"] for n in people.notes.list(case.id, TEACHER, "teacher")] == [SECRET, "nieuw"]
    with people.engine.connect() as connection:
        newest = connection.execute(sa.text("SELECT content_encrypted FROM notes ORDER BY id DESC")).first()[0]
    assert json.loads(Fernet(new_key.encode()).decrypt(bytes(newest))) == {"signalen": "nieuw"}  # first key writes


def test_key_file_is_created_private_even_with_an_open_umask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "keys" / "secret.key"
    monkeypatch.setenv("MELDWIJZER_KEY_FILE", str(key_file))
    previous = os.umask(0)
    try:
        token = crypto.encrypt(b"geheim")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert Fernet(key_file.read_bytes().strip()).decrypt(token) == b"geheim"
    assert crypto.decrypt(token) == b"geheim"  # the next start reads the same key


def test_missing_unsafe_or_malformed_keys_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "secret.key"
    monkeypatch.setenv("MELDWIJZER_KEY_FILE", str(key_file))
    monkeypatch.setenv("MELDWIJZER_REQUIRE_KEY", "1")
    with pytest.raises(crypto.EncryptionKeyError, match="does not exist"):
        crypto.encrypt(b"x")
    assert not key_file.exists()

    key_file.write_bytes(Fernet.generate_key())
    key_file.chmod(0o644)
    with pytest.raises(crypto.EncryptionKeyError, match="chmod 600"):
        crypto.encrypt(b"x")

    monkeypatch.setenv("MELDWIJZER_SECRET_KEY", "not-a-fernet-key")
    with pytest.raises(crypto.EncryptionKeyError, match="Malformed"):
        crypto.encrypt(b"x")
