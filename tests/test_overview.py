"""The aandachtsfunctionaris's overview: who sees it, which cases, in which order, and the web page."""

from __future__ import annotations

import html
import re
import time
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, Optional

import pytest

from bot import overview, overview_usecase, weighing
from plugins.channels.overview_page import overview_page
from bot.overview import OverviewRow
from bot.overview_usecase import PageGrant
from bot.profiles import profile
from bot.store import crypto
from bot.store.db import repositories
from bot.profiles import ATTENTION_OFFICER
from bot.store.repositories import AccessDenied

ORG, OTHER = "national", "andere-school"
OFFICER, TEACHER = "web:scp-er", "web:leerkracht-1"
TODAY = date(2026, 12, 1)


def source(
    pseudonym: str, *, idle: int = 0, due: tuple = (), role: Optional[str] = "teacher", case_id: Optional[str] = None
) -> Any:
    """A record as the store returns it (only the attributes bot.overview reads)."""
    moment = datetime(TODAY.year, TODAY.month, TODAY.day, 11, tzinfo=timezone.utc) - timedelta(days=idle)
    return SimpleNamespace(
        case=SimpleNamespace(id=case_id or pseudonym, pseudonym=pseudonym, step=2),
        owner_role=role,
        last_activity=moment,
        weighing=(),
        open_followups=tuple(SimpleNamespace(due_on=d) for d in due),
    )


# --- pure: rows, order, filter, rendering --------------------------------------------------------


def test_overdue_cases_come_first_then_the_longest_silent() -> None:
    rows = overview.build(
        [
            source("Leerling A", idle=3),
            source("Leerling B", idle=30),
            source("Leerling C", idle=1, due=(TODAY - timedelta(days=2),)),
            source("Leerling D", idle=9, due=(TODAY,)),
        ],
        TODAY,
        profile(),
    )
    assert [r.pseudonym for r in rows] == ["Leerling C", "Leerling B", "Leerling D", "Leerling A"]
    assert [r.overdue for r in rows] == [1, 0, 0, 0]  # due today is not overdue yet
    assert rows[1].days_idle == 30 and rows[1].owner_role == "leerkracht of docent"


def test_the_overdue_filter_keeps_only_cases_with_a_past_follow_up() -> None:
    sources = [
        source("Leerling A", due=(TODAY + timedelta(days=3),)),
        source("Leerling B", due=(TODAY - timedelta(days=1), TODAY - timedelta(days=8))),
    ]
    rows = overview.build(sources, TODAY, profile(), only_overdue=True)
    assert [(r.pseudonym, r.overdue) for r in rows] == [("Leerling B", 2)]


def test_chat_lines_are_short_and_offer_the_filter_and_each_dossier() -> None:
    rows = overview.build(
        [source("Leerling A", idle=12, due=(TODAY - timedelta(days=1),), role=None)], TODAY, profile()
    )
    text, choices = overview.chat_reply(rows, False, "show_overview", "overview_case", "overview_filter")
    assert text.splitlines() == [
        "Open casussen van de school: 1.",
        "- Leerling A: stap 2, rol onbekend, 12 dagen geen activiteit, 1 afspraak achterstallig, nog niet gewogen",
    ]
    assert [(c.title, c.entities) for c in choices] == [
        ("Alleen achterstallig", (("overview_filter", "achterstallig"),)),
        ("Dossier Leerling A", (("overview_case", "Leerling A"),)),
    ]
    text, choices = overview.chat_reply([], True, "show_overview", "overview_case", "overview_filter")
    assert text == "Er zijn geen open casussen met achterstallige afspraken."
    assert [(c.title, c.entities) for c in choices] == [("Alle casussen", ())]


def test_a_long_list_is_cut_in_chat_and_points_to_the_page() -> None:
    rows = overview.build([source(f"Leerling {i:02d}", idle=i) for i in range(11)], TODAY, profile())
    text, choices = overview.chat_reply(rows, False, "show_overview", "overview_case", "overview_filter")
    assert text.splitlines()[-1] == "En nog 3; het volledige overzicht staat op de webpagina."
    assert len(choices) == 1 + overview.MAX_CHAT_ROWS


