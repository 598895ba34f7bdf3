/**
 * Detection rules: the built-in defaults and a user's rules file (YAML) merged onto them.
 *
 * Loading is total: it returns the rules or every error found, each naming the file, the line,
 * the rule and the field, with what was expected. Unknown fields are errors, not ignored: a
 * misspelt `capcity` must not silently leave a rule on its default.
 */
import { readFile } from 'node:fs/promises';
import { Document, isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import { DETECTOR_KINDS, SEVERITIES } from './anomaly.ts';
import type { DetectorKind, Severity } from './anomaly.ts';
import { DEFAULT_RULES_YAML } from './default-rules.ts';
import { FAILURE_KINDS } from '../event.ts';
import type { EventKind } from '../event.ts';

interface RuleCommon {
  readonly name: string;
  readonly description: string | null;
  readonly enabled: boolean;
  readonly severity: Severity;
  /** MITRE ATT&CK technique id, e.g. T1110.001. */
  readonly mitre: string;
  /** Event kinds the rule counts (success_after_failures: the failures; successes are always watched). */
  readonly kinds: readonly EventKind[];
  /** Programs the rule listens to (`sshd`, `postfix/*`); null: every program. */
  readonly programs: readonly string[] | null;
  /**
   * Seconds a source must stay quiet before its open anomaly closes; null: the rule's window
   * (brute_force: the time a full bucket takes to drain). Never shorter than that.
   */
  readonly cooldownSeconds: number | null;
}

export interface BruteForceRule extends RuleCommon {
  readonly detector: 'brute_force';
  readonly capacity: number;
  readonly leakPerSecond: number;
}
export interface UserEnumerationRule extends RuleCommon {
  readonly detector: 'user_enumeration';
  readonly windowSeconds: number;
  readonly distinctUsers: number;
}
export interface SlowBruteForceRule extends RuleCommon {
  readonly detector: 'slow_brute_force';
  readonly windowSeconds: number;
  readonly threshold: number;
}
export interface SuccessAfterFailuresRule extends RuleCommon {
  readonly detector: 'success_after_failures';
  readonly windowSeconds: number;
  readonly minFailures: number;
}
export interface PortScanRule extends RuleCommon {
  readonly detector: 'port_scan';
  readonly windowSeconds: number;
  readonly distinctPorts: number;
}
export interface WebScanRule extends RuleCommon {
  readonly detector: 'web_scan';
  readonly windowSeconds: number;
  readonly threshold: number;
}

export type DetectionRule =
  | BruteForceRule
  | UserEnumerationRule
  | SlowBruteForceRule
  | SuccessAfterFailuresRule
  | PortScanRule
  | WebScanRule;

export type RulesLoadResult =
  | { readonly ok: true; readonly rules: readonly DetectionRule[] }
  | { readonly ok: false; readonly errors: readonly string[] };

export const ALL_EVENT_KINDS: readonly EventKind[] = [
  'auth_failure',
  'invalid_user',
  'preauth_disconnect',
  'protocol_error',
  'auth_success',
  'session',
  'web_bot_search',
  'firewall_drop',
];

/** A week: the longest window; state for longer windows would outlive any sensible log rotation. */
const MAX_WINDOW_SECONDS = 7 * 24 * 3600;
/**
 * Caps on thresholds bound the per-source state a detector holds before it fires (a window keeps
 * at most `threshold` entries, a distinct-key window at most `distinct_*` keys).
 */
const MAX_THRESHOLD = 10_000;
const MAX_DISTINCT = 1_000;
/** A rules file is a page of YAML; anything this big is the wrong file. */
const MAX_RULES_FILE_BYTES = 1024 * 1024;
const RULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MITRE_ID = /^T\d{4}(\.\d{3})?$/;

interface ParamSpec {
  /** Field name in the YAML file. */
  readonly key: string;
  /** Property name on the rule object. */
  readonly prop: string;
  readonly integer: boolean;
  readonly min: number;
  readonly max: number;
}

const WINDOW_SECONDS: ParamSpec = { key: 'window_seconds', prop: 'windowSeconds', integer: true, min: 1, max: MAX_WINDOW_SECONDS };

interface DetectorSpec {
  readonly params: readonly ParamSpec[];
  /** Event kinds its `kinds` may list. */
  readonly allowedKinds: readonly EventKind[];
}

const FAILURE_KIND_LIST: readonly EventKind[] = ALL_EVENT_KINDS.filter((kind) => FAILURE_KINDS.has(kind));

const DETECTOR_SPECS: Readonly<Record<DetectorKind, DetectorSpec>> = {
  brute_force: {
    params: [
      { key: 'capacity', prop: 'capacity', integer: true, min: 1, max: MAX_THRESHOLD },
      { key: 'leak_per_second', prop: 'leakPerSecond', integer: false, min: 0, max: 1000 },
    ],
    allowedKinds: FAILURE_KIND_LIST,
  },
  user_enumeration: {
    params: [WINDOW_SECONDS, { key: 'distinct_users', prop: 'distinctUsers', integer: true, min: 2, max: MAX_DISTINCT }],
    allowedKinds: FAILURE_KIND_LIST,
  },
  slow_brute_force: {
    params: [WINDOW_SECONDS, { key: 'threshold', prop: 'threshold', integer: true, min: 1, max: MAX_THRESHOLD }],
    allowedKinds: FAILURE_KIND_LIST,
  },
  success_after_failures: {
    params: [WINDOW_SECONDS, { key: 'min_failures', prop: 'minFailures', integer: true, min: 1, max: MAX_THRESHOLD }],
    allowedKinds: FAILURE_KIND_LIST,
  },
  port_scan: {
    params: [WINDOW_SECONDS, { key: 'distinct_ports', prop: 'distinctPorts', integer: true, min: 2, max: MAX_DISTINCT }],
    allowedKinds: ['firewall_drop'],
  },
  web_scan: {
    params: [WINDOW_SECONDS, { key: 'threshold', prop: 'threshold', integer: true, min: 1, max: MAX_THRESHOLD }],
    allowedKinds: FAILURE_KIND_LIST,
  },
};

const COMMON_KEYS = ['name', 'detector', 'description', 'enabled', 'severity', 'mitre', 'kinds', 'programs', 'cooldown_seconds'] as const;
const TOP_LEVEL_KEYS = ['version', 'rules', 'builtin_rules'] as const;

/** The parameters (YAML names) a detector takes, e.g. for help text. */
export function detectorParameters(detector: DetectorKind): readonly string[] {
  return DETECTOR_SPECS[detector].params.map((param) => param.key);
}

let builtInCache: readonly DetectionRule[] | null = null;

/** The built-in rules (DEFAULT_RULES_YAML). */
export function builtInRules(): readonly DetectionRule[] {
  if (builtInCache) return builtInCache;
  const result = validateRules(DEFAULT_RULES_YAML, 'built-in rules', null);
  // The defaults are part of the program: if they do not validate, that is a bug, not input.
  if (!result.ok) throw new Error(`built-in detection rules are invalid: ${result.errors.join('; ')}`);
  builtInCache = result.rules;
  return builtInCache;
}

/** The built-in rules as YAML text, with comments (for `swarmctl monitor rules --defaults`). */
export function defaultRulesYaml(): string {
  return DEFAULT_RULES_YAML;
}

/**
 * Parses a rules file's text and merges it onto the built-in rules: a rule whose name is a
 * built-in's overrides the fields it gives; other rules are added after the built-ins.
 * `fileName` only labels the error messages.
 */
export function parseRules(text: string, fileName = 'rules.yaml'): RulesLoadResult {
  return validateRules(text, fileName, builtInRules());
}

/** Reads and parses a rules file; a missing or unreadable file is an error result, never a throw. */
export async function loadRulesFile(path: string): Promise<RulesLoadResult> {
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.length > MAX_RULES_FILE_BYTES) {
      return { ok: false, errors: [`${path}: ${bytes.length} bytes is too big for a rules file (at most ${MAX_RULES_FILE_BYTES}); is it the right file?`] };
    }
    text = bytes.toString('utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const why =
      code === 'ENOENT' ? 'no such file (check the path)'
      : code === 'EACCES' ? 'permission denied (check the file mode and owner)'
      : code === 'EISDIR' ? 'it is a directory, not a file'
      : String((error as Error).message ?? error);
    return { ok: false, errors: [`cannot read rules file ${path}: ${why}`] };
  }
  return parseRules(text, path);
}

