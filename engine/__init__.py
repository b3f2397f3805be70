"""motcua engine: runs administrative procedures (BPMN) durably, with working-time deadlines.

The engine has no Flask and no marshmallow: it runs from the CLI, workers and benchmarks.
"""
