"""Cases (bot/cases.py): the rules without a database, the use cases against a real store (SQLite, and
PostgreSQL through the ``repos`` fixture): several cases, switching, closing with each reason,
reopening by whom, the automatic close and the retention purge afterwards."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session

from bot import cases
from bot.dossier import load
from bot.profiles import ATTENTION_OFFICER, profile
from bot.store.db import repositories
from bot.store.models import Case
from bot.store.repositories import Repositories

ORG = "onze_wijs"
TEACHER = "teams:teacher-1"
COLLEAGUE = "teams:teacher-2"
OFFICER = "teams:officer-1"
HALF_YEAR = timedelta(days=180)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def sqlite_repos(tmp_path) -> Repositories:
    return repositories(f"sqlite:///{tmp_path / 'cases.db'}")


@pytest.fixture
def school(sqlite_repos: Repositories) -> Repositories:
    """Two teachers and an aandachtsfunctionaris the school granted the role."""
    sqlite_repos.roles.grant(OFFICER, ORG, ATTENTION_OFFICER, actor="admin")
    return sqlite_repos


def later(days: int) -> datetime:
    return datetime.now(timezone.utc) + timedelta(days=days)


def backdate(repos: Repositories, case_id: str, days: int) -> None:
    """Pretend nothing happened in the case for ``days`` (the store stamps activity with the real clock)."""
    with Session(repos.engine, future=True) as session, session.begin():
        row = session.get(Case, case_id)
        row.created_at = row.updated_at = datetime.now(timezone.utc) - timedelta(days=days)


def ids(choices) -> list:
    return [dict(c.entities).get("case_ref") for c in choices if c.intent in ("switch_case", "reopen_case")]


# --- rules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, code",
    [
        ("handed_to_vt", "handed_to_vt"),
        ("Overgedragen aan Veilig Thuis", "handed_to_vt"),
        ("we hebben het gemeld bij veilig thuis", "handed_to_vt"),
        ("de leerling is verhuisd", "pupil_left"),
        ("hij zit nu op een andere school", "pupil_left"),
        ("de hulp is afgerond en we hebben het gemonitord", "help_monitored"),
        ("toch geen zorgen, het viel mee", "no_concerns"),
        ("loos alarm", "no_concerns"),
        ("toch geen zorgen, er is geen hulp nodig", "no_concerns"),
        ("om een andere reden", "other"),
    ],
)
def test_a_typed_or_clicked_reason_is_read(text: str, code: str) -> None:
    assert cases.read_reason(text) == code


@pytest.mark.parametrize("text", ["", "ja", "wat moet ik nu doen?", "inactive"])
def test_text_that_names_no_reason_gives_none(text: str) -> None:
    assert cases.read_reason(text) is None


def test_every_reason_has_a_label_and_the_automatic_close_is_no_button() -> None:
    assert set(cases.REASONS) == {"no_concerns", "handed_to_vt", "help_monitored", "pupil_left", "other"}
    assert cases.INACTIVE not in cases.REASONS and cases.INACTIVE in cases.REASON_LABELS


def test_inactivity_starts_at_the_period_not_before() -> None:
    last = NOW - HALF_YEAR
    assert cases.is_inactive(last, NOW, HALF_YEAR)
    assert not cases.is_inactive(last + timedelta(minutes=1), NOW, HALF_YEAR)


def test_the_owner_and_the_granted_officer_may_reopen_a_colleague_not() -> None:
    assert cases.may_reopen(TEACHER, TEACHER, viewer_is_officer=False)
    assert cases.may_reopen(OFFICER, TEACHER, viewer_is_officer=True)
    assert not cases.may_reopen(COLLEAGUE, TEACHER, viewer_is_officer=False)


def test_reopening_is_possible_only_within_the_retention_period() -> None:
    assert cases.within_retention(NOW - HALF_YEAR + timedelta(days=1), NOW, HALF_YEAR)
    assert not cases.within_retention(NOW - HALF_YEAR, NOW, HALF_YEAR)


def test_periods_come_from_the_environment_with_six_months_as_default() -> None:
    assert cases.auto_close_after({}) == HALF_YEAR
    assert cases.auto_close_after({cases.ENV_AUTO_CLOSE_AFTER: "4w"}) == timedelta(days=28)
    assert cases.retention({cases.ENV_RETENTION: "1y"}) == timedelta(days=365)
    with pytest.raises(ValueError):
        cases.auto_close_after({cases.ENV_AUTO_CLOSE_AFTER: "zes maanden"})


def test_pseudonyms_have_no_look_alike_characters() -> None:
    names = {cases.new_pseudonym() for _ in range(200)}
    assert len(names) > 190  # random enough that two open cases rarely share one
    for name in names:
        assert name.startswith("Leerling ") and set(name[9:]) <= set(cases.PSEUDONYM_ALPHABET)
        assert not set(name.removeprefix("Leerling ")) & set("O0I1S5B8")


# --- use cases against the store -----------------------------------------------------------------


def test_two_cases_are_listed_with_step_activity_and_follow_ups_and_switching_moves_the_conversation(
    school: Repositories,
) -> None:
    first = cases.open_case(school, TEACHER, ORG, "teacher")
    second = cases.open_case(school, TEACHER, ORG, "teacher", step=4)
    school.followups.add(first.id, "vt_feedback", date(2026, 12, 8), "Terugkoppeling Veilig Thuis")
    listed = cases.list_cases(school, TEACHER, current_id=second.id)
    assert f"- {second.pseudonym} (huidige casus): stap 4, laatste activiteit" in listed.text
    assert f"- {first.pseudonym}: stap 1, laatste activiteit" in listed.text
    assert "1 open afspraak" in listed.text and "geen open afspraken" in listed.text
    assert cases.local_day(datetime.now(timezone.utc)) in listed.text  # a Dutch date, "1 december 2026"
    assert ids(listed.choices) == [first.id, second.id]  # the follow-up made the first the most recent
    assert listed.choices[-1].intent == "new_case"

    switched = cases.switch_case(school, TEACHER, first.id, current_id=second.id)
    assert switched.text.startswith(f"Casus {first.pseudonym}: ")
    assert switched.slots["case_id"] == first.id and switched.slots["pseudonym"] == first.pseudonym
    assert school.cases.open_case(TEACHER, preferred_id=first.id).id == first.id
    assert school.cases.open_case(TEACHER).id == second.id  # without a choice: the newest open case


def test_switching_to_someone_elses_or_an_unknown_case_changes_nothing(school: Repositories) -> None:
    own = cases.open_case(school, TEACHER, ORG, "teacher")
    foreign = cases.open_case(school, COLLEAGUE, ORG, "teacher")
    for target in (foreign.id, "no-such-case"):
        reply = cases.switch_case(school, TEACHER, target, current_id=own.id)
        assert reply.slots == {} and reply.text.startswith("Die casus staat niet (meer) open bij u.")
        assert ids(reply.choices) == [own.id]
    assert school.cases.open_case(TEACHER, preferred_id=foreign.id).id == own.id


def test_without_open_cases_the_list_offers_to_start_one(school: Repositories) -> None:
    reply = cases.list_cases(school, TEACHER, None)
    assert reply.text == "U heeft geen open casussen."
    assert [c.intent for c in reply.choices] == ["start_case", "reopen_case"]


@pytest.mark.parametrize("reason", sorted(cases.REASONS))
def test_closing_with_each_reason_is_in_the_dossier_and_the_case_is_no_longer_listed(
    school: Repositories, reason: str
) -> None:
    case = cases.open_case(school, TEACHER, ORG, "teacher")
    other = cases.open_case(school, TEACHER, ORG, "teacher")
    asked = cases.ask_close_reason(case)
    assert asked.text == f"Casus {case.pseudonym}: waarom sluit u deze casus af?"
    assert [dict(c.entities)["close_reason"] for c in asked.choices[:-1]] == list(cases.REASONS)
    assert {dict(c.entities)["case_ref"] for c in asked.choices[:-1]} == {case.id}
    assert (asked.choices[-1].title, asked.choices[-1].intent) == ("Toch niet afsluiten", "deny")

    reply = cases.close_case(school, TEACHER, case, reason, now=NOW, kept_for=HALF_YEAR)
    assert reply.text.startswith(f"Casus {case.pseudonym}: afgesloten ({cases.REASONS[reason].lower()})")
    assert "180 dagen" in reply.text
    assert reply.slots["case_id"] == other.id  # the conversation goes on with the case still open
    stored = school.cases.get(case.id, TEACHER, "teacher")
    assert (stored.status, stored.close_reason, stored.closed_by, stored.closed_at) == ("closed", reason, TEACHER, NOW)
    assert ids(cases.list_cases(school, TEACHER, other.id).choices) == [other.id]
    _, dossier = load(school, case.id, TEACHER, "teacher", profile("national"))
    assert ("Afgesloten", f"1 december 2026 — {cases.REASONS[reason]}") in dossier.meta


def test_closing_the_last_case_empties_the_case_slots(school: Repositories) -> None:
    case = cases.open_case(school, TEACHER, ORG, "teacher")
    reply = cases.close_case(school, TEACHER, case, "pupil_left")
    assert reply.slots == cases.case_slot_values(None)


def test_an_unknown_reason_is_refused_and_nothing_is_closed(school: Repositories) -> None:
    case = cases.open_case(school, TEACHER, ORG, "teacher")
    with pytest.raises(ValueError):
        cases.close_case(school, TEACHER, case, cases.INACTIVE)
    assert school.cases.get(case.id, TEACHER, "teacher").status == "open"


def test_the_owner_reopens_and_continues_with_the_case(school: Repositories) -> None:
    case = cases.open_case(school, TEACHER, ORG, "teacher")
    cases.close_case(school, TEACHER, case, "no_concerns")
    offered = cases.reopen_case(school, TEACHER, "teacher", ORG, None)
    assert offered.text == "Welke casus wilt u heropenen?" and ids(offered.choices) == [case.id]
    reply = cases.reopen_case(school, TEACHER, "teacher", ORG, case.id)
    assert reply.text == f"Casus {case.pseudonym}: weer geopend, in stap 1."
    assert reply.slots["case_id"] == case.id
    stored = school.cases.get(case.id, TEACHER, "teacher")
    assert (stored.status, stored.closed_at, stored.close_reason) == ("open", None, None)
    _, dossier = load(school, case.id, TEACHER, "teacher", profile("national"))
    assert all(label != "Afgesloten" for label, _ in dossier.meta)


def test_a_colleague_may_not_reopen_the_officer_may_but_does_not_take_over_the_case(school: Repositories) -> None:
    case = cases.open_case(school, TEACHER, ORG, "teacher")
    cases.close_case(school, TEACHER, case, "handed_to_vt")
    refused = cases.reopen_case(school, COLLEAGUE, "teacher", ORG, case.id)
    assert refused.text.startswith("Die casus kunt u niet heropenen") and refused.slots == {}
    assert ids(cases.reopen_case(school, COLLEAGUE, "teacher", ORG, None).choices) == []
    # Saying "I am the aandachtsfunctionaris" without the school's grant reopens nothing either.
    assert cases.reopen_case(school, COLLEAGUE, ATTENTION_OFFICER, ORG, case.id).slots == {}
    assert school.cases.get(case.id, TEACHER, "teacher").status == "closed"

    reply = cases.reopen_case(school, OFFICER, ATTENTION_OFFICER, ORG, case.id)
    assert reply.text == f"Casus {case.pseudonym}: weer geopend, in stap 1."
    assert reply.slots == {}  # the officer's own conversation does not switch to the teacher's case
    assert school.cases.open_case(TEACHER).id == case.id


def test_a_case_past_the_retention_period_cannot_be_reopened(school: Repositories) -> None:
    case = cases.open_case(school, TEACHER, ORG, "teacher")
    cases.close_case(school, TEACHER, case, "other", now=NOW)
    reply = cases.reopen_case(school, TEACHER, "teacher", ORG, case.id, now=NOW + HALF_YEAR, kept_for=HALF_YEAR)
    assert reply.text.startswith("Die casus kunt u niet heropenen") and reply.slots == {}
    assert school.cases.get(case.id, TEACHER, "teacher").status == "closed"


def test_auto_close_after_the_period_not_before_with_a_notice_once_and_a_purge_later(school: Repositories) -> None:
    quiet = cases.open_case(school, TEACHER, ORG, "teacher")
    busy = cases.open_case(school, TEACHER, ORG, "teacher")
    backdate(school, quiet.id, days=180)
    school.followups.add(busy.id, "evaluate", date.today(), "Hulp evalueren")
    assert cases.close_inactive(school, HALF_YEAR, now=later(0) - timedelta(minutes=1)) == []
    moment = later(0)
    closed = cases.close_inactive(school, HALF_YEAR, now=moment)
    assert [c.id for c in closed] == [quiet.id]
    stored = school.cases.get(quiet.id, TEACHER, "teacher")
    assert (stored.status, stored.close_reason, stored.closed_by) == ("closed", cases.INACTIVE, None)
    _, dossier = load(school, quiet.id, TEACHER, "teacher", profile("national"))
    assert ("Afgesloten", f"{cases.local_day(moment)} — Automatisch afgesloten: geen activiteit") in dossier.meta

    notice = cases.close_notices(school, TEACHER, now=moment, after=HALF_YEAR)
    assert notice is not None and notice.text.startswith(f"Casus {quiet.pseudonym}: automatisch afgesloten op ")
    assert "180 dagen" in notice.text and [c.intent for c in notice.choices] == ["reopen_case"]
    assert cases.close_notices(school, TEACHER, now=moment) is None  # told once
    assert cases.close_notices(school, COLLEAGUE, now=moment) is None

    assert school.purge_closed_cases(HALF_YEAR, now=moment + timedelta(days=179)) == 0
    assert school.purge_closed_cases(HALF_YEAR, now=moment + timedelta(days=181)) == 1
    assert [c.id for c in school.cases.list_for(TEACHER, "teacher", ORG)] == [busy.id]


def test_a_manually_closed_case_gives_no_inactivity_notice(school: Repositories) -> None:
    case = cases.open_case(school, TEACHER, ORG, "teacher")
    cases.close_case(school, TEACHER, case, "no_concerns")
    assert cases.close_notices(school, TEACHER) is None


def test_the_case_flow_on_both_dialects(repos: Repositories) -> None:
    """Create, list, close, auto-close and reopen on SQLite and PostgreSQL (activity queries included)."""
    repos.roles.grant(OFFICER, ORG, ATTENTION_OFFICER, actor="admin")
    first = cases.open_case(repos, TEACHER, ORG, "teacher")
    second = cases.open_case(repos, TEACHER, ORG, "teacher")
    repos.followups.add(first.id, "vt_feedback", date.today(), "Terugkoppeling Veilig Thuis")
    assert ids(cases.list_cases(repos, TEACHER, None).choices) == [first.id, second.id]
    cases.close_case(repos, TEACHER, first, "help_monitored")
    assert [c.id for c in cases.close_inactive(repos, HALF_YEAR, now=later(200))] == [second.id]
    assert cases.list_cases(repos, TEACHER, None).text == "U heeft geen open casussen."
    reply = cases.reopen_case(repos, OFFICER, ATTENTION_OFFICER, ORG, second.id)
    assert reply.text.startswith(f"Casus {second.pseudonym}: weer geopend")
    assert repos.cases.open_case(TEACHER).id == second.id


def test_the_command_closes_inactive_cases_of_the_configured_store(capsys: pytest.CaptureFixture) -> None:
    from bot.__main__ import main

    store = repositories()  # the store the environment names (a temp file, see conftest)
    quiet = cases.open_case(store, TEACHER, ORG, "teacher")
    fresh = cases.open_case(store, TEACHER, ORG, "teacher")
    backdate(store, quiet.id, days=31)
    assert main(["cases", "close-inactive", "--after", "30d"]) == 0
    assert capsys.readouterr().out.strip() == "closed 1 case(s) without activity"
    assert store.cases.get(quiet.id, TEACHER, "teacher").close_reason == cases.INACTIVE
    assert store.cases.get(fresh.id, TEACHER, "teacher").status == "open"
