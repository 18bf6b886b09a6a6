"""What every TMF collection GET does, and the TMF ``Error`` shape.

TMF630 (the API design guidelines) in brief: ``fields=a,b`` returns only
those attributes (plus ``id``, ``href`` and ``@type``, which identify the
resource); any other query parameter is an attribute filter (``name=x``; a
value in double quotes is taken literally; a dotted name reaches into a
nested object); ``offset`` and ``limit`` page the result, whose full size
is in the ``X-Total-Count`` header.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from oss_bss.errors import ValidationError

RESERVED = {"fields", "offset", "limit", "sort"}
ALWAYS = ("id", "href", "@type")
MAX_LIMIT = 1000


def _value(resource: Mapping, dotted: str):
    value = resource
    for part in dotted.split("."):
        if isinstance(value, list):  # any element may match
            return [v.get(part) if isinstance(v, Mapping) else None for v in value]
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _matches(value, wanted: str) -> bool:
    if isinstance(value, list):
        return any(_matches(v, wanted) for v in value)
    if isinstance(value, bool):
        return str(value).lower() == wanted.lower()
    return value is not None and str(value) == wanted


def filters(params: Mapping[str, str]) -> dict[str, str]:
    """The attribute filters among the query ``params``."""
    return {k: v for k, v in params.items() if k not in RESERVED}


def window(items: list, params: Mapping[str, str]) -> list:
    """The ``offset``/``limit`` page of ``items`` (for lists that need no filtering)."""
    offset, limit = _int(params, "offset", 0), _int(params, "limit", MAX_LIMIT)
    return items[offset : offset + limit]


def select(
    resources: Iterable[dict], params: Mapping[str, str], *, total: int | None = None, paged: bool = False
) -> tuple[list[dict], int]:
    """Filter, page and trim ``resources`` by the query ``params``; returns (page, total).

    ``paged``: ``resources`` is already the page (see :func:`window`) of ``total`` unfiltered ones.
    """
    if paged:
        page = list(resources)
        if "fields" in params:
            keep = {f.strip() for f in params["fields"].split(",") if f.strip()} | set(ALWAYS)
            page = [{k: v for k, v in r.items() if k in keep} for r in page]
        return page, total if total is not None else len(page)
    filters = {k: v for k, v in params.items() if k not in RESERVED}
    chosen = []
    for r in resources:
        ok = True
        for key, wanted in filters.items():
            wanted = wanted[1:-1] if len(wanted) >= 2 and wanted[0] == wanted[-1] == '"' else wanted
            if not any(_matches(_value(r, key), w) for w in wanted.split(",")):
                ok = False
                break
        if ok:
            chosen.append(r)
    total = len(chosen)
    offset, limit = _int(params, "offset", 0), _int(params, "limit", MAX_LIMIT)
    page = chosen[offset : offset + limit]
    if "fields" in params:
        keep = {f.strip() for f in params["fields"].split(",") if f.strip()} | set(ALWAYS)
        page = [{k: v for k, v in r.items() if k in keep} for r in page]
    return page, total


def _int(params: Mapping[str, str], name: str, default: int) -> int:
    if name not in params:
        return default
    try:
        value = int(params[name])
    except ValueError:
        raise ValidationError({name: "must be a whole number"}) from None
    if value < 0 or (name == "limit" and value > MAX_LIMIT):
        raise ValidationError({name: f"must be between 0 and {MAX_LIMIT}" if name == "limit" else "must not be negative"})
    return value


def trim(resource: dict, params: Mapping[str, str]) -> dict:
    """``fields=`` on a single resource."""
    if "fields" not in params:
        return resource
    keep = {f.strip() for f in params["fields"].split(",") if f.strip()} | set(ALWAYS)
    return {k: v for k, v in resource.items() if k in keep}


def error(status: int, code: str, reason: str, message: str = "") -> dict:
    """The TMF ``Error`` resource."""
    return {"code": code, "reason": reason, "message": message or reason, "status": str(status), "@type": "Error"}
