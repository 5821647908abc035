"""Reading an uploaded file: its encoding, its delimiter, and its records with their line numbers.

A record is (line, dict): for CSV the line is the file's physical line where the row starts, for
JSONL the line of the object, for a JSON document the position of the item in its list.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from crm.i18n import gettext

Record = tuple[int, dict[str, Any]]

ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1")
DELIMITERS = ",;\t|"
csv.field_size_limit(1024 * 1024)


class FileProblem(Exception):
    """The file as a whole cannot be read (not a row: the whole file)."""


@dataclass
class ParsedFile:
    encoding: str
    delimiter: str
    headers: list[str]
    records: list[Record]
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason, raw) of unreadable rows


def decode(content: bytes) -> tuple[str, str]:
    """The text and the encoding it was in: a BOM decides; else UTF-8; else Windows-1252 / Latin-1."""
    if content.startswith(codecs.BOM_UTF8):
        return content[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "utf-8-sig"
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return content.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise FileProblem(gettext("The file says it is UTF-16 but is not.")) from None
    if b"\x00" in content[:4096]:
        raise FileProblem(gettext("This is not a text file (it holds NUL bytes). Save it as CSV or JSON lines."))
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return content.decode("latin-1"), "latin-1"


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same, largest number of fields."""
    sample = [line for line in text[:20_000].splitlines()[:20] if line.strip()]
    if not sample:
        return ","
    best, best_score = ",", 0
    for delimiter in DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(sample, delimiter=delimiter)]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        score = counts[0] * sum(1 for c in counts if c == counts[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def parse_csv(text: str, delimiter: str | None = None) -> ParsedFile:
    delimiter = delimiter or sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    problems: list[tuple[int, str, str]] = []
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise FileProblem(gettext("The header row is not valid CSV (%(error)s).") % {"error": exc}) from None
    if not header or not any(h.strip() for h in header):
        raise FileProblem(gettext("The file is empty; it needs a header row naming the columns."))
    headers = [h.strip() for h in header]
    if len(set(headers)) != len(headers):
        dupes = sorted(h for h, n in Counter(headers).items() if n > 1)  # linear: a header may have 100,000 columns
        raise FileProblem(gettext("The header names a column twice: %(names)s.") % {"names": ", ".join(dupes)})
    records: list[Record] = []
    width = len(headers)
    line = 1
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # The rest of the file cannot be trusted after a broken quote: report where it broke.
            problems.append((start, gettext("Malformed CSV: %(error)s.") % {"error": exc}, ""))
            break
        line = start
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != width:
            problems.append((line, gettext("Expected %(expected)d fields, found %(found)d.")
                             % {"expected": width, "found": len(row)}, delimiter.join(row)))
            continue
        records.append((line, dict(zip(headers, row, strict=True))))
    return ParsedFile("", delimiter, headers, records, problems)


_scan: Any = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # the C scanner json.loads uses


def parse_jsonl(text: str) -> ParsedFile:
    records: list[Record] = []
    problems: list[tuple[int, str, str]] = []
    headers: dict[str, None] = {}
    scan = _scan
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        try:
            value, end = scan(stripped, 0)
            if end != len(stripped):
                raise ValueError
        except (StopIteration, ValueError, RecursionError):
            value = None  # read it again the slow way, for its precise error
        if type(value) is not dict:
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append((number, gettext("Not valid JSON (%(error)s at column %(column)d).")
                                 % {"error": exc.msg, "column": exc.colno}, line[:1000]))
                continue
            except ValueError:
                problems.append((number, gettext("A number in this line is far too long."), line[:1000]))
                continue
            except RecursionError:
                problems.append((number, gettext("This line is nested too deeply."), line[:1000]))
                continue
            if not isinstance(value, dict):
                problems.append((number, gettext("Each line must be a JSON object."), line[:1000]))
                continue
        if "\\ud" in stripped.lower() and not _encodable(value):  # a \uD800 escape alone: no UTF-8 text can hold it
            problems.append((number, gettext("This line has a broken character (an unpaired \\u escape)."), line[:1000]))
            continue
        if len(headers) < 200 and not value.keys() <= headers.keys():
            headers.update(dict.fromkeys(value))
        records.append((number, value))
    return ParsedFile("", "", list(headers), records, problems)


def _encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_json_document(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, ValueError) as exc:
        raise FileProblem(gettext("Not a valid JSON document (%(error)s).") % {"error": exc}) from None
    except RecursionError:
        raise FileProblem(gettext("This JSON document is nested too deeply.")) from None


def looks_like_jsonl(text: str) -> bool:
    first = text.lstrip()[:1]
    return first == "{"


def read_table(content: bytes, file_format: str = "auto") -> ParsedFile:
    """Read a generic CSV or JSONL file (file_format: csv, jsonl or auto)."""
    text, encoding = decode(content)
    if file_format == "auto":
        file_format = "jsonl" if looks_like_jsonl(text) else "csv"
    parsed = parse_jsonl(text) if file_format == "jsonl" else parse_csv(text)
    parsed.encoding = encoding
    return parsed


def iter_items(document: Any, *path: str) -> Iterator[Any]:
    """The items of the list at `path` in a JSON document (missing means none)."""
    value = document
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, list):
        yield from value
