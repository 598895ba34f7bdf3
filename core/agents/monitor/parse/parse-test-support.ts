/**
 * Test support: runs a fixture (fixtures/*.log) through a fresh line parser and checks each
 * annotated line's events (fixture-expectations.ts says how fixtures are annotated).
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { SecurityEvent } from '../event.ts';
import { readFixture, type ExpectedEvent } from './fixture-expectations.ts';
import { createLineParser, type LineParserOptions } from './line-parser.ts';

export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

function describeEvent(e: SecurityEvent | ExpectedEvent): string {
  const port = e.destPort === undefined ? '' : ` port=${e.destPort}`;
  return `${e.kind} ${e.sourceIp ?? '-'} ${e.user === null ? '-' : e.user === '' ? "''" : e.user} count=${e.count}${port}`;
}

/** Parses the fixture and asserts every annotated line; returns all events (flush included) for further checks. */
export function checkFixture(name: string, options: LineParserOptions = {}): SecurityEvent[] {
  const fixture = readFixture(fixturePath(name));
  const parser = createLineParser({ ...(fixture.referenceTime === undefined ? {} : { referenceTime: fixture.referenceTime }), ...options });
  const all: SecurityEvent[] = [];
  let checked = 0;
  for (const { line, text, expected } of fixture.lines) {
    const events = parser.push(text, line);
    all.push(...events);
    if (expected === null) continue;
    checked++;
    const got = events.map(describeEvent).sort();
    const want = expected.map(describeEvent).sort();
    assert.deepEqual(got, want, `${name}:${line} ${text}`);
    for (const e of events) {
      const spec = expected.find((x) => describeEvent(x) === describeEvent(e));
      if (spec?.held === true) assert.ok(e.line < line, `${name}:${line}: ${e.kind} should come from an earlier line, got line ${e.line}`);
      else {
        assert.equal(e.line, line, `${name}:${line}: ${e.kind} should carry its own line number`);
        // The evidence is the raw line without its line ending: fixtures split on \n keep a CRLF line's \r.
        assert.equal(e.text, text.replace(/\r$/, ''), `${name}:${line}: the event keeps the raw line`);
      }
    }
  }
  assert.ok(checked > 0, `${name} has no annotated lines`);
  all.push(...parser.flush());
  return all;
}
