"""Listeners by Slack surface: ``commands`` (/icp-check), ``leader_forms`` (the leaders'
modals), ``report_actions`` (status and report buttons), ``round_actions`` (the buttons of help
and close, closing behind a confirmation), ``survey_flow`` (invitation buttons and survey
steps), ``pulse_actions`` (StrategyCheck answers), ``home`` (App Home), ``lifecycle``
(uninstall and token revocation). Each listener is a module-level function; each module's
``register(app)`` only wires ids to them."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import (
    commands,
    home,
    leader_forms,
    lifecycle,
    pulse_actions,
    report_actions,
    round_actions,
    survey_flow,
)


def register(app: App, *, lifecycle_events: bool) -> None:
    """Wire every listener; ``lifecycle_events`` False where bolt's own token revocation
    listeners take those events (OAuth mode)."""
    # bolt tries every listener in this order until one matches (each try builds its matcher's
    # arguments): the survey's steps, the requests that come most, are tried first. No two
    # listeners match the same request, so the order changes nothing else.
    for module in (survey_flow, commands, leader_forms, report_actions, round_actions, pulse_actions, home):
        module.register(app)
    if lifecycle_events:
        lifecycle.register(app)
