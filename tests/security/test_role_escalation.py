"""Attack: become aandachtsfunctionaris by saying so. The role a user states (a button, a sentence) is
only for wording; reading a colleague's case needs the school's grant, and every change is audited."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.store.identities import stored_identity
from bot.store.repositories import AccessDenied, Repositories
from plugins.channels.identity import web_identity

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
        ("grant", OTHER_ORG, "ict"),
        ("grant", ORG, "ict"),
        ("revoke", ORG, "ict"),
    ]


def test_only_known_roles_can_be_granted(repos: Repositories) -> None:
    with pytest.raises(ValueError):
        repos.roles.grant(CLAIMER, ORG, "admin", actor="ict")


def test_the_admin_command_grants_lists_and_audits(tmp_path: Path) -> None:
    env = {
        "MELDWIJZER_DB_URL": f"sqlite:///{tmp_path / 'cases.db'}",
        "MELDWIJZER_KEY_FILE": str(tmp_path / "k"),
        "PATH": "/usr/bin:/bin",
    }

    def bot(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "bot", "roles", *args, "--organisation", ORG],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert "granted: attention_officer" in bot("grant", CLAIMER, "attention_officer", "--by", "ict").stdout
    listed = bot("list").stdout
    assert stored_identity(CLAIMER, env) in listed and CLAIMER not in listed  # the store knows only the hash
    assert bot("grant", CLAIMER, "attention_officer").returncode == 2  # no --by: nobody to audit
    assert "revoked" in bot("revoke", CLAIMER, "attention_officer", "--by", "ict").stdout
    assert bot("audit").stdout.count("by ict") == 2


# --- the role from the school's identity provider (web: a claim in the signed staff token) ----------

OFFICER_VALUE = "Meldwijzer.Aandachtsfunctionaris"


def officer_policy(**changes: object):
    from dataclasses import replace

    from plugins.channels.web import TokenPolicy

    policy = TokenPolicy(
        "unit-test-secret-long-enough-for-hs256-signing",
        "HS256",
        "meldwijzer",
        "https://intranet.school.nl",
        attention_officer_value=OFFICER_VALUE,
    )
    return replace(policy, **changes)


def signed_in(policy, subject: str, **claims: object):
    """What the web channel reads from a token the intranet signed for ``subject``."""
    from plugins.channels.web import verify_token
    from tests.fakes.intranet import staff_token

    staff = verify_token(staff_token(policy.key, subject, policy.audience, policy.issuer, **claims), policy)
    assert staff is not None
    return staff


def test_the_tokens_role_claim_grants_the_role_and_a_later_token_without_it_takes_it_back(
    repos: Repositories, case, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plugins.channels import web

    monkeypatch.setattr(web, "repositories", lambda: repos)
    policy = officer_policy()
    officer = web_identity("ib.c@school.nl")
    assert (
        web.sync_token_role(signed_in(policy, "ib.c@school.nl", roles=[OFFICER_VALUE, "Staff"]), policy, ORG) == "grant"
    )
    assert repos.cases.get(case.id, officer, "attention_officer").id == case.id
    assert web.sync_token_role(signed_in(policy, "ib.c@school.nl", roles=[OFFICER_VALUE]), policy, ORG) is None
    assert web.sync_token_role(signed_in(policy, "ib.c@school.nl", roles=["Staff"]), policy, ORG) == "revoke"
    with pytest.raises(AccessDenied):
        repos.cases.get(case.id, officer, "attention_officer")
    assert [(a[1], a[2], a[5]) for a in repos.roles.audit()] == [
        ("grant", officer, "jwt:https://intranet.school.nl"),
        ("revoke", officer, "jwt:https://intranet.school.nl"),
    ]


@pytest.mark.parametrize(
    "claims",
    [
        {},  # no roles claim at all
        {"roles": ["Staff", "Meldwijzer.aandachtsfunctionaris"]},  # another value (case matters, as in Entra ID)
        {"roles": {"value": OFFICER_VALUE}},  # not a list of strings
        {"groups": [OFFICER_VALUE]},  # another claim than the configured one
    ],
)
def test_a_token_without_the_configured_role_value_grants_nothing(
    repos: Repositories, case, claims: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plugins.channels import web

    monkeypatch.setattr(web, "repositories", lambda: repos)
    policy = officer_policy()
    assert web.sync_token_role(signed_in(policy, "meester.b", **claims), policy, ORG) is None
    with pytest.raises(AccessDenied):
        repos.cases.get(case.id, web_identity("meester.b"), "attention_officer")
    assert repos.roles.list() == []


def test_an_admins_grant_survives_a_token_without_the_role_and_unconfigured_tokens_change_nothing(
    repos: Repositories, case, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plugins.channels import web

    monkeypatch.setattr(web, "repositories", lambda: repos)
    officer = web_identity("ib.c@school.nl")
    repos.roles.grant(officer, ORG, "attention_officer", actor="ict")
    policy = officer_policy()
    assert web.sync_token_role(signed_in(policy, "ib.c@school.nl", roles=["Staff"]), policy, ORG) is None
    assert repos.cases.get(case.id, officer, "attention_officer").id == case.id
    unconfigured = officer_policy(attention_officer_value=None)
    assert web.sync_token_role(signed_in(unconfigured, "meester.b", roles=[OFFICER_VALUE]), unconfigured, ORG) is None
    assert [g.user_id for g in repos.roles.list()] == [officer]


def test_the_roles_claim_and_value_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from plugins.channels import web

    monkeypatch.setenv(web.JWT_AUDIENCE_ENV, "meldwijzer")
    monkeypatch.setenv(web.JWT_ISSUER_ENV, "https://login.microsoftonline.com/t/v2.0")
    monkeypatch.setenv(web.JWT_OFFICER_ROLE_ENV, OFFICER_VALUE)
    monkeypatch.setenv(web.JWT_ROLES_CLAIM_ENV, "app_roles")
    policy = web.token_policy("k" * 40, "HS256")
    assert (policy.roles_claim, policy.attention_officer_value) == ("app_roles", OFFICER_VALUE)
    assert policy.source == "jwt:https://login.microsoftonline.com/t/v2.0"
    assert signed_in(policy, "x", app_roles=f"Staff {OFFICER_VALUE}").roles == {"Staff", OFFICER_VALUE}
