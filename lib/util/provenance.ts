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
  /** Machine id (lib/util/machine.ts): the hardware, whatever the host is called. */
  machine?: string;
  /** Machine id plus backend and key versions: what keys a measurement or fit. */
  fingerprint?: string;
  versions?: Record<string, string>;
  notes?: string;
}
