"""The audit job: configuration, state, runs, and the channels that deliver its alerts and metrics."""
