"""The search: the async driver, the ddmin chunk schedule, checkpoint and resume."""
