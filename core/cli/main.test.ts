import { test } from 'node:test';
import assert from 'node:assert/strict';
import { valueOptionsOf } from './args.ts';
import { loadAllVerbs, VALUE_OPTIONS } from './main.ts';

test('VALUE_OPTIONS lists exactly the value-taking options the verbs declare (so the verb is found before any module loads)', async () => {
  const verbs = await loadAllVerbs();
  const declared = [...valueOptionsOf(Object.values(verbs).map((v) => v.spec))].sort();
  assert.deepEqual([...VALUE_OPTIONS].sort(), declared);
});

test('every verb loads, with a summary and a usage line', async () => {
  for (const [name, verb] of Object.entries(await loadAllVerbs())) {
    assert.ok(verb.summary.length > 0, name);
    assert.match(verb.spec.usage, /swarmctl/, name);
  }
});
