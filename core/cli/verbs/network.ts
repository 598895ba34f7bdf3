/** Network verbs: peers, lookup, ping. */
import type { PingReply } from '../../overlay/ping.ts';
import { intOption, numberOption } from '../args.ts';
import { callDaemon, type Verb } from '../context.ts';
import { printJson, table, when } from '../output.ts';

const G = 'swarmctl [--state-dir DIR] ';

export const peers: Verb = {
  summary: 'known peers: trust state, capabilities, session, path (direct or relay), RTT, last seen',
  spec: { options: {}, positionals: [], required: 0, usage: `${G}peers [--json]` },
  async run(ctx) {
    const { peers: rows } = (await callDaemon(ctx, 'peers')) as { peers: Array<Record<string, unknown>> };
    if (ctx.printer.json) {
      printJson(ctx.printer, { peers: rows });
      return 0;
    }
    if (rows.length === 0) {
      ctx.printer.out('No peers yet. Ask one for trust with: swarmctl handshake HOST "why"');
      return 0;
    }
    ctx.printer.out(
      table(
        rows.map((r) => ({
          ...r,
          session: r.session ? 'up' : 'down',
          path: r.path ?? '-',
          rtt_ms: typeof r.rtt_ms === 'number' ? `${r.rtt_ms < 10 ? r.rtt_ms.toFixed(1) : Math.round(r.rtt_ms)} ms` : '-',
          last_seen: when(r.last_seen as string | null),
        })),
        [['hostname', 'peer'], ['address', 'address'], ['trust', 'trust'], ['capabilities', 'it may'], ['session', 'tunnel'], ['path', 'path'], ['rtt_ms', 'rtt'], ['endpoint', 'endpoint'], ['last_seen', 'last seen'], ['dropped_untrusted', 'dropped']],
      ),
    );
    return 0;
  },
};

export const lookup: Verb = {
  summary: 'look a node up in the registry: address, key fingerprint, online',
  spec: { options: {}, positionals: ['NAME'], required: 1, usage: `${G}lookup NAME|ADDRESS [--json]` },
  async run(ctx) {
    const record = (await callDaemon(ctx, 'lookup', { target: ctx.args.positionals[0] })) as Record<string, unknown>;
    if (ctx.printer.json) {
      printJson(ctx.printer, record);
      return 0;
    }
    const rows: Array<[string, unknown]> = [
      ['hostname', record.hostname],
      ['address', record.address],
      ['fingerprint', record.fingerprint],
      ['online', record.online ? 'yes' : 'no'],
      ['last seen', when(record.last_seen as number)],
      ['trusted by us', record.trusted ? 'yes' : 'no'],
      ['endpoints', Array.isArray(record.endpoints) ? record.endpoints.join(', ') : '(private: disclosed only to peers it trusts)'],
    ];
    for (const [k, v] of rows) ctx.printer.out(`${k.padEnd(14)} ${String(v)}`);
    return 0;
  },
};

export const ping: Verb = {
  summary: 'ping a trusted peer over the overlay and print each round-trip time',
  spec: {
    options: { count: { type: 'string', short: 'c' }, interval: { type: 'string', short: 'i' }, timeout: { type: 'string', short: 'W' } },
    positionals: ['PEER'],
    required: 1,
    usage: `${G}ping PEER [-c COUNT] [-i INTERVAL_S] [-W TIMEOUT_S]`,
  },
  async run(ctx) {
    const count = intOption(ctx.args.values, 'count', 1, 100_000, 4);
    const intervalS = numberOption(ctx.args.values, 'interval', 0.01, 60, 1);
    const timeoutS = numberOption(ctx.args.values, 'timeout', 0.05, 60, 2);
    const target = ctx.args.positionals[0] as string;
    const p = ctx.printer;
    if (!p.json) p.out(`PING ${target}: ${count} datagram${count === 1 ? '' : 's'} to port 0`);
    const result = (await callDaemon(
      ctx,
      'ping',
      { target, count, interval_ms: intervalS * 1000, timeout_ms: timeoutS * 1000 },
      {
        onProgress: (event) => {
          if (p.json) return;
          const r = event as PingReply;
          p.out(r.rttMs === null ? `seq=${r.seq} no reply${r.error ? ` (${r.error})` : ` within ${timeoutS} s`}` : `reply from ${target}: seq=${r.seq} time=${r.rttMs.toFixed(3)} ms`);
        },
      },
    )) as { hostname: string | null; address: string | null; replies: PingReply[] };
    const rtts = result.replies.map((r) => r.rttMs).filter((x): x is number => x !== null);
    const summary = {
      hostname: result.hostname,
      address: result.address,
      sent: result.replies.length,
      received: rtts.length,
      loss_percent: result.replies.length ? Math.round((100 * (result.replies.length - rtts.length)) / result.replies.length) : 0,
      rtt_ms: rtts.length ? { min: Math.min(...rtts), avg: rtts.reduce((a, b) => a + b, 0) / rtts.length, max: Math.max(...rtts) } : null,
      replies: result.replies,
    };
    if (p.json) printJson(p, summary);
    else {
      p.out(`--- ${target} (${result.address ?? '?'}) ping statistics ---`);
      const rtt = summary.rtt_ms ? `, rtt min/avg/max = ${summary.rtt_ms.min.toFixed(3)}/${summary.rtt_ms.avg.toFixed(3)}/${summary.rtt_ms.max.toFixed(3)} ms` : '';
      p.out(`${summary.sent} sent, ${summary.received} received, ${summary.loss_percent}% loss${rtt}`);
    }
    return rtts.length > 0 ? 0 : 1;
  },
};
