"""The printed layout: what a reader's tool reads back from a generated PDF."""
import subprocess
from datetime import date

from engine.core import pdf_layout as pdf


def _text_of(data: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_a_document_reads_back_with_its_title_table_figures_and_page_count(tmp_path):
    # given a document with a heading, text, a long table and signatures
    rows = [[n, f"项目{n}", 120000.5 * n] for n in range(1, 80)]
    document = pdf.Document("2027年度科技计划项目立项公示", subtitle="第一批", blocks=[
        pdf.Heading("一、公示项目"), pdf.Text("以下项目拟予立项 & 资助 <公示期五个工作日>。"),
        pdf.Table(["序号", "项目名称", "拟资助（元）"], rows, widths=[1, 4, 2], total=["", "合计", 1.0]),
        pdf.Signatures([("甲方", "市科学技术局"), ("乙方", "")], dated=date(2027, 3, 1))])
    # when rendered
    text = _text_of(pdf.render(document), tmp_path)
    # then a reader's tool finds the words, the escaped text, the figures and the page footer
    assert "2027年度科技计划项目立项公示" in text
    assert "<公示期五个工作日>" in text
    assert "项目79" in text and "9,480,039.50" in text
    assert "2027年3月1日" in text
    pages = text.count("\f")
    assert pages > 1 and f"第1页共{pages}页" in text.replace(" ", "")


def test_amounts_print_in_the_bureaus_form():
    assert pdf.amount(1250000) == "1,250,000.00"
    assert pdf.amount(None) == ""
