"""Live annotations: the model, validation, the per-session log, tracking and rendering."""
