/**
 * The console's side of the event stream: one subscription to a topic of every trusted peer that
 * granted this console `events.subscribe` and qualifies for the topic — the "anomalies" of log
 * monitors, the "decisions" of firewall executors. Subscriptions follow trust: added when a grant
 * appears, closed at once when trust or the grant goes. Cursors live in the console's events.db,
 * so a restarted console resumes each peer's stream exactly after the last event it processed.
 */
import type { Daemon } from '../overlay/daemon.ts';
import { EventSubscription, type SubscriptionStatus } from '../overlay/event-stream.ts';
import type { EventItem } from '../overlay/event-wire.ts';
import type { EventLogStore } from '../store/event-log-store.ts';
import type { TrustRecord } from '../store/node-store.ts';
import type { FeedAgent } from './api.ts';

export interface TopicSubscriptionsOptions {
  readonly daemon: Daemon;
  readonly topic: string;
  /** Where cursors are kept (one store may serve several topics: cursors are per peer and topic). */
  readonly cursors: EventLogStore;
  /** Which trusted peers publish this topic (all of them need to have granted events.subscribe). */
  readonly publishes: (record: TrustRecord) => boolean;
  /** Processes a batch from one peer; untrusted input: validate it. */
  readonly onEvents: (agent: FeedAgent, data: unknown[]) => void | Promise<void>;
  readonly log?: (line: string) => void;
}

export class TopicSubscriptions {
  readonly #o: TopicSubscriptionsOptions;
  readonly #subscriptions = new Map<string, { subscription: EventSubscription; hostname: string }>();
  #closed = false;

  constructor(options: TopicSubscriptionsOptions) {
    this.#o = options;
  }

  /** Brings the subscriptions in line with the trust store; call on every trust change. */
  sync(): void {
    if (this.#closed) return;
    const topic = this.#o.topic;
    const wanted = new Map<string, string>();
    for (const record of this.#o.daemon.trust.trusted()) {
      if (record.capsReceived.includes('events.subscribe') && this.#o.publishes(record)) wanted.set(record.peerKey, record.hostname);
    }
    for (const [key, entry] of this.#subscriptions) {
      if (wanted.has(key)) continue;
      entry.subscription.close();
      this.#subscriptions.delete(key);
      this.#o.log?.(`${topic}: stopped following ${entry.hostname}`);
    }
    for (const [key, hostname] of wanted) {
      if (this.#subscriptions.has(key)) continue;
      const agent: FeedAgent = { key, hostname };
      const subscription = new EventSubscription({
        node: this.#o.daemon.node,
        peerKeyId: key,
        topic,
        store: this.#o.cursors,
        onEvents: (items: readonly EventItem[]) => this.#o.onEvents(agent, items.map((it) => it.data)),
        onGap: (from, to) => this.#o.log?.(`${topic}: ${hostname} no longer had events ${from}-${to} (pruned before this console got them)`),
        onStatus: (status: SubscriptionStatus) => {
          if (status.state === 'live' || status.state === 'refused') this.#o.log?.(`${topic}: ${hostname} ${status.state}${status.state === 'refused' ? `: ${status.reason}` : ''}`);
        },
      }).start();
      this.#subscriptions.set(key, { subscription, hostname });
      this.#o.log?.(`${topic}: following ${hostname}`);
    }
  }

  /** Peers followed now and how each stream stands. */
  status(): Array<{ key: string; hostname: string; status: SubscriptionStatus; cursor: number }> {
    return [...this.#subscriptions].map(([key, e]) => ({ key, hostname: e.hostname, status: e.subscription.status, cursor: e.subscription.cursor }));
  }

  close(): void {
    this.#closed = true;
    for (const e of this.#subscriptions.values()) e.subscription.close();
    this.#subscriptions.clear();
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
