/**
 * The firewall executor role of an agent daemon (`swarmctl daemon start --executor nftables ...`):
 * serves signed mitigation tasks on port 1003 to peers it granted `mitigation.request`, runs them
 * through the FirewallExecutor (replay check, policy, durable decision, firewall), and publishes
 * every result — applied, refused, failed, expired, revoked — on the event stream (port 1002,
 * topic "decisions") so consoles update live.
 *
 * Protected addresses, re-read on every order: this node's own listen address, its registry, and
 * every trusted peer's known endpoints. Blocking any of them would cut the executor off from
 * the swarm that controls it, so the policy refuses them whatever the analyst asked.
 */
import { join } from 'node:path';
import type { Daemon } from '../../overlay/daemon.ts';
import type { EventPublisher } from '../../overlay/event-stream.ts';
import { fingerprintOf } from '../../overlay/identity.ts';
import { formatEndpoint } from '../../overlay/transport.ts';
import type { VerifiedTask } from '../../overlay/task-wire.ts';
import type { TaskOutcome, TaskPeer } from '../../overlay/task-service.ts';
import { createBackend, type BackendName } from './backends.ts';
import { FirewallExecutor, type DecisionView } from './executor.ts';
import { checkOrderShape, type ExecutionResult, type MitigationOrder } from './mitigation-order.ts';
import type { PolicyConfig } from './policy.ts';

export const MITIGATION_TASK = 'mitigation';
export const DECISIONS_TOPIC = 'decisions';
export const EXECUTOR_DB = 'executor.db';

export interface ExecutorRoleOptions {
  readonly daemon: Daemon;
  readonly backend: BackendName;
  readonly policy: PolicyConfig;
  /** Run firewall commands inside this network namespace (labs and tests). */
  readonly netns?: string;
  readonly log?: (line: string) => void;
}

export interface ExecutorStats {
  readonly backend: string;
  readonly active: number;
  readonly results: Readonly<Record<string, number>>;
  /** What reconciling the store with the firewall at start did (a crash mid-order shows here). */
  readonly startup: { resumed: number; expired: number; readded: number; removed: number; revokedByPolicy: number };
}

/** What the "decisions" topic carries: one executor result, with the decision as it stands. */
export interface DecisionReport {
  readonly executor: string;
  readonly result: ExecutionResult;
  readonly decision: DecisionView | null;
}

export class ExecutorRole {
  readonly executor: FirewallExecutor;
  readonly #daemon: Daemon;
  readonly #publisher: EventPublisher;
  readonly #backendName: string;
  readonly #log: (line: string) => void;
  readonly #counts: Record<string, number> = {};

  private constructor(daemon: Daemon, executor: FirewallExecutor, publisher: EventPublisher, backendName: string, log: (line: string) => void) {
    this.#daemon = daemon;
    this.executor = executor;
    this.#publisher = publisher;
    this.#backendName = backendName;
    this.#log = log;
  }

