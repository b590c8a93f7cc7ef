"""reportbot: collect a report from many units in chat and draft the consolidated report."""

__version__ = "0.1.0"