/** The given rules as a YAML rules file (e.g. to print the effective rules). */
export function formatRulesYaml(rules: readonly DetectionRule[]): string {
  const doc = new Document({ version: 1, rules: rules.map(ruleToYamlObject) });
  // Short lists (kinds, programs) read better on one line.
  visit(doc, {
    Pair(_key, pair) {
      if (isScalar(pair.key) && (pair.key.value === 'kinds' || pair.key.value === 'programs') && isSeq(pair.value)) pair.value.flow = true;
    },
  });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

function ruleToYamlObject(rule: DetectionRule): Record<string, unknown> {
  const out: Record<string, unknown> = { name: rule.name, detector: rule.detector };
  if (rule.description !== null) out.description = rule.description;
  out.enabled = rule.enabled;
  out.severity = rule.severity;
  out.mitre = rule.mitre;
  out.kinds = [...rule.kinds];
  if (rule.programs !== null) out.programs = [...rule.programs];
  if (rule.cooldownSeconds !== null) out.cooldown_seconds = rule.cooldownSeconds;
  const values = rule as unknown as Record<string, number>;
  for (const param of DETECTOR_SPECS[rule.detector].params) out[param.key] = values[param.prop];
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validation

/** What one rule entry of a file says, field by field (absent fields are undefined). */
interface RuleEntry {
  readonly line: number | null;
  name?: string;
  detector?: DetectorKind;
  description?: string | null;
  enabled?: boolean;
  severity?: Severity;
  mitre?: string;
  kinds?: readonly EventKind[];
  programs?: readonly string[] | null;
  cooldownSeconds?: number | null;
  params: Record<string, number>;
  /** Where each field was written, to point at it once the detector is known. */
  readonly fieldLines: Map<string, number | null>;
}

class Problems {
  readonly #found: { line: number; message: string }[] = [];
  readonly #file: string;
  readonly #lines: LineCounter;

  constructor(file: string, lines: LineCounter) {
    this.#file = file;
    this.#lines = lines;
  }

  lineOf(node: unknown): number | null {
    const range = (node as { range?: unknown } | null)?.range;
    if (!Array.isArray(range) || typeof range[0] !== 'number') return null;
    return this.#lines.linePos(range[0]).line;
  }

  add(line: number | null, message: string): void {
    this.#found.push({ line: line ?? 0, message: `${this.#file}${line === null ? '' : `:${line}`}: ${message}` });
  }

  get count(): number {
    return this.#found.length;
  }

  /** In file order, so a person can fix them top to bottom. */
  sorted(): string[] {
    return [...this.#found].sort((a, b) => a.line - b.line).map((problem) => problem.message);
  }
}

function validateRules(text: string, fileName: string, base: readonly DetectionRule[] | null): RulesLoadResult {
  const lines = new LineCounter();
  const problems = new Problems(fileName, lines);
  let doc;
  try {
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  } catch (error) {
    // The parser reports problems in doc.errors; this is only a guard for the unexpected.
    return { ok: false, errors: [`${fileName}: invalid YAML: ${(error as Error).message}`] };
  }
  if (doc.errors.length > 0) {
    const errors = doc.errors.map((error) => {
      const pos = lines.linePos(error.pos[0]);
      const what = error.message.split('\n')[0] ?? error.message;
      return `${fileName}:${pos.line}:${pos.col}: invalid YAML: ${what}`;
    });
    return { ok: false, errors };
  }

  // An alias that names no anchor stays an alias, so the message can say so.
  const resolve = (node: unknown): unknown => (isAlias(node) ? (node.resolve(doc) ?? node) : node);
  const entries: RuleEntry[] = [];
  let includeBuiltIns = base !== null;
  const top = resolve(doc.contents);
  if (top === null || top === undefined) {
    // An empty file (or only comments): the built-in rules unchanged.
  } else if (!isMap(top)) {
    problems.add(problems.lineOf(top), `the top level must be a mapping with a "rules" list (see swarmctl monitor rules --defaults), got ${describeNode(top)}`);
  } else {
    for (const pair of top.items) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      const line = problems.lineOf(pair.key);
      const value = resolve(pair.value);
      if (key === 'version') {
        if (!isScalar(value) || value.value !== 1) problems.add(line, `field version: must be 1 (the only rules file format so far), got ${describeNode(value)}`);
      } else if (key === 'builtin_rules') {
        if (!isScalar(value) || typeof value.value !== 'boolean') {
          problems.add(line, `field builtin_rules: must be true (merge onto the built-in rules) or false (only the rules in this file), got ${describeNode(value)}`);
        } else if (base !== null) {
          includeBuiltIns = value.value;
        }
      } else if (key === 'rules') {
        if (value === null || value === undefined || (isScalar(value) && value.value === null)) continue;
        if (!isSeq(value)) {
          problems.add(line, `field rules: must be a list of rules, each starting with "- name:", got ${describeNode(value)}`);
          continue;
        }
        value.items.forEach((item, index) => {
          const entry = readRuleEntry(resolve(item), index, problems, resolve);
          if (entry) entries.push(entry);
        });
      } else {
        problems.add(line, `unknown top-level field ${JSON.stringify(String(key))}${suggest(String(key), TOP_LEVEL_KEYS)}; the fields are ${TOP_LEVEL_KEYS.join(', ')}`);
      }
    }
  }

  const rules = mergeRules(entries, base ?? [], includeBuiltIns, problems);
  if (problems.count > 0) return { ok: false, errors: problems.sorted() };
  return { ok: true, rules };
}

function readRuleEntry(node: unknown, index: number, problems: Problems, resolve: (node: unknown) => unknown): RuleEntry | null {
  const entryLine = problems.lineOf(node);
  if (!isMap(node)) {
    problems.add(entryLine, `rule #${index + 1}: must be a mapping of fields (name, detector, severity ...), got ${describeNode(node)}`);
    return null;
  }
  const entry: RuleEntry = { line: entryLine, params: {}, fieldLines: new Map() };
  const fields = new Map<string, { value: unknown; line: number | null }>();
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? pair.key.value : pair.key;
    const line = problems.lineOf(pair.key);
    if (typeof key !== 'string') {
      problems.add(line, `rule #${index + 1}: field names must be plain words, got ${describeNode(pair.key)}`);
      continue;
    }
    fields.set(key, { value: resolve(pair.value), line });
    entry.fieldLines.set(key, line);
  }

  // The name labels every other message, so it is read first.
  const nameField = fields.get('name');
  let label = `rule #${index + 1}`;
  if (!nameField) {
    problems.add(entryLine, `${label} field name: required: a unique name such as "ssh-brute-force"`);
  } else {
    const value = scalarValue(nameField.value);
    if (typeof value !== 'string' || !RULE_NAME.test(value)) {
      problems.add(nameField.line, `${label} field name: must start with a letter or digit and use only letters, digits, '.', '_' and '-' (at most 64), got ${describeValue(nameField.value)}`);
    } else {
      entry.name = value;
      label = `rule ${JSON.stringify(value)}`;
    }
  }

  const detectorField = fields.get('detector');
  if (detectorField) {
    const value = scalarValue(detectorField.value);
    if (typeof value === 'string' && (DETECTOR_KINDS as readonly string[]).includes(value)) entry.detector = value as DetectorKind;
    else problems.add(detectorField.line, `${label} field detector: must be one of ${DETECTOR_KINDS.join(', ')}, got ${describeValue(detectorField.value)}${suggest(String(value), DETECTOR_KINDS)}`);
  }

  for (const [key, { value, line }] of fields) {
    const at = `${label} field ${key}`;
    const scalar = scalarValue(value);
    switch (key) {
      case 'name':
      case 'detector':
        break;
      case 'description':
        if (scalar === null) entry.description = null;
        else if (typeof scalar === 'string' && scalar.length <= 500) entry.description = scalar;
        else problems.add(line, `${at}: must be text of at most 500 characters, got ${describeValue(value)}`);
        break;
      case 'enabled':
        if (typeof scalar === 'boolean') entry.enabled = scalar;
        else problems.add(line, `${at}: must be true or false, got ${describeValue(value)}`);
        break;
      case 'severity':
        if (typeof scalar === 'string' && (SEVERITIES as readonly string[]).includes(scalar)) entry.severity = scalar as Severity;
        else problems.add(line, `${at}: must be one of ${SEVERITIES.join(', ')}, got ${describeValue(value)}${suggest(String(scalar), SEVERITIES)}`);
        break;
      case 'mitre':
        if (typeof scalar === 'string' && MITRE_ID.test(scalar)) entry.mitre = scalar;
        else problems.add(line, `${at}: must be a MITRE ATT&CK technique id such as T1110 or T1110.001, got ${describeValue(value)}`);
        break;
      case 'kinds': {
        const kinds = readStringList(value);
        if (kinds === null || kinds.length === 0) {
          problems.add(line, `${at}: must be a non-empty list of event kinds, e.g. [auth_failure, invalid_user], got ${describeValue(value)}`);
          break;
        }
        const known: EventKind[] = [];
        for (const kind of kinds) {
          if ((ALL_EVENT_KINDS as readonly string[]).includes(kind)) {
            if (!known.includes(kind as EventKind)) known.push(kind as EventKind);
          } else {
            problems.add(line, `${at}: unknown event kind ${JSON.stringify(kind)}${suggest(kind, ALL_EVENT_KINDS)}; the kinds are ${ALL_EVENT_KINDS.join(', ')}`);
          }
        }
        if (known.length === kinds.length) entry.kinds = known;
        break;
      }
      case 'programs': {
        const programs = readStringList(value);
        if (programs === null || programs.length === 0 || programs.some((program) => program.length === 0 || /\s/.test(program))) {
          problems.add(line, `${at}: must be a non-empty list of program names such as [sshd, "postfix/*"] (leave it out to match every program), got ${describeValue(value)}`);
        } else {
          entry.programs = [...new Set(programs)];
        }
        break;
      }
      case 'cooldown_seconds':
        if (scalar === null) entry.cooldownSeconds = null;
        else if (typeof scalar === 'number' && Number.isInteger(scalar) && scalar >= 1 && scalar <= MAX_WINDOW_SECONDS) entry.cooldownSeconds = scalar;
        else problems.add(line, `${at}: must be a positive integer of at most ${MAX_WINDOW_SECONDS} (7 days), got ${describeValue(value)}`);
        break;
      default: {
        const param = findParam(key);
        if (param === null) {
          problems.add(line, `${at}: unknown field${suggest(key, allFieldNames())}; the fields are ${COMMON_KEYS.join(', ')} and the detector's parameters`);
          break;
        }
        const message = checkParam(param, scalar);
        if (message !== null) problems.add(line, `${at}: ${message}, got ${describeValue(value)}`);
        else entry.params[key] = scalar as number;
      }
    }
  }
  return entry;
}

function mergeRules(entries: readonly RuleEntry[], base: readonly DetectionRule[], includeBuiltIns: boolean, problems: Problems): DetectionRule[] {
  const byName = new Map(base.map((rule) => [rule.name, rule]));
  const overrides = new Map<string, DetectionRule>();
  const added: DetectionRule[] = [];
  const seen = new Map<string, number | null>();

  for (const entry of entries) {
    if (entry.name === undefined) continue; // already reported
    const label = `rule ${JSON.stringify(entry.name)}`;
    const earlier = seen.get(entry.name);
    if (earlier !== undefined) {
      problems.add(entry.line, `${label}: a rule with this name is already defined${earlier === null ? '' : ` at line ${earlier}`}; give each rule its own name`);
      continue;
    }
    seen.set(entry.name, entry.line);
    const fieldLines = entry.fieldLines;

    const builtIn = byName.get(entry.name);
    let template: DetectionRule | undefined;
    if (builtIn) {
      if (entry.detector !== undefined && entry.detector !== builtIn.detector) {
        problems.add(fieldLines.get('detector') ?? entry.line, `${label} field detector: the built-in rule ${JSON.stringify(entry.name)} is a ${builtIn.detector} rule; to use ${entry.detector}, give the rule a new name`);
        continue;
      }
      template = builtIn;
    } else if (entry.detector === undefined) {
      if (!fieldLines.has('detector')) {
        problems.add(entry.line, `${label} field detector: required for a new rule: one of ${DETECTOR_KINDS.join(', ')}`);
      }
      continue;
    } else {
      template = base.find((rule) => rule.detector === entry.detector);
    }
    const detector = template?.detector ?? entry.detector;
    if (detector === undefined) continue;
    const spec = DETECTOR_SPECS[detector];

    let fits = true;
    for (const key of Object.keys(entry.params)) {
      if (!spec.params.some((param) => param.key === key)) {
        fits = false;
        problems.add(fieldLines.get(key) ?? entry.line, `${label} field ${key}: not a parameter of detector ${detector} (its parameters: ${spec.params.map((param) => param.key).join(', ')})`);
      }
    }
    const kinds = entry.kinds ?? template?.kinds;
    if (entry.kinds) {
      for (const kind of entry.kinds) {
        if (!spec.allowedKinds.includes(kind)) {
          fits = false;
          problems.add(fieldLines.get('kinds') ?? entry.line, `${label} field kinds: detector ${detector} cannot count ${kind}; it counts ${spec.allowedKinds.join(', ')}`);
        }
      }
    }
    const params: Record<string, number> = {};
    for (const param of spec.params) {
      const value = entry.params[param.key] ?? (template as unknown as Record<string, number> | undefined)?.[param.prop];
      if (value === undefined) {
        fits = false;
        problems.add(entry.line, `${label} field ${param.key}: required for detector ${detector}`);
      } else {
        params[param.prop] = value;
      }
    }
    const severity = entry.severity ?? template?.severity;
    const mitre = entry.mitre ?? template?.mitre;
    for (const [field, value] of [['severity', severity], ['mitre', mitre], ['kinds', kinds]] as const) {
      if (value === undefined) {
        fits = false;
        problems.add(entry.line, `${label} field ${field}: required`);
      }
    }
    if (!fits || severity === undefined || mitre === undefined || kinds === undefined) continue;

    const rule = {
      name: entry.name,
      detector,
      description: entry.description !== undefined ? entry.description : (builtIn?.description ?? null),
      enabled: entry.enabled ?? builtIn?.enabled ?? true,
      severity,
      mitre,
      kinds,
      programs: entry.programs !== undefined ? entry.programs : (builtIn?.programs ?? null),
      cooldownSeconds: entry.cooldownSeconds !== undefined ? entry.cooldownSeconds : (builtIn?.cooldownSeconds ?? null),
      ...params,
    } as DetectionRule;
    if (builtIn) overrides.set(rule.name, rule);
    else added.push(rule);
  }

  const merged: DetectionRule[] = [];
  for (const rule of base) {
    const override = overrides.get(rule.name);
    if (override) merged.push(override);
    else if (includeBuiltIns) merged.push(rule);
  }
  return merged.concat(added);
}

function checkParam(param: ParamSpec, value: unknown): string | null {
  const expected =
    param.integer ?
      param.min === 1 ? 'must be a positive integer' : `must be an integer of at least ${param.min}`
    : 'must be a positive number';
  if (typeof value !== 'number' || !Number.isFinite(value)) return expected;
  if (param.integer && !Number.isInteger(value)) return expected;
  if (param.integer ? value < param.min : value <= param.min) return expected;
  if (value > param.max) return `must be at most ${param.max}`;
  return null;
}

function findParam(key: string): ParamSpec | null {
  for (const detector of DETECTOR_KINDS) {
    const param = DETECTOR_SPECS[detector].params.find((candidate) => candidate.key === key);
    if (param) return param;
  }
  return null;
}

function allFieldNames(): string[] {
  const names = new Set<string>(COMMON_KEYS);
  for (const detector of DETECTOR_KINDS) for (const param of DETECTOR_SPECS[detector].params) names.add(param.key);
  return [...names];
}

function scalarValue(node: unknown): unknown {
  if (isScalar(node)) return node.value;
  if (node === null || node === undefined) return null;
  return node;
}

function readStringList(node: unknown): string[] | null {
  if (!isSeq(node)) return null;
  const out: string[] = [];
  for (const item of node.items) {
    if (!isScalar(item) || typeof item.value !== 'string') return null;
    out.push(item.value);
  }
  return out;
}

/** How a value is shown after "got": strings quoted, numbers and booleans as written. */
function describeValue(node: unknown): string {
  if (isScalar(node)) {
    const value = node.value;
    if (value === null) return 'nothing';
    if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
    if (typeof node.source === 'string' && node.source.length > 0 && node.source.length <= 60) return node.source;
    return String(value);
  }
  return describeNode(node);
}

function describeNode(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return node.items.length === 0 ? 'an empty mapping' : 'a mapping';
  if (isSeq(node)) return node.items.length === 0 ? 'an empty list' : 'a list';
  if (isScalar(node)) return describeValue(node);
  if (isAlias(node)) return `an unknown alias *${node.source}`;
  return (node as YamlNode).constructor?.name ?? typeof node;
}

/** " (did you mean X?)" when a known word is within two edits of what was written, or starts with it. */
function suggest(written: string, known: readonly string[]): string {
  let best: string | null = null;
  let bestDistance = 3;
  const lower = written.toLowerCase();
  for (const candidate of known) {
    const distance = lower.length >= 3 && candidate.startsWith(lower) ? 1 : editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== null && best !== written ? ` (did you mean ${best}?)` : '';
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || a.length > 64 || b.length > 64) return 99;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}
