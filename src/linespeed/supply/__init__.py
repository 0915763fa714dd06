"""The production plan and the parts supply.

- `plan_file`: the plan CSV (DESIGN.md contract 2b) read and checked against the plant
- `plan`: plan revisions stored, listed and read; the plan in force for each day
"""
