"""The exception hierarchy: domain errors inside, translated once at each edge (CLI exit code, HTTP envelope)."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

MAX_ROWS_SHOWN = 5
MAX_VALUES_SHOWN = 5


class SkillmatchError(Exception):
    """Base of every error skillmatch raises on purpose."""


class InputError(SkillmatchError):
    """Input that breaks the contract: a log file, a config, a request.

    Carries where (file, rows, column) and what (expected, got) so that one message tells the
    user what to fix. Rows are 1-based data-row numbers as a spreadsheet user counts them
    (the header is not counted).
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | Path | None = None,
        rows: Sequence[int] | None = None,
        n_bad_rows: int | None = None,
        column: str | None = None,
        expected: str | None = None,
        got: Sequence[object] | object | None = None,
    ) -> None:
        self.problem = problem
        self.file = str(file) if file is not None else None
        self.rows = list(rows) if rows is not None else []
        self.n_bad_rows = n_bad_rows if n_bad_rows is not None else len(self.rows)
        self.column = column
        self.expected = expected
        self.got = got
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.column:
            where.append(f"column '{self.column}'")
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:MAX_ROWS_SHOWN])
            more = self.n_bad_rows - min(len(self.rows), MAX_ROWS_SHOWN)
            label = "row" if self.n_bad_rows == 1 else "rows"
            where.append(f"{label} {shown}" + (f" and {more} more" if more > 0 else ""))
        text = (": ".join([", ".join(where), self.problem]) if where else self.problem)
        if self.expected is not None:
            text += f"; expected {self.expected}"
        if self.got is not None:
            text += f", got {_format_got(self.got)}"
        return text

    def with_file(self, file: str | Path) -> InputError:
        """The same error, naming the file it came from (readers know the file, checks may not)."""
        return InputError(self.problem, file=file, rows=self.rows, n_bad_rows=self.n_bad_rows,
                          column=self.column, expected=self.expected, got=self.got)

    def to_dict(self) -> dict[str, object]:
        return {"problem": self.problem, "file": self.file, "rows": self.rows[:MAX_ROWS_SHOWN],
                "n_bad_rows": self.n_bad_rows, "column": self.column, "expected": self.expected,
                "got": None if self.got is None else _format_got(self.got)}


class ConfigError(InputError):
    """A training or policy config that cannot be used."""


class InsufficientDataError(InputError):
    """Valid logs that hold too little to fit or evaluate a model."""


class ModelError(SkillmatchError):
    """A model folder that is missing, incomplete or from an incompatible version."""


def _format_got(got: object) -> str:
    if isinstance(got, (list, tuple)):
        values = [repr(v) if isinstance(v, str) else str(v) for v in got[:MAX_VALUES_SHOWN]]
        return ", ".join(values) + (" ..." if len(got) > MAX_VALUES_SHOWN else "")
    return repr(got) if isinstance(got, str) else str(got)
