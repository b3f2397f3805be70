"""SpiffWorkflow's engine steps with its task-tree walks done in one function each.

`BpmnWorkflow.do_engine_steps` finds the tasks to run by walking the whole task tree with
`get_tasks(state=READY)`, at least twice per call, and every task that completes walks it again
for WAITING tasks (`Workflow.update_waiting_tasks`). Those walks are most of what a step costs
in the library (about ten Python calls per task of the tree per walk: the iterator, its filter,
the `children` and `parent` properties, a UUID's hash). Here each walk is one loop over the
same tree, visiting the same tasks in the same order, with the same depth limit, and a walk
whose outcome is already known is skipped: none is needed when no task is WAITING, nor when no
automatic task is READY. Every task is still run, updated and completed by the library's own
task specs, so there is nothing per kind of task to know: boundary events, timers, gateways,
multi-instance, subprocesses and events behave as they do under the library's stepping.
`tests/engine/test_stepping.py` checks that, at every step of every model the tests run, the
state written after these steps is the very text written after the library's.

This reads SpiffWorkflow's task internals (`_children`, `_parent`, `_state`), as the state
writer does; the library is pinned (3.2.0) and the tests above fail when its walks change.
"""

from __future__ import annotations

from types import MethodType

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

_READY = TaskState.READY
_WAITING = TaskState.WAITING
#: A walk for a definite state (READY, WAITING) does not go below predicted tasks
#: (TaskIterator's `min_state`).
_MIN_STATE = TaskState.FUTURE
_FINISHED = TaskState.FINISHED_MASK
#: TaskIterator's default depth: the library stops descending there (spiffworkflow.md §8).
_MAX_DEPTH = 1000


def do_engine_steps(workflow: BpmnWorkflow) -> None:
    """`workflow.do_engine_steps()`: the same tasks run, updated and completed in the same order."""
    install(workflow)
    while _engine_pass(workflow):
        pass
    workflow.refresh_timers()


class steps_of:
    """Within this block the workflow's tasks, and its subprocesses', update the WAITING tasks
    with `update_waiting` as they complete (`Workflow._task_completed_notify` calls
    `update_waiting_tasks`); after it the workflow holds nothing of the engine's, so that it may
    be kept, copied (engine.bpmn.fresh_starts) or written as SpiffWorkflow left it."""

    __slots__ = ("workflow",)

    def __init__(self, workflow: BpmnWorkflow):
        self.workflow = workflow

    def __enter__(self) -> steps_of:
        install(self.workflow)
        return self

    def __exit__(self, *exc) -> None:
        for workflow in (self.workflow, *self.workflow.subprocesses.values()):
            workflow.__dict__.pop("update_waiting_tasks", None)


def install(workflow) -> None:
    """`update_waiting` for `update_waiting_tasks` on `workflow` and its subprocesses."""
    if "update_waiting_tasks" not in workflow.__dict__:
        workflow.update_waiting_tasks = MethodType(update_waiting, workflow)
    for subprocess in getattr(workflow, "subprocesses", {}).values():
        if "update_waiting_tasks" not in subprocess.__dict__:
            subprocess.update_waiting_tasks = MethodType(update_waiting, subprocess)


def _engine_pass(workflow: BpmnWorkflow) -> bool:
    """BpmnWorkflow._do_engine_steps."""
    active = workflow.get_active_subprocesses()
    for subprocess in sorted(active, key=lambda v: v.depth, reverse=True):
        install(subprocess)
        while _run_automatic(subprocess):
            pass
        if subprocess.parent_task_id is not None:
            task = workflow.get_task_from_id(subprocess.parent_task_id)
            task.task_spec._update(task)
    count = _run_automatic(workflow)
    return count > 0 or len(workflow.get_active_subprocesses()) > len(active)


def _run_automatic(workflow) -> int:
    """Runs the READY tasks no person does, as `get_tasks(state=READY)` lists them."""
    tasks = _ready_automatic(workflow)
    for task in tasks:
        task.run()
    return len(tasks)


