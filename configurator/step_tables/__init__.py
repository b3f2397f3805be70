"""Step tables: a procedure described as a table of steps (role, budget, next step, condition)
becomes an executable BPMN with swimlanes and a diagram layout, and such a BPMN reads back into
the table. `table` owns the table model (JSON, CSV, normalising, checks), `layout` the diagram,
`bpmn` the BPMN writer and reader, `rows` the modeller's grid of rows on the web."""

from configurator.step_tables.bpmn import build_bpmn
from configurator.step_tables.bpmn import step_table_from_bpmn
from configurator.step_tables.table import START_ID
from configurator.step_tables.table import StepTableError
from configurator.step_tables.table import normalise_table
from configurator.step_tables.table import step_table_from_csv
from configurator.step_tables.table import step_table_from_json
from configurator.step_tables.table import step_table_to_csv
from configurator.step_tables.table import validate_step_table

__all__ = [
    "START_ID",
    "StepTableError",
    "build_bpmn",
    "normalise_table",
    "step_table_from_bpmn",
    "step_table_from_csv",
    "step_table_from_json",
    "step_table_to_csv",
    "validate_step_table",
]
