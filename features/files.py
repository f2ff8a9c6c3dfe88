"""Opening a data directory's files safely, and reading a CSV table in the one format it has.

Only regular files (or links to them) are read, each at most ``SYMBIOSE_MAX_TABLE_BYTES``
bytes (default 16 GiB): a directory, FIFO, device, socket or dangling link is refused with
the reason, never opened (a FIFO would block forever, ``/dev/zero`` never ends).

A CSV file is read in the format the whole file shows (docs/data-contract.md §1):

- encoding: UTF-8, with or without byte-order mark; a file that is not UTF-8 is read as
  Windows-1252 when all of it decodes so and it holds no UTF-8 sequence (a mix is refused);
- separator: ``,``, ``;`` or tab, whichever splits the header into the table's column names;
- numbers: ``.`` as decimal mark and no thousands separator; or, in a ``;`` or tab separated
  file that writes a number with a decimal comma or a date as dd.mm.yyyy (a German spreadsheet
  export), decimal comma, ``.`` as thousands separator and dd.mm.yyyy [HH:MM[:SS]] dates,
  for every cell of the file. A file showing both number formats is refused, and so is a number
  such as ``1.250`` that its column does not show to be a decimal (1.25) rather than a German
  1250; the problem says what to change. Nothing is ever half-read.
"""

from __future__ import annotations

import csv
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from features.contract import LIST_SEPARATOR, Table
from features.errors import InputError, SymbioseError
from features.validation import Problem

MAX_BYTES_VARIABLE = "SYMBIOSE_MAX_TABLE_BYTES"
DEFAULT_MAX_BYTES = 16 * 1024**3
SEPARATORS = (",", ";", "\t")
#: The first bytes of a file that the separator is chosen from (the header line must fit).
_HEAD_BYTES = 1 << 20
#: Arrow's CSV block: the unit its threads parse (larger blocks, fewer chunks per column).
_ARROW_BLOCK_BYTES = 8 << 20
#: The end of a file looked at to see that its last cell is closed.
_TAIL_BYTES = 1 << 20
#: The bytes read at a time when a file is looked through.
_SCAN_BYTES = 16 << 20

_INTEGER = r"[+-]?\d+"
#: One to three digits, then groups of three after points: 1.250 is 1.25, or 1250 in German.
_GROUPED = r"[+-]?[1-9]\d{0,2}(?:\.\d{3})+"
_POINT_DECIMAL = r"[+-]?(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?\d+[eE][+-]?\d+"
_THREE_DECIMALS = r"[+-]?\d*\.\d{3}"
_COMMA_DECIMAL = r"[+-]?(?:\d+|[1-9]\d{0,2}(?:\.\d{3})+),\d+"
_GERMAN_NUMBER = rf"{_COMMA_DECIMAL}|{_GROUPED}|{_INTEGER}"
_GERMAN_DATE = (r"(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>\d{4})"
                r"(?:[ T](?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?)?")
#: A byte sequence that is valid multi-byte UTF-8 (and unlikely in Windows-1252 text).
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}"
                            rb"|[\xf0-\xf4][\x80-\xbf]{3}")
GERMAN_FORMAT = ("a German export: ';' separator, decimal comma, '.' as thousands separator, "
                 "dd.mm.yyyy dates")


