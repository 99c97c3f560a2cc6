"""Running kinsave in production: readiness, request logs, settings checks."""
