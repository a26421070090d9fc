"""Modals that leaders fill in: starting a round.

Block ids name the field so that the submission handler can read ``state.values`` and
return field errors by the same ids.
"""

from __future__ import annotations

from datetime import date

from slack_sdk.models.blocks import (
    ContextBlock,
    ConversationMultiSelectElement,
    DatePickerElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticMultiSelectElement,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.views.text import mrkdwn, plain

START_CALLBACK = "round_start"
VALUE = "value"


def _options(pairs: list[tuple[str, str]]) -> list[Option]:
    return [Option(value=value, text=plain(label, 75)) for value, label in pairs][:100]


DELIVERY_WORKING_HOURS = "working_hours"
DELIVERY_NOW = "now"


def start_round_view(templates: list[tuple[str, str]], usergroups: dict[str, str], close_on: date,
                     default_title: str, working_hours: str | None = None) -> View:
    """Template, audience (people, user groups, channels), teams, close date, reminders, and
    when the invitations go out (each person's working hours, or now) where hours are set."""
    template_options = _options(templates)
    blocks = [
        InputBlock(block_id="template", label=plain("Survey template"),
                   element=StaticSelectElement(action_id=VALUE, options=template_options,
                                               initial_option=template_options[0])),
        InputBlock(block_id="title", label=plain("Round title"), optional=True,
                   element=PlainTextInputElement(action_id=VALUE, max_length=100, placeholder=plain(default_title))),
        InputBlock(block_id="users", label=plain("People"), optional=True,
                   element=UserMultiSelectElement(action_id=VALUE, placeholder=plain("Choose people"))),
    ]
    group_options = _options(sorted(((gid, f"@{handle}") for gid, handle in usergroups.items()),
                                    key=lambda pair: pair[1]))
    if group_options:
        blocks.append(InputBlock(block_id="usergroups", label=plain("User groups"), optional=True,
                                 element=StaticMultiSelectElement(action_id=VALUE, options=group_options,
                                                                  placeholder=plain("Choose user groups"))))
    blocks.append(InputBlock(
        block_id="channels", label=plain("Members of channels"), optional=True,
        hint=plain("For a private channel, add ICP Align to it first."),
        element=ConversationMultiSelectElement(action_id=VALUE, placeholder=plain("Choose channels"),
                                               filter={"include": ["public", "private"], "exclude_bot_users": True}),
    ))
    if group_options:
        blocks.append(InputBlock(
            block_id="team_groups", label=plain("Teams from user groups"), optional=True,
            hint=plain("Each person's team is the first of these groups they are in; "
                       "everyone else picks their team in the survey.", 2000),
            element=StaticMultiSelectElement(action_id=VALUE, options=group_options,
                                             placeholder=plain("e.g. @sales, @support")),
        ))
    blocks += [
        InputBlock(block_id="closes", label=plain("Closes on"),
                   hint=plain("The round closes at 17:00 in the workspace's time zone on that day."),
                   element=DatePickerElement(action_id=VALUE, initial_date=close_on.isoformat())),
        InputBlock(block_id="reminders", label=plain("Reminders to those who have not finished"),
                   element=StaticSelectElement(action_id=VALUE, options=_options(
                       [("0", "None"), ("1", "At most one"), ("2", "At most two"), ("3", "At most three")]),
                       initial_option=Option(value="2", text=plain("At most two")))),
    ]
    if working_hours:
        in_hours = Option(value=DELIVERY_WORKING_HOURS, text=plain(f"In each person's working hours ({working_hours})", 75))
        blocks.append(InputBlock(
            block_id="delivery", label=plain("Send the invitations"),
            hint=plain("In each person's own Slack time zone, on weekdays: nobody is asked at night.", 2000),
            element=RadioButtonsElement(action_id=VALUE, initial_option=in_hours, options=[
                in_hours, Option(value=DELIVERY_NOW, text=plain("Now, to everyone", 75))])))
    blocks.append(ContextBlock(elements=[mrkdwn("Everyone chosen gets a DM with the survey. Answers are anonymous; "
                                                "no figure is shown for fewer than three people.")]))
    return View(type="modal", callback_id=START_CALLBACK, title=plain("Start an ICP round", 24),
                submit=plain("Start round", 24), close=plain("Cancel", 24), blocks=blocks)
