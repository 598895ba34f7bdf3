/**
 * The seed scenario, end to end through real Linux NATs: a SOC console, a log monitor and a
 * firewall executor, each behind its own NAT router (network namespaces, iptables MASQUERADE),
 * with only the registry/beacon/relay on the "internet":
 *
 *   LAN 1  cone NAT       gcp-log-monitor        `daemon start --monitor auth.log`
 *   LAN 2  symmetric NAT  aws-firewall-executor  `daemon start --executor dry-run`
 *   LAN 3  cone NAT       soc-console            `console --web --no-lab`
 *
 * so the console reaches the monitor over a punched direct path and the executor through the
 * registry's relay. The operators work as they would: the console asks each agent for trust
 * (`swarmctl handshake` on the console's own node), each agent's operator approves with
 * `swarmctl approve`; an sshd brute force is appended to the monitor's log; the analyst sees it
 * in the console's feed and incidents and approves the proposed block through the console's API;
 * the executor applies it (dry-run) and its decisions and audit log record it.
 *
 * The console's web API listens on the loopback of the console's namespace: the test talks to it
 * through test/helpers/console-client.ts, started inside that namespace. Control sockets are files,
 * so swarmctl reaches every node from the host's namespace with --state-dir.
 *
 * Needs root and iptables (CI has them); skipped with the reason otherwise.
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ApprovalOutcome, ConsoleMethod, ConsoleMethods, ConsoleSnapshot, DecisionRow, FeedPage, IncidentDetailView, IncidentsView, ProposalRow } from '../../core/console/api.ts';
import { EMPTY_FEED_FILTER } from '../../core/console/api.ts';
import { createNatLab, natLabSkipReason, type NatLab, type NatLan } from '../helpers/nat-lab.ts';
import { LAB_REGISTRY as REGISTRY, LabNodeDir, startLabRegistry } from '../helpers/lab-swarm.ts';
import { BIN, eventually, tempDir } from '../helpers/swarm.ts';

const skip = natLabSkipReason();
const CONSOLE_CLIENT = fileURLToPath(new URL('../helpers/console-client.ts', import.meta.url));
const MONITOR = 'gcp-log-monitor';
const EXECUTOR = 'aws-firewall-executor';
const CONSOLE = 'soc-console';
/** The attacker, from a documentation range (RFC 5737) that is not the lab's own "internet". */
const ATTACKER = '198.51.100.23';
const BLOCK = `${ATTACKER}/32`;
/** Punching, relaying, detection and delivery: seconds in the lab; generous for a loaded CI box. */
const STEP_MS = 30_000;

interface AuditEntry {
  action: string;
  actor: string;
  subject: string;
  details: { requestId?: string; requester?: { hostname?: string } };
}

interface NodeInfo {
  registry: { registered: boolean };
  nat: { type: string; checked_at: string | null };
}

/** A process in a lab namespace, with what it printed (for the failure message). */
class LabProcess {
  readonly name: string;
  readonly child: ChildProcess;
  output = '';
  constructor(name: string, child: ChildProcess, keepStdout = true) {
    this.name = name;
    this.child = child;
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    if (keepStdout) child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  log(): string {
    return `--- ${this.name} (last output) ---\n${this.output.slice(-4000)}`;
  }
}

/** A node of the scenario: its state directory (its control socket), driven with swarmctl. */
class LabNode extends LabNodeDir {
  readonly process: LabProcess;
  /** What `swarmctl info` said once the node was ready. */
  info: NodeInfo | null = null;
  constructor(hostname: string, dir: string, process: LabProcess) {
    super(hostname, dir);
    this.process = process;
  }

