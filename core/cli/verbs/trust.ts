/** Trust verbs: handshake, pending, approve, reject, untrust, trust. */
import { CAPABILITIES } from '../../overlay/trust-messages.ts';
import type { IncomingRequest, OutgoingRequest, TrustRecord } from '../../store/node-store.ts';
import type { RequestTrustResult } from '../../overlay/trust.ts';
import { intOption, listOption } from '../args.ts';
import { callDaemon, type Verb } from '../context.ts';
import { printJson, table, when } from '../output.ts';

const G = 'swarmctl [--state-dir DIR] ';
const CAPS_HINT = `capabilities: ${CAPABILITIES.join(', ')}`;

export const handshake: Verb = {
  summary: 'ask a peer for trust, with a justification its operator will read',
  spec: {
    options: { want: { type: 'string', multiple: true }, offer: { type: 'string', multiple: true }, wait: { type: 'string' } },
    positionals: ['PEER', 'JUSTIFICATION...'],
    required: 1,
    usage: `${G}handshake PEER "JUSTIFICATION" [--want CAP]... [--offer CAP]... [--wait SECONDS]  (${CAPS_HINT})`,
  },
  async run(ctx) {
    const [target, justification = ''] = ctx.args.positionals as [string, string?];
    const wait = intOption(ctx.args.values, 'wait', 0, 3600, 0);
    const result = (await callDaemon(
      ctx,
      'handshake',
      { target, justification, want: listOption(ctx.args.values, 'want'), offer: listOption(ctx.args.values, 'offer'), wait },
      { admin: true },
    )) as RequestTrustResult;
    const p = ctx.printer;
    if (p.json) {
      printJson(p, result);
    } else {
      const peer = result.trust ?? result.request;
      const who = `${peer?.hostname ?? target} (${peer?.address ?? '?'}, fingerprint ${peer?.fingerprint ?? '?'})`;
      switch (result.status) {
        case 'trusted':
          p.out(`trusted: ${who}`);
          if (result.trust) p.out(`they allow us: ${result.trust.capsReceived.join(', ') || '(basic: ping, echo)'}`);
          break;
        case 'pending':
          p.out(`request delivered to ${who}; waiting for its operator to approve`);
          p.out(`check with: swarmctl pending`);
          break;
        case 'rejected':
          p.out(`rejected by ${who}: ${result.reason ?? 'no reason given'}`);
          break;
        case 'sending':
          p.out(`request queued for ${who}, not acknowledged yet; it will be retried in the background`);
          p.out(`check with: swarmctl pending`);
          break;
      }
    }
    return result.status === 'rejected' ? 1 : 0;
  },
};

export const pending: Verb = {
  summary: 'trust requests waiting for your decision, and yours waiting for peers',
  spec: { options: {}, positionals: [], required: 0, usage: `${G}pending [--json]` },
  async run(ctx) {
    const { incoming, outgoing } = (await callDaemon(ctx, 'pending')) as { incoming: IncomingRequest[]; outgoing: OutgoingRequest[] };
    const p = ctx.printer;
    if (p.json) {
      printJson(p, { incoming, outgoing });
      return 0;
    }
    if (incoming.length === 0) {
      p.out('No trust requests are waiting for your decision.');
    } else {
      p.out(`Waiting for your decision (${incoming.length}):`);
      p.out(
        table(
          incoming.map((r) => ({ ...r, wants: r.wantCaps, received: when(r.receivedAt) })),
          [['hostname', 'requester'], ['address', 'address'], ['fingerprint', 'fingerprint'], ['justification', 'justification'], ['wants', 'wants'], ['received', 'received']],
        ),
      );
      p.out('Decide with: swarmctl approve HOST [--cap CAP]...   or   swarmctl reject HOST "reason"');
    }
    const open = outgoing.filter((r) => r.status !== 'approved');
    if (open.length > 0) {
      p.out('');
      p.out('Your requests:');
      p.out(
        table(
          open.map((r) => ({ ...r, sent: when(r.sentAt), status: r.status === 'sending' ? 'not delivered yet' : r.status })),
          [['hostname', 'peer'], ['address', 'address'], ['fingerprint', 'fingerprint'], ['status', 'status'], ['reason', 'reason'], ['sent', 'sent']],
        ),
      );
    }
    return 0;
  },
};

export const approve: Verb = {
  summary: 'approve a pending trust request, granting capabilities',
  spec: {
    options: { cap: { type: 'string', multiple: true } },
    positionals: ['PEER'],
    required: 1,
    usage: `${G}approve PEER [--cap CAP]...  (PEER: hostname, address or fingerprint; default caps: what it asked for; ${CAPS_HINT})`,
  },
  async run(ctx) {
    const { trusted } = (await callDaemon(ctx, 'approve', { peer: ctx.args.positionals[0], caps: listOption(ctx.args.values, 'cap') }, { admin: true })) as {
      trusted: TrustRecord;
    };
    if (ctx.printer.json) printJson(ctx.printer, { trusted });
    else {
      ctx.printer.out(`approved: ${trusted.hostname} (${trusted.address}, fingerprint ${trusted.fingerprint})`);
      ctx.printer.out(`it may: ${trusted.capsGranted.join(', ') || '(basic: ping, echo)'}`);
    }
    return 0;
  },
};

export const reject: Verb = {
  summary: 'reject a pending trust request; the requester sees the reason',
  spec: { options: {}, positionals: ['PEER', 'REASON...'], required: 1, usage: `${G}reject PEER ["REASON"]` },
  async run(ctx) {
    const [peer, reason = ''] = ctx.args.positionals as [string, string?];
    const { rejected } = (await callDaemon(ctx, 'reject', { peer, reason }, { admin: true })) as { rejected: IncomingRequest };
    if (ctx.printer.json) printJson(ctx.printer, { rejected });
    else ctx.printer.out(`rejected: ${rejected.hostname} (${rejected.fingerprint})${reason ? ` — "${reason}"` : ''}`);
    return 0;
  },
};

export const untrust: Verb = {
  summary: 'revoke trust in a peer, on both sides, at once',
  spec: { options: {}, positionals: ['PEER', 'REASON...'], required: 1, usage: `${G}untrust PEER ["REASON"]` },
  async run(ctx) {
    const [peer, reason = ''] = ctx.args.positionals as [string, string?];
    const { revoked } = (await callDaemon(ctx, 'untrust', { peer, reason }, { admin: true })) as { revoked: TrustRecord };
    if (ctx.printer.json) printJson(ctx.printer, { revoked });
    else ctx.printer.out(`trust revoked: ${revoked.hostname} (${revoked.fingerprint}); it can no longer reach this node except to ask again`);
    return 0;
  },
};

export const trust: Verb = {
  summary: 'peers this node trusts, with capabilities both ways',
  spec: { options: {}, positionals: [], required: 0, usage: `${G}trust [--json]` },
  async run(ctx) {
    const { trusted } = (await callDaemon(ctx, 'trust')) as { trusted: TrustRecord[] };
    if (ctx.printer.json) {
      printJson(ctx.printer, { trusted });
      return 0;
    }
    if (trusted.length === 0) {
      ctx.printer.out('This node trusts no peers yet. Ask one with: swarmctl handshake HOST "why", or approve a request from: swarmctl pending');
      return 0;
    }
    ctx.printer.out(
      table(
        trusted.map((t) => ({ ...t, since: when(t.since) })),
        [['hostname', 'peer'], ['address', 'address'], ['fingerprint', 'fingerprint'], ['capsGranted', 'it may'], ['capsReceived', 'we may'], ['since', 'since']],
      ),
    );
    return 0;
  },
};
