"""Execute tslab notebooks headlessly and export self-contained HTML reports.

Run with the project venv's python (scripts/report.mjs and scripts/run-notebook.mjs do):

    python scripts/notebooks.py --out reports [--executed .cache/executed] [--no-html] NB.ipynb...

For each notebook: execute it with the tslab kernel (every cell, even after an error,
so that one run lists every failing cell), write the executed .ipynb, and export HTML
with nbconvert's lab template. The HTML is made self-contained and offline: plotly.js
is inlined once (the minified build), before any AMD loader can capture it, and
references to CDNs (MathJax, require.js, fonts) are removed; long code lines wrap.
A JSON summary goes to stdout's last line: per notebook its errors, plots, the
question it asks and its answer, from its answer box (showAnswer), which also moves to
the top of the report; without a box, its "**Question:**" paragraph and the computed
Markdown or printed sentences with numbers that the run produced.
"""
import argparse
import copy
import html as html_lib
import json
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
PLOTLY_MIME = "application/vnd.plotly.v1+json"


def count_outputs(nb):
    errors, plots = [], 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                errors.append({"cell": i, "ename": out.get("ename"), "evalue": out.get("evalue", "")[:2000]})
            if out.get("output_type") in ("display_data", "execute_result") and PLOTLY_MIME in out.get("data", {}):
                plots += 1
    return errors, plots


EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\bsrc=\"(?:https?:)?//[^\"]*\"[^>]*>\s*</script>", re.I)
EXTERNAL_LINK = re.compile(r"<link[^>]*\bhref=\"(?:https?:)?//[^\"]*\"[^>]*/?>", re.I)
MATHJAX_CONFIG = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)


QUESTION = re.compile(r"\*\*Question:?\*\*:?\s*(.+?)(?:\n\n|$)", re.S)
HAS_NUMBER = re.compile(r"\d")


ANSWER_MIME = "application/vnd.batchlab.answer+json"
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def plain(text):
    """Markdown or HTML output as plain text: tags, emphasis and code marks dropped,
    entities decoded, Markdown backslash escapes removed."""
    text = re.sub(r"<[^>]+>", "", str(text))
    text = re.sub(r"(\*\*|__|`)", "", text)
    text = html_lib.unescape(text)
    text = re.sub(r"\\([$*_`\\])", r"\1", text)
    return " ".join(text.split())


def answers_of(nb):
    """Every answer box the notebook showed (showAnswer), in order."""
    return [
        out.get("data", {})[ANSWER_MIME]
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if ANSWER_MIME in out.get("data", {})
    ]


def answer_of(nb):
    """The first answer box the notebook showed (showAnswer), or None."""
    boxes = answers_of(nb)
    return boxes[0] if boxes else None


def box_summary(box):
    """An answer box for the index: its question, its first sentence and what its key numbers are."""
    bases = []
    for n in box.get("numbers", []) or []:
        if n.get("basis") and n["basis"] not in bases:
            bases.append(n["basis"])
    return {"question": plain(box.get("question", "")), "headline": SENTENCE_END.split(plain(box.get("answer", "")))[0], "bases": bases}


def hoist_answer(nb):
    """A copy of the executed notebook whose answer box opens the report: the box moves
    from the cell that computed it to just below the title."""
    nb = copy.deepcopy(nb)
    boxes = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        keep = []
        for out in cell.get("outputs", []):
            if ANSWER_MIME in out.get("data", {}):
                boxes.append(out["data"]["text/html"])
            else:
                keep.append(out)
        cell["outputs"] = keep
    if boxes:
        at = 0
        first = nb.cells[0] if nb.cells else None
        if first is not None and first.cell_type == "markdown":
            # Right under the title: the introduction follows the answer.
            title, _, rest = first.source.partition("\n")
            at = 1
            if title.startswith("#") and rest.strip():
                first.source = title
                nb.cells.insert(1, nbformat.v4.new_markdown_cell(rest.strip()))
        nb.cells.insert(at, nbformat.v4.new_markdown_cell("\n".join(boxes)))
    return nb