class FileRefused(SymbioseError):
    """A file that is not read; ``expected`` says what a readable file is instead."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def present(path: Path) -> bool:
    """True when ``path`` names anything, a dangling link included (it is then refused, not
    taken for a missing optional table)."""
    return os.path.lexists(path)


def max_table_bytes() -> int:
    """The size limit of one table file: ``SYMBIOSE_MAX_TABLE_BYTES`` or 16 GiB."""
    raw = os.environ.get(MAX_BYTES_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if limit < 1:
        raise InputError(f"{MAX_BYTES_VARIABLE}={raw!r}: expected a whole number of bytes >= 1")
    return limit


def check_readable(path: Path) -> None:
    """Raise ``FileRefused`` unless ``path`` is a regular file (or a link to one) within the
    size limit. Nothing is opened, so a FIFO cannot block."""
    link = f" (a link to {os.readlink(path)})" if path.is_symlink() else ""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise FileRefused(f"a regular file ({path.name}{link} points to nothing: the link's "
                          "target does not exist)") from None
    except OSError as exc:
        raise FileRefused(f"a readable file ({path.name}{link}: {exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused(f"a regular file ({path.name}{link} is {_kind(info.st_mode)})")
    limit = max_table_bytes()
    if info.st_size > limit:
        raise FileRefused(f"a file of at most {limit:,} bytes ({path.name}{link} has "
                          f"{info.st_size:,}; set {MAX_BYTES_VARIABLE} to allow larger files)")


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"))
    return next((word for test, word in kinds if test(mode)), "not a regular file")


def parquet_columns_once(names: Iterable[str], table: Table) -> list[Problem]:
    """A problem per column name that a Parquet file has more than once."""
    return _duplicate_problems([str(n) for n in names], table)


def _duplicate_problems(header: list[str], table: Table) -> list[Problem]:
    names = pd.Index([h.strip() for h in header])
    return [Problem(table.name, name, (), (),
                    f"one column named {name} (found {int((names == name).sum())})")
            for name in names[names.duplicated()].unique()]


# ---------------------------------------------------------------- CSV


def read_csv_table(path: Path, table: Table) -> tuple[pd.DataFrame | None, list[Problem]]:
    """The cells of ``table``'s CSV file at ``path``: the contract's columns as text (numbers
    as floats when they all parse), extra columns as pandas infers them; or None and the
    problems that keep the file from being read."""
    try:
        check_readable(path)
        separator = _separator(path, table)
        frame, encoding = _read_frame(path, table, separator)
    except FileRefused as exc:
        return None, [Problem(table.name, None, (), (), exc.expected)]
    header = _header(path, encoding, separator)
    duplicates = _duplicate_problems(header, table)
    if duplicates:
        return None, duplicates
    if len(header) == frame.shape[1]:
        frame.columns = pd.Index(header)
    if not len(frame):
        return frame, []
    return _normalize_formats(frame, table, separator)


def _separator(path: Path, table: Table) -> str:
    """The separator that splits the header into most of the table's column names (``,``
    when none does)."""
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES).decode("utf-8-sig", errors="replace")
    first = head.splitlines()[0] if head.strip() else ""
    declared = set(table.column_names)

    def known(separator: str) -> int:
        names = next(csv.reader([first], delimiter=separator), [])
        return len({n.strip() for n in names} & declared)

    return max(SEPARATORS, key=known)


def _read_frame(path: Path, table: Table, separator: str) -> tuple[pd.DataFrame, str]:
    """The file's cells; UTF-8 first, Windows-1252 when the file shows it is that."""
    try:
        return _pandas_read(path, table, separator, "utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    data = path.read_bytes()
    if _UTF8_SEQUENCE.search(data):
        raise FileRefused(f"text in one encoding ({path.name} is not valid UTF-8 at byte "
                          f"{utf8_error.start:,}, yet holds UTF-8 characters elsewhere; save the "
                          "whole file as UTF-8)")
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        raise FileRefused(f"UTF-8 encoded text ({path.name}: {utf8_error}; nor is it "
                          "Windows-1252)") from None
    del data
    return _pandas_read(path, table, separator, "cp1252"), "cp1252"


def _pandas_read(path: Path, table: Table, separator: str, encoding: str) -> pd.DataFrame:
    """Declared columns as text and only empty cells empty. Extra columns of a ``,`` file are
    inferred by pandas; in other files they are text until the number format is known."""
    declared = set(table.column_names)
    options: dict[str, object] = {"sep": separator, "encoding": encoding,
                                  "keep_default_na": False, "na_values": [""]}
    try:
        names = pd.read_csv(path, nrows=0, **options).columns
        text = {name: "str" for name in names
                if separator != "," or str(name).strip() in declared}
        if encoding == "utf-8-sig" and len(text) == len(names):
            fast = _arrow_text_read(path, separator, list(names))
            if fast is not None:
                return fast
        frame: pd.DataFrame = pd.read_csv(path, dtype=text, **options)
    except pd.errors.EmptyDataError:
        raise FileRefused(f"a header line naming the columns ({path.name} is empty)") from None
    except UnicodeDecodeError:
        raise
    except (pd.errors.ParserError, OSError, ValueError) as exc:
        raise FileRefused(f"a well-formed CSV file ({path.name}: {exc})") from None
    return frame


def _arrow_text_read(path: Path, separator: str, names: list[str]) -> pd.DataFrame | None:
    """Every column of the UTF-8 file as text, read by Arrow's parser (several times faster
    than pandas', on all cores, outside the interpreter lock); the cells are those pandas reads
    with the same options (only empty cells empty). None whenever Arrow reads the file in any
    other way than pandas would (a header pandas renames or reads otherwise, a row with fewer or
    more cells, text that is not UTF-8): the caller then reads it with pandas, which says
    what is wrong, if anything."""
    if len(names) < 2 or len(set(names)) != len(names) or _has_bare_carriage_return(path):
        return None
    try:
        read = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(use_threads=True, block_size=_ARROW_BLOCK_BYTES),
            parse_options=pa_csv.ParseOptions(delimiter=separator, newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in names}, strings_can_be_null=True,
                null_values=[""], quoted_strings_can_be_null=True))
    except (pa.ArrowException, OSError, ValueError):
        return None
    if read.column_names != names or not read.num_rows:
        return None
    if not _closes_its_last_cell(path, separator, read.column(len(names) - 1)[-1].as_py()):
        return None
    return read.to_pandas()


