/**
 * `swarmctl audit [--verify] [--jsonl]`: the hash-chained log of this node's decisions (trust,
 * tasks, mitigations). Works with the daemon stopped. `--jsonl` exports one entry per line with
 * its prevHash and hash, so the chain can be archived and checked elsewhere.
 */
import { existsSync } from 'node:fs';
import { daemonPaths, runningDaemonPid } from '../../overlay/daemon.ts';
import type { AuditEntry, AuditVerdict } from '../../store/audit-log.ts';
import { NodeStore } from '../../store/node-store.ts';
import { intOption } from '../args.ts';
import { callDaemon, type Verb } from '../context.ts';
import { printJson, table, when } from '../output.ts';

export const audit: Verb = {
  summary: "this node's audit log (trust, tasks, mitigations); --verify checks its hash chain, --jsonl exports it",
  spec: {
    options: { verify: { type: 'boolean' }, limit: { type: 'string' }, jsonl: { type: 'boolean' } },
    positionals: [],
    required: 0,
    usage: 'swarmctl [--state-dir DIR] audit [--verify] [--limit N] [--json | --jsonl]',
  },
  async run(ctx) {
    const limit = intOption(ctx.args.values, 'limit', 1, 1_000_000, 0);
    const verify = Boolean(ctx.args.values.verify);
    let entries: AuditEntry[];
    let verdict: AuditVerdict | null;
    if (await runningDaemonPid(ctx.stateDir)) {
      ({ entries, verify: verdict } = (await callDaemon(ctx, 'audit', { verify, limit: limit || -1 })) as { entries: AuditEntry[]; verify: AuditVerdict | null });
    } else {
      // Forensics must not depend on the daemon: read the database directly, read-only.
      const db = daemonPaths(ctx.stateDir).db;
      if (!existsSync(db)) {
        throw Object.assign(new Error(`no database in ${ctx.stateDir}`), { code: 'no_state', hint: 'is --state-dir right? the daemon creates it on first start' });
      }
      const store = NodeStore.open(db, '', { readOnly: true });
      try {
        entries = store.audit.list({ limit: limit || -1 });
        verdict = verify ? store.audit.verify() : null;
      } finally {
        store.close();
      }
    }
    const p = ctx.printer;
    if (ctx.args.values.jsonl === true) {
      // One entry per line, oldest first, exactly as chained; the verdict goes to stderr so the
      // export stays pure JSON lines.
      for (const e of entries) p.out(JSON.stringify(e));
      if (verdict) p.err(verdict.ok ? `chain verified: ${verdict.entries} entries` : `CHAIN BROKEN at entry ${verdict.brokenAt}: ${verdict.problem}`);
    } else if (p.json) {
      printJson(p, { entries, verify: verdict });
    } else {
      if (entries.length === 0) p.out('The audit log is empty: no decisions yet.');
      else {
        p.out(
          table(
            entries.map((e) => ({ ...e, at: when(e.at), detail: summarize(e) })),
            [['seq', '#'], ['at', 'when'], ['actor', 'who'], ['action', 'action'], ['subject', 'peer'], ['detail', 'detail']],
          ),
        );
      }
      if (verdict) {
        p.out(
          verdict.ok
            ? `chain verified: ${verdict.entries} entries, head ${verdict.headHash.slice(0, 16)}…`
            : `CHAIN BROKEN at entry ${verdict.brokenAt}: ${verdict.problem}`,
        );
      }
    }
    return verdict && !verdict.ok ? 1 : 0;
  },
};

function summarize(e: AuditEntry): string {
  const d = e.details;
  const parts: string[] = [];
  for (const key of ['justification', 'reason', 'capabilities', 'detail']) {
    const v = d[key];
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    parts.push(`${key}=${Array.isArray(v) ? v.join(',') : JSON.stringify(v)}`);
  }
  const text = parts.join(' ');
  return text.length > 80 ? text.slice(0, 79) + '…' : text;
}
