/**
 * Tunnel and liveness timing. The values follow WireGuard's reasoning (whitepaper section 6),
 * adapted to an overlay whose peers are servers and analyst desktops.
 */
export interface TunnelLimits {
  /** Start a new handshake when sending on keys older than this, for forward secrecy. */
  rekeyAfterMs: number;
  /** Never use keys older than this, whatever happens to the new handshake. */
  rejectAfterMs: number;
  /** Start a new handshake after this many packets on one key pair (volume-based rekey). */
  rekeyAfterMessages: number;
  /** Never send or accept past this many packets on one key pair. */
  rejectAfterMessages: number;
  /** Resend an unanswered handshake initiation after this long (doubling, with jitter). */
  handshakeRetryMs: number;
  /** Give up on a handshake after this long: the peer is unreachable. */
  handshakeTimeoutMs: number;
  /**
   * If we sent data and heard nothing back for this long, the peer may have restarted and lost
   * its keys: start a fresh handshake instead of shouting into a dead session.
   */
  staleSessionMs: number;
  /** After receiving data with nothing to send back, send an empty keepalive after this long. */
  keepaliveMs: number;
  /**
   * Probe each trusted peer's path this often (an overlay ping: it measures RTT and, both ways,
   * holds the NAT mappings of a direct path or of the relay path open).
   */
  pathProbeMs: number;
  /** Sending into this much silence makes the path suspect: probe it now. */
  pathSuspectMs: number;
  /** Sending into this much silence means the path is lost: re-punch and fall back to the relay. */
  pathLostMs: number;
  /** A handshake unanswered this long is also sent through the relay (at once behind a symmetric NAT). */
  relayAfterMs: number;
  /** A relayed session tries to become direct (a new punch) after this long, doubling up to 8 times. */
  upgradeRetryMs: number;
}

export const DEFAULT_TUNNEL_LIMITS: TunnelLimits = {
  rekeyAfterMs: 120_000,
  rejectAfterMs: 180_000,
  // AES-GCM with counter nonces is safe far beyond this; 2^32 packets is ~5 TB at 1,200 bytes,
  // and keeping counters below 2^53 lets them live in plain numbers.
  rekeyAfterMessages: 2 ** 32,
  rejectAfterMessages: 2 ** 32 + 2 ** 20,
  handshakeRetryMs: 250,
  handshakeTimeoutMs: 10_000,
  staleSessionMs: 15_000,
  keepaliveMs: 10_000,
  // Linux conntrack forgets an unanswered UDP mapping after 30 s, many home routers after 30-60 s
  // (RFC 4787 asks for 2 min; keepalives every 15-25 s are the usual answer).
  pathProbeMs: 15_000,
  pathSuspectMs: 2_000,
  pathLostMs: 4_000,
  relayAfterMs: 700,
  upgradeRetryMs: 10_000,
};

/** NAT mappings and the registry's liveness view both expire after ~30-60 s of silence. */
export const REGISTRY_KEEPALIVE_MS = 25_000;
/** A registry record not refreshed for this long is shown as offline. */
export const REGISTRY_ONLINE_WINDOW_MS = 90_000;
