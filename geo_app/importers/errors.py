"""The one exception an import raises for a file it cannot read."""
from __future__ import annotations

from pathlib import Path

from geo_app.errors import InputError


class ImportFailed(InputError):
    """A file that cannot be imported: names the file, the problem and what to do, in Vietnamese and English.

    The importers only read, so when this is raised nothing stored has changed.
    """

    def __init__(self, path: str | Path, problem_vi: str, problem_en: str, hint_vi: str = "", hint_en: str = "",
                 choices: list[str] | None = None):
        self.path = Path(path)
        #: what the user may choose from to settle the problem (the layers of a file that holds several)
        self.choices = list(choices or [])
        self.problem_vi, self.problem_en = problem_vi, problem_en
        self.hint_vi, self.hint_en = hint_vi, hint_en
        name = self.path.name
        vi = f"Không nhập được tệp '{name}': {problem_vi}."
        en = f"Cannot import file '{name}': {problem_en}."
        if hint_vi or hint_en:
            vi += f" {hint_vi}"
            en += f" {hint_en}"
        vi += " Dữ liệu đã lưu không thay đổi."
        en += " Nothing stored has changed."
        super().__init__(f"{vi}\n{en}")
