"""Reading and checking a Countdown answer: an arithmetic expression over the given numbers.

The expression is parsed with ``ast.parse(mode="eval")`` and evaluated by walking the tree with exact fractions;
it is never executed. Allowed: non-negative integer literals in ASCII digits, binary ``+ - * /`` and
parentheses. Not allowed, so simply wrong: unary minus or plus (the classic task has none, and it would let a
model negate a number it was not given), ``**``, ``//``, ``%``, names, calls, lambdas, decimals, an ``=`` sign
and any other character. Division by zero, over-long or too deeply nested input, and parser errors
(SyntaxError, RecursionError, MemoryError) are wrong answers too, never exceptions.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction

# Four numbers of up to three digits, with operators, parentheses and spaces, fit in well under 100 characters;
# the cap keeps the parser away from hostile input (10k characters, thousands of parentheses).
MAX_EXPRESSION_CHARS = 200
TARGET_TOLERANCE = 1e-6
ALLOWED_CHARACTERS = frozenset("0123456789+-*/() \t\n")
OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


def last_answer(text: str) -> str | None:
    """The content of the last ``<answer>...</answer>`` in ``text``, or ``None`` when there is none.

    >>> last_answer("<answer>1 + 2</answer> no, <answer> 3 * 1 </answer>")
    ' 3 * 1 '
    """
    start = text.rfind("<answer>")
    if start < 0:
        return None
    content_start = start + len("<answer>")
    end = text.find("</answer>", content_start)
    return None if end < 0 else text[content_start:end]


def parse_expression(expression: str) -> ast.expr | None:
    """The syntax tree of a well-formed Countdown expression, or ``None`` when anything is off.

    >>> parse_expression("(1 + 2) * 3") is not None, parse_expression("-1 + 2"), parse_expression("2 ** 3")
    (True, None, None)
    """
    if len(expression) > MAX_EXPRESSION_CHARS or not set(expression) <= ALLOWED_CHARACTERS:
        return None
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    for node in ast.walk(tree.body):
        # ast.walk also yields each BinOp's operator node; both are checked against the same four operators.
        if isinstance(node, (ast.BinOp, ast.operator)) and type(getattr(node, "op", node)) in OPERATORS:
            continue
        if isinstance(node, ast.Constant) and type(node.value) is int:
            continue
        return None
    return tree.body


def numbers_used(tree: ast.expr) -> list[int]:
    """The integer literals of a parsed expression, left to right."""
    return [node.value for node in _leaves_in_order(tree)]


def _leaves_in_order(tree: ast.expr) -> list[ast.Constant]:
    leaves, pending = [], [tree]
    while pending:  # iterative: a long chain of additions must not hit the recursion limit
        node = pending.pop()
        if isinstance(node, ast.BinOp):
            pending.extend((node.right, node.left))
        else:
            leaves.append(node)
    return leaves


def evaluate(tree: ast.expr) -> Fraction | None:
    """The exact value of a parsed expression, or ``None`` on division by zero."""
    if isinstance(tree, ast.Constant):
        return Fraction(tree.value)
    left, right = evaluate(tree.left), evaluate(tree.right)
    return None if left is None or right is None else _apply(tree.op, left, right)


def _apply(operator: ast.operator, left: Fraction, right: Fraction) -> Fraction | None:
    if isinstance(operator, ast.Add):
        return left + right
    if isinstance(operator, ast.Sub):
        return left - right
    if isinstance(operator, ast.Mult):
        return left * right
    return None if right == 0 else left / right


def is_correct_solution(expression: str, nums: Sequence[int], target: float) -> bool:
    """Whether ``expression`` uses every number of ``nums`` exactly once and equals ``target`` within 1e-6.

    >>> is_correct_solution("(6 - 2) * 5", [2, 5, 6], 20), is_correct_solution("6 * 5 - 2", [2, 5, 6], 20)
    (True, False)
    >>> is_correct_solution("__import__('os')", [1], 1), is_correct_solution("9**9**9**9", [9, 9, 9, 9], 1)
    (False, False)
    """
    tree = parse_expression(expression)
    # The numbers are compared first, so only trees with as many leaves as given numbers are ever evaluated.
    if tree is None or Counter(numbers_used(tree)) != Counter(int(number) for number in nums):
        return False
    value = evaluate(tree)
    return value is not None and abs(value - Fraction(target)) <= TARGET_TOLERANCE


def format_number(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def evaluation_steps(expression: str) -> list[str]:
    """One line ``a op b = c`` per operation, innermost first: the worked steps of a reference solution.

    >>> evaluation_steps("(6 - 2) * 5")
    ['6 - 2 = 4', '4 * 5 = 20']
    """
    tree = parse_expression(expression)
    if tree is None:
        return []
    steps: list[str] = []
    _collect_steps(tree, steps)
    return steps


def _collect_steps(node: ast.expr, steps: list[str]) -> Fraction | None:
    if isinstance(node, ast.Constant):
        return Fraction(node.value)
    left, right = _collect_steps(node.left, steps), _collect_steps(node.right, steps)
    value = None if left is None or right is None else _apply(node.op, left, right)
    if value is not None:
        symbol = OPERATORS[type(node.op)]
        steps.append(f"{format_number(left)} {symbol} {format_number(right)} = {format_number(value)}")
    return value
