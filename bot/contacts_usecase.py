"""Use cases of the contacts: the school's gemeente, remembered per staff member.

Why it is stored: "wie moet ik bellen?" needs the Veilig Thuis region of the school, not of the pupil's
home, and a teacher should be asked for it once. Which region and numbers follow from it is
``bot.contacts`` (pure, over ``knowledge/``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from bot import contacts

if TYPE_CHECKING:  # types only: the repositories are passed in by the caller
    from bot.store.repositories import Repositories


def school_gemeente(repos: Repositories, user_id: str) -> Optional[str]:
    """The gemeente this staff member said the school is in, if any."""
    user = repos.users.get(user_id)
    return user.gemeente if user else None


def remember_school_place(
    repos: Repositories, user_id: str, organisation_id: str, role: Optional[str], resolution: contacts.Resolution
) -> str:
    """Keep the answer as the school's gemeente (the region's own name when the user named a region),
    and return the name kept."""
    name = resolution.gemeente.name if resolution.gemeente else resolution.region.cbs_name  # type: ignore[union-attr]
    repos.users.upsert(user_id, organisation_id=organisation_id, role=role, gemeente=name)
    return name