def _has_bare_carriage_return(path: Path) -> bool:
    """Whether the file has a carriage return not followed by a line feed (the two parsers
    break lines differently there)."""
    carried = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_SCAN_BYTES):
            block = carried + chunk
            carried = block[-1:] if block.endswith(b"\r") else b""
            block = block[:len(block) - len(carried)]
            if block.count(b"\r") != block.count(b"\r\n"):
                return True
    return bool(carried)


def _closes_its_last_cell(path: Path, separator: str, last: str | None) -> bool:
    """Whether the file ends with its last cell ``last`` written whole, quoted or not (then
    only line breaks): Arrow reads a quote left open at the end of the file as closed there,
    where pandas refuses the file."""
    written = ['""', ""] if last is None else ['"' + last.replace('"', '""') + '"']
    if last is not None and not any(mark in last for mark in ('"', "\n", "\r", separator)):
        written.append(last)
    endings = [(separator + cell).encode() for cell in written]
    size = path.stat().st_size
    with path.open("rb") as handle:
        handle.seek(max(0, size - _TAIL_BYTES))
        tail = handle.read().rstrip(b"\r\n")
    return any(tail.endswith(ending) for ending in endings)


def _header(path: Path, encoding: str, separator: str) -> list[str]:
    """The header's column names exactly as written (pandas renames a repeated name)."""
    with path.open(encoding=encoding, newline="", errors="replace") as handle:
        return next(csv.reader(handle, delimiter=separator), [])


# ---------------------------------------------------------------- number and date formats


def _text(series: pd.Series) -> pd.Series:
    return series.astype("str").str.strip()


