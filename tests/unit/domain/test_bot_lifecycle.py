"""A bot's lifecycle (`domain.bot_lifecycle`): every command from every state, and the
rules any sequence of commands keeps."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradewind.domain.bot_lifecycle import (
    HOSTED_STATES,
    BotAction,
    BotState,
    action_towards,
    state_after,
    transition,
)

RUNNING, PAUSED, STOPPED = BotState.RUNNING, BotState.PAUSED, BotState.STOPPED
START, PAUSE, STOP = BotAction.START, BotAction.PAUSE, BotAction.STOP

#: (state, command) -> the state it leads to, or the API's refusal
TABLE: dict[tuple[BotState, BotAction], BotState | str] = {
    (RUNNING, START): RUNNING,
    (PAUSED, START): RUNNING,
    (STOPPED, START): RUNNING,
    (RUNNING, PAUSE): PAUSED,
    (PAUSED, PAUSE): PAUSED,
    (STOPPED, PAUSE): "a stopped bot cannot be paused; start it first",
    (RUNNING, STOP): STOPPED,
    (PAUSED, STOP): STOPPED,
    (STOPPED, STOP): STOPPED,
}


def test_the_table_covers_every_state_and_command() -> None:
    assert set(TABLE) == {(state, action) for state in BotState for action in BotAction}


@pytest.mark.parametrize(("state", "action"), list(TABLE))
def test_a_command_leads_to_its_state_or_is_refused_in_the_apis_words(
    state: BotState, action: BotAction
) -> None:
    step = transition(state, action)
    expected = TABLE[state, action]
    assert (step.source, step.action) == (state, action)
    if isinstance(expected, BotState):
        assert (step.target, step.refused) == (expected, None)
        assert step.changes is (expected is not state)
    else:
        assert step.refused == expected
        assert not step.changes


@pytest.mark.parametrize("state", list(BotState))
def test_a_command_for_the_state_a_bot_is_in_changes_nothing(state: BotState) -> None:
    step = transition(state, action_towards(state))
    assert step.refused is None
    assert not step.changes


def test_each_command_leads_to_one_state_and_back() -> None:
    assert [state_after(action) for action in BotAction] == [RUNNING, PAUSED, STOPPED]
    for action in BotAction:
        assert action_towards(state_after(action)) is action


def test_running_and_paused_bots_are_hosted_stopped_ones_are_not() -> None:
    assert set(HOSTED_STATES) == {RUNNING, PAUSED}


def test_the_wire_and_database_values_are_unchanged() -> None:
    assert [s.value for s in BotState] == ["running", "paused", "stopped"]
    assert [a.value for a in BotAction] == ["start", "pause", "stop"]


def apply(state: BotState, action: BotAction) -> BotState:
    """The bot's state after `action`, as the gateway applies it."""
    step = transition(state, action)
    return step.target if step.changes else state


@given(st.lists(st.sampled_from(list(BotAction)), max_size=30))
def test_any_commands_keep_a_new_bot_in_a_state_its_last_allowed_command_chose(
    actions: list[BotAction],
) -> None:
    state = STOPPED  # a bot is created stopped
    last_allowed: BotAction | None = None
    for action in actions:
        step = transition(state, action)
        after = apply(state, action)
        assert after in BotState
        if step.refused is None:
            assert after is state_after(action)
            last_allowed = action
        else:
            assert after is state  # a refused command changes nothing
        assert apply(after, action) is after  # given again, it changes nothing more
        state = after
    assert state is (STOPPED if last_allowed is None else state_after(last_allowed))


@given(st.sampled_from(list(BotState)), st.sampled_from(list(BotAction)))
def test_only_a_stopped_bot_refuses_and_only_a_pause(state: BotState, action: BotAction) -> None:
    refused = transition(state, action).refused is not None
    assert refused is (state is STOPPED and action is PAUSE)
