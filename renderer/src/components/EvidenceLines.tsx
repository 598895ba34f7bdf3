/**
 * The log lines that prove an anomaly or incident, with their line numbers so the analyst can find
 * them on the host. Where every line came from the same place (a log file, a monitor), the heading
 * says it once; otherwise each line says where it came from. Log text is rendered as text, never HTML.
 */

export interface EvidenceLinesProps<Line extends { line: number; text: string }> {
  lines: readonly Line[];
  /** The log file or monitor a line came from, when known. */
  originOf: (line: Line) => string | null | undefined;
  /** What the heading counts, e.g. "14 lines" (see lineCount). */
  counted: string;
  /** Said instead when there are no lines. */
  emptyText: string;
}

/** "1 line", "1,204 lines". */
export function lineCount(lines: number): string {
  return `${lines.toLocaleString('en-US')} ${lines === 1 ? 'line' : 'lines'}`;
}

export function EvidenceLines<Line extends { line: number; text: string }>({ lines, originOf, counted, emptyText }: EvidenceLinesProps<Line>) {
  if (lines.length === 0) return <p className="empty">{emptyText}</p>;
  const origins = new Set(lines.map((line) => originOf(line) ?? ''));
  const oneOrigin = origins.size === 1 ? [...origins][0] : null;
  return (
    <section aria-label="Evidence" className="evidence">
      <h4 className="evidence__title">
        Evidence ({counted}){oneOrigin ? <span className="evidence__source mono"> from {oneOrigin}</span> : null}
      </h4>
      <ol className="evidence__lines">
        {lines.map((line, i) => {
          const origin = oneOrigin === null ? originOf(line) : null;
          return (
            <li key={i} className="evidence__line">
              <span className="evidence__number mono">
                <span className="visually-hidden">line </span>
                {line.line}
              </span>
              <code className="evidence__text">
                {origin ? <span className="evidence__source">{origin}: </span> : null}
                {line.text}
              </code>
            </li>
          );
        })}
      </ol>
    </section>
  );
}
