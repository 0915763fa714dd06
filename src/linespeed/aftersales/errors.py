"""The errors of after-sales planning."""

from __future__ import annotations

from linespeed.errors import FileProblem, LinespeedError


class AftersalesFileError(LinespeedError):
    """An after-sales input file (deliveries, regions, network, parameters) is unreadable or
    breaks its contract; lists every problem found, each naming file:line:field.

    The code is `aftersales.invalid`.
    """

    code = "aftersales.invalid"

    def __init__(self, problems: list[FileProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


class AftersalesInputError(LinespeedError):
    """An after-sales question that cannot be answered (no deliveries, a bad month)."""

    code = "aftersales.input"
