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


class Classification(str, enum.Enum):
    """Trước hạn / đúng hạn / quá hạn, as the control slip marks each step."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"
