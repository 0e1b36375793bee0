"""A sweep's `constraint:`: an expression checked against a whitelist of syntax, evaluated without `eval`."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from typing import Any

from multifolio.errors import did_you_mean

_OPERATORS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Mod: operator.mod, ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.USub: operator.neg, ast.UAdd: operator.pos,
    ast.Not: operator.not_,
}
_ALLOWED = "names, numbers, strings, comparisons, and/or/not, + - * / % and parentheses"


def _dotted(node: ast.AST) -> str | None:
    """`strategy.parameters.fast_period` or `risk.position_sizers[0].size` read back from the syntax tree."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
            and type(node.slice.value) is int:
        inner = _dotted(node.value)
        return None if inner is None else f"{inner}[{node.slice.value}]"
    return None


class Constraint:
    """A checked `constraint:` expression, evaluated per combination without `eval`."""

    def __init__(self, text: str, names: Mapping[str, str]) -> None:
        """`names`: every name the expression may use (labels and full paths) → the label it stands for."""
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as error:
            raise ValueError(f"{text!r} is not an expression: {error.msg}") from None
        self.text = text
        self._names = names
        self._check(tree.body)
        self._tree = tree.body

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)):
            name = _dotted(node)
            if name is None:
                raise ValueError(f"{ast.unparse(node)!r} is not allowed; use {_ALLOWED}")
            if name not in self._names:
                raise ValueError(f"unknown name {name!r}; {did_you_mean(name, self._names)}")
            return
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
            return  # True and False are ints here
        if isinstance(node, ast.BoolOp) or (isinstance(node, (ast.BinOp, ast.UnaryOp)) and type(node.op) in
                                            _OPERATORS) or (isinstance(node, ast.Compare) and
                                                            all(type(op) in _OPERATORS for op in node.ops)):
            for child in ast.iter_child_nodes(node):
                if not isinstance(child, (ast.operator, ast.unaryop, ast.cmpop, ast.boolop)):
                    self._check(child)
            return
        raise ValueError(f"{ast.unparse(node)!r} is not allowed; use {_ALLOWED}")

    def __call__(self, values: Mapping[str, Any]) -> bool:
        """Whether the combination (label → value) passes; ValueError when it cannot be evaluated."""
        try:
            return bool(self._evaluate(self._tree, values))
        except (ArithmeticError, TypeError) as error:
            shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
            raise ValueError(f"{self.text!r} cannot be evaluated for {shown}: {error}") from None

    def _evaluate(self, node: ast.AST, values: Mapping[str, Any]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.BoolOp):
            parts = (self._evaluate(value, values) for value in node.values)
            return all(parts) if isinstance(node.op, ast.And) else any(parts)
        if isinstance(node, ast.UnaryOp):
            return _OPERATORS[type(node.op)](self._evaluate(node.operand, values))
        if isinstance(node, ast.BinOp):
            left, right = self._evaluate(node.left, values), self._evaluate(node.right, values)
            if not (_is_number(left) and _is_number(right)):  # "x" * 10**9 would allocate a gigabyte
                raise TypeError(f"arithmetic takes numbers, found {left!r} and {right!r}")
            return _OPERATORS[type(node.op)](left, right)
        if isinstance(node, ast.Compare):
            left = self._evaluate(node.left, values)
            for op, right_node in zip(node.ops, node.comparators):
                right = self._evaluate(right_node, values)
                if not _OPERATORS[type(op)](left, right):
                    return False
                left = right
            return True
        return values[self._names[_dotted(node)]]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
