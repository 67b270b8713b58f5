"""Uploads (rnn_core.uploads): every malformed file gets one sentence of UploadError and
nothing else; good files become series, texts and labelled rows; nothing is evaluated."""

from __future__ import annotations

import io
import re
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rnn_core import uploads
from rnn_core.uploads import UploadError

ROOT = Path(__file__).resolve().parents[1]


def _csv(header: str, rows) -> bytes:
    return ("\n".join([header, *map(str, rows)]) + "\n").encode()


def _refused(parse, data, *words) -> str:
    """The one sentence ``parse(data)`` refuses the file with, holding every word."""
    with pytest.raises(UploadError) as caught:
        parse(data)
    message = str(caught.value)
    assert type(caught.value) is UploadError
    assert message.endswith("."), message
    assert not re.search(r"[.!?] [A-Z]", message), f"more than one sentence: {message}"
    assert "\n" not in message
    for word in words:
        assert word in message, (word, message)
    return message


SERIES = np.sin(np.arange(120) / 5.0)


def _series_csv(cells=None) -> bytes:
    cells = [f"{v:.4f}" for v in SERIES] if cells is None else cells
    return _csv("t,value", [f"{i},{c}" for i, c in enumerate(cells)])


# ------------------------------------------------------------------ malformed files
@pytest.mark.parametrize(
    "data", [b"", b"   \n\n  ", b"\xef\xbb\xbf"], ids=["0-bytes", "blank", "bom"]
)
def test_an_empty_file(data):
    _refused(uploads.parse_series, data, "The file is empty")
    _refused(uploads.parse_text, data, "The file is empty")


def test_a_header_only_file():
    _refused(uploads.parse_series, b"date,value\n", "header but no rows")


def test_one_row():
    _refused(uploads.parse_series, b"date,value\n2020-01-01,3.5\n", "only one row")
    _refused(uploads.read_table, b"value\n3.5\n", "only one row", "at least 2")


def test_no_numeric_column():
    rows = [f"name{i},city{i % 3}" for i in range(60)]
    _refused(uploads.parse_series, _csv("name,city", rows), "No column holds numbers")


def test_a_long_run_of_nan_and_inf_is_refused_saying_how_many_and_where():
    cells = [f"{v:.4f}" for v in SERIES]
    cells[20:30] = ["nan"] * 5 + ["inf", "-inf", "", "NaN", "Infinity"]
    message = _refused(uploads.parse_series, _series_csv(cells), "10 missing or infinite")
    assert "10 of them in a row" in message and "line 22 to line 31" in message
    assert f"up to {uploads.MAX_GAP} are filled in" in message


def test_short_gaps_are_interpolated_and_said():
    cells = [f"{v:.4f}" for v in SERIES]
    cells[10], cells[50:52] = "nan", ["inf", ""]
    series = uploads.parse_series(_series_csv(cells), columns=["value"])
    assert np.isfinite(series.values).all()
    # linear between the neighbours: the mean of the two values around a single gap
    assert series.values[10, 0] == pytest.approx((SERIES[9] + SERIES[11]) / 2, abs=1e-4)
    assert "3 missing values filled in by linear interpolation" in series.notes


def test_mixed_types_in_a_column():
    cells = [f"{v:.4f}" for v in SERIES]
    cells[7] = "abc"
    _refused(uploads.parse_series, _series_csv(cells), "mixes numbers and text", "line 9", "'abc'")


