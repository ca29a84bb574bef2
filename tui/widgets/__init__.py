"""The console's own widgets, one per module."""
