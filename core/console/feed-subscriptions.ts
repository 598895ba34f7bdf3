/**
 * The console's side of the event stream: one subscription to the "anomalies" topic of every
 * trusted peer that granted this console `events.subscribe` (a log monitor offers it when it asks
 * for trust). Subscriptions follow trust: added when a grant appears, closed at once when trust
 * or the grant goes. Cursors live in the console's events.db, so a restarted console resumes
 * each monitor's stream exactly after the last report it stored.
 */
import { join } from 'node:path';
import type { Daemon } from '../overlay/daemon.ts';
import { EventSubscription, type SubscriptionStatus } from '../overlay/event-stream.ts';
import type { EventItem } from '../overlay/event-wire.ts';
import { EventLogStore } from '../store/event-log-store.ts';
import type { FeedAgent } from './api.ts';

export const ANOMALIES_TOPIC = 'anomalies';
const CURSORS_DB = 'events.db';

export interface FeedSubscriptionsOptions {
  readonly daemon: Daemon;
  /** Stores a batch of anomalies from one agent (validated there: they crossed the network). */
  readonly ingest: (agent: FeedAgent, anomalies: unknown[]) => void | Promise<void>;
  readonly log?: (line: string) => void;
}

export class FeedSubscriptions {
  readonly #o: FeedSubscriptionsOptions;
  readonly #cursors: EventLogStore;
  readonly #subscriptions = new Map<string, { subscription: EventSubscription; hostname: string }>();
  #closed = false;

  constructor(options: FeedSubscriptionsOptions) {
    this.#o = options;
    this.#cursors = EventLogStore.open(join(options.daemon.stateDir, CURSORS_DB));
  }

  /** Brings the subscriptions in line with the trust store; call on every trust change. */
  sync(): void {
    if (this.#closed) return;
    const wanted = new Map<string, string>();
    for (const record of this.#o.daemon.trust.trusted()) {
      if (record.capsReceived.includes('events.subscribe')) wanted.set(record.peerKey, record.hostname);
    }
    for (const [key, entry] of this.#subscriptions) {
      if (wanted.has(key)) continue;
      entry.subscription.close();
      this.#subscriptions.delete(key);
      this.#o.log?.(`feed: stopped following ${entry.hostname}`);
    }
    for (const [key, hostname] of wanted) {
      if (this.#subscriptions.has(key)) continue;
      const agent: FeedAgent = { key, hostname };
      const subscription = new EventSubscription({
        node: this.#o.daemon.node,
        peerKeyId: key,
        topic: ANOMALIES_TOPIC,
        store: this.#cursors,
        onEvents: (items: readonly EventItem[]) => this.#o.ingest(agent, items.map((it) => anomalyOfReport(it.data))),
        onGap: (from, to) => this.#o.log?.(`feed: ${hostname} no longer had reports ${from}-${to} (pruned before this console got them)`),
        onStatus: (status: SubscriptionStatus) => {
          if (status.state === 'live' || status.state === 'refused') this.#o.log?.(`feed: ${hostname} ${status.state}${status.state === 'refused' ? `: ${status.reason}` : ''}`);
        },
      }).start();
      this.#subscriptions.set(key, { subscription, hostname });
      this.#o.log?.(`feed: following anomalies from ${hostname}`);
    }
  }

  /** Agents followed now and how each stream stands. */
  status(): Array<{ key: string; hostname: string; status: SubscriptionStatus; cursor: number }> {
    return [...this.#subscriptions].map(([key, e]) => ({ key, hostname: e.hostname, status: e.subscription.status, cursor: e.subscription.cursor }));
  }

  close(): void {
    this.#closed = true;
    for (const e of this.#subscriptions.values()) e.subscription.close();
    this.#subscriptions.clear();
    this.#cursors.close();
  }
}

/**
 * A monitor's report ({ type, anomaly }) in the shape the feed validates. Untrusted input: this
 * only reshapes what is there (users and evidence lists), parseFeedAnomalies judges it.
 */
export function anomalyOfReport(report: unknown): unknown {
  if (typeof report !== 'object' || report === null) return report;
  const anomaly = (report as { anomaly?: unknown }).anomaly;
  if (typeof anomaly !== 'object' || anomaly === null) return anomaly;
  const a = anomaly as Record<string, unknown>;
  const users = a.users as { sample?: unknown; total?: unknown } | undefined;
  return {
    ...a,
    users: Array.isArray(users?.sample) ? users.sample : [],
    usersTotal: typeof users?.total === 'number' ? users.total : undefined,
  };
}