def _normalize_formats(frame: pd.DataFrame, table: Table,
                       separator: str) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Decide the file's number format from all its number and date cells, then write those
    cells the contract's way (numbers as floats when every cell parses)."""
    present_columns = {str(c).strip(): c for c in frame.columns}
    numbers = {c.name: c for c in table.columns
               if c.type in ("number", "integer") and c.name in present_columns}
    lists = [c.name for c in table.columns if c.type == "number_list" and c.name in present_columns]
    dates = [c.name for c in table.columns if c.type == "timestamp" and c.name in present_columns]
    # Dates are looked at only where a German export is possible (not in ',' files).
    cells = {name: _text(frame[present_columns[name]])
             for name in [*numbers, *(dates if separator != "," else [])]}
    items = {name: _list_items(frame[present_columns[name]]) for name in lists}
    number_cells = {**{n: cells[n] for n in numbers}, **items,
                    **_extra_number_columns(frame, table, separator)}

    german_evidence: list[tuple[str, pd.Series]] = []
    point_evidence: list[tuple[str, pd.Series]] = []
    # A ',' file is never a German export: its cells are never looked at for one.
    for name, text in number_cells.items() if separator != "," else ():
        german_evidence.append((name, text[text.str.fullmatch(_COMMA_DECIMAL).fillna(False)]))
        point = text.str.fullmatch(_POINT_DECIMAL).fillna(False) & ~text.str.fullmatch(
            _GROUPED).fillna(False)
        point_evidence.append((name, text[point]))
    if separator != ",":
        for name in dates:
            text = cells[name]
            german_evidence.append((name, text[text.str.fullmatch(_GERMAN_DATE).fillna(False)]))
    german = [(n, s) for n, s in german_evidence if len(s)]
    point = [(n, s) for n, s in point_evidence if len(s)]

    if german and point:
        example = _example(*german[0])
        return None, [Problem(table.name, name, _rows(found), tuple(found.tolist()),
                              f"one number format in the whole file: it also has {example}, "
                              f"as in {GERMAN_FORMAT}; write every number with a decimal comma "
                              "there, or the whole file with '.' decimals and ',' separators")
                      for name, found in point]
    out = frame.copy()
    if german:
        for name in numbers:
            out[present_columns[name]] = _as_numbers(_german_to_plain(cells[name]))
        for name in lists:
            plain = _german_to_plain(items[name])
            out[present_columns[name]] = _join_items(plain, frame[present_columns[name]])
        for name in dates:
            out[present_columns[name]] = _german_dates_to_iso(cells[name])
        _infer_extra_numbers(out, table, separator, german=True)
        return out, []
    problems = [problem for name, text in number_cells.items() if name not in items
                for problem in _ambiguous_grouped(table, name, text)]
    if problems:
        return None, problems
    for name in numbers:
        out[present_columns[name]] = _as_numbers(cells[name])
    _infer_extra_numbers(out, table, separator, german=False)
    return out, []


def _infer_extra_numbers(frame: pd.DataFrame, table: Table, separator: str, german: bool) -> None:
    """Extra columns of a file not separated by ``,`` (read as text) become numbers when every
    filled cell is one in the file's format: whole numbers without gaps int64, else float64."""
    if separator == ",":
        return
    declared = set(table.column_names)
    for column in [c for c in frame.columns if str(c).strip() not in declared]:
        text = _text(frame[column])
        plain = _german_to_plain(text) if german else text
        numbers = _as_numbers(plain)
        if numbers.dtype != "float64":
            continue
        whole = bool(plain.str.fullmatch(_INTEGER).fillna(False).all())
        frame[column] = numbers.astype("int64") if whole else numbers


def _extra_number_columns(frame: pd.DataFrame, table: Table,
                          separator: str) -> dict[str, pd.Series]:
    """Extra columns (read as text in files not separated by ``,``) whose every filled cell
    is a number in either format: their cells tell the file's number format too."""
    if separator == ",":
        return {}
    declared = set(table.column_names)
    either = f"{_GERMAN_NUMBER}|{_POINT_DECIMAL}"
    found = {}
    for column in [c for c in frame.columns if str(c).strip() not in declared]:
        text = _text(frame[column])
        filled = text.notna() & (text != "")
        if filled.any() and bool(text[filled].str.fullmatch(either).all()):
            found[str(column)] = text
    return found


def _list_items(series: pd.Series) -> pd.Series:
    """The items of a ``|``-separated list column, stripped, indexed by row position."""
    text = series.astype("str").reset_index(drop=True)
    return text.str.split(LIST_SEPARATOR).explode().dropna().astype("str").str.strip()


