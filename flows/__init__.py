"""Orchestration only: which tasks, in what order, over which batches; pauses for review."""
