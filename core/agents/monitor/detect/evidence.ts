import type { EvidenceLine } from './anomaly.ts';
import type { SecurityEvent } from '../event.ts';

/** Lines an anomaly keeps from the start of the episode (how it began) ... */
export const EVIDENCE_FIRST_LINES = 3;
/** ... and from its end (what it is doing now). Everything between is only counted. */
export const EVIDENCE_LATEST_LINES = 3;
/** A hostile line can be megabytes long; evidence keeps its start. */
export const EVIDENCE_TEXT_MAX_CHARS = 1000;

/**
 * The evidence of one episode: the first lines and a ring of the latest ones. It holds the events
 * themselves (no copy per line on the hot path) in plain fields rather than an array: this is
 * touched for every event of every source, and one object is one cache miss where an object and
 * its array are two. EvidenceLine objects are built only when an anomaly is reported.
 * (Subclassed by the engine's Episode, which adds its times and users to the same object.)
 */
export class EvidenceBuffer {
  #first0: SecurityEvent | null = null;
  #first1: SecurityEvent | null = null;
  #first2: SecurityEvent | null = null;
  #latest0: SecurityEvent | null = null;
  #latest1: SecurityEvent | null = null;
  #latest2: SecurityEvent | null = null;
  /** Ring slot the next latest line goes to. */
  #next = 0;
  #lines = 0;

  add(event: SecurityEvent): void {
    const lines = this.#lines++;
    if (lines < EVIDENCE_FIRST_LINES) {
      if (lines === 0) this.#first0 = event;
      else if (lines === 1) this.#first1 = event;
      else this.#first2 = event;
      return;
    }
    const slot = this.#next;
    if (slot === 0) this.#latest0 = event;
    else if (slot === 1) this.#latest1 = event;
    else this.#latest2 = event;
    this.#next = slot === EVIDENCE_LATEST_LINES - 1 ? 0 : slot + 1;
  }

  /** Lines added in this episode. */
  get lines(): number {
    return this.#lines;
  }

  /** Lines added but not kept. */
  get omitted(): number {
    return Math.max(0, this.#lines - EVIDENCE_FIRST_LINES - EVIDENCE_LATEST_LINES);
  }

  clear(): void {
    // Stale references stay until overwritten: at most six events per buffer.
    this.#lines = 0;
    this.#next = 0;
  }

  snapshot(): EvidenceLine[] {
    const out: EvidenceLine[] = [];
    const first = [this.#first0, this.#first1, this.#first2];
    for (let i = 0; i < Math.min(this.#lines, EVIDENCE_FIRST_LINES); i++) out.push(toEvidenceLine(first[i] as SecurityEvent));
    const ring = [this.#latest0, this.#latest1, this.#latest2];
    const latest = Math.min(Math.max(0, this.#lines - EVIDENCE_FIRST_LINES), EVIDENCE_LATEST_LINES);
    // Oldest first: once the ring has wrapped, the oldest is where the next one would go.
    const start = latest < EVIDENCE_LATEST_LINES ? 0 : this.#next;
    for (let i = 0; i < latest; i++) out.push(toEvidenceLine(ring[(start + i) % EVIDENCE_LATEST_LINES] as SecurityEvent));
    return out;
  }
}

function toEvidenceLine(event: SecurityEvent): EvidenceLine {
  const text = typeof event.text === 'string' ? event.text : String(event.text);
  return {
    line: event.line,
    time: event.time,
    text: text.length > EVIDENCE_TEXT_MAX_CHARS ? `${text.slice(0, EVIDENCE_TEXT_MAX_CHARS)}…` : text,
  };
}
