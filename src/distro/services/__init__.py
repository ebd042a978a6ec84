"""The use cases, shared by the CLI, the scheduler and (later) the web app, so nothing is done two ways."""