def test_bytes_that_are_not_utf8():
    data = "t,température\n1,2\n".encode("latin-1")
    _refused(uploads.parse_series, data, "not UTF-8", "0xe9")
    _refused(uploads.parse_text, "café ".encode("cp1252") * 1000, "not UTF-8")


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.csv", _series_csv().decode())
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (_zip_bytes(), "zip archive"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "PNG image"),
        (b"%PDF-1.7\n", "PDF document"),
        ("t,value\n1,2\n".encode("utf-16"), "NUL bytes"),
        (b"t,value\n1,\x002\n", "NUL bytes"),
    ],
    ids=["zip-renamed-csv", "png", "pdf", "utf-16", "nul"],
)
def test_a_binary_file_renamed_csv_is_refused_before_parsing(data, says, monkeypatch):
    def no_parsing(*args, **kwargs):
        raise AssertionError("a binary file reached the CSV parser")

    monkeypatch.setattr(pd, "read_csv", no_parsing)
    _refused(uploads.parse_series, data, says)


class _EndlessRows(io.RawIOBase):
    """A stream of ten million rows, made as they are read (never all in memory)."""

    def __init__(self, rows: int = 10_000_000):
        self.rows, self.made, self.bytes_read = rows, 0, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = 0
        while n < len(buffer) - 32 and self.made < self.rows:
            line = f"{self.made},{self.made % 7}\n".encode()
            buffer[n : n + len(line)] = line
            n, self.made = n + len(line), self.made + 1
        self.bytes_read += n
        return n


def test_ten_million_rows_are_refused_after_reading_no_more_than_the_limit():
    stream = io.BufferedReader(_EndlessRows(), buffer_size=1 << 16)
    _refused(uploads.parse_series, stream, f"larger than {uploads.MAX_BYTES / 10**6:g} MB")
    assert stream.raw.bytes_read <= uploads.MAX_BYTES + (1 << 17)
    assert stream.raw.made < 10_000_000 // 20  # stopped after a few percent of it


def test_more_rows_than_the_limit_within_the_byte_limit(monkeypatch):
    def no_parsing(*args, **kwargs):
        raise AssertionError("the rows were counted after parsing")

    monkeypatch.setattr(pd, "read_csv", no_parsing)
    data = b"v\n" + b"1\n" * (uploads.MAX_ROWS + 1)
    assert len(data) <= uploads.MAX_BYTES
    _refused(uploads.parse_series, data, f"more than {uploads.MAX_ROWS:,} rows")


def test_a_formula_cell_is_refused_in_a_number_column_and_never_evaluated():
    cells = [f"{v:.4f}" for v in SERIES]
    cells[3] = "=1+1"
    message = _refused(uploads.parse_series, _series_csv(cells), "formula", "Line 5")
    assert "'=1+1" in message  # echoed neutralised
    cells[3] = "@SUM(A1:A3)"
    _refused(uploads.parse_series, _series_csv(cells), "formula", "'@SUM")


def test_negative_and_signed_numbers_are_numbers_not_formulas():
    assert [uploads.neutralise(c) for c in ("-0.757", "+3", "-1e-3")] == ["-0.757", "+3", "-1e-3"]
    cells = [f"{v:+.4f}" for v in SERIES]  # "+0.1987", "-0.3894"
    series = uploads.parse_series(_series_csv(cells), columns=["value"])
    assert series.values[:, 0] == pytest.approx(SERIES, abs=1e-4)


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://x")', "+cmd", "-2+3", "@A1", "\tx", "\rx"])
def test_formula_like_cells_are_shown_with_a_leading_quote(cell):
    assert uploads.neutralise(cell) == "'" + cell
    frame = pd.DataFrame({"text": [cell, "fine"], "n": [1.0, -2.0]})
    shown = uploads.neutralised(frame)
    assert shown["text"].tolist() == ["'" + cell, "fine"]
    assert shown["n"].tolist() == [1.0, -2.0]  # numbers stay numbers
    # and a CSV written from it reads back as text, not a formula
    assert not shown.to_csv(index=False).splitlines()[1].startswith(uploads.FORMULA_STARTS)