def _join_items(items: pd.Series, original: pd.Series) -> pd.Series:
    """List items (indexed by row position) joined back into one cell per row."""
    joined = items.groupby(level=0).agg(LIST_SEPARATOR.join)
    out = pd.Series(pd.NA, index=range(len(original)), dtype="str")
    out.iloc[joined.index.to_numpy()] = joined.to_numpy()
    return out.set_axis(original.index)


def _rows(found: pd.Series) -> tuple[int, ...]:
    return tuple(dict.fromkeys((found.index.to_numpy() + 1).tolist()))


def _example(name: str, found: pd.Series) -> str:
    return f"{name} data row {int(found.index[0]) + 1} '{found.iloc[0]}'"


def _ambiguous_grouped(table: Table, name: str, text: pd.Series) -> list[Problem]:
    """Numbers like 1.250 in a file with '.' decimals that their column does not show to be
    decimals: the column has other decimals (80.5) and the number is not padded with zeros the
    column does not use, or every cell of the column has three decimals (0.500, 1250.000)."""
    grouped = text.str.fullmatch(_GROUPED).fillna(False).to_numpy()
    if not grouped.any():
        return []
    filled = text.notna().to_numpy() & (text != "").fillna(False).to_numpy()
    point = text.str.fullmatch(_POINT_DECIMAL).fillna(False).to_numpy() & ~grouped
    if point.any():
        three = text.str.fullmatch(_THREE_DECIMALS).fillna(False).to_numpy()
        if (three | ~filled).all():
            return []
        grouped = grouped & text.str.endswith("0").fillna(False).to_numpy()
        if not grouped.any():
            return []
    found = text[grouped]
    return [Problem(table.name, name, _rows(found), tuple(found.tolist()),
                    "a number without thousands separators: with '.' as the decimal mark "
                    f"'{found.iloc[0]}' could also be a German thousands separator, so write "
                    f"{_both_readings(found.iloc[0])}; or export the whole file in one German "
                    f"format ({GERMAN_FORMAT})")]


def _both_readings(value: str) -> str:
    german = value.replace(".", "")
    return f"{german} or {float(value):g} (plain numbers, '.' only as the decimal mark)"


def _german_to_plain(text: pd.Series) -> pd.Series:
    """German numbers (1.250,5 / 12,5 / 1.250) as plain text (1250.5 / 12.5 / 1250); other
    cells unchanged, so that the checks report them as they are."""
    german = text.str.fullmatch(_GERMAN_NUMBER).fillna(False)
    plain = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    return text.where(~german, plain)


def _as_numbers(text: pd.Series) -> pd.Series:
    """Floats when every filled cell is a number; the text otherwise (the checks report it)."""
    try:  # Arrow's cast is several times faster than pandas on text; it refuses any non-number
        cast = pc.cast(pa.array(text, type=pa.large_string(), from_pandas=True), pa.float64())
        numbers = pd.Series(cast.to_numpy(zero_copy_only=False), index=text.index, dtype="float64")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        numbers = pd.to_numeric(text, errors="coerce").astype("float64")
    if bool((numbers.isna() & text.notna() & (text != "")).any()):
        return text  # a cell such as 'nan' or 'x' is no number: the checks report it as written
    return numbers


def _german_dates_to_iso(text: pd.Series) -> pd.Series:
    """dd.mm.yyyy [HH:MM[:SS]] cells as ISO 8601 text; other cells unchanged."""
    parts = text.str.extract(f"^(?:{_GERMAN_DATE})$")
    matched = parts["year"].notna().to_numpy()
    if not matched.any():
        return text
    fields = parts.loc[matched].fillna({"hour": "0", "minute": "0", "second": "0"}).astype("int64")
    stamps = pd.to_datetime(fields[["year", "month", "day", "hour", "minute", "second"]],
                            errors="coerce")
    iso = stamps.dt.strftime("%Y-%m-%dT%H:%M:%S")
    out = text.copy()
    valid = iso.notna().to_numpy()
    out.loc[parts.index[matched][valid]] = iso[valid].to_numpy()
    return out
