"""Status vocabularies shared by every layer."""

from __future__ import annotations

import enum


class DossierStatus(enum.IntEnum):
    """The National Public Service Portal's ten dossier status codes."""

    NEW = 1
    ACCEPTED = 2
    NOT_ACCEPTED = 3
    IN_PROCESSING = 4
    SUPPLEMENT_REQUESTED = 5
    FINANCIAL_OBLIGATION = 6
    WITHDRAWAL_REQUESTED = 7
    STOPPED = 8
    PROCESSED = 9
    RESULT_RETURNED = 10


class Channel(str, enum.Enum):
    """How a dossier reached the one-stop office (the periodic report splits receipts by it)."""

    COUNTER = "counter"  # trực tiếp, at the desk
    ONLINE = "online"  # trực tuyến, through the public service portal
    POST = "post"  # bưu chính, by public postal service


class RunState(str, enum.Enum):
    """Whether the engine may move a dossier on (independent of its portal status)."""

    RUNNING = "running"
    SUSPENDED = "suspended"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    ERROR = "error"


class WorkItemState(str, enum.Enum):
    OPEN = "open"  # ready, nobody has claimed it
    CLAIMED = "claimed"  # an assignee holds it
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # the engine withdrew it (boundary event, cancel, migration)


#: A step still waiting for someone: open, or claimed and not completed.
OPEN_STATES = (WorkItemState.OPEN.value, WorkItemState.CLAIMED.value)

#: A dossier that is over: nothing moves it any more (it cannot be stopped, paid for, resumed).
FINISHED_RUN_STATES = (RunState.COMPLETED.value, RunState.CANCELLED.value)

#: A dossier the engine may still move on or resume (a supervisor's open cases).
OPEN_RUN_STATES = (RunState.RUNNING.value, RunState.SUSPENDED.value, RunState.ERROR.value)


class DelegationState(str, enum.Enum):
    """Where a delegated step stands (Camunda's delegation): the delegate holds it, or handed it back."""

    PENDING = "pending"  # the delegate holds it; the owner completes it once it comes back
    RESOLVED = "resolved"  # the delegate handed it back to its owner


class Worklist(str, enum.Enum):
    """The lists of open steps a person works from, named once for the desk's inbox tabs, the
    API's `filter` and the read model (engine.store.worklist_queries)."""

    OWN = "own"  # steps I answer for: held by me for myself, or delegated out by me
    MINE = "mine"  # every step assigned to me, whoever it is for
    GROUP = "group"  # unclaimed steps of my unit for a role I hold
    DELEGATED_TO_ME = "delegated_to_me"  # someone's step they delegated to me, to hand back
    DELEGATED_OUT = "delegated_out"  # my steps I delegated to someone, not handed back yet
    COVERING = "covering"  # steps I hold on behalf of an absent colleague
    ALL = "all"  # mine and group


class Classification(str, enum.Enum):
    """Trước hạn / đúng hạn / quá hạn, as the control slip marks each step."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"
