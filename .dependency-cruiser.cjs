/**
 * Layer rules of ../shared/DESIGN.md, enforced in CI (`npm run lint`). Imports go downward only:
 *
 *   renderer/      React UI: may import only core/console/api.ts (types), never Node or core internals
 *   electron/      main + preload
 *   core/console   console service
 *   core/agents    monitor, executor, orchestrator
 *   core/overlay   identity, wire, crypto, node, trust, registry
 *   core/store     SQLite persistence
 *   core/cli       swarmctl: may call every core layer; nothing imports it
 */
const upward = (layer, above) => ({
  name: `${layer.replace('core/', '')}-imports-upward`,
  severity: 'error',
  comment: `${layer} may not import ${above.join(', ')} (layers import downward only; see DESIGN.md)`,
  from: { path: `^${layer}/` },
  to: { path: `^(${above.join('|')})/` },
});

module.exports = {
  forbidden: [
    upward('core/store', ['core/overlay', 'core/agents', 'core/console', 'core/cli', 'electron', 'renderer']),
    upward('core/overlay', ['core/agents', 'core/console', 'core/cli', 'electron', 'renderer']),
    upward('core/agents', ['core/console', 'core/cli', 'electron', 'renderer']),
    upward('core/console', ['core/cli', 'electron', 'renderer']),
    {
      name: 'core-imports-ui-or-electron',
      severity: 'error',
      comment: 'core/ is pure TypeScript: no Electron, React, zustand or DOM libraries',
      from: { path: '^core/' },
      to: { path: '(^|/)node_modules/(electron|react|react-dom|zustand)/' },
    },
    {
      name: 'renderer-imports-core-internals',
      severity: 'error',
      comment: 'the renderer may import only core/console/api.ts (types and data), never core internals',
      from: { path: '^renderer/' },
      to: { path: '^core/', pathNot: '^core/console/api\\.ts$' },
    },
    {
      name: 'renderer-imports-node',
      severity: 'error',
      comment: 'the renderer runs in a sandboxed page: no Node built-ins (its build script and unit tests run in Node)',
      from: { path: '^renderer/', pathNot: '^renderer/(build\\.ts|.+\\.test\\.ts)$' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'renderer-imports-electron',
      severity: 'error',
      comment: 'the renderer talks to the main process only through the preload bridge',
      from: { path: '^renderer/' },
      to: { path: '(^|/)node_modules/electron/' },
    },
    {
      name: 'nothing-imports-cli',
      severity: 'error',
      comment: 'core/cli is the top of the stack: only its own files and tests import it',
      from: { path: '^(core/(store|overlay|agents|console)|electron|renderer)/' },
      to: { path: '^core/cli/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'circular imports make load order matter and layers blur',
      from: { path: '^(core|electron|renderer)/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist|test-results|playwright-report)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.tsx', '.js', '.mjs', '.json'] },
  },
};
