/**
 * Where a number came from. Every table batchlab writes or ships carries one:
 * catalog entries name a document, measurements name the machine and software.
 */
export interface Provenance {
  /** A document, URL, paper, or "measured". */
  source: string;
  /** ISO date (YYYY-MM-DD) of the measurement or of the document. */
  date?: string;
  backend?: string;
  device?: string;
  host?: string;
  versions?: Record<string, string>;
  notes?: string;
}
