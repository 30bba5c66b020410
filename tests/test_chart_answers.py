import pytest

from rlvr.tasks.chart.answers import exact_match, extract_answer, parse_number, relaxed_match


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<answer>42</answer>", "42"),
        ("<think>x</think>\n<answer>  Yes. </answer>", "Yes"),
        ("<answer>3.5.</answer>", "3.5"),
        ("<answer>first</answer> then <answer>second</answer>", "second"),
        ("<answer>first</answer> stray </answer>", "first"),
        ("<answer>outer <answer>inner</answer>", "inner"),
        ("<answer>\n  multi\nline  \n</answer>", "multi\nline"),
        ("<answer></answer>", ""),
        ("<answer>never closed", None),
        ("</answer><answer>", None),
        ("just text", None),
        ("", None),
    ],
)
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12.0),
        ("-12.5", -12.5),
        ("\u221212", -12.0),
        ("+3", 3.0),
        ("1,234", 1234.0),
        ("1,234.5", 1234.5),
        ("-1,234,567", -1234567.0),
        ("$5", 5.0),
        ("-$5", -5.0),
        ("$-5", -5.0),
        ("€3.4M", 3.4),
        ("12 kg", 12.0),
        ("2019 year.", 2019.0),
        ("$12 million", 12.0),
        ("45%", 0.45),
        ("45 %", 0.45),
        ("12.5 percent", 0.125),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("  7  ", 7.0),
    ],
)
def test_parse_number_reads_numbers(text, expected):
    assert parse_number(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "1,23",
        "12 and 13",
        "2019-2020",
        "1/2",
        "--5",
        "inf",
        "nan",
        "1e400",
        "9" * 400,
        "1" * 101,
        "Q3",
    ],
)
def test_parse_number_rejects_non_numbers_and_non_finite_values(text):
    assert parse_number(text) is None


@pytest.mark.parametrize(
    ("prediction", "label"),
    [
        ("10", "10"),
        ("10.4", "10"),
        ("9.6", "10"),
        ("-10.4", "-10"),
        ("-9.6", "-10"),
        ("1234", "1,234"),
        ("1,234.5", "1234"),
        ("$5", "5"),
        ("5", "$5"),
        ("45%", "45"),
        ("45", "45%"),
        ("0.45", "45%"),
        ("45%", "0.45"),
        ("45%", "45%"),
        ("0", "0"),
        ("0%", "0"),
        ("Yes", "yes"),
        ("YES", "Yes"),
        ("yes", "Yes."),
        ("No", "no"),
        ("  United   States ", "united states"),
        ("2019", 2019),
        ("12.5", 12.5),
        # Values that are not finite numbers fall back to comparing the text.
        ("1e400", "1e400"),
    ],
)
def test_relaxed_match_accepts(prediction, label):
    assert relaxed_match(prediction, label)


@pytest.mark.parametrize(
    ("prediction", "label"),
    [
        ("10.6", "10"),
        ("9.4", "10"),
        # The original compared against the signed label, so every number matched a negative one.
        ("100", "-10"),
        ("-100", "-10"),
        ("10", "-10"),
        ("-10.6", "-10"),
        ("45", "0.45"),
        ("0.45", "45"),
        ("0.001", "0"),
        ("-0.001", "0"),
        ("yes", "no"),
        ("true", "yes"),
        ("United States", "States"),
        ("", ""),
        (None, "5"),
        ("5", None),
        ("inf", "5"),
        ("1e400", "1e401"),
    ],
)
def test_relaxed_match_rejects(prediction, label):
    assert not relaxed_match(prediction, label)


def test_relaxed_tolerance_is_five_percent_of_the_absolute_label():
    assert relaxed_match("105", "100") and not relaxed_match("105.01", "100")
    assert relaxed_match("-95", "-100") and not relaxed_match("-94.99", "-100")


@pytest.mark.parametrize(
    ("prediction", "label", "expected"),
    [
        ("Bar", "bar", True),
        ("  bar ", "BAR", True),
        ("12", "12", True),
        ("12.0", "12", False),
        ("1,234", "1234", False),
        ("yes.", "yes", False),
        (None, "x", False),
        ("x", None, False),
        ("", "", True),
    ],
)
def test_exact_match(prediction, label, expected):
    assert exact_match(prediction, label) is expected
