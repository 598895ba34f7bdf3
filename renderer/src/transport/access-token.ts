/**
 * The web console's access token travels in the URL fragment (`#token=<hex>`): browsers never
 * send the fragment to the server or in a Referer header, so it does not land in access logs.
 * It stays in the visible URL on purpose, so that reloading the tab keeps working.
 */

const TOKEN_PATTERN = /^[0-9a-fA-F]{1,1024}$/;

/** The token from a `location.hash` such as `#token=ab12…`, or null when there is none (or it is not hex). */
export function readAccessTokenFromHash(hash: string): string | null {
  const fragment = hash.startsWith('#') ? hash.slice(1) : hash;
  const token = new URLSearchParams(fragment).get('token');
  if (token == null) return null;
  // A WebSocket subprotocol must be an HTTP token; hex always is, anything else would make the
  // WebSocket constructor throw a SyntaxError instead of showing the analyst a clear message.
  return TOKEN_PATTERN.test(token) ? token : null;
}

/** The subprotocols the web client offers: the protocol version, and the token (browsers cannot set headers on a WebSocket). */
export function consoleSubprotocols(token: string): string[] {
  return ['swarm-console.v1', `token.${token}`];
}
