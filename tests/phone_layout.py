"""Checks of a page's layout on a narrow phone, read from the real browser.

`assert_fits(page, width)`: nothing is wider than the screen (the patient never scrolls
sideways) and no word is split across two lines ("Acupunctu / re" on a 320 px phone,
which a patient in pain reads as a typo or two words).
"""

# Every run of letters and digits in the page's visible text, measured with a Range:
# a word laid out on two lines has client rectangles at two heights. Text that is
# hidden, or only for screen readers (one pixel wide by design), is not looked at.
_BROKEN_WORDS = """() => {
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const element = node.parentElement;
    if (!element || element.closest('.visually-hidden, script, style, noscript, [hidden]')) {
      continue;
    }
    if (element.getClientRects().length === 0) continue;  // not displayed
    for (const match of node.data.matchAll(/[\\p{L}\\p{N}'\u2019]+/gu)) {
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const tops = new Set();
      for (const rect of range.getClientRects()) {
        if (rect.width > 0) tops.add(Math.round(rect.top));
      }
      if (tops.size > 1) {
        const where = element.localName + (element.className ? `.${element.className}` : '');
        broken.push(`${match[0]} (in ${where})`);
      }
    }
  }
  return broken;
}"""


def page_width(page) -> int:
    return page.evaluate("document.scrollingElement.scrollWidth")


def broken_words(page) -> list[str]:
    """The words the browser has split across lines on this page, as laid out now."""
    return page.evaluate(_BROKEN_WORDS)


def assert_fits(page, width: int, *, label: str = "") -> None:
    where = label or page.url
    assert page.evaluate("window.innerWidth") == width, "the page is not at the phone's width"
    assert page_width(page) <= width, (
        f"{where} is {page_width(page)} px wide on a {width} px screen: it scrolls sideways"
    )
    assert broken_words(page) == [], f"{where} splits words across lines: {broken_words(page)}"
