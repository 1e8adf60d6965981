"""One test: command templates to steps, the process runner, and the plain data in between."""
