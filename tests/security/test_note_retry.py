"""Attack (or bad luck): the reply to 'Opslaan' is lost and the teacher, or the client, sends it again,
possibly to another replica at the same time. The note is stored exactly once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bot.store.repositories import Repositories

OWNER = "web:juf.a"


def _case(repos: Repositories):
    repos.users.upsert(OWNER, organisation_id="symbio")
    return repos.cases.create(OWNER, "symbio", "Leerling R2")


def test_the_same_confirmation_twice_stores_one_note(repos: Repositories) -> None:
    case = _case(repos)
    first = repos.notes.add(case.id, "signaal", OWNER, "teacher", {"waarnemingen": "blauwe plek"}, None, "k-1")
    again = repos.notes.add(case.id, "signaal", OWNER, "teacher", {"waarnemingen": "blauwe plek"}, None, "k-1")
    assert again.id == first.id
    assert len(repos.notes.list(case.id, OWNER, "teacher")) == 1
    repos.notes.add(case.id, "signaal", OWNER, "teacher", {"waarnemingen": "tweede"}, None, "k-2")
    assert len(repos.notes.list(case.id, OWNER, "teacher")) == 2


def test_concurrent_retries_store_one_note(repos: Repositories) -> None:
    case = _case(repos)
    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(
            pool.map(
                lambda _: repos.notes.add(case.id, "signaal", OWNER, "teacher", {"w": "x"}, None, "same-key").id,
                range(8),
            )
        )
    assert len(set(ids)) == 1
    assert len(repos.notes.list(case.id, OWNER, "teacher")) == 1


def test_notes_without_a_key_are_each_stored(repos: Repositories) -> None:
    case = _case(repos)
    for _ in range(2):
        repos.notes.add(case.id, "signaal", OWNER, "teacher", {"w": "x"}, None)
    assert len(repos.notes.list(case.id, OWNER, "teacher")) == 2
