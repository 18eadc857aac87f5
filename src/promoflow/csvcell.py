"""The one rule for a cell promoflow writes into a spreadsheet file (CSV or XLSX).

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(``=HYPERLINK(…)``, ``=cmd|…``), and some read a leading tab, carriage return or line
feed the same way; Excel in Chinese also takes the full-width ``＝ ＋ － ＠`` as formula
starts. Such a cell gets a leading apostrophe (OWASP's rule for CSV injection), also when
spaces (ASCII or the ideographic ``\\u3000``) come before the sign.

One exception keeps numbers numbers: a cell that is exactly a negative decimal in ASCII
digits (``-3``, ``-3.5``, no exponent, no other character) is left as it is. A
spreadsheet reads it as a number and can run nothing from it: a formula needs an operator
or a name after the sign, which the pattern does not admit. ``+3.5`` is escaped, since
nothing the product writes has that form.

Every CSV the product writes (``promoflow decisions``, ``audit export``, the console's
downloads, the demo's results files) and every XLSX string cell goes through
:func:`csv_cell`. It imports nothing of the product, so every layer may use it.
"""

from __future__ import annotations

import re

#: first characters a spreadsheet may read as the start of a formula
FORMULA_START = frozenset("=+-@\t\r\n＝＋－＠")
#: spaces a spreadsheet may skip before it looks for a formula sign
LEADING_SPACE = " \u3000"
_NEGATIVE_NUMBER = re.compile(r"-[0-9]+(?:\.[0-9]+)?")


def csv_cell(value: object) -> str:
    """``value`` as the text of a spreadsheet cell that cannot run as a formula.

    None is the empty cell; anything else is its ``str``; text that starts (after spaces)
    with a formula sign gets a leading ``'``, except a plain negative number.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if not text:
        return text
    first = text[0]
    if first in LEADING_SPACE:
        first = text.lstrip(LEADING_SPACE)[:1]
    if first not in FORMULA_START:
        return text
    if first == "-" and _NEGATIVE_NUMBER.fullmatch(text):
        return text
    return "'" + text
