"""Reading a PDF back as text with poppler's pdftotext, as a person's PDF reader would."""

import shutil
import subprocess

import pytest

PDFTOTEXT = shutil.which("pdftotext") or "/usr/bin/pdftotext"


def pdf_text(pdf: bytes) -> str:
    """The PDF's text, laid out as on the page, with runs of spaces made single."""
    if not shutil.which(PDFTOTEXT):
        pytest.skip("pdftotext (Debian's poppler-utils) is not installed")
    assert pdf.startswith(b"%PDF-"), pdf[:20]
    result = subprocess.run(
        [PDFTOTEXT, "-layout", "-enc", "UTF-8", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
        timeout=30,
    )
    text = result.stdout.decode("utf-8")
    return "\n".join(" ".join(line.split()) for line in text.splitlines())
