"""The numbers behind one synthetic chart, shared by the question writer (synthetic.py) and the drawing."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChartData:
    """The numbers behind one chart. ``values[s][i]`` is series ``s`` at category ``i``, in units of
    ``10 ** -decimals`` so arithmetic stays exact."""

    chart_type: str
    title: str
    measure: str
    category_singular: str
    category_plural: str
    categories: tuple[str, ...]
    series: tuple[str, ...]
    values: tuple[tuple[int, ...], ...]
    decimals: int

    def show(self, units: int) -> str:
        if self.decimals == 0:
            return str(units)
        sign = "-" if units < 0 else ""
        return f"{sign}{abs(units) // 10}.{abs(units) % 10}"

    def table(self) -> dict:
        series_columns = self.series if len(self.series) > 1 else (self.measure.capitalize(),)
        rows = [[name, *(self.show(values[i]) for values in self.values)] for i, name in enumerate(self.categories)]
        return {"columns": [self.category_singular.capitalize(), *series_columns], "rows": rows}
