"""CSV downloads of the pages' lists, safe to open in a spreadsheet: formulas neutralized
(``serving.output``), a UTF-8 byte-order mark for Excel, and — when the page is German or
``?sep=;`` asks — semicolons with a decimal comma and dates as ``dd.mm.yyyy``."""

from __future__ import annotations

from urllib.parse import quote

import pandas as pd
from starlette.responses import Response

from serving.output import spreadsheet_csv
from serving.web.i18n import Texts


def separator(texts: Texts, asked: str) -> str:
    """``asked`` when it is ``,`` or ``;``; else ``;`` for a German page and ``,`` otherwise."""
    if asked in (",", ";"):
        return asked
    return ";" if texts.lang == "de" else ","


def csv_download(frame: pd.DataFrame, filename: str, sep: str, digits: dict[str, int] | None = None) -> Response:
    """``frame`` as an attachment ``filename`` (the name is sent percent-encoded as well)."""
    body = spreadsheet_csv(frame, sep=sep, bom=True, digits=digits)
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in filename)
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})
