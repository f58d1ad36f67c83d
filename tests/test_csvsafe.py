import csv
import decimal
import io

from app import csvsafe


def test_text_that_a_spreadsheet_would_run_as_a_formula_is_quoted():
    risky = ["=1+1", "+33 600", "-2+3", "@SUM(A1)", "\tx", "\rx"]
    assert [csvsafe.cell(t) for t in risky] == ["'" + t for t in risky]
    assert csvsafe.cell("Acme = good") == "Acme = good"


def test_numbers_stay_numbers_and_none_is_empty():
    assert csvsafe.row([-12, decimal.Decimal("-3.50"), 0, None]) == ["-12", "-3.50", "0", ""]


def test_data_reads_back_as_the_same_cells_with_a_bom_for_excel():
    out = csvsafe.data(["name", "total"], [["=HYPERLINK(\"x\")", decimal.Decimal("-1.20")], ["Ñandú, S.L.", 5]])
    assert out.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(out.decode("utf-8-sig"))))
    assert rows == [["name", "total"], ["'=HYPERLINK(\"x\")", "-1.20"], ["Ñandú, S.L.", "5"]]