def question_and_headline(nb):
    """The notebook's question and one sentence of answer: from its answer box (showAnswer)
    when it has one; else its **Question:** paragraph and up to three computed sentences
    with numbers (Markdown displays first, then printed lines)."""
    box = answer_of(nb)
    if box:
        first = box_summary(box)
        return first["question"], [first["headline"]]
    question = None
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = QUESTION.search(cell.source)
            if m:
                question = re.sub(r"(\*\*|__|`)", "", " ".join(m.group(1).split()))
                break
    if question is None:  # the title asks the question
        for cell in nb.cells:
            m = re.search(r"^#\s+(.+)$", cell.source, re.M) if cell.cell_type == "markdown" else None
            if m:
                question = m.group(1).strip()
                break
    markdown, printed = [], []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") in ("display_data", "execute_result") and "text/markdown" in out.get("data", {}):
                # The index shows plain text.
                text = plain(out["data"]["text/markdown"])
                if HAS_NUMBER.search(text):
                    markdown.append(text)
            elif out.get("output_type") == "stream" and out.get("name") == "stdout":
                for line in str(out.get("text", "")).splitlines():
                    if HAS_NUMBER.search(line) and len(line) > 30:
                        printed.append(line.strip())
    headline = (markdown or printed)[:3]
    if not headline:  # a notebook that answers in tables: the first row of its first table
        for cell in nb.cells:
            for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
                text = out.get("data", {}).get("text/plain", "") if "text/html" in out.get("data", {}) else ""
                lines = [l for l in str(text).splitlines() if l.startswith("|") and not set(l) <= set("|-: ")]
                if len(lines) >= 2:
                    cols = [c.strip() for c in lines[0].strip("|").split("|")]
                    vals = [c.strip() for c in lines[1].strip("|").split("|")]
                    short = lambda v: re.sub(r"\d+\.\d{4,}", lambda m: f"{float(m.group()):.4g}", v)
                    headline = ["; ".join(f"{c}: {short(v)}" for c, v in zip(cols, vals))]
                    break
            if headline:
                break
    return question, headline


# Long code lines wrap instead of being cut off; wide outputs scroll.
WRAP_CSS = """<style>
.jp-InputArea-editor pre, .jp-InputArea-editor .highlight pre, .jp-RenderedText pre { white-space: pre-wrap; overflow-wrap: anywhere; }
.jp-OutputArea-output { overflow-x: auto; }
</style>
"""


BASIC_TYPES = {"scatter", "bar", "pie"}


