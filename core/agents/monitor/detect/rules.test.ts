// The rules file: built-in defaults, overrides, and an error message for every way to get it wrong.
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DETECTOR_KINDS } from './anomaly.ts';
import { builtInRules, defaultRulesYaml, formatRulesYaml, loadRulesFile, parseRules } from './rules.ts';
import type { DetectionRule, RulesLoadResult } from './rules.ts';

function errorsOf(result: RulesLoadResult): readonly string[] {
  assert.equal(result.ok, false, 'expected the rules to be rejected');
  return result.ok ? [] : result.errors;
}

function rulesOf(result: RulesLoadResult): readonly DetectionRule[] {
  if (!result.ok) assert.fail(`expected valid rules:\n${result.errors.join('\n')}`);
  return result.rules;
}

function byName(rules: readonly DetectionRule[], name: string): DetectionRule {
  const rule = rules.find((candidate) => candidate.name === name);
  assert.ok(rule, `no rule ${name}`);
  return rule;
}

describe('built-in rules', () => {
  test('one enabled rule per detector, each with the documented ATT&CK technique', () => {
    const rules = builtInRules();
    assert.deepEqual(
      rules.map((rule) => rule.detector),
      [...DETECTOR_KINDS],
    );
    assert.deepEqual(
      Object.fromEntries(rules.map((rule) => [rule.name, rule.mitre])),
      {
        'auth-brute-force': 'T1110.001',
        'user-enumeration': 'T1110.003',
        'slow-brute-force': 'T1110',
        'success-after-failures': 'T1078',
        'port-scan': 'T1595',
        'web-scan': 'T1595.003',
      },
    );
    assert.ok(rules.every((rule) => rule.enabled));
    assert.equal(byName(rules, 'success-after-failures').severity, 'critical');
  });

  test('an empty or comment-only file gives the built-in rules', () => {
    assert.deepEqual(rulesOf(parseRules('')), builtInRules());
    assert.deepEqual(rulesOf(parseRules('# nothing yet\n')), builtInRules());
    assert.deepEqual(rulesOf(parseRules('rules:\n')), builtInRules());
  });

  test('the defaults text is a valid rules file that gives exactly the defaults', () => {
    assert.deepEqual(rulesOf(parseRules(defaultRulesYaml())), builtInRules());
    assert.match(defaultRulesYaml(), /# Brute Force: Password Guessing/);
  });

  test('formatRulesYaml writes a file that reads back to the same rules', () => {
    const custom = rulesOf(
      parseRules(`
rules:
  - name: auth-brute-force
    programs: [sshd, "postfix/*"]
  - { name: mine, detector: port_scan, distinct_ports: 50, enabled: false }
`),
    );
    const text = formatRulesYaml(custom);
    assert.match(text, /kinds: \[auth_failure, invalid_user, preauth_disconnect\]/);
    assert.deepEqual(rulesOf(parseRules(`builtin_rules: false\n${text}`)), custom);
  });
});

describe('overrides', () => {
  test('a rule with a built-in name changes only the fields it gives', () => {
    const rules = rulesOf(parseRules('rules:\n  - name: auth-brute-force\n    capacity: 10\n'));
    const rule = byName(rules, 'auth-brute-force');
    assert.equal(rule.detector === 'brute_force' && rule.capacity, 10);
    assert.equal(rule.detector === 'brute_force' && rule.leakPerSecond, 0.05);
    assert.equal(rule.severity, 'high');
    assert.equal(rules.length, builtInRules().length);
  });

  test('a built-in rule can be disabled', () => {
    const rules = rulesOf(parseRules('rules:\n  - name: port-scan\n    enabled: false\n'));
    assert.equal(byName(rules, 'port-scan').enabled, false);
    assert.equal(byName(rules, 'web-scan').enabled, true);
  });

  test('a new rule is added after the built-ins, and takes the same detector\'s defaults for what it leaves out', () => {
    const rules = rulesOf(parseRules('rules:\n  - name: ssh-strict\n    detector: brute_force\n    programs: [sshd]\n    capacity: 2\n'));
    assert.equal(rules.length, builtInRules().length + 1);
    const rule = rules.at(-1);
    assert.equal(rule?.name, 'ssh-strict');
    assert.deepEqual(rule?.programs, ['sshd']);
    assert.equal(rule?.detector === 'brute_force' && rule.capacity, 2);
    assert.equal(rule?.detector === 'brute_force' && rule.leakPerSecond, 0.05);
    assert.equal(rule?.mitre, 'T1110.001');
  });

  test('builtin_rules: false keeps only the rules the file names', () => {
    const rules = rulesOf(parseRules('builtin_rules: false\nrules:\n  - name: port-scan\n  - { name: mine, detector: web_scan, threshold: 2 }\n'));
    assert.deepEqual(
      rules.map((rule) => rule.name),
      ['port-scan', 'mine'],
    );
  });
});

describe('errors name the file, the line, the rule and the field', () => {
  const cases: [string, string, string[]][] = [
    [
      'a word where a number belongs',
      'rules:\n  - name: ssh-brute\n    detector: brute_force\n    capacity: ten\n',
      ['rules.yaml:4: rule "ssh-brute" field capacity: must be a positive integer, got "ten"'],
    ],
    [
      'a misspelt field',
      'rules:\n  - name: auth-brute-force\n    capcity: 3\n',
      [
        'rules.yaml:3: rule "auth-brute-force" field capcity: unknown field (did you mean capacity?); the fields are name, detector, description, enabled, severity, mitre, kinds, programs, cooldown_seconds and the detector\'s parameters',
      ],
    ],
    [
      "another detector's parameter",
      'rules:\n  - name: port-scan\n    capacity: 3\n',
      ['rules.yaml:3: rule "port-scan" field capacity: not a parameter of detector port_scan (its parameters: window_seconds, distinct_ports)'],
    ],
    [
      'a new rule without a detector',
      'rules:\n  - name: mine\n    threshold: 3\n',
      ['rules.yaml:2: rule "mine" field detector: required for a new rule: one of brute_force, user_enumeration, slow_brute_force, success_after_failures, port_scan, web_scan'],
    ],
    [
      'an unknown detector',
      'rules:\n  - name: mine\n    detector: bruteforce\n',
      ['rules.yaml:3: rule "mine" field detector: must be one of brute_force, user_enumeration, slow_brute_force, success_after_failures, port_scan, web_scan, got "bruteforce" (did you mean brute_force?)'],
    ],
    [
      "changing a built-in rule's detector",
      'rules:\n  - name: web-scan\n    detector: port_scan\n',
      ['rules.yaml:3: rule "web-scan" field detector: the built-in rule "web-scan" is a web_scan rule; to use port_scan, give the rule a new name'],
    ],
    [
      'a YAML 1.1 boolean',
      'rules:\n  - name: web-scan\n    enabled: no\n',
      ['rules.yaml:3: rule "web-scan" field enabled: must be true or false, got "no"'],
    ],
    [
      'an unknown severity',
      'rules:\n  - name: web-scan\n    severity: severe\n',
      ['rules.yaml:3: rule "web-scan" field severity: must be one of low, medium, high, critical, got "severe"'],
    ],
    [
      'a malformed technique id',
      'rules:\n  - name: web-scan\n    mitre: t1595\n',
      ['rules.yaml:3: rule "web-scan" field mitre: must be a MITRE ATT&CK technique id such as T1110 or T1110.001, got "t1595"'],
    ],
    [
      'an unknown event kind',
      'rules:\n  - name: auth-brute-force\n    kinds: [auth_failure, auth_fail]\n',
      [
        'rules.yaml:3: rule "auth-brute-force" field kinds: unknown event kind "auth_fail" (did you mean auth_failure?); the kinds are auth_failure, invalid_user, preauth_disconnect, protocol_error, auth_success, session, web_bot_search, firewall_drop',
      ],
    ],
    [
      'a kind the detector cannot count',
      'rules:\n  - name: port-scan\n    kinds: [auth_failure]\n',
      ['rules.yaml:3: rule "port-scan" field kinds: detector port_scan cannot count auth_failure; it counts firewall_drop'],
    ],
    [
      'an empty kinds list',
      'rules:\n  - name: port-scan\n    kinds: []\n',
      ['rules.yaml:3: rule "port-scan" field kinds: must be a non-empty list of event kinds, e.g. [auth_failure, invalid_user], got an empty list'],
    ],
    [
      'programs as a single word',
      'rules:\n  - name: port-scan\n    programs: kernel\n',
      ['rules.yaml:3: rule "port-scan" field programs: must be a non-empty list of program names such as [sshd, "postfix/*"] (leave it out to match every program), got "kernel"'],
    ],
    [
      'a zero leak',
      'rules:\n  - name: auth-brute-force\n    leak_per_second: 0\n',
      ['rules.yaml:3: rule "auth-brute-force" field leak_per_second: must be a positive number, got 0'],
    ],
    [
      'a fractional threshold',
      'rules:\n  - name: web-scan\n    threshold: 2.5\n',
      ['rules.yaml:3: rule "web-scan" field threshold: must be a positive integer, got 2.5'],
    ],
    [
      'too few distinct users',
      'rules:\n  - name: user-enumeration\n    distinct_users: 1\n',
      ['rules.yaml:3: rule "user-enumeration" field distinct_users: must be an integer of at least 2, got 1'],
    ],
    [
      'a window longer than a week',
      'rules:\n  - name: slow-brute-force\n    window_seconds: 2592000\n',
      ['rules.yaml:3: rule "slow-brute-force" field window_seconds: must be at most 604800, got 2592000'],
    ],
    [
      'a number written as text',
      'rules:\n  - name: web-scan\n    threshold: "5"\n',
      ['rules.yaml:3: rule "web-scan" field threshold: must be a positive integer, got "5"'],
    ],
    [
      'an empty value',
      'rules:\n  - name: web-scan\n    threshold:\n',
      ['rules.yaml:3: rule "web-scan" field threshold: must be a positive integer, got nothing'],
    ],
    [
      'a rule without a name',
      'rules:\n  - detector: web_scan\n',
      ['rules.yaml:2: rule #1 field name: required: a unique name such as "ssh-brute-force"'],
    ],
    [
      'a name with a space',
      'rules:\n  - name: my rule\n    detector: web_scan\n',
      ['rules.yaml:2: rule #1 field name: must start with a letter or digit and use only letters, digits, \'.\', \'_\' and \'-\' (at most 64), got "my rule"'],
    ],
    [
      'the same name twice',
      'rules:\n  - name: mine\n    detector: web_scan\n  - name: mine\n    detector: port_scan\n',
      ['rules.yaml:4: rule "mine": a rule with this name is already defined at line 2; give each rule its own name'],
    ],
    [
      'a rule that is not a mapping',
      'rules:\n  - web-scan\n',
      ['rules.yaml:2: rule #1: must be a mapping of fields (name, detector, severity ...), got "web-scan"'],
    ],
    [
      'rules as a mapping',
      'rules:\n  web-scan:\n    enabled: false\n',
      ['rules.yaml:1: field rules: must be a list of rules, each starting with "- name:", got a mapping'],
    ],
    [
      'a misspelt top-level field',
      'rule:\n  - name: web-scan\n',
      ['rules.yaml:1: unknown top-level field "rule" (did you mean rules?); the fields are version, rules, builtin_rules'],
    ],
    [
      'a list at the top',
      '- name: web-scan\n',
      ['rules.yaml:1: the top level must be a mapping with a "rules" list (see swarmctl monitor rules --defaults), got a list'],
    ],
    ['an unknown version', 'version: 2\n', ['rules.yaml:1: field version: must be 1 (the only rules file format so far), got 2']],
    [
      'builtin_rules not a boolean',
      'builtin_rules: none\n',
      ['rules.yaml:1: field builtin_rules: must be true (merge onto the built-in rules) or false (only the rules in this file), got "none"'],
    ],
    ['broken YAML', 'rules: [\n', ['rules.yaml:2:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]']],
    ['a duplicate key', 'rules:\n  - name: web-scan\n    threshold: 3\n    threshold: 4\n', ['rules.yaml:4:5: invalid YAML: Map keys must be unique']],
    [
      'an alias to nothing',
      'rules:\n  - *missing\n',
      ['rules.yaml:2: rule #1: must be a mapping of fields (name, detector, severity ...), got an unknown alias *missing'],
    ],
  ];
  for (const [what, text, expected] of cases) {
    test(what, () => {
      assert.deepEqual(errorsOf(parseRules(text)), expected);
    });
  }

  test('every error in a file is reported, in line order', () => {
    const errors = errorsOf(parseRules('rules:\n  - name: web-scan\n    threshold: 0\n    severity: urgent\n  - name: port-scan\n    window: 60\n'));
    assert.deepEqual(
      errors.map((error) => error.split(':')[1]),
      ['3', '4', '6'],
    );
  });

  test('the file name given is the one in the messages', () => {
    assert.match(errorsOf(parseRules('rules: 3\n', '/etc/swarm/rules.yaml'))[0] ?? '', /^\/etc\/swarm\/rules\.yaml:1: /);
  });

  test('aliases and anchors are fine where they resolve to a rule', () => {
    const rules = rulesOf(parseRules('rules:\n  - &strict { name: a, detector: web_scan, threshold: 2 }\n  - name: web-scan\n    threshold: 2\n'));
    assert.equal(byName(rules, 'a').detector, 'web_scan');
  });

  test('loading never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const result = parseRules(text);
        assert.ok(result.ok || result.errors.length > 0);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('name', 'detector', 'capacity', 'kinds', 'enabled', 'window_seconds', 'threshold', 'mitre', 'programs', 'x'), fc.jsonValue()),
        (fields) => {
          const result = parseRules(JSON.stringify({ rules: [fields] }));
          assert.ok(result.ok || result.errors.every((error) => error.startsWith('rules.yaml')));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('loadRulesFile', () => {
  test('reads a real file, and reports a missing file, a directory and garbage without throwing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarm-rules-'));
    try {
      const path = join(dir, 'rules.yaml');
      writeFileSync(path, 'rules:\n  - name: web-scan\n    threshold: 9\n');
      const rules = rulesOf(await loadRulesFile(path));
      const webScan = byName(rules, 'web-scan');
      assert.equal(webScan.detector === 'web_scan' && webScan.threshold, 9);

      assert.deepEqual(errorsOf(await loadRulesFile(join(dir, 'nope.yaml'))), [`cannot read rules file ${join(dir, 'nope.yaml')}: no such file (check the path)`]);
      mkdirSync(join(dir, 'sub'));
      assert.deepEqual(errorsOf(await loadRulesFile(join(dir, 'sub'))), [`cannot read rules file ${join(dir, 'sub')}: it is a directory, not a file`]);

      writeFileSync(path, 'rules:\n  - name: web-scan\n    threshold: lots\n');
      assert.deepEqual(errorsOf(await loadRulesFile(path)), [`${path}:3: rule "web-scan" field threshold: must be a positive integer, got "lots"`]);

      writeFileSync(path, Buffer.alloc(2 * 1024 * 1024, 0x61));
      assert.match(errorsOf(await loadRulesFile(path))[0] ?? '', /too big for a rules file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
