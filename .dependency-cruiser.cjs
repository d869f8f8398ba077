// The direction of imports between the rooms of the house (ARCHITECTURE.md, "Inside"), checked by
// `npm run lint:deps` (part of `npm test`). Each room lists the rooms it may import besides itself;
// an import anywhere else is an error that names the rule, the two files, and the rule's comment.
//
//   daemon                    the composition root: builds the daemon from config, above all rooms
//   cli -> api/wire.ts, host  hyperctl and hyper-cli: the API's answer types, and hyperctl's installer
//   api -> reconciler, desired-state, store
//   reconciler -> units, proxy, desired-state, store
//   units | proxy | desired-state | store   none of their siblings; shared types are in common/
//   notify -> store           notifications: follows the store's event trail, keeps its outbox there
//   archive -> store          the log archive: its records are in the store; the daemon wires it to
//                             the pipeline, retention and the API through ports in common/archive.ts
//   config, common            below all
//   ui -> api/wire.ts, common the dashboard (a browser bundle): the API's answer types, nothing that runs
//
// Around the product: test/ may import every room (it tests each one directly) and harness/;
// harness/ (real parts that tests and benchmarks start: systemd --user, the daemon as a process,
// the example backend's repo, free ports) may import every product room; bench/ may import the
// product and harness/, never test/. No product room imports test/, harness/ or bench/.
//
// Type-only imports count: a type is as much a dependency of the design as a value.

/** Every folder the rules speak of; `includeOnly` keeps dist/, bin/ and node_modules/ out. */
const ROOMS = [
  'common',
  'config',
  'desired-state',
  'store',
  'units',
  'proxy',
  'reconciler',
  'notify',
  'archive',
  'api',
  'cli',
  'host',
  'daemon',
  'ui',
  'harness',
  'test',
  'bench',
];
const PRODUCT = ROOMS.filter((room) => !['harness', 'test', 'bench'].includes(room));

/** A path regex for a set of rooms, e.g. `^(common|config)/`. */
const rooms = (names) => `^(${names.join('|')})/`;

/** The rule for one room: anything of ours it imports must be in `allowed` (or itself). */
function only(room, allowed, comment, extraAllowedPaths = []) {
  return {
    name: `${room}-imports`,
    severity: 'error',
    comment,
    from: { path: rooms([room]) },
    to: { path: rooms(ROOMS), pathNot: [rooms([room, ...allowed]), ...extraAllowedPaths] },
  };
}

module.exports = {
  forbidden: [
    only('common', [], 'common/ is below every room: it imports none of them.'),
    only('config', ['common'], 'config/ is below every room but common/.'),
    only('desired-state', ['common', 'config'], 'desired-state/ imports no sibling; shared types go to common/.'),
    only('store', ['common', 'config'], 'store/ imports no sibling; shared types go to common/.'),
    only('units', ['common', 'config'], 'units/ imports no sibling; shared types go to common/.'),
    only('proxy', ['common', 'config'], 'proxy/ imports no sibling; shared types go to common/.'),
    only(
      'notify',
      ['store', 'common', 'config'],
      'notify/ turns the event trail (store/) into messages; the daemon wires it, and the API reaches it only ' +
        'through api/deps.ts (notify test), so no other room imports it.',
    ),
    only(
      'archive',
      ['store', 'common', 'config'],
      'archive/ uploads logs, deliveries and the ledger to object storage and records them in the store; the ' +
        'pipeline, retention and the API reach it only through the ports in common/archive.ts, wired by daemon/.',
    ),
    only(
      'reconciler',
      ['units', 'proxy', 'desired-state', 'store', 'common', 'config'],
      'reconciler/ drives units, proxy, desired-state and store; it never reaches up to api/, cli/ or daemon/.',
    ),
    only(
      'api',
      ['reconciler', 'desired-state', 'store', 'common', 'config'],
      'api/ speaks HTTP for the reconciler, desired-state and store; units and proxy only through the reconciler.',
    ),
    only(
      'cli',
      ['host', 'common', 'config'],
      'cli/ talks to the daemon through its client and the API answer types (api/wire.ts), nothing else of api/; ' +
        'what the daemon does with a request is not its business. A type it needs belongs in api/wire.ts or common/.',
      ['^api/wire\\.ts$'],
    ),
    only(
      'ui',
      ['common'],
      'ui/ is the dashboard, bundled for the browser: it speaks to the daemon over HTTP and takes only the ' +
        "API's answer types (api/wire.ts) and shared types (common/) from the rest.",
      ['^api/wire\\.ts$'],
    ),
    only(
      'host',
      ['units', 'store', 'common', 'config'],
      "host/ installs and checks the daemon on the host (hyperctl's verbs): it uses units/ for the daemon's own " +
        'unit and store/ for backups and health, never the loop or the API.',
    ),
    only(
      'daemon',
      PRODUCT.filter((room) => !['cli', 'host', 'ui'].includes(room)),
      'daemon/ is the composition root: it may build from any room but the clients (cli/) and their installer (host/).',
    ),
    {
      name: 'host-for-cli-only',
      severity: 'error',
      comment: "host/ is hyperctl's installer: only cli/ (and the tests) may import it.",
      from: { path: rooms(ROOMS), pathNot: rooms(['cli', 'host', 'test']) },
      to: { path: rooms(['host']) },
    },
    {
      name: 'product-stands-alone',
      severity: 'error',
      comment: 'The product never imports the tests, their harness or the benchmarks.',
      from: { path: rooms(PRODUCT) },
      to: { path: rooms(['harness', 'test', 'bench']) },
    },
    {
      name: 'harness-below-tests',
      severity: 'error',
      comment: 'harness/ serves test/ and bench/ alike, so it imports neither.',
      from: { path: rooms(['harness']) },
      to: { path: rooms(['test', 'bench']) },
    },
    {
      name: 'bench-stands-alone',
      severity: 'error',
      comment: 'bench/ runs the product and harness/ parts, never test code; a part both need goes to harness/.',
      from: { path: rooms(['bench']) },
      to: { path: rooms(['test']) },
    },
    {
      name: 'tests-not-bench',
      severity: 'error',
      comment: 'test/ does not depend on the benchmarks; a part both need goes to harness/.',
      from: { path: rooms(['test']) },
      to: { path: rooms(['bench']) },
    },
  ],
  options: {
    includeOnly: rooms(ROOMS),
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    reporterOptions: { text: { highlightFocused: true } },
  },
};