def _ready_automatic(workflow) -> list:
    """The tasks of `workflow.get_tasks(state=READY)` (its subprocesses' included) whose spec is
    not manual, in that order; no walk when no such task is READY anywhere."""
    for task in workflow.tasks.values():
        if task._state == _READY and not task.task_spec.manual:
            break
    else:
        if not any(_has_ready_automatic(sub) for sub in workflow.top_workflow.subprocesses.values()):
            return []
    return [task for task in ready_in_order(workflow) if not task.task_spec.manual]


def _has_ready_automatic(workflow) -> bool:
    for task in workflow.tasks.values():
        if task._state == _READY and not task.task_spec.manual:
            return True
    return False


def ready_in_order(workflow) -> list:
    """`workflow.get_tasks(state=READY)`: BpmnTaskIterator's walk, depth first, a task's
    subprocess before its children, not below predicted tasks nor past the depth limit."""
    subprocesses = workflow.top_workflow.subprocesses
    climbs = _may_reach_depth_limit(workflow.top_workflow, subprocesses.values())
    found = []
    stack = [workflow.task_tree]
    depth = 0
    while stack:
        task = stack.pop()
        subprocess = subprocesses.get(task.id) if subprocesses else None
        state = task._state
        if (
            (task._children or subprocess is not None)
            and (state >= _MIN_STATE or subprocess is not None)
            and depth < _MAX_DEPTH
            and task.task_spec.name is not None
        ):
            get, children = task.workflow.tasks.get, task._children  # Task.children, first on top
            if len(children) == 1:
                stack.append(get(children[0]))
            else:
                stack.extend([get(child) for child in reversed(children)])
            if subprocess is not None and not (state >= _FINISHED and _READY <= _FINISHED):
                stack.append(subprocess.task_tree)  # visited before the task's children
            depth += 1
        elif stack and climbs:
            depth -= _climb(task, stack[-1])
        if state & _READY and task.last_state_change >= 0:
            found.append(task)
    return found


def update_waiting(workflow) -> None:
    """Workflow.update_waiting_tasks: every WAITING task of the tree updated as a depth-first
    walk reaches it (a task updated may change what the walk finds next)."""
    for task in workflow.tasks.values():
        if task._state == _WAITING:
            break
    else:
        return  # the walk would update nothing, and change nothing
    stack = [workflow.task_tree]
    depth = 0
    while stack:
        task = stack.pop()
        if task._children and task._state >= _MIN_STATE and depth < _MAX_DEPTH and task.task_spec.name is not None:
            get, children = task.workflow.tasks.get, task._children  # Task.children, first on top
            if len(children) == 1:
                stack.append(get(children[0]))
            else:
                stack.extend([get(child) for child in reversed(children)])
            depth += 1
        elif stack:  # updates may add tasks: the count is kept exact
            depth -= _climb(task, stack[-1])
        if task._state & _WAITING and task.last_state_change >= 0:
            task.task_spec._update(task)


def _may_reach_depth_limit(workflow, subprocesses) -> bool:
    """Whether a walk that changes nothing over these trees could count its depth up to the
    limit. The count goes up by one per task the walk descends from and never by more, so it
    stays below the number of tasks: in a smaller tree the limit is never reached, and the walk
    need not climb back from its leaves (most of a walk's UUID hashes) to keep the count exact."""
    tasks = len(workflow.tasks)
    for subprocess in subprocesses:
        tasks += len(subprocess.tasks)
    return tasks > _MAX_DEPTH


def _climb(task, following) -> int:
    """TaskIterator._handle_leaf_depth: how many levels the walk goes up from a leaf to the
    parent of the next task it visits (`Task.parent` reads the task's own workflow)."""
    ancestor = following.workflow.tasks.get(following._parent)
    current = task.workflow.tasks.get(task._parent)
    levels = 0
    while current is not None and current is not ancestor:
        current = current.workflow.tasks.get(current._parent)
        levels += 1
    return levels