  /** Registered with the registry and its NAT classified: ready to be reached. */
  async ready(): Promise<void> {
    this.info = await eventually(
      async () => {
        if (this.process.exited) throw new Error(`${this.hostname} exited:\n${this.process.log()}`);
        const info = await this.json<NodeInfo>('info');
        return info.registry.registered && info.nat.checked_at !== null ? info : null;
      },
      STEP_MS,
      `${this.hostname} registered and its NAT classified`,
    );
  }
}

/** The console's API, through console-client.ts inside the console's namespace (pushed events are not needed here: the steps ask). */
class ConsoleApiPipe {
  readonly process: LabProcess;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  constructor(process: LabProcess) {
    this.process = process;
    createInterface({ input: process.child.stdout! }).on('line', (line) => {
      const frame = JSON.parse(line) as { id?: number; ok?: boolean; result?: unknown; error?: { code: string; message: string; hint: string }; failed?: string; closed?: number };
      if (frame.failed !== undefined || frame.closed !== undefined) this.#failAll(new Error(`console API pipe: ${line}`));
      else if (typeof frame.id === 'number') {
        const waiter = this.#pending.get(frame.id);
        this.#pending.delete(frame.id);
        if (frame.ok) waiter?.resolve(frame.result);
        else waiter?.reject(new Error(`${frame.error?.code}: ${frame.error?.message} — ${frame.error?.hint}`));
      }
    });
    process.child.once('exit', (code) => this.#failAll(new Error(`console API pipe exited ${code}:\n${process.log()}`)));
  }

  #failAll(err: Error): void {
    for (const w of this.#pending.values()) w.reject(err);
    this.#pending.clear();
  }

  call<M extends ConsoleMethod>(method: M, params: ConsoleMethods[M]['params']): Promise<ConsoleMethods[M]['result']> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`console API ${method}: no answer within ${STEP_MS} ms`));
      }, STEP_MS);
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as ConsoleMethods[M]['result']);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.process.child.stdin!.write(`${JSON.stringify({ id, method, params })}\n`);
    });
  }
}

let lab: NatLab | null = null;
let root = '';
let authLog = '';
const nodes: Record<'monitor' | 'executor' | 'console', LabNode> = {} as never;
let api: ConsoleApiPipe;
const processes: LabProcess[] = [];

function spawnIn(name: string, ns: string, argv: string[], options: { stdin?: boolean; keepStdout?: boolean } = {}): LabProcess {
  const p = new LabProcess(name, lab!.spawn(ns, argv, { stdin: options.stdin ?? false }), options.keepStdout ?? true);
  processes.push(p);
  return p;
}

async function startRegistry(): Promise<void> {
  processes.push(new LabProcess('registry', (await startLabRegistry(lab!, root)).process, false));
}

/** An agent daemon in the foreground inside its LAN (the lab kills it on destroy), as `swarmctl daemon start` runs it. */
async function startAgent(lan: NatLan, hostname: string, roleArgs: string[]): Promise<LabNode> {
  const dir = join(root, hostname);
  const p = spawnIn(hostname, lan.ns, [process.execPath, BIN, '--state-dir', dir, 'daemon', 'start', '--foreground', '--hostname', hostname, '--registry', REGISTRY, '--listen', '0.0.0.0:0', ...roleArgs]);
  const node = new LabNode(hostname, dir, p);
  await node.ready();
  return node;
}

/** `swarmctl console --web` inside its LAN, and the API pipe beside it in the same namespace. */
async function startConsole(lan: NatLan): Promise<{ node: LabNode; api: ConsoleApiPipe }> {
  const dir = join(root, CONSOLE);
  const p = spawnIn(CONSOLE, lan.ns, [process.execPath, BIN, '--state-dir', dir, 'console', '--web', '--no-lab', '--registry', REGISTRY, '--hostname', CONSOLE, '--json', '--verbose'], { keepStdout: false });
  const ready = await new Promise<{ url: string; status: string; status_message: string | null }>((resolve, reject) => {
    createInterface({ input: p.child.stdout! }).once('line', (line) => resolve(JSON.parse(line)));
    p.child.once('exit', (code) => reject(new Error(`console exited ${code}:\n${p.log()}`)));
  });
  assert.equal(ready.status, 'running', ready.status_message ?? '');
  const node = new LabNode(CONSOLE, dir, p);
  const pipe = new ConsoleApiPipe(spawnIn('console-client', lan.ns, [process.execPath, CONSOLE_CLIENT, ready.url], { stdin: true, keepStdout: false }));
  await node.ready();
  return { node, api: pipe };
}

