"""Attack: become aandachtsfunctionaris by saying so. The role a user states (a button, a sentence) is
only for wording; reading a colleague's case needs the school's grant, and every change is audited."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.store.repositories import AccessDenied, Repositories

ORG, OTHER_ORG = "symbio", "consent"
OWNER, CLAIMER = "web:juf.a@school.nl", "rest:local:meester.b"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def case(repos: Repositories):
    repos.users.upsert(OWNER, organisation_id=ORG, role="teacher")
    repos.users.upsert(CLAIMER, organisation_id=ORG, role="attention_officer")  # what the user told the bot
    return repos.cases.create(OWNER, ORG, "Leerling Q4")


def test_a_stated_role_opens_no_colleagues_case(repos: Repositories, case) -> None:
    with pytest.raises(AccessDenied):
        repos.cases.get(case.id, CLAIMER, "attention_officer")
    with pytest.raises(AccessDenied):
        repos.notes.list(case.id, CLAIMER, "attention_officer")
    with pytest.raises(AccessDenied):
        repos.cases.list_for(CLAIMER, "attention_officer", ORG)


def test_the_schools_grant_opens_its_cases_only_and_a_revoke_closes_them(repos: Repositories, case) -> None:
    repos.roles.grant(CLAIMER, OTHER_ORG, "attention_officer", actor="ict")
    with pytest.raises(AccessDenied):  # granted elsewhere, not at this school
        repos.cases.get(case.id, CLAIMER, "attention_officer")
    repos.roles.grant(CLAIMER, ORG, "attention_officer", actor="ict")
    assert repos.cases.get(case.id, CLAIMER, "attention_officer").id == case.id
    assert repos.roles.revoke(CLAIMER, ORG, "attention_officer", actor="ict") is True
    with pytest.raises(AccessDenied):
        repos.cases.get(case.id, CLAIMER, "attention_officer")
    assert [(a[1], a[3], a[5]) for a in repos.roles.audit()] == [
        ("grant", OTHER_ORG, "ict"), ("grant", ORG, "ict"), ("revoke", ORG, "ict")]


def test_only_known_roles_can_be_granted(repos: Repositories) -> None:
    with pytest.raises(ValueError):
        repos.roles.grant(CLAIMER, ORG, "admin", actor="ict")


def test_the_admin_command_grants_lists_and_audits(tmp_path: Path) -> None:
    env = {"MELDWIJZER_DB_URL": f"sqlite:///{tmp_path / 'cases.db'}", "MELDWIJZER_KEY_FILE": str(tmp_path / "k"),
           "PATH": "/usr/bin:/bin"}

    def bot(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bot", "roles", *args, "--organisation", ORG], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=120)

    assert "granted: attention_officer" in bot("grant", CLAIMER, "attention_officer", "--by", "ict").stdout
    assert CLAIMER in bot("list").stdout
    assert bot("grant", CLAIMER, "attention_officer").returncode == 2  # no --by: nobody to audit
    assert "revoked" in bot("revoke", CLAIMER, "attention_officer", "--by", "ict").stdout
    assert bot("audit").stdout.count("by ict") == 2
