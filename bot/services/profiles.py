"""The ratified ICP as the bot shows and uses it: the profile and the template it was
ratified with, for `/icp-check profile`, App Home and the fit form."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from storage import icp, rounds, templates
from storage.errors import NotFound
from storage.models import IcpVersion
from storage.templates import StoredTemplate
from survey.template import Template, TemplateError

if TYPE_CHECKING:  # survey's numeric modules load numpy and scipy: not at start-up
    from survey.profile import IcpProfile

log = logging.getLogger(__name__)


def profile_of(version: IcpVersion) -> IcpProfile:
    from survey.profile import IcpProfile
    return IcpProfile.model_validate({**version.profile, "version": version.version,
                                      "ratified_at": version.ratified_at})


def _profile_template(session: Session, team_id: str, version: IcpVersion, profile: IcpProfile) -> StoredTemplate:
    """The template a profile was ratified with: its source round's, else the newest stored
    version of its key (read-only)."""
    if version.source_round_id is not None:
        rnd = rounds.get_round(session, version.source_round_id)
        if rnd is not None and rnd.team_id == team_id:
            stored = templates.get_stored_template(session, rnd.template_id)
            if stored.key == profile.template_id:
                return stored
    stored = templates.find_latest(session, team_id, profile.template_id)
    if stored is None:
        raise NotFound(f"template {profile.template_id} is not stored")
    return stored


def _usable(profile: IcpProfile, template: Template) -> IcpProfile:
    """The profile without traits its template does not have (score_fit would fail on them)."""
    traits = [t for t in profile.traits if template.has_question(t.question_id)]
    disqualifier = profile.disqualifier_question
    if disqualifier is not None and not template.has_question(disqualifier):
        return profile.model_copy(update={"traits": traits, "disqualifier_question": None, "disqualifiers": []})
    return profile.model_copy(update={"traits": traits})


def load_icp(session: Session, team_id: str, version: int | None = None) -> tuple[IcpProfile, StoredTemplate] | None:
    """The ICP (current, or ``version``) and its template; None when there is none to use."""
    row = icp.current_icp(session, team_id) if version is None else icp.get_icp_version(session, team_id, version)
    if row is None:
        return None
    try:
        profile = profile_of(row)
        stored = _profile_template(session, team_id, row, profile)
    except (NotFound, TemplateError, ValueError) as exc:
        log.warning("ICP version %s of %s cannot be used: %s", row.version, team_id, exc)
        return None
    return _usable(profile, stored.template), stored


