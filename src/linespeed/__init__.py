"""linespeed: production tracking and ramp-up for EV assembly plants."""

__version__ = "0.2.0"
