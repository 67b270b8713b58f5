"""A visitor's own data, from the bytes of an uploaded file: parsed, checked and bounded.

Three kinds of file, each read into plain arrays (``rnn_core.tasks.uploaded`` turns them
into tasks):

- a CSV time series: one or more numeric columns, an optional date column (parsed, used
  to sort, optionally resampled to a daily, weekly or monthly mean);
- a plain-text file, for the character model;
- a CSV of ``text,label`` rows (two labels), for sequence classification.

Everything is bounded before it is parsed: at most ``MAX_BYTES`` are read from the
stream (one more to tell that there was more), NUL bytes and the magic numbers of
archives, images and documents are refused before any parser sees them, lines are
counted before pandas reads the table, and pandas reads every cell as a string
(``dtype=str``): numbers and dates are converted here, explicitly, so nothing is
guessed and nothing is evaluated. A cell that a spreadsheet would read as a formula (it
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return; OWASP's "CSV
injection") is never a number here, and ``neutralise`` prefixes it with a quote
wherever it is shown or written back.

Every problem raises ``UploadError`` with one sentence a visitor can act on.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pandas as pd

from rnn_core.sentiment import tokenize_loosely

# Streamlit's own limit (server.maxUploadSize in .streamlit/config.toml) is in MB of
# 2**20 bytes; ours is in 10**6, so whatever passes Streamlit's but not ours still gets
# our sentence.
MAX_UPLOAD_MB = 2
MAX_BYTES = MAX_UPLOAD_MB * 10**6
MAX_ROWS = 50_000  # data rows of a CSV (series or labelled text)
MAX_COLUMNS = 50
MAX_TEXT_CHARS = 1_000_000  # a plain-text file for the character model
MIN_TEXT_CHARS = 2_000  # 10% held out must still hold windows of a useful length
MAX_ALPHABET = 160  # distinct characters of a text: the character model's input width
MIN_SERIES_ROWS = 50  # after resampling
MAX_GAP = 3  # missing values in a row that are filled in by linear interpolation
MAX_HORIZON = 24
MIN_LABELLED_ROWS = 40
MAX_LABEL_CHARS = 40
MAX_VOCABULARY = 2_000  # the most frequent training words; the rest read as unknown

RESAMPLE_RULES = {"none": None, "daily": "D", "weekly": "W", "monthly": "MS"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Cells read as missing (case-insensitive), and as infinite: both are gaps here.
MISSING = frozenset({"", "na", "nan", "n/a", "null", "none", "missing", "?"})
INFINITE = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?", re.ASCII)
# The first bytes of files that are not text, with a name a visitor recognises.
_MAGIC = (
    (b"PK\x03\x04", "a zip archive (or an Excel .xlsx workbook)"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\xd0\xcf\x11\xe0", "an old Excel or Word file"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
)


class UploadError(ValueError):
    """An uploaded file that cannot be used; the message is one sentence."""


def neutralise(cell: str) -> str:
    """A cell as it may be shown or exported: one a spreadsheet would read as a formula
    gets a leading quote, so it stays text (a plain signed number, -0.75, stays as it is)."""
    formula = cell.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(cell)
    return "'" + cell if formula else cell


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) are ``neutralise``d."""
    out = frame.copy()
    out.columns = [neutralise(str(c)) for c in out.columns]
    for name in out.columns:
        if not pd.api.types.is_numeric_dtype(out[name]):
            out[name] = out[name].map(lambda v: neutralise(v) if isinstance(v, str) else v)
    return out


def shown_name(text: str, at_most: int = 30) -> str:
    """A visitor's column or label name as the app's titles may hold it: word characters,
    spaces and a little punctuation only, so it stays inert wherever a title is drawn
    (markdown, a chart), and short."""
    plain = re.sub(r"[^\w .,%()/+-]", "", str(text)).strip()[:at_most]
    return plain or "unnamed"


def _short(text: str, at_most: int = 24) -> str:
    text = str(text).replace("\n", " ")
    return repr(text if len(text) <= at_most else text[: at_most - 1] + "…")


