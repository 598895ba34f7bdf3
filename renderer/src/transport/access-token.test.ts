import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consoleSubprotocols, readAccessTokenFromHash } from './access-token.ts';

describe('access token', () => {
  it('reads a hex token from the URL fragment', () => {
    assert.equal(readAccessTokenFromHash('#token=00ff9a'), '00ff9a');
    assert.equal(readAccessTokenFromHash('#view=x&token=ABCDEF'), 'ABCDEF');
  });

  it('treats a missing or non-hex token as absent', () => {
    for (const hash of ['', '#', '#token=', '#tok=abcd', '#token=abc def', '#token=zz12', '#token=a,b']) {
      assert.equal(readAccessTokenFromHash(hash), null, hash);
    }
  });

  it('offers the protocol version and the token as subprotocols', () => {
    assert.deepEqual(consoleSubprotocols('abcd'), ['swarm-console.v1', 'token.abcd']);
  });
});
