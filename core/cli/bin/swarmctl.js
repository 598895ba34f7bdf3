#!/usr/bin/env node
// swarmctl entry point. Plain JavaScript so it can check the Node version before loading the
// TypeScript sources (run directly through Node's type stripping, which needs Node >= 22.18).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `swarmctl: error: Node ${process.versions.node} is too old (swarmctl needs Node >= 22.18) — ` +
      'run it as `npx swarmctl` after `npm install` (which brings Node 22 into node_modules/.bin), or install Node 22 LTS\n',
  );
  process.exit(1);
}
// node:sqlite announces itself as experimental on every start; that is noise for a CLI user.
const originalEmitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0] && rest[0].type;
  const text = typeof warning === 'string' ? warning : warning && warning.message;
  if (type === 'ExperimentalWarning' && /SQLite|Type Stripping/i.test(String(text))) return;
  return originalEmitWarning.call(process, warning, ...rest);
};
// `swarmctl monitor scan big.log --json | head`: the reader left; stop quietly, as Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}
const { main } = await import('../main.ts');
process.exitCode = await main(process.argv.slice(2));
