"""Reading the final answer out of a completion and comparing it with the label.

Rules, shared by the accuracy reward and the evaluation metrics:

- ``extract_answer``: the text of the last complete ``<answer>...</answer>``, whitespace trimmed and trailing
  full stops removed. ``None`` when there is no complete answer element.
- ``parse_number``: one number, optionally signed (``-``, ``+`` or the Unicode minus), optionally with
  thousands separators (``1,234.5``), an exponent (``1e5``), a currency symbol before it (``$ € £ ¥ ₹``), a
  percent sign or the word "percent" after it (read as /100) and then a short unit of letters (``12 kg``,
  ``3.4M``, ``$5 billion``). Units and scale words are ignored, not applied: chart labels are written in the
  axis' own units, so "3.4M" is read as 3.4. Anything else, text over 100 characters and any value that is not
  finite give ``None``.
- ``relaxed_match``: when both sides are numbers, they match within 5% of ``|label|``; a zero label must be
  matched exactly. A side written with "%" may be read either as written or divided by 100, so "45%" matches
  both "45" and "0.45", while "45" never matches "0.45". When either side is not a number, the two texts must
  be equal after trimming, ignoring case, runs of whitespace and trailing ``.`` or ``!``. That covers yes/no
  answers ("Yes.", "YES", "yes" all match "Yes"); "true"/"false" are not read as yes/no.
- ``exact_match``: equal after trimming, ignoring case.

Every function here is total: it returns a value for any string and never raises.
"""

from __future__ import annotations

import math
import re

RELATIVE_TOLERANCE = 0.05
# Longer text is not read as a number; the cap also keeps the pattern's backtracking small on any input.
MAX_NUMBER_TEXT_LENGTH = 100

_ANSWER_OPEN = "<answer>"
_ANSWER_CLOSE = "</answer>"

_QUANTITY_PATTERN = re.compile(
    r"""
    (?:(?P<leading_sign>[-+\u2212])\s*)?
    (?:(?P<currency>[$€£¥₹])\s*)?
    (?P<sign>[-+\u2212])?
    (?P<number>[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]*)?|\.[0-9]+)
    (?P<exponent>[eE][-+]?[0-9]+)?
    \s*(?P<percent>%|percent)?
    (?:\s*(?:[^\W\d_]|°)(?:[^\W\d_]|[ ./°²³]){0,29})?
    \.?
    """,
    re.VERBOSE,
)


def extract_answer(text: str) -> str | None:
    """Return the text of the last complete ``<answer>...</answer>``, trimmed and without trailing full stops.

    >>> extract_answer("<think>...</think><answer> 12.5. </answer>")
    '12.5'
    >>> extract_answer("no answer here") is None
    True
    """
    if not isinstance(text, str):
        return None
    last_close = text.rfind(_ANSWER_CLOSE)
    if last_close < 0:
        return None
    # The last opening tag that lies wholly before the last closing tag, paired with the first closing tag after
    # it; this stays linear on adversarial text, unlike scanning every opening tag.
    start = text.rfind(_ANSWER_OPEN, 0, last_close)
    if start < 0:
        return None
    content_start = start + len(_ANSWER_OPEN)
    end = text.find(_ANSWER_CLOSE, content_start)
    return text[content_start:end].strip().rstrip(".").rstrip()


def _parse_quantity(text: str) -> tuple[float, bool] | None:
    """Return ``(number as written, written with a percent sign)`` or ``None``."""
    text = text.strip()
    if len(text) > MAX_NUMBER_TEXT_LENGTH:
        return None
    match = _QUANTITY_PATTERN.fullmatch(text)
    if match is None:
        return None
    if match["leading_sign"] and match["sign"]:
        return None
    value = float(match["number"].replace(",", "") + (match["exponent"] or ""))
    if not math.isfinite(value):
        return None
    if (match["leading_sign"] or match["sign"]) in ("-", "\u2212"):
        value = -value
    return value, match["percent"] is not None


def parse_number(text: str) -> float | None:
    """Read one number from an answer; percentages are divided by 100. ``None`` when it is not a number.

    >>> parse_number("-1,234.5")
    -1234.5
    >>> parse_number("45%")
    0.45
    >>> parse_number("$12 million")
    12.0
    >>> parse_number("12 and 13") is None
    True
    """
    if not isinstance(text, str):
        return None
    quantity = _parse_quantity(text)
    if quantity is None:
        return None
    value, is_percent = quantity
    return value / 100 if is_percent else value


def _readings(quantity: tuple[float, bool]) -> tuple[float, ...]:
    value, is_percent = quantity
    return (value, value / 100) if is_percent else (value,)


def _numbers_close(prediction: float, label: float) -> bool:
    if label == 0:
        return prediction == 0
    return abs(prediction - label) <= RELATIVE_TOLERANCE * abs(label)


def _normalise_text(text: str) -> str:
    return " ".join(text.split()).casefold().rstrip(".!").rstrip()


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def relaxed_match(prediction: str | None, label: object) -> bool:
    """Relaxed accuracy: numbers within 5% of ``|label|`` (zero exactly), otherwise a normalised text match.

    >>> relaxed_match("-10.4", "-10")
    True
    >>> relaxed_match("45%", "0.45"), relaxed_match("45", "45%"), relaxed_match("45", "0.45")
    (True, True, False)
    >>> relaxed_match("YES.", "Yes")
    True
    """
    prediction_text = _as_text(prediction)
    label_text = _as_text(label)
    if prediction_text is None or label_text is None:
        return False
    predicted_quantity = _parse_quantity(prediction_text)
    label_quantity = _parse_quantity(label_text)
    if predicted_quantity is not None and label_quantity is not None:
        return any(
            _numbers_close(predicted, expected)
            for predicted in _readings(predicted_quantity)
            for expected in _readings(label_quantity)
        )
    normalised_prediction = _normalise_text(prediction_text)
    return bool(normalised_prediction) and normalised_prediction == _normalise_text(label_text)


def exact_match(prediction: str | None, label: object) -> bool:
    """Exact match: the same text after trimming, ignoring case.

    >>> exact_match(" Bar ", "bar"), exact_match("12.0", "12")
    (True, False)
    """
    prediction_text = _as_text(prediction)
    label_text = _as_text(label)
    if prediction_text is None or label_text is None:
        return False
    return prediction_text.strip().casefold() == label_text.strip().casefold()
