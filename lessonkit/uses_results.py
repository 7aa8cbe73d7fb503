"""Reading and writing the results/uses_*.json files, validated with pydantic.

scripts/compute_uses_stats.py writes them; lessonkit.artifact, lessonkit.checkpoint_comparison and
lessonkit.error_analysis declare their shapes and read them back through ``load_results``, which
turns a missing, truncated or malformed file into one clear message naming the rebuild command.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"
REBUILD_COMMAND = "python -m scripts.compute_uses_stats"

Result = TypeVar("Result", bound=BaseModel)


class UsesResultsError(RuntimeError):
    """A results file is missing or unreadable; the message names it and the command that rebuilds it."""


def load_results(path: Path, schema: type[Result], part: str) -> Result:
    """Read ``path`` and validate it against ``schema``; ``part`` is the script's --only value."""
    command = f"`{REBUILD_COMMAND} --only {part}`"
    path = Path(path)
    if not path.is_file():
        raise UsesResultsError(f"{path} is missing. Rebuild it with {command}.")
    try:
        return schema.model_validate_json(path.read_bytes())
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ())) or "(top level)"
        raise UsesResultsError(
            f"{path} is corrupt or out of date ({first.get('msg', 'invalid')} at {where}). Rebuild it with {command}."
        ) from error


def save_results(path: Path, result: BaseModel) -> int:
    """Write compact JSON (validated on the way out); returns the file size in bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result.model_dump(mode="json"), separators=(",", ":"), allow_nan=False)
    path.write_text(text)
    return path.stat().st_size


def rounded(values, digits: int = 4) -> list[float]:
    """Floats rounded for storage (the files stay small; 4 digits is below what any figure shows)."""
    return [round(float(v), digits) for v in values]