def test_the_page_escapes_everything_and_has_no_script() -> None:
    evil = OverviewRow("c1", "<script>alert(1)</script>", 3, "leerkracht", 2, 1, 'Melden "nu" & <b>')
    page = overview.render_page(
        [evil],
        False,
        profile(),
        datetime(2026, 12, 1, 9, tzinfo=timezone.utc),
        {"c1": '../dossier/x"y/pdf'},
        "../overzicht.css",
    )
    assert '<html lang="nl">' in page and "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "Melden &quot;nu&quot; &amp; &lt;b&gt;" in page
    assert 'href="../dossier/x&quot;y/pdf"' in page and 'href="?filter=achterstallig"' in page
    assert "Stand van 01-12-2026 10:00" in page  # Amsterdam time


# --- store + use case: only the organisation's cases, only for the granted aandachtsfunctionaris --


@pytest.fixture()
def school():
    repos = repositories()
    repos.users.upsert(TEACHER, organisation_id=ORG, role="teacher")
    mine = repos.cases.create(TEACHER, ORG, "Leerling K7")
    repos.followups.add(mine.id, "vt_feedback", TODAY - timedelta(days=3), "Veilig Thuis terugbellen")
    quiet = repos.cases.create("web:collega-2", ORG, "Leerling M2")
    closed = repos.cases.create(TEACHER, ORG, "Leerling Z9")
    repos.cases.close(closed.id)
    repos.cases.create("web:elders", OTHER, "Leerling X1")
    repos.roles.grant(OFFICER, ORG, ATTENTION_OFFICER, "admin")
    return SimpleNamespace(repos=repos, mine=mine, quiet=quiet)


def test_the_officer_sees_every_open_case_of_the_school_and_nothing_else(school) -> None:
    for n, answer, outcome in ((1, "ja", None), (2, "nee", None), (3, "ja", None), (4, "ja", "start_help")):
        school.repos.weighing.add(school.quiet.id, n, answer, outcome, {"entry": "answer"})
    decided = weighing.outcome(weighing.replay(school.repos.weighing.trace(school.quiet.id)), profile())
    reply = overview_usecase.show(school.repos, OFFICER, profile(), only_overdue=False, web=False, day=TODAY)
    lines = reply.text.splitlines()
    assert lines[0] == "Open casussen van de school: 2."
    assert lines[1].startswith("- Leerling K7: stap 1, leerkracht of docent, ")
    assert "1 afspraak achterstallig" in lines[1]
    assert lines[2].startswith("- Leerling M2: stap 1, rol onbekend, ")
    assert lines[2].endswith(f", weging: {decided.title}") and lines[1].endswith(", nog niet gewogen")
    assert "Leerling Z9" not in reply.text and "Leerling X1" not in reply.text
    assert TEACHER not in reply.text and "collega-2" not in reply.text  # roles, never identities
    assert not reply.links
    only = overview_usecase.show(school.repos, OFFICER, profile(), only_overdue=True, web=True, day=TODAY)
    assert only.text.splitlines()[1:] == [lines[1]]
    assert only.links[0]["format"] == "html" and only.links[0]["url"].startswith("overzicht/")


@pytest.mark.parametrize(
    "viewer, organisation",
    [
        (TEACHER, ORG),  # a teacher (whatever role the chat says)
        (OFFICER, OTHER),  # the officer of another school
    ],
)
def test_anyone_without_the_grant_gets_the_polite_refusal(school, viewer: str, organisation: str) -> None:
    with pytest.raises(AccessDenied):
        school.repos.overview.open_cases(viewer, organisation)
    org = profile().copy(update={"id": organisation})
    reply = overview_usecase.show(school.repos, viewer, org, only_overdue=False, web=True)
    assert reply.text == overview.refusal(org) and "alleen voor de aandachtsfunctionaris" in reply.text
    assert "Leerling" not in reply.text and not reply.links