def test_labelled_rows_keep_formula_text_inert_and_refuse_formula_labels():
    rows = [f'"=HYPERLINK(""x"") good film {i}",pos' for i in range(30)]
    rows += [f"bad film {i},neg" for i in range(30)]
    labelled = uploads.parse_labelled(_csv("text,label", rows), max_words=18)
    assert labelled.class_names == ["neg", "pos"]  # neg is class 0
    assert labelled.words[0][:2] == ["=", "hyperlink"]  # words, nothing evaluated
    rows[5] = "good,=cmd|' /C calc'!A0"
    _refused(lambda d: uploads.parse_labelled(d, 18), _csv("text,label", rows), "formula")


def test_labelled_files_need_two_labels_and_their_columns():
    one = [f"film {i},pos" for i in range(50)]
    _refused(lambda d: uploads.parse_labelled(d, 18), _csv("text,label", one), "exactly two")
    _refused(
        lambda d: uploads.parse_labelled(d, 18),
        _csv("sentence,class", [f"a{i},{i % 2}" for i in range(50)]),
        "'text' column",
    )


def test_a_row_with_too_many_fields_is_named():
    rows = [f"{i},{v:.3f}" for i, v in enumerate(SERIES)]
    rows[4] = "4,1.0,extra"
    _refused(uploads.parse_series, _csv("t,value", rows), "Line 6 has 3 fields")


def test_texts_too_short_or_with_too_many_characters():
    _refused(uploads.parse_text, b"short text", f"at least {uploads.MIN_TEXT_CHARS:,}")
    wide = "".join(chr(0x4E00 + i) for i in range(400)) * 10
    _refused(uploads.parse_text, wide.encode(), "400 different characters")


# ------------------------------------------------------------------ good files
def test_a_dated_series_is_parsed_sorted_and_resampled():
    days = pd.date_range("2020-01-01", periods=400, freq="D")
    rows = [f"{d.date()},{i}" for i, d in enumerate(days)][::-1]  # newest first
    table = uploads.read_table(_csv("day,count", rows))
    assert uploads.date_columns(table) == ["day"] and uploads.numeric_columns(table) == ["count"]
    daily = uploads.series_from_table(table, date_column="day")
    assert daily.values[:3, 0].tolist() == [0, 1, 2] and "rows sorted by date" in daily.notes
    weekly = uploads.series_from_table(table, date_column="day", resample="weekly")
    # 2020-01-01 was a Wednesday: the first week (to Sunday the 5th) holds days 0-4
    assert weekly.values[0, 0] == pytest.approx(2.0) and weekly.step_name == "week"
    assert weekly.values[1, 0] == pytest.approx(8.0)  # days 5..11
    assert weekly.time_name == "year" and 2020 < weekly.times[0] < 2020.02


def test_repeated_dates_need_a_resampling():
    rows = [f"2020-01-{1 + i // 2:02d},{i}" for i in range(60)]
    _refused(
        lambda d: uploads.parse_series(d, date_column="day"), _csv("day,v", rows), "repeats dates"
    )


def test_the_page_states_the_limit_streamlit_enforces():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server_mb = config["server"]["maxUploadSize"]
    assert server_mb == uploads.MAX_UPLOAD_MB
    # ours is the smaller of the two megabytes: whatever Streamlit lets through that is
    # over our limit still gets our sentence, not a bare refusal
    assert server_mb * 2**20 >= uploads.MAX_BYTES


def test_names_from_a_file_are_inert_in_titles():
    from rnn_core.tasks.uploaded import UploadedSeriesTask

    hostile = "![x](http://evil/t.png) <b>*temp*</b>"
    rows = [f"{i},{np.sin(i / 5):.3f}" for i in range(80)]
    series = uploads.parse_series(_csv(f"t,{hostile}", rows), columns=[hostile])
    task = UploadedSeriesTask(series)
    for text in (task.title, task.description):
        assert not set("![]<>*`") & set(text), text
    assert task.labels() == [uploads.shown_name(hostile)]  # legends too (plotly reads <a>)
    assert series.names == [hostile]  # the parsed data keeps the file's own name
