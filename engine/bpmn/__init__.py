"""BPMN adapter: everything that touches SpiffWorkflow (parsing, running, scripts, serialization)."""
