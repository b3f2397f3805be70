"""The size cap on the state a dossier may save, and which element's data broke it.

A script can build a value that is small in memory but huge as text (`[[a]*10000]*10000` holds
one list 10,000 times; JSON writes it out 10,000 times), so the state is sized by a walk that
stops as soon as the cap is passed, before the serializer is asked to write it.
"""

from __future__ import annotations

import os

#: Characters of saved state a dossier may have (its workflow as JSON text).
MAX_STATE_CHARS = int(os.environ.get("MOTCUA_MAX_STATE_BYTES", str(1_000_000)))

_OTHER = 24  # a number, a boolean, null, a date: about this many characters as JSON


def text_size(value, limit: int) -> int:
    """About how many characters `value` takes as JSON; the walk stops once it passes `limit`."""
    size, stack = 0, [value]
    while stack and size <= limit:
        item = stack.pop()
        if isinstance(item, str):
            size += len(item) + 4
        elif isinstance(item, dict):
            size += 2 + 4 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            size += 2 + 2 * len(item)
            stack.extend(item)
        else:
            size += _OTHER
    return size


def largest_data(workflow, limit: int) -> tuple[str | None, int, int]:
    """(element id of the task holding the most data, its size, the total over the workflow);
    the walk stops once the total passes `limit`. state_writer.StateWriter.measure walks the same,
    remembering each task's size while its data is unchanged."""
    total = text_size(workflow.data, limit)
    largest: tuple[str | None, int] = (None, -1)
    for task in tasks_of(workflow):
        if total > limit:
            break
        size = text_size(task.data, limit - total)
        total += size
        if size > largest[1]:
            largest = (getattr(task.task_spec, "bpmn_id", None), size)
    return largest[0], largest[1], total


def tasks_of(workflow) -> list:
    """The tasks of the workflow and of its subprocesses, straight from their dicts: every change
    sizes its state, and SpiffWorkflow's tree iterator cost a third of the state's dump."""
    tasks = list(workflow.tasks.values())
    for subprocess in workflow.subprocesses.values():
        tasks.extend(subprocess.tasks.values())
    return tasks
