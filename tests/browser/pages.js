#!/usr/bin/node
// The demo pages (examples/site and --console) in a real browser: Debian's
// headless Chromium (/usr/bin/chromium) driven by playwright-core.
//   - start page: the echo card round-trips a message, the clock ticks
//   - chat: two browser contexts (two people) exchange messages
//   - live: EventSource events arrive; pushpipe is stopped, the log file
//     grows meanwhile, pushpipe starts again on the same port, and the page
//     reconnects with Last-Event-ID and gets exactly the missed lines
//   - console: a message round-trips through /echo, /clock streams over
//     EventSource
// Screenshots go to $TOP_BUILDDIR/tests/out/.  playwright-core is installed
// with `npm ci` from package-lock.json when node_modules is missing.
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const SRC = process.env.TOP_SRCDIR || path.join(__dirname, '..', '..');
const BUILD = process.env.TOP_BUILDDIR || SRC;
const PUSHPIPE = process.env.PUSHPIPE || path.join(BUILD, 'pushpipe');
const CHROMIUM = '/usr/bin/chromium';
const OUT = path.join(BUILD, 'tests', 'out');
const NAME = 'pages';

function finishEarly(status, why) {
  console.log((status === 77 ? 'SKIP: ' : 'FAIL ') + why);
  console.log(`${NAME}: 0 passed, ${status === 77 ? 0 : 1} failed`);
  process.exit(status);
}

// ---- playwright-core, from the lock file ------------------------------------

function playwright() {
  const srcDir = path.join(SRC, 'tests', 'browser');
  const have = (d) => fs.existsSync(path.join(d, 'node_modules', 'playwright-core', 'package.json'));
  let dir = srcDir;
  if (!have(dir)) {
    // A read-only source tree (make distcheck): install next to the build.
    try { fs.accessSync(srcDir, fs.constants.W_OK); } catch (e) {
      dir = path.join(BUILD, 'tests', 'browser-npm');
      fs.mkdirSync(dir, { recursive: true });
      for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(srcDir, f), path.join(dir, f));
    }
  }
  if (!have(dir)) {
    if (spawnSync('npm', ['--version'], { stdio: 'ignore' }).status !== 0)
      finishEarly(77, 'npm is not installed (tools/deps.sh test installs it)');
    console.log(`# npm ci in ${dir}`);
    const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'inherit' });
    if (r.status !== 0 || !have(dir)) finishEarly(1, 'npm ci failed: cannot install playwright-core');
  }
  return require(path.join(dir, 'node_modules', 'playwright-core'));
}

if (!fs.existsSync(CHROMIUM)) finishEarly(77, `${CHROMIUM} is missing (apt-get install chromium)`);
const { chromium } = playwright();

// ---- pushpipe ------------------------------------------------------------------

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pp-browser-'));
const logDir = path.join(tmp, 'logs');
fs.mkdirSync(logDir);
const pushpipeLog = path.join(tmp, 'pushpipe.log');

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startPushpipe(port) {
  const env = Object.assign({}, process.env, {
    PUSHPIPE_TAIL_DIR: logDir,
    PUSHPIPE_BROADCAST_DIR: path.join(tmp, 'bcast'),
  });
  for (const k of ['REDIS_URL', 'REDIS_HOST', 'REDIS_PORT']) delete env[k];
  const out = fs.openSync(pushpipeLog, 'a');
  // What demo.sh runs, with quicker reconnects and heartbeats.
  const proc = spawn(PUSHPIPE, ['--listen', `127.0.0.1:${port}`, '--static', path.join(SRC, 'examples', 'site'),
    '--dir', path.join(BUILD, 'handlers'), '--console', '--sse', 'raw', '--sse-retry', '500',
    '--heartbeat', '2', '--close-grace', '300', '--passenv', 'PUSHPIPE_TAIL_DIR,PUSHPIPE_BROADCAST_DIR'],
  { env, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  for (let i = 0; i < 500; i++) {
    if (proc.exitCode !== null) throw new Error('pushpipe exited: ' + fs.readFileSync(pushpipeLog, 'utf8').slice(-1000));
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (ok) return proc;
    await sleep(20);
  }
  throw new Error('pushpipe did not start');
}

function stopPushpipe(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve(proc.exitCode);
    proc.on('exit', (code) => resolve(code));
    proc.kill('SIGTERM');
  });
}

// ---- checks ----------------------------------------------------------------------

let passed = 0, failed = 0;
function assert(cond, msg) { if (!cond) throw new Error(msg); }
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e && e.stack || e}`);
  }
}

const pageErrors = [];
async function newPage(ctx, label) {
  const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => pageErrors.push(`${label}: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error' && !/ERR_CONNECTION_REFUSED|net::/.test(m.text())) pageErrors.push(`${label}: ${m.text()}`); });
  return page;
}

async function shot(page, name) {
  fs.mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: path.join(OUT, name), fullPage: true });
}

