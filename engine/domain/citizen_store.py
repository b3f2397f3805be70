"""The rules of the citizen's data store (Decree 45/2020: a document the system already holds is not
asked for again): whose documents are kept (a 12-digit personal identification number), which
documents are worth keeping (not the declaration filled in for one request), and which checklist
item a kept document answers (by its name, accent- and case-insensitive, parentheses aside).

Standard library only."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable
from typing import Sequence

ID_NUMBER = re.compile(r"^[0-9]{12}$")
#: Papers made for one request: a new request needs a new one, whatever the store holds.
PER_REQUEST = ("to khai", "don", "giay de nghi", "du thao", "van ban uy quyen", "bien ban")
_PARENTHESES = re.compile(r"\([^)]*\)")
_SPACES = re.compile(r"[^a-z0-9]+")


def is_personal_id(value: str | None) -> bool:
    """A personal identification number (số định danh cá nhân, on the CCCD card): 12 digits."""
    return bool(value) and bool(ID_NUMBER.match(value))


def plain(name: str) -> str:
    """The name without accents, case, parentheses and punctuation: "Giấy tờ tùy thân (xuất trình)"
    -> "giay to tuy than"."""
    text = _PARENTHESES.sub(" ", name or "").replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _SPACES.sub(" ", text).strip()


def worth_keeping(name: str) -> bool:
    """Whether a document of this name may serve a later request (a declaration or an application
    form never does)."""
    simple = plain(name)
    return bool(simple) and not any(simple == p or simple.startswith(p + " ") for p in PER_REQUEST)


def answers(kept_name: str, item_name: str) -> bool:
    """Whether a kept document answers a checklist item: the kept name is the item's, or the start
    of it, or named inside it ("Giấy khai sinh (bản chính)" answers "Bản sao Giấy khai sinh trước
    đây ..."; "Giấy xác nhận tình trạng hôn nhân" answers "Giấy xác nhận tình trạng hôn nhân (nếu
    ...)")."""
    kept, item = plain(kept_name), plain(item_name)
    if not kept or not item or not worth_keeping(item_name):
        return False
    return kept == item or f" {kept} " in f" {item} "


@dataclass(frozen=True)
class Held:
    """A document the store holds for the citizen, as the matching sees it."""

    document_id: int
    name: str
    dossier_code: str


def matches(checklist: Sequence[str], held: Iterable[Held]) -> dict[int, Held]:
    """For each checklist item (by position) the newest held document that answers it; `held`
    comes newest first."""
    held = list(held)
    found = {}
    for index, item in enumerate(checklist):
        match = next((h for h in held if answers(h.name, item)), None)
        if match is not None:
            found[index] = match
    return found
