/**
 * Says when the page is not connected to the console service. The alert itself holds only the
 * fixed text (announced once); the countdown beside it changes every second and is not live.
 */
import { useClockText } from './clock.ts';
import { useIdentity } from './store-hooks.ts';

export function ConnectionBanner() {
  const connection = useIdentity((state) => state.connection);
  const loaded = useIdentity((state) => state.loaded);
  const nextAttemptAt = connection.nextAttemptAt;
  const countdown = useClockText((now) => {
    if (nextAttemptAt == null) return 'trying now…';
    const seconds = Math.max(0, Math.ceil((nextAttemptAt - now.getTime()) / 1000));
    return seconds === 0 ? 'trying now…' : `next try in ${seconds} s`;
  });

  if (connection.phase === 'open') return null;
  if (connection.phase === 'connecting' && connection.failedAttempts === 0) return null;

  const lost = connection.phase === 'reconnecting';
  return (
    <div className={lost ? 'banner banner--warning' : 'banner banner--error'}>
      <p role="alert" className="banner__text">
        {lost ? 'Connection lost — reconnecting…' : 'Cannot reach the console service — retrying…'}
      </p>
      <p className="banner__detail">
        {lost ? (
          `${loaded ? 'What you see may be out of date. ' : ''}Attempt ${connection.failedAttempts}, ${countdown}.`
        ) : (
          <>
            Attempt {connection.failedAttempts}, {countdown}. Is <code>swarmctl console --web</code> running? If it is, open the URL it printed: the
            access token in this one may be wrong or out of date (a browser cannot tell a refused token from a service that is down).
          </>
        )}
      </p>
    </div>
  );
}