async function main() {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let pp = await startPushpipe(port);
  // playwright gives every launch a fresh temporary --user-data-dir.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    await check('start page: the echo card round-trips, the clock ticks', async () => {
      const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
      const page = await newPage(ctx, 'index');
      await page.goto(base + '/');
      await page.waitForFunction(() => /\d\d:\d\d:\d\d UTC$/.test(document.getElementById('clock').textContent));
      await page.fill('#echo-input', 'hello pushpipe');
      await page.press('#echo-input', 'Enter');
      await page.waitForSelector('#echo-log li:has-text("← hello pushpipe")');
      await shot(page, 'index.png');
      await ctx.close();
    });

    await check('chat: two people in two browser contexts talk', async () => {
      const ctxA = await browser.newContext({ viewport: { width: 900, height: 700 } });
      const ctxB = await browser.newContext({ viewport: { width: 900, height: 700 } });
      const alice = await newPage(ctxA, 'alice');
      const bob = await newPage(ctxB, 'bob');
      await alice.goto(base + '/chat.html?room=browsertest&name=alice');
      await alice.waitForSelector('#state.open');
      await alice.waitForSelector('#messages li.note:has-text("alice joined")');   // subscribed
      await bob.goto(base + '/chat.html?room=browsertest&name=bob');
      await bob.waitForSelector('#messages li.note:has-text("bob joined")');
      await alice.waitForSelector('#messages li.note:has-text("bob joined")');
      await alice.fill('#text', 'Hi Bob, can you read me?');
      await alice.press('#text', 'Enter');
      await bob.waitForSelector('#messages li:not(.mine):has-text("Hi Bob, can you read me?") .who:text-is("alice")');
      await alice.waitForSelector('#messages li.mine:has-text("Hi Bob, can you read me?")');
      await bob.fill('#text', 'Loud and clear, Alice ✓');
      await bob.click('#send');
      await alice.waitForSelector('#messages li:not(.mine):has-text("Loud and clear, Alice ✓")');
      const aliceSays = await alice.$$eval('#messages li:not(.note)', (els) => els.map((e) => e.textContent));
      const bobSays = await bob.$$eval('#messages li:not(.note)', (els) => els.map((e) => e.textContent));
      assert(aliceSays.length === 2 && bobSays.length === 2, `alice ${aliceSays} bob ${bobSays}`);
      await shot(alice, 'chat-alice.png');
      await shot(bob, 'chat-bob.png');
      await ctxA.close();
      await ctxB.close();
    });

    await check('live: events arrive; after pushpipe restarts the page resumes with Last-Event-ID', async () => {
      const file = path.join(logDir, 'browser.log');
      fs.writeFileSync(file, 'alpha\nbeta\ngamma\n');
      const ctx = await browser.newContext({ viewport: { width: 1000, height: 900 } });
      const page = await newPage(ctx, 'live');
      const tailRequests = [];
      page.on('request', async (r) => {
        if (r.url().includes('/tail/')) tailRequests.push((await r.allHeaders())['last-event-id'] || '');
      });
      await page.goto(base + '/live.html?file=browser.log');
      await page.waitForFunction(() => window.liveStats && window.liveStats.lines === 3);
      await page.waitForFunction(() => /UTC$/.test(document.getElementById('clock').textContent));
      const idBefore = await page.evaluate(() => window.liveStats.lastId);
      assert(idBefore === String('alpha\nbeta\ngamma\n'.length), `last id ${idBefore}`);

      await stopPushpipe(pp);
      await page.waitForSelector('#tail-state.reconnecting');
      fs.appendFileSync(file, 'delta\nepsilon\n');           // written while nobody streams
      await sleep(800);                                        // a refused reconnect or two
      pp = await startPushpipe(port);
      await page.waitForFunction(() => window.liveStats.lines === 5 && window.liveStats.reconnects >= 1);
      await page.waitForSelector('#tail-state.open');
      await sleep(300);                                        // nothing more may come
      const lines = await page.$$eval('#tail li[data-id] .line', (els) => els.map((e) => e.textContent));
      assert(JSON.stringify(lines) === JSON.stringify(['alpha', 'beta', 'gamma', 'delta', 'epsilon']),
        'lines: ' + JSON.stringify(lines));
      const resumed = tailRequests.filter((h) => h === idBefore);
      assert(resumed.length >= 1, 'Last-Event-ID headers sent: ' + JSON.stringify(tailRequests));
      const log = fs.readFileSync(pushpipeLog, 'utf8');
      assert(log.includes(`resuming ${file} at byte ${idBefore}`), 'handler did not resume: ' + log.slice(-1500));
      await page.waitForFunction(() => /UTC$/.test(document.getElementById('clock').textContent) &&
        document.getElementById('clock-state').textContent === 'open');
      await shot(page, 'live.png');
      await ctx.close();
    });

    await check('console: a message round-trips through /echo; /clock streams over EventSource', async () => {
      const ctx = await browser.newContext({ viewport: { width: 1000, height: 700 } });
      const page = await newPage(ctx, 'console');
      await page.goto(base + '/console?path=/echo&connect=1');
      await page.waitForSelector('#state.open');
      await page.fill('#message', 'hello console');
      await page.press('#message', 'Enter');
      await page.waitForSelector('#log li.out:has-text("hello console")');
      await page.waitForSelector('#log li.in:has-text("hello console")');
      await shot(page, 'console-ws.png');
      await page.click('#connect');                          // disconnect
      await page.waitForSelector('#log li.sys:has-text("closed 1000")');
      await page.selectOption('#kind', 'sse');
      await page.fill('#path', '/clock');
      await page.click('#connect');
      await page.waitForFunction(() => [...document.querySelectorAll('#log li.in')].some((li) => /Z$/.test(li.textContent)));
      await shot(page, 'console-sse.png');
      await ctx.close();
    });

    await check('no script errors on any page', async () => {
      assert(pageErrors.length === 0, pageErrors.join('\n'));
    });
  } finally {
    await browser.close();
    const code = await stopPushpipe(pp);
    if (code !== 0) { failed++; console.log(`FAIL pushpipe exited with ${code}`); }
    if (failed) console.log('---- pushpipe log ----\n' + fs.readFileSync(pushpipeLog, 'utf8').slice(-4000));
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const watchdog = setTimeout(() => { console.log('FAIL timed out'); console.log(`${NAME}: ${passed} passed, ${failed + 1} failed`); process.exit(1); }, 120000);
main().catch((e) => { failed++; console.log(`FAIL ${e && e.stack || e}`); }).then(() => {
  clearTimeout(watchdog);
  console.log(`${NAME}: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
});
