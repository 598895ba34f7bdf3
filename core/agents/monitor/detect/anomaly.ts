/**
 * What the detectors report: one anomaly per (rule, source) episode, updated in place while the
 * source keeps going. Pure data, no Node APIs: it travels over the event stream to the console and
 * is printed by `swarmctl monitor scan --json`.
 */

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The detector algorithms a rule can use (README.md says what each one counts). */
export const DETECTOR_KINDS = [
  'brute_force',
  'user_enumeration',
  'slow_brute_force',
  'success_after_failures',
  'port_scan',
  'web_scan',
] as const;
export type DetectorKind = (typeof DETECTOR_KINDS)[number];

/** One log line kept as evidence. `text` is cut at EVIDENCE_TEXT_MAX_CHARS. */
export interface EvidenceLine {
  readonly line: number;
  readonly time: number;
  readonly text: string;
}

/**
 * A bounded set of distinct values (users, ports): the first few seen, in order, and how many
 * distinct ones there were. Counting stops at a cap to bound memory under a flood of made-up user
 * names; past it `total` is a lower bound and `totalIsLowerBound` says so.
 */
export interface DistinctValues<T> {
  readonly sample: readonly T[];
  readonly total: number;
  readonly totalIsLowerBound: boolean;
}

export interface Anomaly {
  /**
   * Stable while the anomaly is open: every update for the same (rule, source) episode carries it.
   * `rule/source/firstSeen/n`, n counting the rule's anomalies since the engine started: unique
   * within one engine, and deterministic (scanning the same log again gives the same ids).
   * Another monitor can produce the same id: consumers key anomalies by (agent, id).
   */
  readonly id: string;
  /** Name of the rule that fired. */
  readonly rule: string;
  readonly detector: DetectorKind;
  readonly severity: Severity;
  /** MITRE ATT&CK technique id (T1110.001, T1078 ...), from the rule. */
  readonly mitre: string;
  readonly sourceIp: string;
  /** 'open' while the source is still active; 'closed' in the last update for this id. */
  readonly state: 'open' | 'closed';
  /** 1 for the first report, +1 for every later one: consumers drop a stale revision. */
  readonly revision: number;
  /** Attempts (failures, probes, dropped packets; each event weighs `event.count`) in this episode. */
  readonly count: number;
  /** Event times (ms since the epoch) of the earliest and latest attempt in the episode. */
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** Event time at which the rule's condition was met. */
  readonly detectedAt: number;
  /** Accounts the attempts were for. */
  readonly users: DistinctValues<string>;
  /** Destination ports (port_scan only). */
  readonly ports?: DistinctValues<number>;
  /** The first few and the latest few lines of the episode, in log order. */
  readonly evidence: readonly EvidenceLine[];
  /** Lines of the episode not kept between the first and the latest ones. */
  readonly evidenceOmitted: number;
  /** One sentence for a person: who did what, how often, over how long. */
  readonly summary: string;
}

/** Why an anomaly was closed. */
export type CloseReason =
  | 'quiet' // the source was silent for the rule's cooldown
  | 'evicted' // too many sources were tracked; this one was the least recently active
  | 'end_of_input'; // flush(): the scan reached the end of its input

export type AnomalyUpdate =
  | { readonly type: 'opened'; readonly anomaly: Anomaly }
  | { readonly type: 'updated'; readonly anomaly: Anomaly }
  | { readonly type: 'closed'; readonly reason: CloseReason; readonly anomaly: Anomaly };
