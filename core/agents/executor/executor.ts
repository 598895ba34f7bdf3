/**
 * The firewall executor: carries out analyst-approved mitigation orders on this host's firewall,
 * and only those its own policy allows.
 *
 * For each order, in this order, one at a time (orders are serialised, so the store and the
 * firewall never see two changes interleave):
 *   1. shape and replay: a request id seen before is refused, whatever happened to it;
 *   2. policy (policy.ts), then overlap with active blocks (an interval set cannot hold both
 *      198.51.100.0/24 and 198.51.100.7, and silently widening or narrowing a block is not
 *      ours to decide);
 *   3. `accepted` is committed to executor.db and audited — before the firewall is touched;
 *   4. the backend applies it (one transaction);
 *   5. `applied` (or `failed`) is committed and audited, and a `result` event is emitted.
 *
 * Blocks end on their own twice over: the kernel drops each set entry when its timeout runs out
 * (even if this process is dead), and a timer here marks the decision `expired` at the same
 * moment, removes the entry explicitly (so `expired` means the traffic passes again, not "will
 * pass in a few milliseconds") and emits the result. One timer, set for the next expiry only.
 *
 * Reconciliation (at open, and whenever the daemon asks) makes the firewall match the store:
 * decisions a crash left in `accepted` are finished, due ones expired, blocks that now violate
 * the policy (a newly trusted peer, a new allowlist entry) lifted, missing entries re-added with
 * their remaining time, and entries nobody decided removed.
 */
import { EventEmitter } from 'node:events';
import { SwarmError } from '../../overlay/errors.ts';
import { BackendError, type FirewallBackend, type FirewallBlock } from './backend.ts';
import { cidrsOverlap, familyBits, parseCidr, quoteInput, supernetsOf, type Cidr } from './cidr.ts';
import { DecisionStore, type Decision, type DecisionState, type OrderEvidence } from './decision-store.ts';
import { checkOrderShape, type ExecutionResult, type MitigationAction, type MitigationOrder, type MitigationRequester } from './mitigation-order.ts';
import { checkMitigation, checkTarget, resolvePolicy, type MitigationPolicy, type PolicyConfig, type Refusal } from './policy.ts';

export type { ExecutionResult, ExecutionStatus, MitigationAction, MitigationOrder, MitigationRequester } from './mitigation-order.ts';
export type { PolicyConfig } from './policy.ts';
export type { Decision, DecisionState, OrderEvidence } from './decision-store.ts';

export const EXECUTOR_DB = 'executor.db';
/**
 * A kernel timeout that differs from the store's remaining time by more than this is rewritten
 * at reconciliation; less is the normal drift between computing an expiry and applying it.
 */
const TIMEOUT_DRIFT_TOLERANCE_S = 5;
/** setTimeout's longest delay; a later expiry just re-arms the timer when it fires. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;
/** Text from an order kept in the store when it did not parse, bounded. */
const MAX_STORED_TARGET_LENGTH = 100;

export type AuditCallback = (action: string, subject: string, details: Record<string, unknown>) => void;

/** Fault injection points, for crash tests only. */
export interface ExecutorTestHooks {
  /** After `accepted` is committed, before the firewall is touched. */
  readonly afterAccepted?: (requestId: string) => void | Promise<void>;
  /** After the firewall changed, before `applied` is committed. */
  readonly afterApplied?: (requestId: string) => void | Promise<void>;
}

export interface FirewallExecutorOptions {
  /** The decision store, normally `STATE/executor.db`. */
  readonly dbPath: string;
  readonly backend: FirewallBackend;
  readonly policy: PolicyConfig;
  /**
   * This executor's own addresses, the registry/beacon and trusted peers' endpoints, as they are
   * now (called on every check). Addresses, CIDRs, `IP:port` or `[IPv6]:port`.
   */
  readonly protectedAddresses: () => readonly string[];
  /** Every accept, refuse, apply, fail, expire, revoke and flush (the node's hash-chained audit log). */
  readonly audit?: AuditCallback;
  /** Problems that do not fail an order (an audit callback that threw, a cleanup that failed). */
  readonly log?: (line: string) => void;
  /** Clock, ms since the epoch. */
  readonly now?: () => number;
  readonly testHooks?: ExecutorTestHooks;
}

