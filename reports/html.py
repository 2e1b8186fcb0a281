"""One self-contained HTML file: inline CSS, tables, PNGs as base64 data URIs, no network at all.

The page can be mailed, attached to an MLflow run or opened from a laptop without the store. A
tiny inline script records, on the <body>, how many images decoded and any script or resource
error, so a headless browser can check the page rendered (tests/reports/test_html_chromium.py).
"""
from __future__ import annotations

import base64
import html

from augbench.reports.render import to_html

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1200px;color:#222;
background:#fff;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:1.8em}
table.report{border-collapse:collapse;margin:12px 0 4px;font-size:13px}
table.report caption{text-align:left;font-weight:600;padding:4px 0}
table.report th,table.report td{border:1px solid #ccc;padding:3px 8px;text-align:right;white-space:nowrap}
table.report thead th{background:#eef2f7;text-align:center}
table.report tbody th{text-align:left;background:#fafafa;font-weight:500}
td.best,th.best{font-weight:700;background:#fff6d6}
.mark{color:#0a6;margin-left:2px}.mark-down .mark{color:#c33}
.notes p{font-size:12px;color:#555;margin:2px 0}
figure{margin:16px 0;display:inline-block;vertical-align:top;max-width:100%}
figure img{max-width:100%;border:1px solid #ddd}figcaption{font-size:12px;color:#444;max-width:640px}
.meta{font-size:13px;color:#444}.meta code{background:#f3f3f3;padding:0 3px}
.warn{background:#fff3f3;border-left:4px solid #c33;padding:6px 10px;font-size:13px}
nav a{margin-right:12px;font-size:13px}
"""

# Runs before anything else on the page so it sees every error; results go on <body> as data-*.
PROBE = """
(function(){
  var errors = [];
  function note(msg){ errors.push(String(msg).slice(0, 200)); }
  window.addEventListener('error', function(e){
    note(e.message || ('failed to load ' + ((e.target && (e.target.src || e.target.href)) || 'a resource')));
  }, true);
  window.addEventListener('unhandledrejection', function(e){ note('unhandled rejection: ' + e.reason); });
  var origError = console.error;
  console.error = function(){ note(Array.prototype.join.call(arguments, ' ')); return origError.apply(console, arguments); };
  window.addEventListener('load', function(){
    var imgs = document.images, ok = 0;
    for (var i = 0; i < imgs.length; i++) { if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++; }
    var b = document.body;
    b.setAttribute('data-images', imgs.length);
    b.setAttribute('data-images-ok', ok);
    b.setAttribute('data-tables', document.querySelectorAll('table.report').length);
    b.setAttribute('data-errors', errors.length);
    b.setAttribute('data-error-text', errors.join(' | '));
    b.setAttribute('data-ready', 'yes');
  });
})();
"""

SECTIONS = (("main", "Main tables"), ("stats", "Statistics: each arm against none"),
            ("pairwise", "All pairs of arms"), ("per_class", "Per class"), ("fidelity", "Fidelity"),
            ("left_out", "Left out"), ("curves", "Metric vs budget"), ("compute", "Metric vs generator compute"), ("heatmaps", "Per-class recall"),
            ("samples", "Real vs synthetic samples"), ("tsne", "t-SNE of features"),
            ("training", "Generator training curves"))


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render_page(title: str, meta: list[str], warnings: list[str], tables, figures, notes_by_section=None) -> str:
    e = html.escape
    notes_by_section = notes_by_section or {}
    body = []
    used = [(key, name) for key, name in SECTIONS if any(t.section == key for t in tables)
            or any(f.section == key for f in figures) or notes_by_section.get(key)]
    body.append(f"<h1>{e(title)}</h1>")
    body.append('<div class="meta">' + "".join(f"<p>{e(m)}</p>" for m in meta) + "</div>")
    body += [f'<p class="warn">{e(w)}</p>' for w in warnings]
    body.append("<nav>" + "".join(f'<a href="#{key}">{e(name)}</a>' for key, name in used) + "</nav>")
    for key, name in used:
        body.append(f'<section id="{key}"><h2>{e(name)}</h2>')
        body += [f"<p>{e(n)}</p>" for n in notes_by_section.get(key, [])]
        body += [to_html(t) for t in tables if t.section == key]
        for f in figures:
            if f.section == key:
                body.append(f'<figure id="fig-{e(f.key)}"><img alt="{e(f.title)}" src="{data_uri(f.png)}">'
                            f"<figcaption><b>{e(f.title)}</b>. {e(f.caption)}</figcaption></figure>")
        body.append("</section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><link rel=\"icon\" href=\"data:,\">"
            f"<title>{e(title)}</title><script>{PROBE}</script><style>{STYLE}</style></head>\n"
            "<body>\n" + "\n".join(body) + "\n</body></html>\n")
