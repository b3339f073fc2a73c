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
 * A dollar sign that every notebook front end shows as text. JupyterLab reads `$…$` as
 * mathematics twice: in the Markdown source (so the sign is an entity there) and again
 * in the rendered page, where MathJax pairs dollar signs only within one run of text
 * (so each sign sits in its own element, and two amounts never pair up).
 */
export const DOLLAR_HTML = '<span class="batchlab-dollar">&#36;</span>';

/**
 * Text made safe to show as HTML content (escapeHtml) whose dollar signs stay text in
 * JupyterLab, nbconvert and the reports: for cells, headers and boxes, not attributes.
 *
 * @example
 * escapeHtmlText('<b> costs $2') // => '&lt;b&gt; costs <span class="batchlab-dollar">&#36;</span>2'
 */
export function escapeHtmlText(text: unknown): string {
  return escapeHtml(text).replace(/\$/g, DOLLAR_HTML);
}

/**
 * Text inside code written as HTML: every HTML-significant character, the dollar sign, and
 * the characters Markdown would still read around inline HTML (backticks, emphasis,
 * brackets, backslashes) as entities.
 */
function escapeCode(text: string): string {
  return escapeHtml(text).replace(/[$`*_~[\]\\]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const PROSE_ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', $: DOLLAR_HTML, '`': '&#96;' };
// Link targets that run code, as an inline link and as a reference definition.
const UNSAFE_LINK = /\]\(\s*(?:javascript|vbscript|data):/gi;
const UNSAFE_REFERENCE = /^( {0,3}\[[^\]\n]*\]:\s*)(?:javascript|vbscript|data):/gim;

/** Prose outside code blocks: code spans become <code> elements, everything else is text. */
function escapeProse(text: string): string {
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '\\' && i + 1 < n && '&<>$`'.includes(text[i + 1])) {
      // A Markdown backslash escape of a character that is escaped here anyway.
      out += PROSE_ENTITY[text[i + 1]];
      i += 2;
    } else if (c === '`') {
      let j = i;
      while (j < n && text[j] === '`') j++;
      const run = j - i;
      // CommonMark: a run of N backticks opens a code span only if a later run of exactly N closes it.
      let close = -1;
      for (let k = j; k < n; ) {
        if (text[k] !== '`') {
          k++;
          continue;
        }
        let e = k;
        while (e < n && text[e] === '`') e++;
        if (e - k === run) {
          close = k;
          break;
        }
        k = e;
      }
      if (close < 0) {
        out += '&#96;'.repeat(run);
        i = j;
        continue;
      }
      let code = text.slice(j, close).replace(/\r?\n/g, ' ');
      if (code.length > 1 && code.startsWith(' ') && code.endsWith(' ') && code.trim() !== '') code = code.slice(1, -1);
      out += `<code>${escapeCode(code)}</code>`;
      i = close + run;
    } else {
      out += PROSE_ENTITY[c] ?? c;
      i++;
    }
  }
  return out.replace(UNSAFE_LINK, '](#').replace(UNSAFE_REFERENCE, '$1#');
}

/**
 * Markdown whose raw HTML is neutralised and whose dollar signs stay text, in every
 * front end (JupyterLab, nbconvert, the HTML reports). Outside code, & < > become
 * entities, each $ becomes DOLLAR_HTML, and javascript:, vbscript: and data: link
 * targets are dropped. Code spans and fenced blocks are written out as <code> and
 * <pre><code> elements with every character escaped, so no renderer's idea of where
 * code starts or ends (an unmatched backtick run, a fence that never closes) can let
 * HTML through; backticks left over are entities.
 *
 * @example
 * escapeMarkdownHtml('a <script> in `x<y` costs $2') // => 'a &lt;script&gt; in <code>x&lt;y</code> costs <span class="batchlab-dollar">&#36;</span>2'
 */
export function escapeMarkdownHtml(md: string): string {
  const lines = String(md).split('\n');
  const out: string[] = [];
  let prose: string[] = [];
  const flush = () => {
    if (prose.length) out.push(escapeProse(prose.join('\n')));
    prose = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(lines[i]);
    // A backtick fence's info string holds no backtick (CommonMark); such a line is prose.
    if (!open || (open[1][0] === '`' && open[2].includes('`'))) {
      prose.push(lines[i]);
      continue;
    }
    flush();
    const fence = open[1];
    const closing = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !closing.test(lines[j])) body.push(lines[j++]);
    // An unclosed fence runs to the end of the text, as in CommonMark.
    out.push(`<pre><code>${escapeCode(body.join('\n'))}</code></pre>`);
    i = j;
  }
  flush();
  return out.join('\n');
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