/** A decision as the console and the CLI show it (plain data: it travels as JSON). */
export interface DecisionView {
  readonly requestId: string;
  readonly incidentId: string | null;
  readonly action: MitigationAction;
  readonly cidr: string;
  readonly state: DecisionState;
  /** Refusal or failure code. */
  readonly code: string | null;
  /** Refusal or failure message, or how the decision ended. */
  readonly detail: string | null;
  /** The analyst's justification. */
  readonly reason: string;
  readonly requester: MitigationRequester;
  readonly ttlSeconds: number;
  readonly issuedAt: number;
  readonly receivedAt: number;
  readonly appliedAt: number | null;
  readonly expiresAt: number | null;
  /** Seconds left for an active block; null otherwise. */
  readonly remainingSeconds: number | null;
  readonly endedBy: string | null;
}

export interface ReconcileReport {
  /** Decisions a crash had left in `accepted`, and how each ended now. */
  readonly resumed: ReadonlyArray<{ requestId: string; cidr: string; outcome: 'applied' | 'failed' | 'refused' | 'expired'; code?: string }>;
  /** Request ids of blocks whose time was up. */
  readonly expired: readonly string[];
  /** Active blocks lifted because the policy now refuses their target. */
  readonly revokedByPolicy: ReadonlyArray<{ requestId: string; cidr: string; code: string }>;
  /** Active blocks missing from the firewall, added again with their remaining time. */
  readonly readded: readonly string[];
  /** Entries whose kernel timeout disagreed with the decision, rewritten. */
  readonly refreshed: readonly string[];
  /** Entries in our sets with no active decision, removed. */
  readonly removed: readonly string[];
  /** Active blocks after reconciliation. */
  readonly active: number;
}

export class ExecutorError extends SwarmError<'executor_policy' | 'executor_closed'> {}

interface EventMap {
  result: [ExecutionResult];
}

function remainingSeconds(expiresAt: number, now: number): number {
  return Math.max(0, Math.ceil((expiresAt - now) / 1000));
}

/** A decision as first recorded for an order: accepted (before the firewall) or refused. */
function newDecision(
  order: MitigationOrder,
  outcome: Pick<Decision, 'cidr' | 'ttlSeconds' | 'expiresAt' | 'state' | 'code' | 'detail'>,
  now: number,
  evidence: OrderEvidence | null,
): Decision {
  return {
    requestId: order.requestId,
    incidentId: order.incidentId,
    action: order.action,
    ...outcome,
    reason: order.reason,
    requester: order.requester,
    issuedAt: order.issuedAt,
    receivedAt: Math.floor(now),
    appliedAt: null,
    updatedAt: Math.floor(now),
    endedBy: null,
    evidence,
  };
}

function toView(d: Decision, now: number): DecisionView {
  const active = d.state === 'applied' && d.action === 'block' && d.expiresAt !== null;
  return {
    requestId: d.requestId,
    incidentId: d.incidentId,
    action: d.action,
    cidr: d.cidr,
    state: d.state,
    code: d.code,
    detail: d.detail,
    reason: d.reason,
    requester: d.requester,
    ttlSeconds: d.ttlSeconds,
    issuedAt: d.issuedAt,
    receivedAt: d.receivedAt,
    appliedAt: d.appliedAt,
    expiresAt: d.expiresAt,
    remainingSeconds: active ? remainingSeconds(d.expiresAt as number, now) : null,
    endedBy: d.endedBy,
  };
}

function boundedTarget(text: string): string {
  return text.length > MAX_STORED_TARGET_LENGTH ? `${text.slice(0, MAX_STORED_TARGET_LENGTH)}…` : text;
}

function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof BackendError) return { code: err.code, message: err.hint === '' ? err.message : `${err.message} (${err.hint})` };
  return { code: 'backend_command_failed', message: err instanceof Error ? err.message : String(err) };
}

export class FirewallExecutor extends EventEmitter<EventMap> {
  readonly backend: FirewallBackend;
  readonly policy: MitigationPolicy;
  readonly #store: DecisionStore;
  readonly #audit: AuditCallback;
  readonly #log: (line: string) => void;
  readonly #now: () => number;
  readonly #hooks: ExecutorTestHooks;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | null = null;
  readonly #parsedTargets = new Map<string, Cidr>();
  #closed = false;
  #startupReport: ReconcileReport = { resumed: [], expired: [], revokedByPolicy: [], readded: [], refreshed: [], removed: [], active: 0 };

