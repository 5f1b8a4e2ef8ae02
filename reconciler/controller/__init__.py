"""The long-running controller: watchers, resync, workers, health and metrics."""
