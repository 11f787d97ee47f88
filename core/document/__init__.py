"""The editor's document without Qt: the session, its long jobs, projects, crash recovery,
undo history, change events, settings, and what the F0 view shows (view state, background)."""