def test_a_revoked_grant_closes_the_overview_at_once(school) -> None:
    school.repos.roles.revoke(OFFICER, ORG, ATTENTION_OFFICER, "admin")
    reply = overview_usecase.show(school.repos, OFFICER, profile(), only_overdue=False, web=False)
    assert reply.text == overview.refusal(profile())


def test_the_officer_opens_one_case_dossier_but_not_another_schools(school) -> None:
    school.repos.notes.add(school.mine.id, "signaal", TEACHER, "teacher", {"observation": "blauwe plekken"}, None)
    reply = overview_usecase.answer(school.repos, OFFICER, profile(), None, school.mine.id, web=True)
    assert reply.text.startswith("Dossier van Leerling K7 (stap 1), 1 aantekening(en):")
    assert [link["format"] for link in reply.links] == ["pdf", "md"]
    foreign = school.repos.cases.create("web:elders", OTHER, "Leerling X2")
    refused = overview_usecase.answer(school.repos, OFFICER, profile(), None, foreign.id, web=True)
    assert refused.text == overview_usecase.GONE and not refused.links and "X2" not in refused.text
    teacher = overview_usecase.answer(school.repos, TEACHER, profile(), None, school.quiet.id, web=False)
    assert teacher.text == overview_usecase.GONE


# --- the web page --------------------------------------------------------------------------------


def request(filter_value: Optional[str] = None) -> Any:
    return SimpleNamespace(args={"filter": filter_value} if filter_value else {})


async def test_the_page_lists_the_cases_without_caching(school) -> None:
    token = overview_usecase.page_token(PageGrant(OFFICER, ORG))
    page = await overview_page(request(), token)
    body = page.body.decode()
    assert page.status == 200 and page.content_type.startswith("text/html")
    assert page.headers["Cache-Control"] == "no-store" and "script-src" not in page.headers["Content-Security-Policy"]
    assert '<html lang="nl">' in body and "Leerling K7" in body and "Leerling M2" in body
    assert "Leerling X1" not in body and "Leerling Z9" not in body
    dossier_links = re.findall(r'href="\.\./dossier/([^"/]+)/pdf"', body)
    assert len(dossier_links) == 2
    overdue = (await overview_page(request("achterstallig"), token)).body.decode()
    assert "Leerling K7" in overdue and "Leerling M2" not in overdue


async def test_an_expired_or_forged_link_is_gone_and_a_foreign_or_revoked_one_not_found(
    school, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = overview_usecase.page_token(PageGrant(OFFICER, ORG))
    forged = await overview_page(request(), "vervalst")
    assert forged.status == 410 and html.escape(overview_usecase.EXPIRED, quote=False) in forged.body.decode()
    assert forged.headers["Cache-Control"] == "no-store"
    dossier_token = crypto.seal({"p": "dossier", "c": school.mine.id, "v": OFFICER, "r": ATTENTION_OFFICER})
    assert (await overview_page(request(), dossier_token)).status == 410  # another purpose's token
    foreign = overview_usecase.page_token(PageGrant(OFFICER, OTHER))
    assert (await overview_page(request(), foreign)).status == 404
    teacher = overview_usecase.page_token(PageGrant(TEACHER, ORG))
    assert (await overview_page(request(), teacher)).status == 404
    assert (await overview_page(request(), good)).status == 200
    made_at = time.time() - 16 * 60
    with monkeypatch.context() as past:  # a link made 16 minutes ago
        past.setattr("cryptography.fernet.time.time", lambda: made_at)
        expired = overview_usecase.page_token(PageGrant(OFFICER, ORG))
    assert (await overview_page(request(), expired)).status == 410
    school.repos.roles.revoke(OFFICER, ORG, ATTENTION_OFFICER, "admin")
    assert (await overview_page(request(), good)).status == 404  # a revoked role: refused at once