  static async start(options: ExecutorRoleOptions): Promise<ExecutorRole> {
    const daemon = options.daemon;
    const log = options.log ?? (() => {});
    const backend = await createBackend(options.backend, options.netns === undefined ? {} : { netns: options.netns });
    const audit = daemon.store.audit;
    const executor = await FirewallExecutor.open({
      dbPath: join(daemon.stateDir, EXECUTOR_DB),
      backend,
      policy: options.policy,
      protectedAddresses: () => protectedAddresses(daemon),
      audit: (action, subject, details) => {
        audit.append('executor', action, subject, details);
      },
    });
    const publisher = daemon.publishTopic(DECISIONS_TOPIC);
    const role = new ExecutorRole(daemon, executor, publisher, options.backend, log);
    executor.on('result', (result: ExecutionResult) => role.#report(result));
    daemon.serveTask(MITIGATION_TASK, 'mitigation.request', (task, peer) => role.#run(task, peer));
    role.#installControl();
    daemon.onStop(() => executor.close());
    daemon.addInfo('executor', () => role.stats());
    log(`executor: ${options.backend}${options.netns ? ` in netns ${options.netns}` : ''}; ${executor.active().length} active blocks; mitigation tasks on port 1003, results on topic "${DECISIONS_TOPIC}"`);
    const report = executor.startupReport;
    for (const r of report.resumed) log(`executor: request ${r.requestId} (${r.cidr}) was interrupted between its decision and the firewall; finished at start: ${r.outcome}${r.code ? ` (${r.code})` : ''}`);
    if (report.readded.length + report.removed.length + report.expired.length + report.revokedByPolicy.length > 0) {
      log(`executor: reconciled with the firewall: ${report.readded.length} re-added, ${report.removed.length} removed, ${report.expired.length} expired, ${report.revokedByPolicy.length} lifted by policy`);
    }
    return role;
  }

  stats(): ExecutorStats {
    const r = this.executor.startupReport;
    return {
      backend: this.#backendName,
      active: this.executor.active().length,
      results: { ...this.#counts },
      startup: { resumed: r.resumed.length, expired: r.expired.length, readded: r.readded.length, removed: r.removed.length, revokedByPolicy: r.revokedByPolicy.length },
    };
  }

  async #run(task: VerifiedTask, peer: TaskPeer): Promise<TaskOutcome> {
    const b = task.body;
    // The wire proved who signed it and when; the shape of the rest is checked here, and the
    // executor checks it again with the policy (it is also driven by the CLI and tests).
    const shaped = checkOrderShape({
      requestId: task.id,
      incidentId: b.incidentId ?? null,
      action: b.action,
      cidr: b.cidr,
      ttlSeconds: b.action === 'unblock' && b.ttlSeconds === undefined ? 0 : b.ttlSeconds,
      reason: b.reason,
      requester: { fingerprint: fingerprintOf(Buffer.from(peer.key, 'base64url')), hostname: peer.hostname ?? peer.key },
      issuedAt: task.issuedAt,
    });
    if (!shaped.ok) {
      this.#daemon.store.audit.append(peer.hostname ?? peer.key, 'mitigation.refused', task.id, { code: shaped.error.code, reason: shaped.error.message });
      return { status: 'refused', code: shaped.error.code, reason: shaped.error.message, detail: { cidr: typeof b.cidr === 'string' ? b.cidr.slice(0, 64) : '' } };
    }
    const order: MitigationOrder = shaped.value;
    const result = await this.executor.execute(order, { signed: task.signed });
    return {
      status: result.status,
      ...(result.code === undefined ? {} : { code: result.code }),
      ...(result.reason === undefined ? {} : { reason: result.reason }),
      detail: { cidr: result.cidr, ...(result.expiresAt === undefined ? {} : { expiresAt: result.expiresAt }) },
    };
  }

  #report(result: ExecutionResult): void {
    this.#counts[result.status] = (this.#counts[result.status] ?? 0) + 1;
    const decision = this.executor.decision(result.requestId);
    const report: DecisionReport = { executor: this.#daemon.hostname, result, decision };
    try {
      this.#publisher.publish(DECISIONS_TOPIC, [report]);
    } catch (err) {
      this.#log(`executor: could not publish a result: ${(err as Error).message}`);
    }
    this.#log(`executor: ${result.status} ${result.cidr} (request ${result.requestId})${result.reason ? `: ${result.reason}` : ''}`);
  }

  #installControl(): void {
    this.#daemon.addControlMethod('decisions', {
      admin: false,
      handle: (p) => ({ backend: this.#backendName, decisions: p.all === true ? this.executor.history() : this.executor.active() }),
    });
    this.#daemon.addControlMethod('executor.flush', { admin: true, handle: async () => ({ backend: this.#backendName, ...(await this.executor.flush('admin')) }) });
    this.#daemon.addControlMethod('executor.revoke', {
      admin: true,
      handle: async (p) => ({ result: await this.executor.revoke(typeof p.target === 'string' ? p.target : '', 'admin') }),
    });
  }
}

/** This node's own underlay address, its registry and its trusted peers' endpoints. */
function protectedAddresses(daemon: Daemon): string[] {
  const out = [formatEndpoint(daemon.node.conn.local), formatEndpoint(daemon.registry.registry)];
  for (const t of daemon.trust.trusted()) out.push(...t.endpoints);
  for (const v of daemon.node.peers()) if (v.endpoint && daemon.trust.isTrusted(v.keyId)) out.push(formatEndpoint(v.endpoint));
  const observed = daemon.registryStatus().observed;
  if (typeof observed === 'string') out.push(observed);
  return out;
}
