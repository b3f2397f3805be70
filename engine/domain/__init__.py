"""Pure domain rules (calendar, deadlines, SLA, assignment): standard library only."""
