export { show, showHtml, showMarkdown, escapeHtml, escapeHtmlText, escapeMarkdownHtml, DOLLAR_HTML, figureBundle, displayBundle, PLOTLY_MIME, PLOT_CLASS } from './display.js';
export type { MimeBundle } from './display.js';
export { notebookProfile } from './profile.js';
export type { NotebookProfile, ProfileName, ProfileTiming } from './profile.js';
export { showTable, tableBundle, timingSpreadNote, describeSamples, provenanceLine } from './tables.js';
export { answerBundle, showAnswer, spreadOf, ANSWER_MIME, ANSWER_CLASS, FIGURE_BASES } from './answer.js';
export type { Answer, KeyNumber, FigureBasis } from './answer.js';
