/**
 * Mitigation verbs: `mitigate` (ask an executor to block or unblock, signed by this node),
 * `decisions` (an executor's blocks with remaining TTL), `executor flush` and `executor revoke`.
 */
import type { DecisionView } from '../../agents/executor/executor.ts';
import { newRequestId, type ExecutionResult } from '../../agents/executor/mitigation-order.ts';
import { parseDuration } from '../../agents/orchestrator/duration.ts';
import { UsageError } from '../args.ts';
import { callDaemon, type Verb } from '../context.ts';
import { printJson, table, when } from '../output.ts';

const G = 'swarmctl [--state-dir DIR] ';
/** A block without --ttl lasts this long: long enough to stop a brute force, short enough to forgive a mistake. */
const DEFAULT_TTL = '1h';

interface TaskResult {
  id: string;
  status: string;
  code?: string;
  reason?: string;
  detail?: { cidr?: string; expiresAt?: number } | null;
}

function durationOption(raw: unknown, name: string, fallback: string): number {
  const parsed = parseDuration(raw === undefined ? fallback : raw);
  if (!parsed.ok) throw new UsageError(`--${name} ${parsed.why}`, 'for example --ttl 1h, --ttl 30m, --ttl 90s');
  return parsed.seconds;
}

export const mitigate: Verb = {
  summary: 'ask a firewall executor to block (or unblock) an address, signed by this node',
  spec: {
    options: { block: { type: 'string' }, unblock: { type: 'string' }, ttl: { type: 'string' }, reason: { type: 'string' }, incident: { type: 'string' } },
    positionals: ['EXECUTOR'],
    required: 1,
    usage: `${G}mitigate EXECUTOR (--block CIDR [--ttl 1h] | --unblock CIDR) --reason "WHY" [--incident ID] [--json]`,
  },
  async run(ctx) {
    const [target] = ctx.args.positionals as [string];
    const v = ctx.args.values;
    const block = typeof v.block === 'string' ? v.block : undefined;
    const unblock = typeof v.unblock === 'string' ? v.unblock : undefined;
    if ((block === undefined) === (unblock === undefined)) throw new UsageError('give exactly one of --block CIDR or --unblock CIDR', `usage: ${mitigate.spec.usage}`);
    if (unblock !== undefined && v.ttl !== undefined) throw new UsageError('--ttl applies to --block only', 'an unblock ends the block at once');
    const reason = typeof v.reason === 'string' ? v.reason.trim() : '';
    if (reason === '') throw new UsageError('--reason is required: the executor keeps it with the decision and in its audit log', 'for example --reason "ssh brute force, incident 42"');
    const incident = typeof v.incident === 'string' ? v.incident : null;
    const payload = {
      id: newRequestId(),
      issuedAt: Date.now(),
      incidentId: incident,
      action: block !== undefined ? 'block' : 'unblock',
      cidr: (block ?? unblock) as string,
      ttlSeconds: block !== undefined ? durationOption(v.ttl, 'ttl', DEFAULT_TTL) : 0,
      reason,
    };
    const answer = (await callDaemon(ctx, 'submit_task', { target, task: 'mitigation', payloads: [payload] }, { admin: true })) as { target: string; results: TaskResult[] };
    const result = answer.results[0];
    const p = ctx.printer;
    if (p.json) printJson(p, { target: answer.target, request: payload, result });
    else if (result === undefined) p.out(`${answer.target} gave no result`);
    else {
      const cidr = result.detail?.cidr ?? payload.cidr;
      if (result.status === 'applied') {
        const until = result.detail?.expiresAt;
        p.out(`${answer.target}: ${payload.action === 'block' ? 'blocked' : 'unblocked'} ${cidr}${until ? ` until ${when(until)}` : ''} (request ${payload.id})`);
      } else p.out(`${answer.target}: ${result.status} ${cidr}${result.code ? ` [${result.code}]` : ''}: ${result.reason ?? 'no reason given'} (request ${payload.id})`);
    }
    return result?.status === 'applied' || result?.status === 'revoked' ? 0 : 1;
  },
};

export const decisions: Verb = {
  summary: "this executor's active blocks with their remaining TTL (--all: every decision)",
  spec: { options: { all: { type: 'boolean' } }, positionals: [], required: 0, usage: `${G}decisions [--all] [--json]` },
  async run(ctx) {
    const answer = (await callDaemon(ctx, 'decisions', { all: ctx.args.values.all === true })) as { backend: string; decisions: DecisionView[] };
    const p = ctx.printer;
    if (p.json) {
      printJson(p, answer);
      return 0;
    }
    if (answer.decisions.length === 0) {
      p.out(`No ${ctx.args.values.all === true ? '' : 'active '}decisions (backend ${answer.backend}).`);
      return 0;
    }
    p.out(
      table(
        answer.decisions.map((d) => ({
          ...d,
          requestedBy: d.requester.hostname,
          remaining: d.remainingSeconds === null ? '-' : `${d.remainingSeconds} s`,
          applied: when(d.appliedAt),
        })),
        [['cidr', 'cidr'], ['state', 'state'], ['remaining', 'remaining'], ['requestedBy', 'requested by'], ['incidentId', 'incident'], ['applied', 'applied'], ['reason', 'reason'], ['requestId', 'request']],
      ),
    );
    return 0;
  },
};

export const executorFlush: Verb = {
  summary: 'remove every block this executor added (and nothing else)',
  spec: { options: {}, positionals: [], required: 0, usage: `${G}executor flush [--json]` },
  async run(ctx) {
    const answer = (await callDaemon(ctx, 'executor.flush', {}, { admin: true })) as { removed: number; backend: string };
    if (ctx.printer.json) printJson(ctx.printer, answer);
    else ctx.printer.out(`removed ${answer.removed} block${answer.removed === 1 ? '' : 's'} from ${answer.backend}; the firewall's other rules are untouched`);
    return 0;
  },
};

export const executorRevoke: Verb = {
  summary: 'end one block now, by CIDR or request id',
  spec: { options: {}, positionals: ['CIDR_OR_REQUEST'], required: 1, usage: `${G}executor revoke CIDR|REQUEST_ID [--json]` },
  async run(ctx) {
    const [what] = ctx.args.positionals as [string];
    const answer = (await callDaemon(ctx, 'executor.revoke', { target: what }, { admin: true })) as { result: ExecutionResult | null };
    if (ctx.printer.json) printJson(ctx.printer, answer);
    else if (answer.result === null) ctx.printer.out(`no active block matches ${what}`);
    else ctx.printer.out(`revoked ${answer.result.cidr} (request ${answer.result.requestId})`);
    return answer.result === null ? 1 : 0;
  },
};
