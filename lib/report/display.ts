import { createRequire } from 'node:module';
import type { Figure } from '../plot/types.js';

/**
 * MIME bundle of one figure. JupyterLab renders the plotly MIME type with its plotly
 * extension; nbconvert's HTML exporter does not know that type and takes the HTML
 * part, whose script draws the figure once the report has inlined plotly.js.
 */
export interface MimeBundle {
  [mime: string]: unknown;
}

/** The MIME type of a plotly figure: JupyterLab's plotly extension renders it. */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';
/** Marker class of every plot container batchlab emits; the browser test counts them. */
export const PLOT_CLASS = 'batchlab-plot';

let plotCounter = 0;

function escapeScriptJson(value: unknown): string {
  // JSON inside <script> must not close the tag or open a comment.
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

/**
 * The MIME bundle for a figure: plotly JSON, an HTML fallback that draws with
 * window.Plotly, and a plain-text line for terminals.
 *
 * @example
 * Object.keys(figureBundle({ data: [], layout: {} })) // => ['application/vnd.plotly.v1+json', 'text/html', 'text/plain']
 */
export function figureBundle(fig: Figure, opts: { height?: number } = {}): MimeBundle {
  const id = `batchlab-plot-${process.pid}-${Date.now().toString(36)}-${plotCounter++}`;
  const layout = { height: opts.height ?? 420, ...fig.layout };
  const config = { responsive: true, displaylogo: false };
  const title = (fig.layout.title as { text?: string } | undefined)?.text ?? 'figure';
  const html =
    `<div id="${id}" class="${PLOT_CLASS}" style="width:100%;min-height:${layout.height}px"></div>\n` +
    `<script type="text/javascript">(function(){var spec=${escapeScriptJson({ data: fig.data, layout, config })};` +
    `var n=0;function draw(){var el=document.getElementById(${JSON.stringify(id)});if(!el)return;` +
    `if(window.Plotly){window.Plotly.newPlot(el,spec.data,spec.layout,spec.config);}` +
    `else if(n++<100){setTimeout(draw,50);}else{el.textContent='plotly.js is not loaded on this page: open the exported report or enable the plotly extension';}}draw();})();</script>`;
  return {
    [PLOTLY_MIME]: { data: fig.data, layout, config },
    'text/html': html,
    'text/plain': `[plotly figure: ${title}]`,
  };
}

const require = createRequire(import.meta.url);

type WriteDisplay = (data: { data: MimeBundle; metadata: object; transient: object }, update: boolean) => void;

/** tslab's channel for display_data, present only inside a running tslab kernel. */
function tslabWriter(): WriteDisplay | undefined {
  try {
    const jupyter = require('tslab/dist/jupyter.js') as { lastWriteDisplayData?: WriteDisplay };
    return jupyter.lastWriteDisplayData ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sends a MIME bundle to the notebook (all types at once, so each front end picks
 * the one it renders). Outside a kernel it prints the text/plain part.
 *
 * @example
 * displayBundle({ 'text/markdown': '**done**', 'text/plain': 'done' }); // => bold "done" in the cell; prints done outside a kernel
 */
export function displayBundle(bundle: MimeBundle): void {
  const write = tslabWriter();
  if (!write) {
    console.log(String(bundle['text/plain'] ?? '[output]'));
    return;
  }
  write({ data: bundle, metadata: {}, transient: {} }, false);
}

/**
 * Shows a plotly figure in the notebook (JupyterLab) and in the exported report.
 *
 * @example
 * show(latencyChart(table)); // one chart in the cell's output
 */
export function show(fig: Figure, opts: { height?: number } = {}): void {
  displayBundle(figureBundle(fig, opts));
}

/**
 * Text made safe to place in HTML: & < > " ' become entities, so user text (a host name,
 * a column header, a model id) can never open a tag or an attribute.
 *
 * @example
 * escapeHtml('<img onerror=x>') // => '&lt;img onerror=x&gt;'
 */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * Markdown whose raw HTML is neutralised: outside code spans and fenced blocks, & < >
 * become entities (Markdown renders them as the characters), and javascript: link
 * targets are dropped; inside code, text is already literal.
 *
 * @example
 * escapeMarkdownHtml('a <script> in `x<y`') // => 'a &lt;script&gt; in `x<y`'
 */
export function escapeMarkdownHtml(md: string): string {
  return String(md)
    .split(/(```[\s\S]*?```|`+[^`]*`+)/g)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!).replace(/\]\(\s*javascript:/gi, '](#')))
    .join('');
}

/**
 * Shows HTML (tables, notes) in the notebook; plain text elsewhere. The caller escapes any user text in it (escapeHtml).
 *
 * @example
 * showHtml(`<b>${escapeHtml(host)}</b> ran 4 sweeps`); // => the HTML in the cell; its text without tags outside a kernel
 */
export function showHtml(html: string, text = html.replace(/<[^>]+>/g, '')): void {
  displayBundle({ 'text/html': html, 'text/plain': text });
}

/**
 * Shows Markdown in the notebook; the raw text elsewhere. Raw HTML in it is shown as
 * text, never run (escapeMarkdownHtml): prose here is often built from user data.
 *
 * @example
 * showMarkdown(`Measured on **${host}**.`);
 */
export function showMarkdown(md: string): void {
  displayBundle({ 'text/markdown': escapeMarkdownHtml(md), 'text/plain': String(md) });
}