/** The console asks `agent` for `caps`; the agent's operator sees the request and approves it as asked. */
async function consoleAsks(agent: LabNode, justification: string, caps: string[]): Promise<void> {
  const asked = await nodes.console.cli('handshake', agent.hostname, justification, ...caps.flatMap((c) => ['--want', c]), '--json');
  assert.equal(asked.code, 0, asked.stderr);
  const request = await eventually(
    async () => (await agent.json<{ incoming: Array<{ hostname: string; wantCaps: string[] }> }>('pending')).incoming.find((r) => r.hostname === CONSOLE),
    STEP_MS,
    `${CONSOLE}'s request at ${agent.hostname}`,
  );
  assert.deepEqual([...request.wantCaps].sort(), [...caps].sort());
  const approved = await agent.cli('approve', CONSOLE, '--json');
  assert.equal(approved.code, 0, approved.stderr);
  const granted = await eventually(
    async () => (await nodes.console.json<{ trusted: Array<{ hostname: string; capsReceived: string[] }> }>('trust')).trusted.find((t) => t.hostname === agent.hostname),
    STEP_MS,
    `${CONSOLE} learns ${agent.hostname} trusts it`,
  );
  assert.deepEqual([...granted.capsReceived].sort(), [...caps].sort());
}

/** What an sshd under a password brute force writes: failures, an invalid user, preauth disconnects. */
function bruteForceBurst(start: Date): string[] {
  const stamp = (d: Date) => {
    const pad = (n: number) => String(n).padStart(2, '0');
    return `${d.toLocaleString('en-US', { month: 'short' })} ${String(d.getDate()).padStart(2, ' ')} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  };
  const lines: string[] = [];
  let pid = 31_400;
  const at = (i: number) => stamp(new Date(start.getTime() + i * 1000));
  lines.push(`${at(0)} gcp-edge-1 sshd[${pid}]: Accepted publickey for deploy from 10.20.0.15 port 51514 ssh2: ED25519 SHA256:q1w2e3r4t5y6u7i8o9p0asdfghjklzxcvbnm12345`);
  for (let i = 0; i < 12; i++) {
    pid++;
    const port = 40_100 + i * 7;
    if (i % 4 === 3) {
      lines.push(`${at(i)} gcp-edge-1 sshd[${pid}]: Invalid user admin from ${ATTACKER} port ${port}`);
      lines.push(`${at(i)} gcp-edge-1 sshd[${pid}]: Failed password for invalid user admin from ${ATTACKER} port ${port} ssh2`);
    } else {
      lines.push(`${at(i)} gcp-edge-1 sshd[${pid}]: Failed password for root from ${ATTACKER} port ${port} ssh2`);
    }
    if (i % 5 === 4) lines.push(`${at(i)} gcp-edge-1 sshd[${pid}]: Connection closed by authenticating user root ${ATTACKER} port ${port} [preauth]`);
  }
  return lines;
}

before(async () => {
  if (skip) return;
  root = tempDir('swarm-seed-');
  authLog = join(root, 'auth.log');
  writeFileSync(authLog, '');
  lab = await createNatLab(['cone', 'symmetric', 'cone']);
  await startRegistry();
  let consoleSide: { node: LabNode; api: ConsoleApiPipe };
  [nodes.monitor, nodes.executor, consoleSide] = await Promise.all([
    startAgent(lab.lans[0]!, MONITOR, ['--monitor', authLog, '--monitor-from', 'start']),
    startAgent(lab.lans[1]!, EXECUTOR, ['--executor', 'dry-run', '--max-ttl', '24h']),
    startConsole(lab.lans[2]!),
  ]);
  nodes.console = consoleSide.node;
  api = consoleSide.api;
});

after(async () => {
  if (skip) return;
  api?.process.child.stdin?.end();
  // destroy() kills every process still running inside the lab's namespaces.
  await lab?.destroy();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** A step of the scenario (they build on each other); a failing one reports what the processes printed. */
function step(name: string, fn: () => Promise<void>): void {
  test(name, { skip: skip ?? false }, async (t: TestContext) => {
    try {
      await fn();
    } catch (err) {
      for (const p of processes) for (const line of p.log().split('\n')) t.diagnostic(line);
      throw err;
    }
  });
}

step('each node sits behind its own NAT: the monitor and the console behind cones, the executor behind a symmetric one', async () => {
  assert.equal(nodes.monitor.info?.nat.type, 'endpoint-independent');
  assert.equal(nodes.executor.info?.nat.type, 'symmetric');
  assert.equal(nodes.console.info?.nat.type, 'endpoint-independent');
  const snapshot = await api.call('snapshot', {});
  assert.equal(snapshot.status, 'running');
  assert.equal(snapshot.identity?.hostname, CONSOLE);
  assert.equal(snapshot.identity?.registry.connected, true);
});

step('the console asks both agents for trust, their operators approve it; the monitor is reached directly, the executor through the relay', async () => {
  await consoleAsks(nodes.monitor, 'SOC console: subscribes to the anomalies of the GCP edge', ['events.subscribe']);
  await consoleAsks(nodes.executor, 'SOC console: sends analyst-approved blocks and follows their results', ['mitigation.request', 'events.subscribe']);

  // `swarmctl peers` on each end: how its live session with the other travels.
  const paths = async (): Promise<Record<string, string | null>> => {
    const [cm, mc, ce, ec] = await Promise.all([nodes.console.findPeer(MONITOR), nodes.monitor.findPeer(CONSOLE), nodes.console.findPeer(EXECUTOR), nodes.executor.findPeer(CONSOLE)]);
    return { 'console→monitor': cm?.path ?? null, 'monitor→console': mc?.path ?? null, 'console→executor': ce?.path ?? null, 'executor→console': ec?.path ?? null };
  };
  const expected = { 'console→monitor': 'direct', 'monitor→console': 'direct', 'console→executor': 'relay', 'executor→console': 'relay' };
  let seen: Record<string, string | null> = {};
  await eventually(
    async () => {
      seen = await paths();
      return JSON.stringify(seen) === JSON.stringify(expected);
    },
    STEP_MS,
    `paths ${JSON.stringify(expected)}`,
  ).catch((err: Error) => assert.fail(`${err.message}; last seen ${JSON.stringify(seen)}`));

  // The console's own view (what the analyst sees in Peers) agrees: both agents online, one path each.
  const snapshot: ConsoleSnapshot = await api.call('snapshot', {});
  const row = (h: string) => snapshot.peers.find((p) => p.hostname === h);
  assert.equal(row(MONITOR)?.path, 'direct');
  assert.equal(row(MONITOR)?.online, true);
  assert.equal(row(MONITOR)?.trust, 'trusted');
  assert.deepEqual(row(MONITOR)?.capabilitiesReceived, ['events.subscribe']);
  assert.equal(row(EXECUTOR)?.path, 'relay');
  assert.equal(row(EXECUTOR)?.online, true);
  assert.deepEqual([...(row(EXECUTOR)?.capabilitiesReceived ?? [])].sort(), ['events.subscribe', 'mitigation.request']);
  // A block proposal is addressed to the executors trusted when it is made: this one must be listed.
  const view: IncidentsView = await api.call('incidents', {});
  assert.deepEqual(view.executors, [EXECUTOR]);
});

let proposal: ProposalRow;

step('an sshd brute force in the monitor log reaches the console feed and becomes an incident with a pending block', async () => {
  // Written as sshd would have logged it over the last quarter minute.
  const burst = bruteForceBurst(new Date(Date.now() - 15_000));
  appendFileSync(authLog, `${burst.join('\n')}\n`);

  const byAttacker = { ...EMPTY_FEED_FILTER, sourceIp: ATTACKER };
  const item = await eventually(
    async () => {
      const page: FeedPage = await api.call('feedPage', { filter: byAttacker, cursor: null, limit: 50 });
      return page.items.find((i) => i.rule === 'auth-brute-force');
    },
    STEP_MS,
    `a brute-force anomaly from ${ATTACKER} in the console feed`,
  );
  assert.equal(item.agentHostname, MONITOR);
  assert.equal(item.severity, 'high');
  assert.match(item.mitre, /^T1110/);
  assert.ok(item.count >= 6, `the bucket overflowed on the 6th failure (count ${item.count})`);
  const detail = await api.call('feedItem', { seq: item.seq });
  assert.ok(detail.evidence.some((e) => e.text.includes(`Failed password for root from ${ATTACKER}`)), JSON.stringify(detail.evidence));

  proposal = await eventually(
    async () => (await api.call('incidents', {})).proposals.find((p) => p.cidr === BLOCK && p.status === 'pending'),
    STEP_MS,
    `a pending proposal to block ${BLOCK}`,
  );
  assert.deepEqual(proposal.targets, [EXECUTOR]);
  assert.equal(proposal.action, 'block');
  const incident: IncidentDetailView = await api.call('incidentDetail', { incidentId: proposal.incidentId });
  assert.deepEqual(incident.incident.sources, [ATTACKER]);
  assert.deepEqual(incident.incident.agents, [MONITOR]);
  assert.ok(incident.anomalies.some((a) => a.rule === 'auth-brute-force' && a.agent === MONITOR));
  // The routine login from the office network is no part of it.
  assert.ok(!incident.incident.evidence.some((e) => e.text.includes('Accepted publickey')));
});

step('the analyst approves the block: the executor behind the symmetric NAT applies it, and its decisions and audit log record it', async () => {
  const outcome: ApprovalOutcome = await api.call('approveProposal', { proposalId: proposal.id, cidr: null, ttlSeconds: 3600, targets: null });
  assert.deepEqual(outcome.deliveries.map((d) => [d.executor, d.status]), [[EXECUTOR, 'applied']], JSON.stringify(outcome.deliveries));
  const requestId = outcome.proposal.approved?.requestId;
  assert.ok(requestId, 'the approval names its request');
  assert.equal(outcome.proposal.decision?.kind, 'approved');

  // On the executor itself.
  const decisions = await nodes.executor.json<{ backend: string; decisions: Array<{ requestId: string; cidr: string; state: string; incidentId: string | null; remainingSeconds: number | null; requester: { hostname: string } }> }>('decisions');
  assert.equal(decisions.backend, 'dry-run');
  const row = decisions.decisions.find((d) => d.requestId === requestId);
  assert.ok(row, `the executor lists request ${requestId}: ${JSON.stringify(decisions.decisions)}`);
  assert.equal(row.cidr, BLOCK);
  assert.equal(row.state, 'applied');
  assert.equal(row.requester.hostname, CONSOLE);
  assert.equal(row.incidentId, proposal.incidentId);
  assert.ok(row.remainingSeconds !== null && row.remainingSeconds > 3500 && row.remainingSeconds <= 3600, `remaining ${row.remainingSeconds}`);

  const audit = await nodes.executor.json<{ entries: AuditEntry[]; verify: { ok: boolean } }>('audit', '--verify');
  assert.equal(audit.verify.ok, true, 'the executor audit chain verifies');
  for (const action of ['mitigation.accepted', 'mitigation.applied']) {
    const entry: AuditEntry | undefined = audit.entries.find((e) => e.action === action && e.details.requestId === requestId);
    assert.ok(entry, `the executor audit has ${action} for ${requestId}`);
    assert.equal(entry.subject, BLOCK);
    assert.equal(entry.details.requester?.hostname, CONSOLE);
  }

  // Back at the console, over the relay: the executor's decisions stream reports the block.
  const reported = await eventually(
    async () => (await api.call('decisions', {})).decisions.find((d: DecisionRow) => d.requestId === requestId && d.state === 'applied'),
    STEP_MS,
    `the console hears ${EXECUTOR} applied ${BLOCK}`,
  );
  assert.equal(reported.executor, EXECUTOR);
  assert.equal(reported.cidr, BLOCK);
  const consoleAudit = await api.call('auditLog', { limit: 500 });
  assert.equal(consoleAudit.verify.ok, true, 'the console audit chain verifies');
  assert.ok(consoleAudit.entries.some((e) => e.action === 'task.submitted' && e.actor === 'console-analyst'));
  assert.ok(consoleAudit.entries.some((e) => e.action === 'task.applied' && e.actor === EXECUTOR));
});
