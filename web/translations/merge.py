"""Merge freshly extracted messages into the English catalogue without losing anything.

    .venv/bin/pybabel extract -F web/translations/babel.cfg --no-location --omit-header -o /tmp/messages.pot web
    .venv/bin/python web/translations/merge.py /tmp/messages.pot

Unlike `pybabel update`, entries that the extractor cannot see stay live: the labels the templates
translate with `_(label)` come from Python dictionaries (statuses, roles, tabs...), so they are
collected here from those dictionaries and added too. New messages get an empty msgstr (English
falls back to the Vietnamese until someone translates them; tests/web/test_i18n.py fails then)."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from babel.messages.pofile import write_po

PO = Path(__file__).with_name("en") / "LC_MESSAGES" / "messages.po"


def label_messages() -> list[str]:
    """Vietnamese labels shown through `_(label)` in the templates."""
    from web.admin.roles import role_choices
    from web.desk import labels as desk
    from web.display import CHANNEL_LABELS
    from web.display import NEXT_STEP_VI
    from web.display import STATUS_LABELS_VI
    from web.model import labels as model
    from web.navigation import SECTIONS
    from web.supervise import views as supervise

    texts = [label for _endpoint, label, _check in SECTIONS]
    for table in (
        STATUS_LABELS_VI,
        NEXT_STEP_VI,
        CHANNEL_LABELS,
        desk.TAB_LABELS,
        desk.ACTION_LABELS,
        desk.ESCALATION_TEXT,
        desk.CLASSIFICATION_LABELS,
        desk.WORK_STATE_LABELS,
        desk.ROLE_LABELS,
        supervise.SLA_ACTION_LABELS,
        supervise.ESCALATION_ACTIONS,
        supervise.RISK_REASONS,
        model.STATUS_LABELS,
        model.LEVELS,
        model.SEVERITY,
        role_choices(),
    ):
        texts.extend(table.values())
    return texts


def merge(pot_path: Path, po_path: Path = PO) -> Catalog:
    with po_path.open("rb") as f:
        catalogue = read_po(f, locale="en")
    with pot_path.open("rb") as f:
        template = read_po(f)
    for message in template:
        if not message.id:
            continue
        known = catalogue.get(message.id, context=message.context)
        if known is None:
            catalogue.add(message.id, "", flags=message.flags, context=message.context)
        else:
            known.flags |= set(message.flags) - {"fuzzy"}
    for text in label_messages():
        if text not in catalogue:
            catalogue.add(text, "")
    with po_path.open("wb") as f:
        write_po(f, catalogue, width=120, omit_header=False)
    return catalogue


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    merge(Path(sys.argv[1]))