  private constructor(options: FirewallExecutorOptions, policy: MitigationPolicy, store: DecisionStore) {
    super();
    this.backend = options.backend;
    this.policy = policy;
    this.#store = store;
    this.#audit = options.audit ?? (() => {});
    this.#log = options.log ?? (() => {});
    this.#now = options.now ?? Date.now;
    this.#hooks = options.testHooks ?? {};
  }

  /** What the reconciliation at open found and did (a crash, entries lost in a reboot). */
  get startupReport(): ReconcileReport {
    return this.#startupReport;
  }

  /**
   * Opens the store, sets up the backend and reconciles (see the file comment). Throws
   * ExecutorError for an invalid policy, StoreError for an unusable database and BackendError
   * when the firewall cannot be set up (tools missing, not root): an executor that cannot
   * enforce or cannot remember must not start.
   */
  static async open(options: FirewallExecutorOptions): Promise<FirewallExecutor> {
    const policy = resolvePolicy(options.policy, options.protectedAddresses);
    if (!policy.ok) throw new ExecutorError('executor_policy', `executor policy: ${policy.error.message}`, 'fix the executor configuration');
    const store = DecisionStore.open(options.dbPath);
    const executor = new FirewallExecutor(options, policy.value, store);
    try {
      executor.#startupReport = await executor.reconcile();
    } catch (err) {
      await executor.close();
      throw err;
    }
    return executor;
  }

