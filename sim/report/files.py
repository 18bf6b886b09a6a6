"""Writing a page: atomically (a temporary name beside it, then a rename), from a Jinja2 template."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from oss_bss.errors import TelcolabError

pages = Environment(loader=PackageLoader("sim", "templates"), autoescape=select_autoescape(["html"]),
                    trim_blocks=True, lstrip_blocks=True)  # fmt: skip


def exact(value) -> str:
    """A number as text that reads back to the same value: a Decimal never in exponent form, a float's repr."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    return repr(value)


pages.filters["exact"] = exact


class CannotWrite(TelcolabError):
    """A page could not be written where it was asked for."""

    def __init__(self, path: Path, reason: str):
        self.path, self.why = path, reason
        self._say(f"{path}: cannot write ({reason})", path, reason)


def write_atomically(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` so that a reader sees the old file or the whole new one, never a part."""
    path = Path(path)
    if not path.parent.is_dir():
        raise CannotWrite(path, f"no folder {path.parent}")
    temporary = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise CannotWrite(path, exc.strerror or str(exc)) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
