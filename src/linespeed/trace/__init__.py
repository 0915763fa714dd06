"""Genealogy and history: what is in a car, and which cars hold a part."""
