/** Shown instead of the console when the URL carries no access token (`#token=…`). */
export function MissingTokenPage() {
  return (
    <main className="full-page-message" id="main-content" tabIndex={-1}>
      <div className="full-page-message__card">
        <span className="brand__mark brand__mark--large" aria-hidden="true" />
        <h1>Access token missing</h1>
        <p className="full-page-message__lead">
          This console URL has no access token. Open the URL printed by <code>swarmctl console --web</code>.
        </p>
        <p className="muted">
          The token is the <code>#token=…</code> part at the end of that URL. It stays in your browser: the part after <code>#</code> is never sent to
          the server in requests or logs.
        </p>
      </div>
    </main>
  );
}
