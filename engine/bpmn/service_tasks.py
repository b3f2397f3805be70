"""Service tasks that wait for a worker: when a dossier reaches one, its connector's parameters
are evaluated (under the expression bounds, like any expression) and the task stays STARTED; a
worker runs the connector outside any web request and completes the task with the result.

SpiffWorkflow's own ServiceTask calls the script engine's `call_service` inline and fails when
nothing implements it (`NameError: name 'script'`); returning None from `_execute` is
SpiffWorkflow's documented way to leave a task STARTED for later completion.
"""

from __future__ import annotations

from dataclasses import dataclass

from SpiffWorkflow.spiff.specs.defaults import ServiceTask
from SpiffWorkflow.util.task import TaskState

#: Where the evaluated parameters wait in the STARTED task (internal data is saved with the state).
PARAMS_KEY = "motcua_connector_params"
#: Tries a connector gets when the BPMN's spiffworkflow:retry does not say (the first and 3 retries).
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF_BASE = 2  # seconds: 2, 4, 8...


class WaitingServiceTask(ServiceTask):
    """A spiff service task whose call is left to a worker."""

    def _execute(self, task):
        task.internal_data[PARAMS_KEY] = {name: p["value"] for name, p in self.evaluate_params(task).items()}
        return None  # STARTED: services.service_calls runs the connector


@dataclass(frozen=True)
class PendingCall:
    """A service task waiting for its connector."""

    task_id: str
    element_id: str
    connector: str
    params: dict
    result_variable: str
    retries: int
    backoff_base: int


def pending_calls(tasks) -> list[PendingCall]:
    """The STARTED service tasks among `tasks` (every task of a workflow and its subprocesses)."""
    found = []
    for task in tasks:
        spec = task.task_spec
        if task.state != TaskState.STARTED or not isinstance(spec, WaitingServiceTask):
            continue
        found.append(
            PendingCall(
                str(task.id),
                spec.bpmn_id,
                spec.operation_name,
                dict(task.internal_data.get(PARAMS_KEY, {})),
                spec.result_variable,
                DEFAULT_RETRIES if spec.retries is None else spec.retries,
                spec.retry_backoff_base or DEFAULT_BACKOFF_BASE,
            )
        )
    return found


def finish(task, result) -> None:
    """Complete a STARTED service task with its connector's result (in the result variable)."""
    task.data[task.task_spec.result_variable] = result
    task.internal_data.pop(PARAMS_KEY, None)
    task.complete()
