#!/usr/bin/env node
// `npm start`: the daemon on a demo config under .demo/ — the embedded store, the example backend
// in a local git repo with a first release tagged, the systemd driver when a user manager answers
// and the process driver otherwise. `npm stop` (`demo.js stop`): stops the demo's daemon and both
// colors. Overrides: HYPERVISOR_DEMO_DIR (default .demo/), HYPERVISOR_DEMO_PORT (public, default
// 8080), HYPERVISOR_DEMO_PORTS=blue,green,preview (default 8001,8002,8003).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDemoRepo } from '../example/create-demo-repo.js';

const top = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const demo = path.resolve(process.env.HYPERVISOR_DEMO_DIR ?? path.join(top, '.demo'));
const { stopDemo, superviseDaemon, whyDemoCannotStart } = await import('../dist/daemon/demo.js');

if (process.argv[2] === 'stop') {
  try {
    await stopDemo(demo, (line) => console.log(`demo: ${line}`));
    console.log('demo: stopped; npm start starts it again (the releases built so far are kept)');
  } catch (err) {
    console.error(`demo: cannot stop: ${err.message}`);
    process.exitCode = 1;
  }
} else {
  process.exitCode = await start();
}

async function start() {
  const port = Number(process.env.HYPERVISOR_DEMO_PORT ?? 8080);
  const [bluePort, greenPort, previewPort] = (process.env.HYPERVISOR_DEMO_PORTS ?? '8001,8002,8003')
    .split(',')
    .map(Number);
  const refused = await whyDemoCannotStart(demo, { public: port, preview: previewPort });
  if (refused !== null) {
    console.error(`demo: ${refused}`);
    return 1;
  }
  mkdirSync(demo, { recursive: true });
  const repo = createDemoRepo(path.join(demo, 'backend'));
  const { isUserManagerReachable } = await import('../dist/units/systemd-driver.js');
  const driver = (await isUserManagerReachable()) ? 'systemd' : 'process';
  console.log(
    driver === 'systemd'
      ? 'demo: a systemd user manager answers: colors run as user units (systemctl --user status openhack-demo-blue)'
      : 'demo: no systemd user manager answers here: colors run as supervised child processes (units.driver: process)',
  );
  const config = path.join(demo, 'hypervisor.yaml');
  writeFileSync(
    config,
    `# Written by \`npm start\` on every run; copy config/hypervisor.example.yaml for a real host.
app:
  name: openhack-demo
  repo: ${repo.path}
  build: { script: BUILD, timeout: 5m }
  test:  { script: TEST, timeout: 5m }
  run:   { deployment: demo }
colors:
  blue:  { port: ${bluePort} }
  green: { port: ${greenPort} }
listen:
  public:  127.0.0.1:${port}
  preview: 127.0.0.1:${previewPort}
  admin:   ${path.join(demo, 'hypervisor.sock')}
root: ${path.join(demo, 'var')}
units: { driver: ${driver} }
store: { kind: embedded, path: ${path.join(demo, 'hypervisor.db')} }
desired:
  file: ${path.join(demo, 'desired.yaml')}
reconcile: { interval: 2s }
`,
  );

  const desired = path.join(demo, 'desired.yaml');
  if (!existsSync(desired)) {
    writeFileSync(
      desired,
      '# Edit me: a valid change becomes a new desired-state revision within a second.\n' +
        `active: blue\ncolors:\n  blue:  { tag: ${repo.tag} }\n  green: { tag: null }\npaused: false\n`,
    );
  }

  console.log(`demo: backend repo ${repo.path} (release ${repo.tag}); desired state in ${desired}`);
  console.log(`demo: once blue is Ready:  curl http://127.0.0.1:${port}/`);
  console.log(
    `demo: the dashboard: http://127.0.0.1:${port}/hypervisor/ui/ ` +
      '(log in as a hyperuser: npx hyperctl users add NAME --role operator)',
  );
  const found =
    path.basename(demo) === '.demo'
      ? `hyperctl finds this config when run from ${path.dirname(demo)}; elsewhere`
      : 'for hyperctl';
  console.log(`demo: ${found}, paste:\nexport HYPERVISOR_CONFIG=${shellQuote(config)}`);
  console.log('demo: Ctrl-C stops the daemon (the colors keep running); npm stop stops the daemon and the colors');
  return superviseDaemon(demo, path.join(top, 'bin', 'hypervisor.js'), config);
}

function shellQuote(text) {
  return /^[\w./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}
