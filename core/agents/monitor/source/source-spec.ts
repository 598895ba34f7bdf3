/**
 * The text form of a source, as `--monitor` and `swarmctl monitor scan` take it:
 *
 *   file:/var/log/auth.log   a file, followed across rotation (a bare path means the same)
 *   journald:sshd            the journal, by syslog identifier(s) or unit(s) (see journald-source.ts)
 *   stdin  or  -             standard input
 */
import type { Readable } from 'node:stream';
import { openFileSource, type FileProgress } from './file-source.ts';
import { openJournaldSource } from './journald-source.ts';
import { SourceError, type LogSource } from './log-source.ts';
import type { OffsetStore } from './offset-store.ts';
import { openStdinSource } from './stdin-source.ts';

export type SourceSpec = { kind: 'file'; path: string } | { kind: 'journald'; match: string } | { kind: 'stdin' };

/** Total: a SourceError (bad_source_spec) for text that names no source. */
export function parseSourceSpec(text: string): SourceSpec | SourceError {
  const spec = text.trim();
  if (spec === 'stdin' || spec === '-') return { kind: 'stdin' };
  if (spec.startsWith('journald:')) return { kind: 'journald', match: spec.slice('journald:'.length) };
  if (spec === 'journald') return { kind: 'journald', match: '' };
  const path = spec.startsWith('file:') ? spec.slice('file:'.length) : spec;
  // `jounrald:sshd` is a typo, not a relative path: a scheme we do not know is refused (`file:` takes any path).
  const unknownScheme = !spec.startsWith('file:') && /^[a-z][a-z0-9+.-]*:/i.test(spec);
  if (path === '' || unknownScheme) {
    return new SourceError('bad_source_spec', `"${text}" is not a log source`, 'use file:/var/log/auth.log (or a path), journald:sshd, or stdin');
  }
  return { kind: 'file', path };
}

export interface OpenSourceOptions {
  /** Follow (default) or read once to the end. */
  follow?: boolean;
  /** Without a checkpoint: files default to 'start', the journal to 'end'. */
  from?: 'start' | 'end';
  offsets?: OffsetStore;
  maxLineBytes?: number;
  journalctlPath?: string;
  stdin?: Readable;
  onProgress?: (progress: FileProgress) => void;
}

export function openLogSource(spec: SourceSpec, options: OpenSourceOptions = {}): LogSource {
  switch (spec.kind) {
    case 'file':
      return openFileSource(spec.path, {
        follow: options.follow,
        from: options.from,
        offsets: options.offsets,
        maxLineBytes: options.maxLineBytes,
        onProgress: options.onProgress,
      });
    case 'journald':
      return openJournaldSource({
        match: spec.match,
        follow: options.follow,
        from: options.from,
        offsets: options.offsets,
        maxLineBytes: options.maxLineBytes,
        journalctlPath: options.journalctlPath,
      });
    case 'stdin':
      return openStdinSource(options.stdin ?? process.stdin, { maxLineBytes: options.maxLineBytes });
  }
}
