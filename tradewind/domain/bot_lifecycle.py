"""A bot's lifecycle: the states it can be in, the commands that move it, and which
command is allowed from which state. Pure: no I/O, no clock.

A bot is created stopped. Each command leads to one state:

| command \\ state | running          | paused           | stopped          |
|-----------------|------------------|------------------|------------------|
| start           | nothing changes  | -> running       | -> running       |
| pause           | -> paused        | nothing changes  | refused          |
| stop            | -> stopped       | -> stopped       | nothing changes  |

A command for the state a bot is already in changes nothing (and sends nothing); a
refused one says why in the words the API answers with (409 `invalid_transition`).
The gateway decides with this table; the strategy service applies the command
(`services/strategy/lifecycle.py`), and analytics pauses a running bot whose risk
limit it breaches.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class BotState(enum.StrEnum):
    """Where a bot is in its lifecycle; the value is what the database and the API hold."""

    RUNNING = "running"  # hosted and fed market data, timers and order events: it trades
    PAUSED = "paused"  # hosted, fed nothing; its state and open orders are kept
    STOPPED = "stopped"  # not hosted; it has no open orders


class BotAction(enum.StrEnum):
    """A command to a bot, as a user (or a risk limit) gives it; the value is on the wire.

    - start: build the strategy (or wake the paused one) and let it trade; the order
      events it missed while paused are handed to it.
    - pause: stop feeding it market data and timers, keep it and its open orders; its
      fills wait for it to resume.
    - stop: tell the strategy (`on_stop`), cancel its open orders and forget them, save
      its state and stop hosting it.
    """

    START = "start"
    PAUSE = "pause"
    STOP = "stop"


#: The states in which the strategy service hosts a bot (a paused one stays in memory).
HOSTED_STATES = (BotState.RUNNING, BotState.PAUSED)

#: command -> the state it leads to
_LEADS_TO: dict[BotAction, BotState] = {
    BotAction.START: BotState.RUNNING,
    BotAction.PAUSE: BotState.PAUSED,
    BotAction.STOP: BotState.STOPPED,
}

#: command -> the states it may be given in (besides the state it leads to, a no-op)
_ALLOWED_FROM: dict[BotAction, frozenset[BotState]] = {
    BotAction.START: frozenset({BotState.STOPPED, BotState.PAUSED}),
    BotAction.PAUSE: frozenset({BotState.RUNNING}),
    BotAction.STOP: frozenset({BotState.RUNNING, BotState.PAUSED}),
}


@dataclass(frozen=True)
class Transition:
    """What `action` does to a bot in state `source`: takes it to `target`, changes
    nothing (`target` is `source`), or is refused for `refused` (a sentence the user
    reads; None when allowed)."""

    source: BotState
    action: BotAction
    target: BotState
    refused: str | None = None

    @property
    def changes(self) -> bool:
        """Whether the bot's state changes (and a command is sent)."""
        return self.refused is None and self.target is not self.source


def transition(state: BotState, action: BotAction) -> Transition:
    """What `action` does to a bot in `state` (see the table in the module docstring)."""
    target = _LEADS_TO[action]
    if state is target or state in _ALLOWED_FROM[action]:
        return Transition(state, action, target)
    refused = f"a {state.value} bot cannot be {target.value}; start it first"
    return Transition(state, action, target, refused)


def state_after(action: BotAction) -> BotState:
    """The state `action` leads to."""
    return _LEADS_TO[action]


def action_towards(state: BotState) -> BotAction:
    """The command that leads to `state` (a bot's row changed after a command was sent:
    the row's state wins, applied as this command)."""
    return next(action for action, target in _LEADS_TO.items() if target is state)
