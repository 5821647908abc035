"""Files a stranger could send to the importer: each is refused or reported row by row, never a crash."""

from __future__ import annotations

import time

from crm.imports.reader import parse_csv, parse_json_document, parse_jsonl


def test_a_header_of_many_repeated_columns_is_refused_at_once():
    from crm.imports.reader import FileProblem

    header = ",".join(["a"] * 150_000)
    started = time.perf_counter()
    try:
        parse_csv(header + "\n")
    except FileProblem as exc:
        assert "twice: a." in str(exc)
    else:
        raise AssertionError("no FileProblem")
    assert time.perf_counter() - started < 5  # the quadratic count took minutes here


def test_deeply_nested_json_lines_are_reported_not_raised():
    deep = '{"display_name": ' + "[" * 100_000 + "]" * 100_000 + "}"
    parsed = parse_jsonl(deep + '\n{"display_name": "Ana"}\n')
    assert [number for number, _ in parsed.records] == [2]
    assert parsed.problems and parsed.problems[0][0] == 1 and "nested" in parsed.problems[0][1]


def test_a_deeply_nested_json_document_is_a_file_problem():
    from crm.imports.reader import FileProblem

    try:
        parse_json_document("[" * 100_000 + "]" * 100_000)
    except FileProblem as exc:
        assert "nested" in str(exc)
    else:
        raise AssertionError("no FileProblem")


def test_export_file_names_are_plain_ascii():
    from crm.exports.lists import ExportFormat, filename

    assert filename(ExportFormat.csv, "Ωmega 名前") == "mega.csv"
    assert filename(ExportFormat.csv, "Moderadores de España") == "Moderadores-de-Espana.csv"
    assert filename(ExportFormat.json, "名前") == "people.json"


def test_an_unpaired_surrogate_is_a_rejected_line():
    parsed = parse_jsonl('{"display_name": "bad \\ud800 name"}\n{"display_name": "Ana"}\n{"\\udc00": 1}\n')
    assert [number for number, _ in parsed.records] == [2]
    assert [number for number, _, _ in parsed.problems] == [1, 3]
