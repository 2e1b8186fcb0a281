"""One table model, four outputs: Markdown, CSV, LaTeX and HTML.

Tables are built once as text cells with two flags (bold = best in its column or group, mark = the
arm's paired CI against ``none`` lies entirely above or below zero); each writer only decides how
those flags look. CSV gets the numbers behind the table instead of the display text, so nobody has
to parse "0.712 ± 0.031 (n=3)" back into numbers.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

MARK_TEXT = {"up": "↑", "down": "↓", "": ""}
MARK_LATEX = {"up": r"$^{\uparrow}$", "down": r"$^{\downarrow}$", "": ""}


@dataclass
class Cell:
    text: str
    bold: bool = False
    mark: str = ""  # "up" | "down" | ""


@dataclass
class Table:
    key: str                                 # file-name stem, unique within a report
    title: str
    columns: list[str]
    rows: list[list[Cell]]
    notes: list[str] = field(default_factory=list)
    data: pd.DataFrame = field(default_factory=pd.DataFrame)  # the numbers, for CSV
    section: str = ""

    def text(self, row: int, column: str) -> str:
        """Display text of one cell by column header (what tests and readers look up)."""
        return self.rows[row][self.columns.index(column)].text


def cell(text) -> Cell:
    return text if isinstance(text, Cell) else Cell(str(text))


# --- Markdown ---------------------------------------------------------------------------------------
def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(table: Table, heading: str = "###") -> str:
    lines = [f"{heading} {table.title}", ""]
    lines.append("| " + " | ".join(_md_escape(c) for c in table.columns) + " |")
    lines.append("|" + "---|" * len(table.columns))
    for row in table.rows:
        parts = []
        for c in row:
            text = _md_escape(c.text) + MARK_TEXT[c.mark]
            parts.append(f"**{text}**" if c.bold and c.text not in ("", "–") else text)
        lines.append("| " + " | ".join(parts) + " |")
    if table.notes:
        lines.append("")
        lines.extend(f"{note}  " if i < len(table.notes) - 1 else note for i, note in enumerate(table.notes))
    return "\n".join(lines)


# --- CSV ----------------------------------------------------------------------------------------------
def to_csv(table: Table) -> str:
    """The numeric long frame when there is one, else the display grid."""
    if not table.data.empty:
        return table.data.to_csv(index=False)
    frame = pd.DataFrame([[c.text for c in row] for row in table.rows], columns=table.columns)
    return frame.to_csv(index=False)


# --- LaTeX --------------------------------------------------------------------------------------------
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_LATEX_SYMBOLS = {"±": r"$\pm$", "–": "--", "−": "$-$", "≥": r"$\geq$", "≤": r"$\leq$", "↑": r"$\uparrow$",
                  "↓": r"$\downarrow$", "×": r"$\times$", "α": r"$\alpha$"}


def latex_escape(text: str) -> str:
    out = []
    for ch in str(text):
        out.append(_LATEX_SPECIAL.get(ch) or _LATEX_SYMBOLS.get(ch) or ch)
    return "".join(out)


def to_latex(table: Table) -> str:
    """A booktabs tabular inside a table float; needs \\usepackage{booktabs} only."""
    spec = "l" * min(2, len(table.columns)) + "r" * max(0, len(table.columns) - 2)
    lines = [r"\begin{table}[t]", r"\centering", r"\small",
             rf"\caption{{{latex_escape(table.title)}}}", rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(latex_escape(c) for c in table.columns) + r" \\", r"\midrule"]
    for row in table.rows:
        parts = []
        for c in row:
            text = latex_escape(c.text)
            if c.bold and c.text not in ("", "–"):
                text = rf"\textbf{{{text}}}"
            parts.append(text + MARK_LATEX[c.mark])
        lines.append(" & ".join(parts) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if table.notes:
        lines.append(r"\par\smallskip\footnotesize " + " ".join(latex_escape(n) for n in table.notes))
    lines.append(r"\end{table}")
    return "\n".join(lines)


# --- HTML ---------------------------------------------------------------------------------------------
def to_html(table: Table) -> str:
    e = html.escape
    out = [f'<table class="report" id="table-{e(table.key)}">', f"<caption>{e(table.title)}</caption>", "<thead><tr>"]
    out += [f"<th>{e(c)}</th>" for c in table.columns]
    out.append("</tr></thead><tbody>")
    for row in table.rows:
        out.append("<tr>")
        for i, c in enumerate(row):
            classes = [name for name, on in (("best", c.bold), (f"mark-{c.mark}", bool(c.mark))) if on]
            attr = f' class="{" ".join(classes)}"' if classes else ""
            tag = "th" if i == 0 else "td"
            mark = f'<span class="mark">{MARK_TEXT[c.mark]}</span>' if c.mark else ""
            out.append(f"<{tag}{attr}>{e(c.text)}{mark}</{tag}>")
        out.append("</tr>")
    out.append("</tbody></table>")
    if table.notes:
        out.append('<div class="notes">' + "".join(f"<p>{e(n)}</p>" for n in table.notes) + "</div>")
    return "\n".join(out)
