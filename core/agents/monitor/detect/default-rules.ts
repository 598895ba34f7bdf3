/**
 * The built-in detection rules, as the YAML a user would write. This text is the single source:
 * the engine's defaults are parsed from it (through the same validator as a user's file, so the
 * two can never disagree), and `swarmctl monitor rules --defaults` prints it verbatim.
 */
export const DEFAULT_RULES_YAML = `# Built-in detection rules of the Swarm SOC log monitor.
#
# A rules file overrides these by name (only the fields it gives change), disables one with
# "enabled: false", or adds new rules. Fields a new rule leaves out take the value of the
# built-in rule with the same detector. See core/agents/monitor/detect/README.md.
#
# All times are event times read from the log, never the clock: an old log scans exactly like
# a live one. Windows are inclusive: window_seconds: 600 counts attempts at most 600 s apart.
version: 1
rules:
  # Fast password guessing from one source. A leaky bucket per source address: each failure
  # pours in its weight (a "message repeated 7 times" line weighs 7), the bucket drains
  # leak_per_second, and the rule fires when it overflows capacity, i.e. on the 6th failure
  # in a burst. 0.05/s drains one failure every 20 s: a source that keeps under 3 a minute
  # never overflows it (slow-brute-force below is for those).
  - name: auth-brute-force
    detector: brute_force
    description: Many failed logins in a short time from one source
    severity: high
    mitre: T1110.001 # Brute Force: Password Guessing
    kinds: [auth_failure, invalid_user, preauth_disconnect]
    capacity: 5
    leak_per_second: 0.05
    cooldown_seconds: 600 # pauses shorter than this keep merging into one anomaly

  # One source trying many different accounts: spraying a few passwords across users
  # (or probing which user names exist). Counts distinct user names per source.
  - name: user-enumeration
    detector: user_enumeration
    description: Many different user names tried from one source
    severity: medium
    mitre: T1110.003 # Brute Force: Password Spraying
    kinds: [auth_failure, invalid_user]
    window_seconds: 600
    distinct_users: 5

  # Low and slow: failures that never overflow the brute-force bucket but add up over a day.
  # Failures already reported by a brute_force rule are not counted again here.
  - name: slow-brute-force
    detector: slow_brute_force
    description: Failed logins from one source spread over hours, below the brute-force rate
    severity: medium
    mitre: T1110 # Brute Force
    kinds: [auth_failure, invalid_user, preauth_disconnect]
    window_seconds: 86400
    threshold: 20

  # A successful login from a source that failed repeatedly just before: the guess worked,
  # or a stolen password is in use. The failures counted are the kinds listed; the success
  # is any auth_success event from the same source.
  - name: success-after-failures
    detector: success_after_failures
    description: Successful login from a source right after many failures
    severity: critical
    mitre: T1078 # Valid Accounts
    kinds: [auth_failure, invalid_user, preauth_disconnect]
    window_seconds: 3600
    min_failures: 5

  # Packets the kernel firewall dropped, to many different ports from one source.
  - name: port-scan
    detector: port_scan
    description: Dropped packets to many different ports from one source
    severity: low
    mitre: T1595 # Active Scanning (from outside; use T1046 for scans from inside your network)
    kinds: [firewall_drop]
    window_seconds: 60
    distinct_ports: 10

  # Requests for paths that bots probe for (wp-login.php, phpmyadmin, .env ...).
  - name: web-scan
    detector: web_scan
    description: Requests for paths vulnerability scanners probe
    severity: low
    mitre: T1595.003 # Active Scanning: Wordlist Scanning
    kinds: [web_bot_search]
    window_seconds: 600
    threshold: 5
`;
