"""Use cases: each state-changing function runs in exactly one transaction."""
