"""Operator commands of the engine (click); `web.cli` assembles them into the `motcua` CLI."""