# --------------------------------------------------------------------------- bytes
def read_bounded(data: bytes | BinaryIO) -> bytes:
    """The upload's bytes, at most ``MAX_BYTES`` of them; a stream is read no further
    than one byte past the limit."""
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data[: MAX_BYTES + 1])
    else:
        raw = data.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise UploadError(
            f"The file is larger than {MAX_BYTES / 10**6:g} MB, the limit here: "
            f"upload a shorter extract."
        )
    return raw


def decode_text(data: bytes | BinaryIO) -> str:
    """The upload as text: bounded, not binary, UTF-8 (a byte-order mark is dropped)."""
    raw = read_bounded(data)
    if not raw.strip():
        raise UploadError("The file is empty.")
    for magic, what in _MAGIC:
        if raw.startswith(magic):
            raise UploadError(f"This is {what}, not a text file: upload a plain-text CSV or .txt.")
    if b"\x00" in raw:
        raise UploadError(
            "The file contains NUL bytes, so it is binary (or UTF-16) rather than text: "
            "save it as UTF-8 text."
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UploadError(
            f"The file is not UTF-8 text (byte {raw[err.start]:#04x} at position "
            f"{err.start:,} is not valid UTF-8): save it as UTF-8."
        ) from None
    if not text.strip():
        raise UploadError("The file is empty.")
    return text


# --------------------------------------------------------------------------- tables
@dataclass(frozen=True)
class Table:
    """A CSV's cells as strings, one column per header name; row ``i`` is line ``i + 2``."""

    cells: pd.DataFrame

    @property
    def columns(self) -> list[str]:
        return list(self.cells.columns)

    def __len__(self) -> int:
        return len(self.cells)


def read_table(data: bytes | BinaryIO, min_rows: int = 2) -> Table:
    """A CSV upload as a table of strings (nothing converted yet)."""
    text = decode_text(data)
    # Count lines before parsing: a file of ten million tiny rows is refused here,
    # having been read no further than MAX_BYTES, before pandas builds anything.
    lines = text.count("\n") + (not text.endswith("\n"))
    if lines - 1 > MAX_ROWS:
        raise UploadError(
            f"The file has more than {MAX_ROWS:,} rows, the limit here: upload a shorter "
            f"extract (or resample it first)."
        )
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    try:
        cells = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            nrows=MAX_ROWS + 1,
            skipinitialspace=True,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        raise UploadError("The file is empty.") from None
    except pd.errors.ParserError as err:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
        if found:
            want, line, saw = found.groups()
            raise UploadError(
                f"Line {line} has {saw} fields where the header has {want}: every row "
                f"needs one value per column."
            ) from None
        raise UploadError("The file could not be read as a CSV table.") from None
    if cells.shape[1] > MAX_COLUMNS:
        raise UploadError(
            f"The file has {cells.shape[1]} columns; at most {MAX_COLUMNS} are read here."
        )
    cells.columns = [str(c).strip() for c in cells.columns]
    if len(set(cells.columns)) < len(cells.columns):
        raise UploadError("Two columns have the same name in the header: rename one.")
    if len(cells) == 0:
        raise UploadError("The file has a header but no rows of data.")
    if len(cells) < min_rows:
        rows = "one row" if len(cells) == 1 else f"{len(cells)} rows"
        raise UploadError(f"The file has only {rows} of data; at least {min_rows} are needed.")
    return Table(cells.map(str.strip))


def _number_mask(column: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(is a number, is missing or infinite, values): one column's cells, classified."""
    lowered = column.str.lower()
    gap = lowered.isin(MISSING | INFINITE).to_numpy()
    number = column.str.fullmatch(_NUMBER).to_numpy(dtype=bool)
    values = np.full(len(column), np.nan)
    values[number] = column[number].astype(np.float64).to_numpy()
    # a number too large for float64 is infinite: a gap like "inf"
    huge = number & ~np.isfinite(values)
    return number & ~huge, gap | huge, values


def numeric_columns(table: Table) -> list[str]:
    """The columns that hold numbers in at least half their cells (a column that mixes
    in text is offered, and refused with its reason when chosen)."""
    chosen, dates = [], set(date_columns(table))  # YYYYMMDD dates are numbers too
    for name in table.columns:
        if name in dates:
            continue
        number, _, _ = _number_mask(table.cells[name])
        if number.any() and number.mean() >= 0.5:
            chosen.append(name)
    return chosen


def default_columns(table: Table) -> list[str]:
    """The column a series defaults to: the first numeric one that is not a row count
    (whole numbers rising by one, such as an index), else the first numeric one."""
    offered = numeric_columns(table)
    for name in offered:
        _, _, values = _number_mask(table.cells[name])
        if not (np.diff(values) == 1).all():
            return [name]
    return offered[:1]


def date_columns(table: Table) -> list[str]:
    """The columns whose cells (a sample of them) read as dates and are not numbers."""
    chosen = []
    for name in table.columns:
        sample = table.cells[name].head(200)
        if sample.str.fullmatch(_NUMBER).mean() > 0.5 and not sample.str.fullmatch(r"\d{8}").all():
            continue
        if _parse_dates(sample).notna().mean() >= 0.9:
            chosen.append(name)
    return chosen


def _parse_dates(cells: pd.Series) -> pd.Series:
    """Dates of strings, NaT where a cell is not one: ISO 8601 first, then the format
    pandas infers from the first cell (YYYYMMDD, 3/29/1958, ...)."""
    parsed = pd.to_datetime(cells, errors="coerce", format="ISO8601")
    if parsed.notna().mean() < 0.9:
        if cells.str.fullmatch(r"\d{8}").all():
            parsed = pd.to_datetime(cells, errors="coerce", format="%Y%m%d")
        else:
            with warnings.catch_warnings():  # "could not infer format": then cell by cell
                warnings.simplefilter("ignore", UserWarning)
                parsed = pd.to_datetime(cells, errors="coerce")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    return parsed


def _fill_gaps(values: np.ndarray, name: str, where: Sequence[str]) -> tuple[np.ndarray, int]:
    """Short runs of NaN linearly interpolated (the ends take the nearest value); a run
    longer than ``MAX_GAP`` is refused, naming where it is. Returns the filled values and
    how many were filled."""
    gap = np.isnan(values)
    if not gap.any():
        return values, 0
    if gap.all():
        raise UploadError(f"Column {_short(name)} has no values, only gaps.")
    edges = np.diff(np.concatenate([[0], gap.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    longest = int(np.argmax(ends - starts))
    if ends[longest] - starts[longest] > MAX_GAP:
        first, last = where[starts[longest]], where[ends[longest] - 1]
        raise UploadError(
            f"Column {_short(name)} has {int(gap.sum()):,} missing or infinite values, "
            f"{ends[longest] - starts[longest]} of them in a row ({first} to {last}); "
            f"gaps of up to {MAX_GAP} are filled in by interpolation, longer ones are "
            f"not: fill or cut them."
        )
    known = np.flatnonzero(~gap)
    filled = values.copy()
    filled[gap] = np.interp(np.flatnonzero(gap), known, values[known])
    return filled, int(gap.sum())


@dataclass(frozen=True)
class Series:
    """An uploaded series, ready for a task: values (N, C) float64, finite."""

    values: np.ndarray  # (N, C)
    names: list[str]  # the C column names
    times: np.ndarray  # (N,) decimal years when dated, else the row number
    time_name: str  # "year" or "row"
    step_name: str  # "day", "week", "month", "row" or "step"
    labels: np.ndarray | None = None  # (N,) bool: labelled anomalies, if a column says
    notes: list[str] = field(default_factory=list)  # what was done (gaps filled, ...)


def series_from_table(
    table: Table,
    columns: Sequence[str] | None = None,
    date_column: str | None = None,
    resample: str = "none",
    label_column: str | None = None,
) -> Series:
    """The chosen numeric columns (default: the first numeric one) as a series, sorted
    and resampled by the date column if one is given, short gaps filled."""
    offered = numeric_columns(table)
    if not offered:
        raise UploadError(
            "No column holds numbers: a series needs at least one numeric column "
            "(with a header line naming it)."
        )
    columns = list(columns) if columns else default_columns(table)
    if not columns:
        raise UploadError("Choose at least one numeric column.")
    unknown = [c for c in columns + [date_column, label_column] if c and c not in table.columns]
    if unknown:
        raise UploadError(f"There is no column {_short(unknown[0])} in the file.")
    if resample not in RESAMPLE_RULES:
        raise UploadError(f"Resampling must be one of {', '.join(RESAMPLE_RULES)}.")
    cells = table.cells
    where = [f"line {i + 2}" for i in range(len(cells))]
    frame = pd.DataFrame(index=range(len(cells)))
    for name in [*columns, *([label_column] if label_column else [])]:
        number, gap, values = _number_mask(cells[name])
        bad = ~(number | gap)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            cell = cells[name].iloc[row]
            if cell.startswith(FORMULA_STARTS):
                raise UploadError(
                    f"Line {row + 2} of column {_short(name)} holds a formula "
                    f"({_short(neutralise(cell))}), and formulas are never evaluated "
                    f"here: save the values instead."
                )
            raise UploadError(
                f"Column {_short(name)} mixes numbers and text ({int(bad.sum()):,} "
                f"cells are not numbers, the first on line {row + 2}: {_short(cell)})."
            )
        frame[name] = values
    notes = []
    step_name, time_name = "row", "row"
    if date_column:
        dates = _parse_dates(cells[date_column])
        if dates.isna().any():
            row = int(np.flatnonzero(dates.isna().to_numpy())[0])
            raise UploadError(
                f"Line {row + 2} of the date column {_short(date_column)} is not a date "
                f"({_short(neutralise(cells[date_column].iloc[row]))})."
            )
        frame.index = pd.DatetimeIndex(dates)
        if not frame.index.is_monotonic_increasing:
            frame = frame.sort_index(kind="stable")
            notes.append("rows sorted by date")
        rule = RESAMPLE_RULES[resample]
        if rule is not None:
            before = len(frame)
            frame = frame.resample(rule).mean()
            step_name = {"D": "day", "W": "week", "MS": "month"}[rule]
            notes.append(f"{before:,} rows resampled to {len(frame):,} {step_name} means")
        elif frame.index.has_duplicates:
            raise UploadError(
                f"The date column {_short(date_column)} repeats dates: choose a "
                f"resampling (daily, weekly or monthly mean) to combine them."
            )
        else:
            # name the step by the typical spacing of the dates (for the page's labels)
            days = float(
                np.median(np.diff(frame.index.to_numpy(dtype="datetime64[s]")).astype(float))
            )
            days /= 86400
            spacing = {"day": (0.9, 1.1), "week": (6.5, 7.5), "month": (27.5, 31.5)}
            step_name = next((n for n, (lo, hi) in spacing.items() if lo <= days <= hi), "step")
        where = [str(d.date()) for d in frame.index]
        days = frame.index.to_numpy(dtype="datetime64[s]").astype(np.float64) / 86400
        times, time_name = 1970 + days / 365.2425, "year"
    else:
        times = np.arange(len(frame), dtype=np.float64)
    if len(frame) < MIN_SERIES_ROWS:
        raise UploadError(
            f"The series has only {len(frame)} values; at least {MIN_SERIES_ROWS} are needed "
            f"to train on one part and score on the rest."
        )
    filled_total = 0
    for name in columns:
        frame[name], filled = _fill_gaps(frame[name].to_numpy(), name, where)
        filled_total += filled
    if filled_total:
        notes.append(f"{filled_total:,} missing values filled in by linear interpolation")
    labels = None
    if label_column:
        raw = frame[label_column].to_numpy()
        labels = np.nan_to_num(raw, nan=0.0) > 0
    return Series(
        values=frame[columns].to_numpy(dtype=np.float64),
        names=list(columns),
        times=np.asarray(times, dtype=np.float64),
        time_name=time_name,
        step_name=step_name,
        labels=labels,
        notes=notes,
    )


def parse_series(data: bytes | BinaryIO, **choices) -> Series:
    """A CSV upload straight to a series (``series_from_table``'s choices)."""
    return series_from_table(read_table(data, min_rows=MIN_SERIES_ROWS), **choices)


# --------------------------------------------------------------------------- text
def parse_text(data: bytes | BinaryIO) -> str:
    """A plain-text upload for the character model (newlines normalised to \\n)."""
    text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_TEXT_CHARS:
        raise UploadError(
            f"The text has {len(text):,} characters; at most {MAX_TEXT_CHARS:,} are "
            f"read here: upload a shorter extract."
        )
    if len(text) < MIN_TEXT_CHARS:
        raise UploadError(
            f"The text has {len(text):,} characters; at least {MIN_TEXT_CHARS:,} are "
            f"needed to train on 90% and score on the rest."
        )
    alphabet = set(text)
    if len(alphabet) > MAX_ALPHABET:
        raise UploadError(
            f"The text uses {len(alphabet):,} different characters; at most "
            f"{MAX_ALPHABET} are allowed (each one is an input of the network)."
        )
    return text


# --------------------------------------------------------------------------- labelled
@dataclass(frozen=True)
class Labelled:
    """Labelled sentences: each one's words (at most ``max_words``) and class index."""

    words: list[list[str]]
    labels: np.ndarray  # (N,) int64, 0 or 1
    class_names: list[str]  # the two labels as the file spells them
    cut: int  # sentences cut to ``max_words``


def parse_labelled(data: bytes | BinaryIO, max_words: int) -> Labelled:
    """A CSV of ``text,label`` rows (these two columns, in any order, by name): two
    distinct labels, text of at least one word."""
    table = read_table(data, min_rows=MIN_LABELLED_ROWS)
    names = {c.lower(): c for c in table.columns}
    if "text" not in names or "label" not in names:
        raise UploadError(
            "The file needs a header with a 'text' column and a 'label' column "
            f"(it has {', '.join(_short(c) for c in table.columns[:5])})."
        )
    texts, raw_labels = table.cells[names["text"]], table.cells[names["label"]]
    for row, label in enumerate(raw_labels):
        if not label:
            raise UploadError(f"Line {row + 2} has no label.")
        if label.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(label):
            raise UploadError(
                f"Line {row + 2}'s label is a formula ({_short(neutralise(label))}), and "
                f"formulas are never evaluated here: use plain labels."
            )
        if len(label) > MAX_LABEL_CHARS:
            raise UploadError(
                f"Line {row + 2}'s label is longer than {MAX_LABEL_CHARS} characters."
            )
    classes = sorted(set(raw_labels))
    if len(classes) != 2:
        raise UploadError(
            f"The labels must take exactly two values (this file has {len(classes)}: "
            f"{', '.join(_short(neutralise(c), 12) for c in classes[:4])})."
        )
    # the usual spellings keep their meaning: 0/1, negative/positive, neg/pos
    order = {"0": 0, "1": 1, "negative": 0, "positive": 1, "neg": 0, "pos": 1}
    if all(c.lower() in order for c in classes):
        classes.sort(key=lambda c: order[c.lower()])
    words, cut = [], 0
    for row, text in enumerate(texts):
        tokens = tokenize_loosely(text)
        if not tokens:
            raise UploadError(f"Line {row + 2} has no words in its text.")
        if len(tokens) > max_words:
            tokens, cut = tokens[:max_words], cut + 1
        words.append(tokens)
    labels = np.array([classes.index(v) for v in raw_labels], dtype=np.int64)
    return Labelled(words, labels, classes, cut)
