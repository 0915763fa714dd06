"""`linespeed ingest`: events in from JSONL/CSV files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from linespeed.cli.choices import DEFAULT_BATCH_SIZE
from linespeed.cli.common import (
    DbOption,
    JsonOption,
    PlantOption,
    app,
    err,
    out,
    print_json,
    store,
)


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="JSONL or CSV event files.")],
    plant: PlantOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Events per transaction.")
    ] = DEFAULT_BATCH_SIZE,
) -> None:
    """Ingest event files (JSONL, or CSV with a header of field names); idempotent by event id.

    Genealogy corrections (`part.removed`, `part.installed` with `correction: true`) are
    accepted with the engineer role and audited as the operating-system user.

    Example: linespeed ingest line-2025-06-30.jsonl --json
    """
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from linespeed.ingest.core import Ingestor
    from linespeed.ingest.corrections import os_user
    from linespeed.ingest.files import ingest_files

    total = sum(path.stat().st_size for path in files if path.is_file())
    with (
        store(db, plant) as engine,
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as progress,
    ):
        task = progress.add_task("ingest", total=total)
        report = ingest_files(
            Ingestor(engine, corrector=os_user()),
            files,
            batch_size=batch_size,
            progress=lambda done: progress.advance(task, done),
        )
    if json_output:
        print_json(report.as_dict())
        return
    out.print(
        f"accepted {report.accepted}, duplicates {report.duplicates}, rejected {report.rejected}"
    )
    for reason, count in sorted(report.reasons.items()):
        out.print(f"  {reason}: {count}")