  /**
   * Runs `fn` after every earlier operation finished: one change to store and firewall at a
   * time. Operations asked for before close() still run; later ones are refused.
   */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new ExecutorError('executor_closed', 'the firewall executor is closed', 'open it again'));
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  #record(action: string, subject: string, details: Record<string, unknown>): void {
    try {
      this.#audit(action, subject, details);
    } catch (err) {
      this.#log(`executor: could not write audit entry ${action} ${subject}: ${(err as Error).message}`);
    }
  }

  #emit(result: ExecutionResult): ExecutionResult {
    this.emit('result', result);
    return result;
  }

  /**
   * Carries out one order (see the file comment). Never throws for a bad order: it answers.
   * `evidence`: the signed request the order came in, kept with the decision and audited.
   */
  execute(order: MitigationOrder, evidence?: OrderEvidence): Promise<ExecutionResult> {
    return this.#exclusive(() => this.#execute(order, evidence ?? null));
  }

  async #execute(input: MitigationOrder, evidence: OrderEvidence | null): Promise<ExecutionResult> {
    const now = this.#now();
    const shape = checkOrderShape(input);
    if (!shape.ok) {
      const raw = input as unknown as Record<string, unknown> | null;
      const requestId = typeof raw?.requestId === 'string' ? boundedTarget(raw.requestId) : '';
      const target = typeof raw?.cidr === 'string' ? boundedTarget(raw.cidr) : '';
      this.#record('mitigation.refused', target, { requestId, code: 'invalid_order', reason: shape.error.message });
      return this.#emit({ requestId, status: 'refused', cidr: target, code: 'invalid_order', reason: shape.error.message });
    }
    const order = shape.value;

    const previous = this.#store.get(order.requestId);
    if (previous !== null) {
      const reason = `request ${order.requestId} was already decided (${previous.state} at ${new Date(previous.updatedAt).toISOString()}); a new order needs a new request id`;
      this.#record('mitigation.refused', previous.cidr, { ...this.#orderDetails(order), code: 'replayed_request', reason });
      return this.#emit({ requestId: order.requestId, status: 'refused', cidr: previous.cidr, code: 'replayed_request', reason });
    }

    const target = parseCidr(order.cidr);
    const sameTarget = target.ok ? this.#store.activeBlockFor(target.value.text) : null;
    const check = checkMitigation(order, this.policy, { activeEntries: this.#store.countActiveBlocks(), refreshesActiveEntry: sameTarget !== null });
    if (!check.ok) return this.#refuse(order, target.ok ? target.value.text : boundedTarget(order.cidr), check.error, now, evidence);
    const { cidr, ttlSeconds } = check.value;

    const overlapping = this.#overlappingActiveBlock(cidr);
    if (overlapping !== undefined) {
      const reason =
        order.action === 'block'
          ? `${cidr.text} overlaps the active block of ${overlapping.cidr} (request ${overlapping.requestId}); unblock that first, or block exactly ${overlapping.cidr} to renew it`
          : `${cidr.text} is not blocked itself but lies inside or around the active block of ${overlapping.cidr} (request ${overlapping.requestId}); unblock ${overlapping.cidr} instead`;
      return this.#refuse(order, cidr.text, { code: 'overlaps_active_block', reason }, now, evidence);
    }

    const expiresAt = order.action === 'block' ? Math.floor(now) + ttlSeconds * 1000 : null;
    this.#store.insert(newDecision(order, { cidr: cidr.text, ttlSeconds, expiresAt, state: 'accepted', code: null, detail: null }, now, evidence));
    try {
      this.#audit('mitigation.accepted', cidr.text, { ...this.#orderDetails(order), ttlSeconds, expiresAt, ...(evidence === null ? {} : { signed: evidence.signed }) });
    } catch (err) {
      // An order the audit log cannot record must not change the firewall.
      const reason = `the audit log could not record the decision (${(err as Error).message}); the firewall was not touched`;
      this.#store.transition(order.requestId, ['accepted'], 'failed', Math.floor(this.#now()), { code: 'audit_failed', detail: reason });
      return this.#emit({ requestId: order.requestId, status: 'failed', cidr: cidr.text, code: 'audit_failed', reason });
    }
    await this.#hooks.afterAccepted?.(order.requestId);
    return this.#apply(this.#store.get(order.requestId) as Decision, cidr, false);
  }

  /**
   * An active block of another CIDR that shares addresses with `cidr`, or undefined. Two CIDRs
   * overlap only if one contains the other: the wider ones are `cidr`'s supernets (one indexed
   * query, whatever the number of blocks); narrower ones exist only under a prefix, and only
   * then are all active targets scanned.
   */
  #overlappingActiveBlock(cidr: Cidr): { requestId: string; cidr: string } | undefined {
    const wider = this.#store.activeTargetsAmong(supernetsOf(cidr).map((c) => c.text))[0];
    if (wider !== undefined || cidr.prefix === familyBits(cidr.family)) return wider;
    return this.#store.activeTargets().find((d) => {
      if (d.cidr === cidr.text) return false;
      const other = this.#parsedTarget(d.cidr);
      return other !== null && cidrsOverlap(other, cidr);
    });
  }

  /**
   * Stored targets parsed once: a prefix order is checked against every active block, and
   * parsing 10,000 CIDRs per order would cost more than the firewall call. Bounded: cleared when it
   * outgrows the entry limit twice over (expired targets are simply parsed again if needed).
   */
  #parsedTarget(text: string): Cidr | null {
    let cidr = this.#parsedTargets.get(text);
    if (cidr === undefined) {
      const parsed = parseCidr(text);
      if (!parsed.ok) return null;
      if (this.#parsedTargets.size >= 2 * this.policy.maxActiveEntries) this.#parsedTargets.clear();
      cidr = parsed.value;
      this.#parsedTargets.set(text, cidr);
    }
    return cidr;
  }

  #orderDetails(order: MitigationOrder): Record<string, unknown> {
    return { requestId: order.requestId, incidentId: order.incidentId, action: order.action, requester: order.requester, reason: order.reason, issuedAt: order.issuedAt };
  }

  #refuse(order: MitigationOrder, target: string, refusal: Refusal, now: number, evidence: OrderEvidence | null): ExecutionResult {
    const ttlSeconds = Number.isSafeInteger(order.ttlSeconds) ? order.ttlSeconds : 0;
    this.#store.insert(newDecision(order, { cidr: target, ttlSeconds, expiresAt: null, state: 'refused', code: refusal.code, detail: refusal.reason }, now, evidence));
    this.#record('mitigation.refused', target, { ...this.#orderDetails(order), code: refusal.code, reason: refusal.reason });
    return this.#emit({ requestId: order.requestId, status: 'refused', cidr: target, code: refusal.code, reason: refusal.reason });
  }

  /**
   * Applies an accepted decision and records the outcome. `resumed`: found in `accepted` after a
   * restart, so the block gets only the time it has left.
   */
  async #apply(decision: Decision, cidr: Cidr, resumed: boolean): Promise<ExecutionResult> {
    const requestId = decision.requestId;
    try {
      if (decision.action === 'block') {
        const ttl = remainingSeconds(decision.expiresAt as number, this.#now());
        await this.backend.block([{ cidr, ttlSeconds: Math.max(1, ttl) }]);
      } else {
        await this.backend.unblock([cidr]);
      }
    } catch (err) {
      const { code, message } = describeError(err);
      this.#store.transition(requestId, ['accepted'], 'failed', Math.floor(this.#now()), { code, detail: message });
      this.#record('mitigation.failed', cidr.text, { requestId, incidentId: decision.incidentId, action: decision.action, code, reason: message, resumed });
      return this.#emit({ requestId, status: 'failed', cidr: cidr.text, code, reason: message });
    }
    await this.#hooks.afterApplied?.(requestId);

    const at = Math.floor(this.#now());
    const ended = this.#store.activeBlockFor(cidr.text);
    this.#store.atomically(() => {
      this.#store.transition(requestId, ['accepted'], 'applied', at, { appliedAt: at });
      if (ended !== null && ended.requestId !== requestId) {
        this.#store.transition(ended.requestId, ['applied'], decision.action === 'block' ? 'superseded' : 'revoked', at, {
          endedBy: requestId,
          detail: decision.action === 'block' ? `renewed by request ${requestId}` : `unblocked by request ${requestId} from ${decision.requester.hostname}`,
        });
      }
    });
    const details = { requestId, incidentId: decision.incidentId, action: decision.action, requester: decision.requester, expiresAt: decision.expiresAt, resumed };
    this.#record('mitigation.applied', cidr.text, details);
    if (ended !== null && ended.requestId !== requestId) {
      if (decision.action === 'block') {
        this.#record('mitigation.superseded', cidr.text, { requestId: ended.requestId, by: requestId });
      } else {
        this.#record('mitigation.revoked', cidr.text, { requestId: ended.requestId, by: requestId, requester: decision.requester });
        this.#emit({ requestId: ended.requestId, status: 'revoked', cidr: cidr.text, reason: `unblocked by request ${requestId}` });
      }
    }
    this.#scheduleExpiry();
    if (decision.action === 'unblock') {
      const reason = ended === null ? `${cidr.text} was not blocked (nothing to remove)` : `block of ${cidr.text} (request ${ended.requestId}) removed`;
      return this.#emit({ requestId, status: 'applied', cidr: cidr.text, reason });
    }
    return this.#emit({ requestId, status: 'applied', cidr: cidr.text, expiresAt: decision.expiresAt as number });
  }

  /**
   * Lifts an active block by its request id or its CIDR (a local decision: `by` says who, e.g.
   * `admin`). Null if nothing active matches. If the firewall refuses, the block stays recorded
   * as active and the result says `failed`.
   */
  revoke(cidrOrRequestId: string, by: string): Promise<ExecutionResult | null> {
    return this.#exclusive(async () => {
      let decision = this.#store.get(cidrOrRequestId);
      if (decision === null || decision.state !== 'applied' || decision.action !== 'block') {
        const parsed = parseCidr(cidrOrRequestId);
        decision = parsed.ok ? this.#store.activeBlockFor(parsed.value.text) : null;
      }
      if (decision === null) return null;
      const cidr = parseCidr(decision.cidr);
      if (!cidr.ok) return null;
      try {
        await this.backend.unblock([cidr.value]);
      } catch (err) {
        const { code, message } = describeError(err);
        this.#record('mitigation.failed', decision.cidr, { requestId: decision.requestId, action: 'revoke', by, code, reason: message });
        return this.#emit({ requestId: decision.requestId, status: 'failed', cidr: decision.cidr, code, reason: message });
      }
      this.#store.transition(decision.requestId, ['applied'], 'revoked', Math.floor(this.#now()), { endedBy: by, detail: `revoked by ${by}` });
      this.#record('mitigation.revoked', decision.cidr, { requestId: decision.requestId, incidentId: decision.incidentId, by });
      this.#scheduleExpiry();
      return this.#emit({ requestId: decision.requestId, status: 'revoked', cidr: decision.cidr, reason: `revoked by ${by}` });
    });
  }

  /** Active blocks with the seconds they have left, soonest expiry first. */
  active(): DecisionView[] {
    const now = this.#now();
    return this.#store
      .activeBlocks()
      .filter((d) => (d.expiresAt as number) > now)
      .map((d) => toView(d, now));
  }

  /** One decision by request id (any state), or null. */
  decision(requestId: string): DecisionView | null {
    const d = this.#store.get(requestId);
    return d === null ? null : toView(d, this.#now());
  }

  /** The latest decisions of any state, newest first. */
  history(limit = 100): DecisionView[] {
    const now = this.#now();
    return this.#store.recent(limit).map((d) => toView(d, now));
  }

  /** The signed request an order came in, if it came over the wire. */
  evidence(requestId: string): OrderEvidence | null {
    return this.#store.get(requestId)?.evidence ?? null;
  }

  /** Makes the firewall and the store agree (see the file comment) and says what it did. */
  reconcile(): Promise<ReconcileReport> {
    return this.#exclusive(() => this.#reconcile());
  }

  async #reconcile(): Promise<ReconcileReport> {
    await this.backend.setup();
    const resumed: Array<ReconcileReport['resumed'][number]> = [];
    for (const stuck of this.#store.stuck()) resumed.push(await this.#resume(stuck));

    const expired = (await this.#expireDue()).map((d) => d.requestId);

    const revokedByPolicy: Array<ReconcileReport['revokedByPolicy'][number]> = [];
    for (const d of this.#store.activeBlocks()) {
      const cidr = parseCidr(d.cidr);
      const refusal = cidr.ok ? checkTarget(cidr.value, this.policy) : { code: 'invalid_cidr', reason: `stored target ${quoteInput(d.cidr)} does not parse` };
      if (refusal === null) continue;
      if (refusal.code === 'protected_address_unknown') {
        // Not knowing what is protected stops new blocks; it is no reason to lift the ones in place.
        this.#log(`executor: ${refusal.reason}`);
        continue;
      }
      // Its entry is removed below with everything else that has no active decision.
      this.#store.transition(d.requestId, ['applied'], 'revoked', Math.floor(this.#now()), { endedBy: 'policy', code: refusal.code, detail: `lifted: ${refusal.reason}` });
      this.#record('mitigation.revoked', d.cidr, { requestId: d.requestId, by: 'policy', code: refusal.code, reason: refusal.reason });
      this.#emit({ requestId: d.requestId, status: 'revoked', cidr: d.cidr, code: refusal.code, reason: `lifted by policy: ${refusal.reason}` });
      revokedByPolicy.push({ requestId: d.requestId, cidr: d.cidr, code: refusal.code });
    }

    const now = this.#now();
    const active = this.#store.activeBlocks();
    const inFirewall = new Map((await this.backend.list()).map((e) => [e.cidr.text, e]));
    const wanted = new Set(active.map((d) => d.cidr));
    const toRemove = [...inFirewall.values()].filter((e) => !wanted.has(e.cidr.text)).map((e) => e.cidr);
    const toAdd: FirewallBlock[] = [];
    const readded: string[] = [];
    const refreshed: string[] = [];
    for (const d of active) {
      const cidr = parseCidr(d.cidr);
      if (!cidr.ok) continue;
      const ttlSeconds = Math.max(1, remainingSeconds(d.expiresAt as number, now));
      const entry = inFirewall.get(d.cidr);
      if (entry === undefined) {
        readded.push(d.cidr);
        toAdd.push({ cidr: cidr.value, ttlSeconds });
      } else if (entry.remainingSeconds === null || Math.abs(entry.remainingSeconds - ttlSeconds) > TIMEOUT_DRIFT_TOLERANCE_S) {
        refreshed.push(d.cidr);
        toAdd.push({ cidr: cidr.value, ttlSeconds });
      }
    }
    // Removals first: an unknown 198.51.100.0/24 must go before an active 198.51.100.7 can be added.
    await this.backend.unblock(toRemove);
    await this.backend.block(toAdd);

    const report: ReconcileReport = {
      resumed,
      expired,
      revokedByPolicy,
      readded,
      refreshed,
      removed: toRemove.map((c) => c.text),
      active: active.length,
    };
    if (resumed.length + revokedByPolicy.length + readded.length + refreshed.length + toRemove.length > 0) {
      this.#record('mitigation.reconciled', this.backend.kind, { ...report });
    }
    this.#scheduleExpiry();
    return report;
  }

  /** Finishes a decision a crash left in `accepted`. */
  async #resume(d: Decision): Promise<ReconcileReport['resumed'][number]> {
    const now = Math.floor(this.#now());
    const cidr = parseCidr(d.cidr);
    const end = (state: DecisionState, outcome: 'failed' | 'refused' | 'expired', code: string, detail: string) => {
      this.#store.transition(d.requestId, ['accepted'], state, now, { code, detail });
      this.#record(`mitigation.${outcome}`, d.cidr, { requestId: d.requestId, incidentId: d.incidentId, code, reason: detail, resumed: true });
      this.#emit({ requestId: d.requestId, status: outcome === 'expired' ? 'expired' : outcome, cidr: d.cidr, code, reason: detail });
      return { requestId: d.requestId, cidr: d.cidr, outcome, code };
    };
    if (!cidr.ok) return end('failed', 'failed', 'invalid_cidr', 'the stored target does not parse');
    if (d.action === 'block') {
      if ((d.expiresAt as number) <= now) return end('expired', 'expired', 'expired_before_applied', 'the executor stopped before applying the block, and its time ran out before it restarted');
      // The policy may have changed since the order was accepted (new allowlist, new peer).
      const refusal = checkTarget(cidr.value, this.policy);
      if (refusal !== null) return end('refused', 'refused', refusal.code, refusal.reason);
    }
    const result = await this.#apply(d, cidr.value, true);
    return { requestId: d.requestId, cidr: d.cidr, outcome: result.status === 'applied' ? 'applied' : 'failed', ...(result.code === undefined ? {} : { code: result.code }) };
  }

  /** Marks blocks whose time is up as expired and removes their entries (the kernel may be a moment late). */
  async #expireDue(): Promise<Decision[]> {
    const due = this.#store.dueToExpire(this.#now());
    if (due.length === 0) return due;
    const cidrs = due.map((d) => parseCidr(d.cidr)).flatMap((c) => (c.ok ? [c.value] : []));
    try {
      await this.backend.unblock(cidrs);
    } catch (err) {
      // The kernel's own timeouts remove them anyway; say so and carry on.
      this.#log(`executor: could not remove ${cidrs.length} expired entries at once (the kernel expires them itself): ${describeError(err).message}`);
    }
    const at = Math.floor(this.#now());
    for (const d of due) {
      if (!this.#store.transition(d.requestId, ['applied'], 'expired', at)) continue;
      this.#record('mitigation.expired', d.cidr, { requestId: d.requestId, incidentId: d.incidentId, expiresAt: d.expiresAt });
      this.#emit({ requestId: d.requestId, status: 'expired', cidr: d.cidr, expiresAt: d.expiresAt as number });
    }
    return due;
  }

  #scheduleExpiry(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#closed) return;
    const next = this.#store.nextExpiry();
    if (next === null) return;
    const delay = Math.min(MAX_TIMER_DELAY_MS, Math.max(0, next - this.#now()));
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#exclusive(async () => {
        await this.#expireDue();
        this.#scheduleExpiry();
      }).catch((err: unknown) => {
        if (!this.#closed) this.#log(`executor: expiry failed: ${(err as Error).message}`);
      });
    }, delay);
    // Blocks live in the kernel; a pending expiry must not keep the process alive.
    this.#timer.unref();
  }

  /**
   * Removes everything the backend created (its table or sets and rules, nothing else) and ends
   * every active decision as revoked by `by`.
   */
  flush(by = 'admin'): Promise<{ removed: number }> {
    return this.#exclusive(async () => {
      const { removed } = await this.backend.flush();
      const at = Math.floor(this.#now());
      const ended = this.#store.activeBlocks();
      this.#store.atomically(() => {
        for (const d of ended) this.#store.transition(d.requestId, ['applied'], 'revoked', at, { endedBy: `flush by ${by}`, detail: `flushed by ${by}` });
      });
      this.#record('mitigation.flushed', this.backend.kind, { by, removed, decisions: ended.map((d) => d.requestId) });
      for (const d of ended) this.#emit({ requestId: d.requestId, status: 'revoked', cidr: d.cidr, reason: `flushed by ${by}` });
      this.#scheduleExpiry();
      return { removed };
    });
  }

  /** Stops the timer and closes the store after the operation in progress. Blocks stay in the kernel until they expire. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#store.close();
  }
}
