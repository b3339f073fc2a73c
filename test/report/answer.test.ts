import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ANSWER_CLASS, ANSWER_MIME, DOLLAR_HTML, answerBundle, spreadOf } from '../../lib/report/index.js';
import { InputError } from '../../lib/util/errors.js';

const base = {
  question: 'Why is DeepSeek cheap at scale?',
  answer: 'Scale fills the batch: $0.30 per million tokens at $2 per GPU-hour.',
  numbers: [
    { label: 'cost at scale', value: '$0.30/M', basis: 'published' as const },
    { label: 'this machine, batch 8 / batch 1 time', value: '1.31×', basis: 'measured' as const, spread: 'min–max 1.2–1.4× over 3 readings' },
  ],
};

test('answerBundle(a) boxes the question, the answer and each key number with its basis and spread, dollars as text', () => {
  const b = answerBundle(base);
  const html = String(b['text/html']);
  assert.match(html, new RegExp(`class="${ANSWER_CLASS}"`));
  assert.match(html, /Question: Why is DeepSeek cheap at scale\?/);
  // Three dollar signs (two in the answer, one in a value), each alone in its span.
  assert.equal(html.split(DOLLAR_HTML).length - 1, 3);
  assert.doesNotMatch(html.replace(/<[^>]+>/g, ''), /\$/);
  assert.match(html, /<b>measured<\/b>; min–max 1\.2–1\.4× over 3 readings/);
  assert.match(html, /<b>published<\/b>/);
  assert.deepEqual((b[ANSWER_MIME] as { question: string }).question, base.question);
  assert.equal(String(b['text/plain']).split('\n')[2], '- cost at scale: $0.30/M (published)');
});

test('answerBundle escapes hostile text', () => {
  const html = String(answerBundle({ ...base, question: '<script>alert(1)</script>', numbers: [{ label: '<img src=x onerror=alert(1)>', value: '1', basis: 'bound' }] })['text/html']);
  assert.doesNotMatch(html, /<script|<img/);
});

test('answerBundle refuses a number without a known basis, more than three numbers, no number, and an answer of three sentences', () => {
  const field = (f: string) => (e: unknown) => e instanceof InputError && e.field === f;
  assert.throws(() => answerBundle({ ...base, numbers: [{ label: 'x', value: '1', basis: 'guessed' as never }] }), field('numbers[0].basis'));
  assert.throws(() => answerBundle({ ...base, numbers: [...base.numbers, ...base.numbers] }), field('numbers'));
  assert.throws(() => answerBundle({ ...base, numbers: [] }), field('numbers'));
  assert.throws(() => answerBundle({ ...base, answer: 'One. Two. Three.' }), field('answer'));
  assert.throws(() => answerBundle({ ...base, question: ' ' }), field('question'));
  // Decimal points and a closing period are not sentence breaks: "1.31× … 2.5 s." is one sentence.
  assert.doesNotThrow(() => answerBundle({ ...base, answer: 'Batch 8 took 1.31× batch 1 in 2.5 s. That is the claim.' }));
});

test('spreadOf(readings) gives the IQR and extremes from five readings, the extremes below five (R type 7 quartiles)', () => {
  // Sorted 290, 297, 300, 310, 745: Q1 at rank 1 = 297, Q3 at rank 3 = 310 (type 7, n = 5).
  assert.equal(spreadOf([745, 300, 290, 310, 297], (x) => `${x} ms`), 'IQR 297 ms–310 ms, min–max 290 ms–745 ms over 5 readings');
  assert.equal(spreadOf([2, 1, NaN], String), 'min–max 1–2 over 2 readings');
  assert.throws(() => spreadOf([NaN], String), (e: unknown) => e instanceof InputError && e.field === 'readings');
});