def plotly_bundle(kind):
    """Minified plotly.js: the basic build, or the full build minified with esbuild."""
    if kind == "basic":
        return (ROOT / "node_modules" / "plotly.js-basic-dist-min" / "plotly-basic.min.js").read_text(encoding="utf-8")
    import subprocess
    code = "const e=require('esbuild'),f=require('fs');process.stdout.write(e.transformSync(f.readFileSync(process.argv[1],'utf8'),{minify:true,legalComments:'none'}).code)"
    full = ROOT / "node_modules" / "plotly.js-dist" / "plotly.js"
    return subprocess.run(["node", "-e", code, str(full)], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def offline_html(html, plotly_js):
    html = MATHJAX_CONFIG.sub("", html)
    html = EXTERNAL_SCRIPT.sub("", html)
    html = EXTERNAL_LINK.sub("", html)
    # plotly.js registers itself as an AMD module when a `define` is present and would
    # then never set window.Plotly; hide any loader while it runs.
    safe_js = plotly_js.replace("</script", "<\\/script")
    bundle = (
        "<script>window.__batchlabDefine = window.define; window.define = undefined;</script>\n"
        "<script>" + safe_js + "</script>\n"
        "<script>window.define = window.__batchlabDefine; delete window.__batchlabDefine;</script>\n"
        + WRAP_CSS
    )
    head = html.find("<head>")
    if head < 0:
        raise RuntimeError("exported HTML has no <head>")
    return html[: head + 6] + "\n" + bundle + html[head + 6 :]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("notebooks", nargs="+")
    ap.add_argument("--out", default=str(ROOT / "reports"))
    ap.add_argument("--executed", default=str(ROOT / ".cache" / "executed"))
    ap.add_argument("--kernel", default="tslab")
    ap.add_argument("--timeout", type=int, default=1200, help="seconds per cell")
    ap.add_argument("--no-html", action="store_true")
    args = ap.parse_args()

    out_dir, exec_dir = Path(args.out), Path(args.executed)
    out_dir.mkdir(parents=True, exist_ok=True)
    exec_dir.mkdir(parents=True, exist_ok=True)
    bundles = {}

    def plotly_for(nb):
        # The basic build (scatter, bar, pie: 1.1 MB) draws every batchlab chart; a figure
        # of another type gets the full build, minified once per run.
        types = set()
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                for trace in out.get("data", {}).get(PLOTLY_MIME, {}).get("data", []) or []:
                    types.add(trace.get("type", "scatter"))
        key = "basic" if types <= BASIC_TYPES else "full"
        if key not in bundles:
            bundles[key] = plotly_bundle(key)
        return bundles[key]

    summary = []
    for path in map(Path, args.notebooks):
        t0 = time.time()
        print(f"[notebooks] executing {path.name} ...", file=sys.stderr, flush=True)
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(
            nb,
            kernel_name=args.kernel,
            timeout=args.timeout,
            allow_errors=True,
            resources={"metadata": {"path": str(path.parent.resolve())}},
        )
        failed_replies = []

        def on_cell_executed(cell, cell_index, execute_reply, **_):
            # tslab reports a TypeScript compile error as stderr text plus an execute_reply
            # with status "error" and no error output: count the reply, not only outputs.
            content = execute_reply.get("content", {})
            has_error_output = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
            if content.get("status") == "error" and not has_error_output:
                stderr = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stderr")
                failed_replies.append({"cell": cell_index, "ename": content.get("ename") or "KernelError", "evalue": (content.get("evalue") or stderr)[:2000]})

        client.on_cell_executed = on_cell_executed
        fatal = None
        try:
            client.execute()
        except Exception as err:  # a dead kernel or a timeout: record it, keep the partial notebook
            fatal = f"{type(err).__name__}: {err}"[:2000]
        errors, plots = count_outputs(nb)
        errors.extend(failed_replies)
        if fatal:
            errors.append({"cell": None, "ename": "ExecutionFailed", "evalue": fatal})
        executed = exec_dir / path.name
        nbformat.write(nb, executed)
        question, headline = question_and_headline(nb)
        boxes = [box_summary(b) for b in answers_of(nb)]
        record = {
            "notebook": path.name,
            "question": question,
            "headline": headline,
            # Every answer box: the index gives each question, and what each box's key numbers are.
            "answers": boxes,
            "seconds": round(time.time() - t0, 1),
            "errors": errors,
            "plots": plots,
            "executed": str(executed),
        }
        if not args.no_html:
            plotly_js = plotly_for(nb)
            exporter = HTMLExporter(template_name="lab")
            body, _ = exporter.from_notebook_node(hoist_answer(nb))
            html_path = out_dir / (path.stem + ".html")
            html_path.write_text(offline_html(body, plotly_js), encoding="utf-8")
            record["html"] = str(html_path)
        status = "ok" if not errors else f"{len(errors)} error(s)"
        print(f"[notebooks] {path.name}: {status}, {plots} plot(s), {record['seconds']} s", file=sys.stderr, flush=True)
        for e in errors:
            print(f"[notebooks]   cell {e['cell']}: {e['ename']}: {e['evalue'][:500]}", file=sys.stderr, flush=True)
        summary.append(record)
    print(json.dumps(summary))
    return 1 if any(r["errors"] for r in summary) else 0


if __name__ == "__main__":
    sys.exit(main())
