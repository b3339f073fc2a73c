import { InputError } from '../util/errors.js';
import { quantileSorted } from '../util/stats.js';
import { displayBundle, escapeHtmlText } from './display.js';
import type { MimeBundle } from './display.js';

/**
 * What a printed number is (CONTRIBUTING: every number says so). 'validation' is how far a
 * prediction lies from a published or measured figure: an error, or a count of targets met.
 */
export type FigureBasis = 'measured' | 'interpolated' | 'extrapolated' | 'calibrated' | 'bound' | 'published' | 'predicted' | 'validation';
/** Every FigureBasis, in the order the answer box checks them. */
export const FIGURE_BASES: readonly FigureBasis[] = ['measured', 'interpolated', 'extrapolated', 'calibrated', 'bound', 'published', 'predicted', 'validation'];

/** One key number of an answer: its value already formatted with its unit. */
export interface KeyNumber {
  label: string;
  value: string;
  basis: FigureBasis;
  /** The spread of a machine-dependent figure (e.g. 'IQR 280–310 ms over 5 runs'). */
  spread?: string;
}

/** A report's answer: the question, the answer in one or two sentences, up to three key numbers. */
export interface Answer {
  question: string;
  answer: string;
  numbers: readonly KeyNumber[];
}

/** The MIME type carrying the answer as data: the report index reads it; front ends ignore it. */
export const ANSWER_MIME = 'application/vnd.batchlab.answer+json';
/** Marker class of the answer box; the report exporter moves the box to the top of the report. */
export const ANSWER_CLASS = 'batchlab-answer';

// A sentence ends at . ! or ? followed by a space and a capital, or at the end.
const SENTENCE_END = /[.!?](?=\s+[A-Z]|\s*$)/g;

function checkAnswer(a: Answer): void {
  if (!a || typeof a !== 'object') throw new InputError('answer', a, 'an object { question, answer, numbers }');
  for (const field of ['question', 'answer'] as const) {
    if (typeof a[field] !== 'string' || a[field].trim() === '') throw new InputError(field, a[field], 'a non-empty string');
  }
  const sentences = a.answer.trim().match(SENTENCE_END)?.length ?? 1;
  if (sentences > 2) throw new InputError('answer', a.answer, 'one or two sentences (the rest belongs in the report)');
  if (!Array.isArray(a.numbers) || a.numbers.length < 1 || a.numbers.length > 3) throw new InputError('numbers', a.numbers, 'one to three key numbers');
  a.numbers.forEach((n, i) => {
    if (!n || typeof n.label !== 'string' || n.label === '' || typeof n.value !== 'string' || n.value === '') {
      throw new InputError(`numbers[${i}]`, n, 'a { label, value, basis } with a non-empty label and value');
    }
    if (!FIGURE_BASES.includes(n.basis)) throw new InputError(`numbers[${i}].basis`, n.basis, `one of ${FIGURE_BASES.join(', ')}`);
    if (n.spread !== undefined && (typeof n.spread !== 'string' || n.spread === '')) throw new InputError(`numbers[${i}].spread`, n.spread, 'a non-empty string when given');
  });
}

/**
 * The answer box of a report as a MIME bundle: an HTML box (question, answer, the key
 * numbers each with what it is and its spread; every text escaped, dollar signs kept as
 * text), the answer as data for the report index, and plain text. A key number that
 * does not say what it is, more than two sentences, or more than three numbers is an
 * InputError.
 *
 * @example
 * answerBundle({ question: 'Is a batch free?', answer: 'Almost: 8 tokens cost 1.3× one.', numbers: [{ label: 'M = 8 / M = 1 time', value: '1.3×', basis: 'measured' }] })['text/plain']
 * // => 'Question: Is a batch free?\nAnswer: Almost: 8 tokens cost 1.3× one.\n- M = 8 / M = 1 time: 1.3× (measured)'
 */
export function answerBundle(a: Answer): MimeBundle {
  checkAnswer(a);
  const e = escapeHtmlText;
  const cards = a.numbers
    .map(
      (n) =>
        `<div style="flex:1 1 12rem;min-width:10rem;padding:.4rem .6rem;background:#fff;border:1px solid #c9d8ea;border-radius:4px">` +
        `<div style="font-size:1.35em;font-weight:600;line-height:1.2">${e(n.value)}</div>` +
        `<div style="font-size:.9em">${e(n.label)}</div>` +
        `<div style="font-size:.8em;color:#555"><b>${e(n.basis)}</b>${n.spread ? `; ${e(n.spread)}` : ''}</div></div>`,
    )
    .join('');
  const html =
    `<div class="${ANSWER_CLASS}" style="border:2px solid #1f77b4;border-radius:6px;padding:.7rem 1rem;margin:.5rem 0;background:#f3f7fc;font-family:system-ui,sans-serif">` +
    `<div style="font-weight:600;color:#1f4f7f">Question: ${e(a.question)}</div>` +
    `<div style="font-size:1.15em;margin:.35rem 0 .55rem">${e(a.answer)}</div>` +
    `<div style="display:flex;gap:.6rem;flex-wrap:wrap">${cards}</div></div>`;
  const text = [`Question: ${a.question}`, `Answer: ${a.answer}`, ...a.numbers.map((n) => `- ${n.label}: ${n.value} (${n.basis}${n.spread ? `; ${n.spread}` : ''})`)].join('\n');
  return {
    'text/html': html,
    [ANSWER_MIME]: { question: a.question, answer: a.answer, numbers: a.numbers.map((n) => ({ ...n })) },
    'text/plain': text,
  };
}

/**
 * Shows a report's answer box; the exported report opens with it.
 *
 * @example
 * showAnswer({ question: 'Is a batch free?', answer: 'Almost.', numbers: [{ label: 'M = 8 / M = 1 time', value: '1.3×', basis: 'measured', spread: 'min–max 1.2–1.4× over 5 runs' }] });
 */
export function showAnswer(a: Answer): void {
  displayBundle(answerBundle(a));
}

/**
 * The spread of repeated readings of a machine-dependent figure, for a KeyNumber's
 * `spread`: the interquartile range and the extremes from five readings up, the
 * extremes alone below that. Non-finite readings are dropped; none left is an InputError.
 *
 * @example
 * spreadOf([290, 297, 300, 310, 745], (x) => `${x} ms`) // => 'IQR 297 ms–310 ms, min–max 290 ms–745 ms over 5 readings'
 */
export function spreadOf(readings: readonly number[], format: (x: number) => string): string {
  const xs = (Array.isArray(readings) ? readings : []).filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (xs.length === 0) throw new InputError('readings', readings, 'at least one finite reading');
  const range = `min–max ${format(xs[0])}–${format(xs[xs.length - 1])} over ${xs.length} reading${xs.length === 1 ? '' : 's'}`;
  return xs.length >= 5 ? `IQR ${format(quantileSorted(xs, 0.25))}–${format(quantileSorted(xs, 0.75))}, ${range}` : range;
}
