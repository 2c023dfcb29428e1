// End-to-end test of the lowp web app in headless Chromium (playwright-core + /usr/bin/chromium).
//
// Expects the app served at $E2E_URL (default http://127.0.0.1:8765/) and the lowp CLI at
// $LOWP_BIN: every expected number comes from the CLI (`lowp show`, `lowp quantize`), i.e. from
// lowp-formats, never from this file. Screenshots go to e2e/artifacts/. scripts/web-e2e.sh builds
// the app and the CLI, serves the app and runs this file.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });
const url = process.env.E2E_URL ?? 'http://127.0.0.1:8765/';
const lowp = process.env.LOWP_BIN ?? 'lowp';
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const baseArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const webgpuArgs = [...baseArgs, '--enable-unsafe-webgpu'];

const report = [];
const log = (line) => { console.log(line); report.push(line); };
const scratch = mkdtempSync(join(tmpdir(), 'lowp-e2e-'));

// ---- expected values from the lowp CLI ----

/** `lowp show SPEC`'s code table: Map code -> {value, cls}. */
function cliCodeTable(spec) {
  const text = execFileSync(lowp, ['show', spec], { encoding: 'utf8' });
  const table = new Map();
  for (const line of text.split('\n')) {
    const row = line.match(/^([0-9A-F])_\s+(.*)$/);
    if (!row) continue;
    const high = parseInt(row[1], 16);
    const cells = [...row[2].matchAll(/(\S+)(?: \((\w+)\))?/g)];
    cells.forEach((cell, low) => table.set(high * 16 + low, { value: cell[1], cls: cell[2] ?? 'normal' }));
  }
  return table;
}

/** `lowp quantize` of float32 values: returns the results as numbers. */
function cliQuantize(spec, mode, values, extra = []) {
  const input = join(scratch, 'in.f32');
  const output = join(scratch, 'out.f32');
  writeFileSync(input, Buffer.from(new Float32Array(values).buffer));
  execFileSync(lowp, ['quantize', '--format', spec, '--rounding', mode, '--input', input, '--output', output, ...extra]);
  const bytes = readFileSync(output);
  return [...new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)];
}

/** The CLI's error line for a bad SPEC (exit status 2). */
function cliSpecError(spec) {
  try {
    execFileSync(lowp, ['show', spec], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    assert.equal(error.status, 2);
    return error.stderr.trim().replace(/^error: /, '');
  }
  throw new Error(`lowp show ${spec} did not fail`);
}

/** The binary32 value of a number as the app prints it (Rust's shortest round-trip text). */
const parseShown = (shown) => ({ inf: Infinity, '-inf': -Infinity, NaN: NaN })[shown] ?? Math.fround(Number(shown));
/** Whether the app's text is exactly the binary32 value `expected` (the sign of zero counts). */
const same = (shown, expected) => Object.is(parseShown(shown), expected);

// ---- page helpers ----

async function open(browser) {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  const errors = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  await page.goto(url);
  await page.waitForSelector('#decoded');
  return { page, errors };
}

const text = (page, selector) => page.locator(selector).innerText();

async function setSpec(page, spec) {
  await page.fill('#spec', spec);
  await page.waitForFunction((s) => document.querySelector('#spec').value === s, spec);
}

async function code(page) {
  return parseInt(await page.inputValue('#hex'), 16);
}

/** Clicks the bit buttons that differ between the current code and `target`. */
async function clickToCode(page, target) {
  const current = await code(page);
  for (let bit = 0; bit < 16; bit++) {
    if (((current ^ target) >> bit) & 1) await page.click(`button.bit[data-bit="${bit}"]`);
  }
  assert.equal(await code(page), target);
}


// ---- training view and backend check ----

/** The run rows of the training table as objects. */
const runRows = (page) => page.$$eval('#train-runs tr.run-row', (rows) => rows.map((r) => ({
  run: Number(r.dataset.run), device: r.dataset.device, executor: r.dataset.executor, state: r.dataset.state, steps: Number(r.dataset.steps),
  first: Number(r.dataset.firstLoss), last: Number(r.dataset.lastLoss), epochs: Number(r.dataset.epochs),
  fingerprint: r.dataset.lossFingerprint,
})));

/** Sets the training controls (id suffix -> value) and starts a run; returns its index. */
async function startRun(page, fields) {
  for (const [id, value] of Object.entries(fields)) {
    const element = page.locator(`#train-${id}`);
    if (await element.evaluate((e) => e.tagName === 'SELECT')) await element.selectOption(value);
    else await element.fill(String(value)), await element.dispatchEvent('change');
  }
  assert.equal((await text(page, '#train-error')).trim(), '', 'training settings are valid');
  const before = (await runRows(page)).length;
  await page.click('#train-add');
  await page.waitForFunction((n) => document.querySelectorAll('#train-runs tr.run-row').length > n, before);
  return before;
}

/** Waits until `run` has taken `steps` steps; on a timeout the error shows the run's row. */
async function waitSteps(page, run, steps, timeout) {
  try {
    await page.waitForFunction(([r, n]) => Number(document.querySelector(`tr.run-row[data-run="${r}"]`).dataset.steps) >= n, [run, steps], { timeout });
  } catch (error) {
    const row = await page.$eval(`tr.run-row[data-run="${run}"]`, (r) => `${JSON.stringify({ ...r.dataset })} ${r.innerText}`);
    throw new Error(`run ${run} did not reach ${steps} steps in ${timeout} ms: ${row}`);
  }
}

/** Waits until `run` has finished (all epochs and the evaluation). */
async function waitFinished(page, run, timeout) {
  await page.waitForFunction((r) => {
    const row = document.querySelector(`#train-runs tr.run-row[data-run="${r}"]`);
    return row && (row.dataset.state === 'finished' || row.dataset.state === 'failed');
  }, run, { timeout });
}

/** The longest gap between animation frames over `ms` milliseconds (page responsiveness). */
const longestFrameGap = (page, ms) => page.evaluate((ms) => new Promise((resolve) => {
  let last = performance.now(); let longest = 0; const end = last + ms;
  const frame = (t) => { longest = Math.max(longest, t - last); last = t; if (t < end) requestAnimationFrame(frame); else resolve(longest); };
  requestAnimationFrame(frame);
}), ms);

/** Starts recording the page's long tasks (main-thread tasks of 50 ms or more). */
const watchLongTasks = (page) => page.evaluate(() => {
  window.longTasks = [];
  window.longTaskObserver?.disconnect();
  window.longTaskObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.longTasks.push(entry.duration);
  });
  window.longTaskObserver.observe({ type: 'longtask' });
});
/** The durations of the long tasks recorded since `watchLongTasks`. */
const longTasks = (page) => page.evaluate(() => window.longTasks.slice());

/** Format changes (SPEC typed -> 256-code table rebuilt): milliseconds from the input event to
 *  the code table's update, for each SPEC of `specs`. */
const formatChangeTimes = (page, specs) => page.evaluate(async (specs) => {
  const spec = document.querySelector('#spec');
  const out = [];
  for (const next of specs) {
    const table = document.querySelector('#code-table');
    const before = table.innerText;
    const done = new Promise((resolve) => {
      const observer = new MutationObserver(() => {
        if (document.querySelector('#code-table').innerText !== before) { observer.disconnect(); resolve(performance.now()); }
      });
      observer.observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    const start = performance.now();
    spec.value = next;
    spec.dispatchEvent(new Event('input', { bubbles: true }));
    out.push((await done) - start);
    await new Promise((r) => setTimeout(r, 50));
  }
  return out;
}, specs);

/** `[median, max]` of some times. */
const medianMax = (times) => {
  const sorted = [...times].sort((a, b) => a - b);
  return [sorted[sorted.length >> 1], sorted.at(-1)];
};

/** Trains on `device` ('wgpu' or 'cpu'): two format sets side by side, stop and resume, curves.
 *  `samples`, `batch` and `epochs` set the run length (steps = epochs * ceil(samples / batch));
 *  `optimizer` and `lr` are those of the second run (the first uses Adam at 0.02). Runs on either
 *  device must step in workers; the page's long tasks and the explorer's format changes while
 *  the runs train are reported (checkResponsiveness asserts on them). */
async function checkTraining(page, device, { samples, batch, epochs, optimizer, lr }) {
  const executor = 'worker';
  await page.locator('.train').scrollIntoViewIfNeeded();
  await watchLongTasks(page);
  const common = { samples, epochs, batch, hidden: 32, seed: 3 };
  const steps = epochs * Math.ceil(samples / batch);
  const low = await startRun(page, { ...common, mac: 'add/mul', 'mac-mul': 'e4m3', 'mac-add': 'fp16', weight: 'e4m3', input: 'e4m3', grad: 'e5m2', rounding: 'stochastic', optimizer: 'adam', lr: '0.02' });
  // Stop and resume: the step count holds still while stopped, then goes on.
  await waitSteps(page, low, 5, 60000);
  await page.click('#train-stop');
  await page.waitForFunction((r) => {
    const row = document.querySelector(`tr.run-row[data-run="${r}"]`);
    return row.dataset.state === 'stopped' && row.dataset.busy === 'false';
  }, low, { timeout: 60000 });
  const held = (await runRows(page))[low].steps;
  await page.waitForTimeout(1000);
  assert.equal((await runRows(page))[low].steps, held, 'a stopped run does not step');
  await page.click('#train-resume');
  const fma = await startRun(page, { ...common, mac: 'fma', 'mac-add': 'bf16', weight: 'bf16', input: '', grad: '', rounding: 'nearest', optimizer, lr });
  // The explorer while both runs train (it is off screen; its DOM updates all the same).
  const busyFormatTimes = await formatChangeTimes(page, ['e5m2', 'e4m3', 'binary8(p=3)', 'e4m3fn', 'binary8(p=4)', 'e4m3']);
  const trainingWhileTimed = (await runRows(page)).filter((r) => r.state === 'running').length;
  const gap = await longestFrameGap(page, 1500);
  await waitFinished(page, low, 400000);
  await waitFinished(page, fma, 400000);
  const rows = await runRows(page);
  for (const row of [rows[low], rows[fma]]) {
    log(`training on ${device}, run ${row.run}: ${row.state}, ${row.steps} steps, loss ${row.first} (first 10) -> ${row.last} (last 10), ${row.epochs} epoch(s)`);
    assert.equal(row.state, 'finished');
    assert.equal(row.device, device);
    assert.equal(row.executor, executor, `${device} runs step in a worker`);
    assert.equal(row.steps, steps, `${samples} samples in batches of ${batch}, ${epochs} epoch(s)`);
    assert.ok(row.last < 0.85 * row.first, `run ${row.run}: the loss falls`);
    assert.equal(row.epochs, epochs);
    const points = await page.getAttribute(`#loss-chart polyline[data-run="${row.run}"]`, 'data-points');
    assert.equal(Number(points), steps, 'the loss curve has every step');
    assert.equal(await page.getAttribute(`#accuracy-chart polyline[data-run="${row.run}"]`, 'data-points'), String(epochs));
  }
  const strokes = await page.$$eval('#loss-chart polyline.series', (lines) => lines.map((l) => l.getAttribute('stroke')));
  assert.equal(new Set(strokes).size, strokes.length, 'each run has its own colour');
  const slice = (await text(page, '#train-slice')).trim();
  const tasks = await longTasks(page);
  const [busyMedian, busyMax] = medianMax(busyFormatTimes);
  log(`training on ${device} (${executor}): ${slice}; longest frame gap while training ${gap.toFixed(0)} ms; `
    + `${tasks.length} long task(s) on the page's thread${tasks.length ? ` (longest ${Math.max(...tasks).toFixed(0)} ms)` : ''}; `
    + `format change while ${trainingWhileTimed} run(s) trained: median ${busyMedian.toFixed(1)} ms, max ${busyMax.toFixed(1)} ms`);
  // Histograms of the shown run: one figure per layer with weight and gradient bars.
  const figures = await page.$$eval('#train-histograms figure', (f) => f.map((x) => ({
    name: x.querySelector('figcaption').innerText, weight: x.querySelectorAll('rect.weight').length, grad: x.querySelectorAll('rect.grad').length })));
  assert.deepEqual(figures.map((f) => f.name), ['layer 0 (64→32)', 'layer 1 (32→10)']);
  assert.ok(figures.every((f) => f.weight > 0 && f.grad > 0), 'weight and gradient histograms drawn');
  await page.locator('.train').screenshot({ path: join(artifacts, `training-${device}.png`) });
  return rows;
}

/** While a long CPU run steps in its worker (a step takes longer than a frame), the page's
 *  thread stays responsive: no long task (≥ 50 ms) over a quiet 3 s, bit clicks in the explorer
 *  still update within 16 ms (median), and format changes are timed. */
async function checkResponsiveness(page) {
  await page.locator('.train').scrollIntoViewIfNeeded();
  const run = await startRun(page, { samples: 1437, batch: 128, hidden: 256, epochs: 5, seed: 4, mac: 'add/mul', 'mac-mul': 'e4m3', 'mac-add': 'fp16', weight: 'e4m3', input: 'e4m3', grad: 'e5m2', rounding: 'stochastic', optimizer: 'adam', lr: '0.01' });
  const row = () => page.$eval(`#train-runs tr.run-row[data-run="${run}"]`, (r) => ({ state: r.dataset.state, executor: r.dataset.executor, steps: Number(r.dataset.steps) }));
  // Measured once the worker has loaded and stepped: its steps, not its start, are the load.
  await waitSteps(page, run, 2, 120000);
  const before = await row();
  await watchLongTasks(page);
  const gap = await longestFrameGap(page, 3000);
  const tasks = await longTasks(page);
  const clicks = await page.evaluate(async () => {
    const decoded = document.querySelector('#decoded');
    const bit = document.querySelector('button.bit[data-bit="0"]');
    const out = [];
    for (let i = 0; i < 20; i++) {
      const previous = decoded.textContent;
      const done = new Promise((resolve) => {
        const observer = new MutationObserver(() => {
          if (decoded.textContent !== previous) { observer.disconnect(); resolve(performance.now()); }
        });
        observer.observe(document.body, { subtree: true, childList: true, characterData: true });
      });
      const start = performance.now();
      bit.click();
      out.push((await done) - start);
      await new Promise((r) => setTimeout(r, 20));
    }
    return out;
  });
  const formats = await formatChangeTimes(page, ['e5m2', 'e4m3', 'binary8(p=3)', 'e4m3fn', 'e4m3']);
  const after = await row();
  const slice = (await text(page, '#train-slice')).trim();
  const [clickMedian, clickMax] = medianMax(clicks);
  const [formatMedian, formatMax] = medianMax(formats);
  log(`responsiveness while one CPU run (hidden 256, batch 128) trains in a ${after.executor} (${slice}; steps ${before.steps} -> ${after.steps}): `
    + `${tasks.length} long task(s) over 3 s${tasks.length ? ` (longest ${Math.max(...tasks).toFixed(0)} ms)` : ''}, longest frame gap ${gap.toFixed(0)} ms; `
    + `bit click median ${clickMedian.toFixed(1)} ms, max ${clickMax.toFixed(1)} ms; format change median ${formatMedian.toFixed(1)} ms, max ${formatMax.toFixed(1)} ms`);
  assert.equal(after.executor, 'worker');
  assert.equal(after.state, 'running', 'the run was still training when measured');
  assert.ok(after.steps > before.steps, 'the run stepped while measured');
  assert.deepEqual(tasks, [], 'CPU training in a worker leaves no long task (≥ 50 ms) on the page\'s thread');
  assert.ok(clickMedian < 16, `bit click while training: median ${clickMedian} ms`);
  await page.locator('.train').screenshot({ path: join(artifacts, 'training-cpu-worker.png') });
  await page.click('#train-clear');
}

async function main() {
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: webgpuArgs });
  const { page, errors } = await open(browser);

  // 1. Backend: with --enable-unsafe-webgpu the tensor view must run on WebGPU.
  await page.waitForFunction(() => document.querySelector('#backend').dataset.backend !== 'detecting', null, { timeout: 30000 });
  const backend = await page.getAttribute('#backend', 'data-backend');
  log(`backend with --enable-unsafe-webgpu: ${backend} (${(await text(page, '#backend')).trim()})`);
  assert.equal(backend, 'wgpu', 'WebGPU is available in this browser, the app must use it');

  // 2. e4m3: the code table equals `lowp show e4m3`, cell by cell.
  for (const spec of ['e4m3', 'binary8(p=3)', 'e4m3fn', 'fixed(wl=6,fl=2)', 'binary(k=6,p=3,signed=false)',
    'superfp(exp=3,man=1,binades=1)', 'float(exp=3,man=2,subnormals=false)', 'e5m2']) {
    await setSpec(page, spec);
    const expected = cliCodeTable(spec);
    const cells = await page.$$eval('#code-table button.code', (buttons) =>
      buttons.map((b) => ({ code: Number(b.dataset.code), value: b.innerText, cls: b.className.split(' ')[1] })));
    assert.equal(cells.length, expected.size, `${spec}: number of codes`);
    for (const cell of cells) {
      const want = expected.get(cell.code);
      assert.equal(cell.value, want.value, `${spec} code ${cell.code}`);
      assert.equal(cell.cls, want.cls, `${spec} code ${cell.code} class`);
    }
    log(`${spec}: ${cells.length} codes match lowp show`);
    await page.screenshot({ path: join(artifacts, `table-${spec.replace(/[^a-z0-9]+/gi, '_')}.png`), fullPage: false });
  }

  // 3. Clicking bits: e4m3 codes reached bit by bit decode as the CLI says.
  await setSpec(page, 'e4m3');
  const e4m3 = cliCodeTable('e4m3');
  for (const target of [0x38, 0x4B, 0x05, 0xF7, 0x78, 0x7C, 0x80]) {
    await clickToCode(page, target);
    const want = e4m3.get(target);
    assert.equal(await text(page, '#decoded'), want.value, `decoded 0x${target.toString(16)}`);
    assert.equal(await text(page, '#class'), want.cls);
    const marked = await page.$$eval('#code-table button.selected', (cells) => cells.map((c) => Number(c.dataset.code)));
    assert.deepEqual(marked, [target], 'the code table marks the edited code');
  }
  log('bit clicks: decoded values and classes match lowp show e4m3');

  // 4. Keyboard: focus a bit, ArrowUp steps to the next value, ArrowLeft moves the focus.
  await clickToCode(page, 0x38);
  await page.focus('button.bit[data-bit="0"]');
  await page.keyboard.press('ArrowUp');
  assert.equal(await text(page, '#decoded'), e4m3.get(0x39).value);
  await page.keyboard.press('ArrowLeft');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.bit), '1');
  await page.keyboard.press('Space');
  assert.equal(await code(page), 0x3B);
  await page.keyboard.press('ArrowDown');
  assert.equal(await code(page), 0x3A);
  log('keyboard: arrows step values and move focus, Space toggles');

  // 4b. The code table is one tab stop; arrows move the selection and the focus.
  await clickToCode(page, 0x38);
  assert.equal(await page.locator('#code-table button[tabindex="0"]').count(), 1);
  await page.focus('#code-table button[data-code="56"]');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowDown');
  assert.equal(await code(page), 0x49);
  assert.equal(await page.evaluate(() => document.activeElement.dataset.code), String(0x49));
  assert.equal(await text(page, '#decoded'), e4m3.get(0x49).value);
  assert.equal(await page.getAttribute('#code-table button[tabindex="0"]', 'data-code'), String(0x49));
  await setSpec(page, 'binary8(p=3)');
  await setSpec(page, 'e4m3');
  assert.equal(await page.getAttribute('#code-table button.selected', 'data-code'), String(await code(page)));
  log('code table: arrows move selection and focus; the selection survives a format change');

  // 5. Typing a value: the decimal field rounds to nearest like `lowp quantize`.
  for (const typed of [3.3, -0.0123, 1000, 0.0009]) {
    await page.fill('#decimal', String(typed));
    await page.press('#decimal', 'Enter');
    const [want] = cliQuantize('e4m3', 'nearest', [typed]);
    const shown = await text(page, '#decoded');
    assert.ok(same(shown, want), `typed ${typed}: shown ${shown}, lowp quantize ${want}`);
  }
  log('typed values round to nearest like lowp quantize');

  // 5b. Wide formats: fp32 codes are the IEEE binary32 bits (checked with Float32Array).
  await setSpec(page, 'fp32');
  assert.equal(await page.locator('button.bit').count(), 32);
  for (const typed of [0.1, -3.5e-42, 65504]) {
    await page.fill('#decimal', String(typed));
    await page.press('#decimal', 'Enter');
    const bits = new Uint32Array(new Float32Array([typed]).buffer)[0];
    assert.equal(await code(page), bits, `fp32 code of ${typed}`);
  }
  await page.click('button.bit[data-bit="31"]');
  assert.equal(await text(page, '#decoded'), '-65504');
  assert.equal(await text(page, '#ulp'), '0.00390625 = 2^-8'); // 65504 is in [2^15, 2^16): 2^(15-23)
  await page.screenshot({ path: join(artifacts, 'fp32.png') });
  log('fp32: 32-bit codes equal the binary32 bits');
  await setSpec(page, 'e4m3');

  // 6. Every rounding mode of the target box equals `lowp quantize`.
  for (const spec of ['e4m3', 'binary8(p=4)', 'fixed(wl=8,fl=3)', 'bf16']) {
    await setSpec(page, spec);
    for (const x of [0.3, -2.71828, 1e6]) {
      await page.fill('#target', String(x));
      for (const mode of ['nearest', 'toward-zero', 'up', 'down', 'nearest-away', 'odd']) {
        const [want] = cliQuantize(spec, mode, [x]);
        const shown = await text(page, `#modes tr[data-mode="${mode}"] td.result`);
        assert.ok(same(shown, want), `${spec} ${mode}(${x}): shown ${shown}, lowp quantize ${want}`);
      }
      const low = await text(page, '#modes tr[data-mode="stochastic"] .sr-low');
      // An exact x has one candidate only.
      const highCell = page.locator('#modes tr[data-mode="stochastic"] .sr-high');
      const high = (await highCell.count()) ? await highCell.innerText() : low;
      const sr = cliQuantize(spec, 'stochastic', Array(4096).fill(x), ['--seed', '1']);
      const seen = new Set(sr.map(String));
      assert.ok(seen.size <= 2 && [...seen].every((v) => same(low, Number(v)) || same(high, Number(v))),
        `${spec} stochastic(${x}): CLI gives ${[...seen]}, app ${low} / ${high}`);
    }
  }
  await page.fill('#target', '0.3');
  await setSpec(page, 'e4m3');
  log('rounding box: every mode matches lowp quantize; stochastic candidates match');

  // 6b. Number line: one row per format, each naming |x| rounded to nearest as lowp quantize does.
  await page.fill('#target', '0.3');
  const lineRows = await page.$$eval('.numberline g.line-row', (rows) =>
    rows.map((g) => ({ spec: g.dataset.spec, note: g.querySelector('.note-label').textContent, hits: g.querySelectorAll('.bin.hit').length })));
  assert.ok(lineRows.length >= 6, 'number line rows');
  for (const row of lineRows) {
    const [want] = cliQuantize(row.spec, 'nearest', [0.3]);
    const shown = row.note.match(/^→ (\S+)/)[1];
    assert.ok(same(shown, want), `number line ${row.spec}: ${shown} vs ${want}`);
    assert.equal(row.hits, 1, `number line ${row.spec}: one highlighted bin`);
  }
  await page.fill('#zoom', '-2');
  await page.locator('.numberline').screenshot({ path: join(artifacts, 'number-line.png') });
  log(`number line: ${lineRows.length} formats, nearest of 0.3 matches lowp quantize`);

  // 7. A bad SPEC shows the CLI's error inline and keeps the last good format.
  const bad = 'float(exp=9,man=2)';
  await setSpec(page, bad);
  const shownError = (await text(page, '#spec-error')).trim();
  assert.equal(shownError, cliSpecError(bad));
  assert.equal(await page.getAttribute('#spec', 'aria-invalid'), 'true');
  log(`bad spec: inline error "${shownError}"`);
  await page.screenshot({ path: join(artifacts, 'bad-spec.png') });
  await setSpec(page, 'e4m3');

  // 8. Interaction latency: bit click -> decoded value updated in the DOM.
  await clickToCode(page, 0x38);
  const times = await page.evaluate(async () => {
    const decoded = document.querySelector('#decoded');
    const bit = document.querySelector('button.bit[data-bit="0"]');
    const out = [];
    for (let i = 0; i < 40; i++) {
      const before = decoded.textContent;
      const done = new Promise((resolve) => {
        const observer = new MutationObserver(() => {
          if (decoded.textContent !== before) { observer.disconnect(); resolve(performance.now()); }
        });
        observer.observe(document.body, { subtree: true, childList: true, characterData: true });
      });
      const start = performance.now();
      bit.click();
      out.push((await done) - start);
    }
    return out;
  });
  times.sort((a, b) => a - b);
  const median = times[times.length >> 1];
  const p90 = times[Math.floor(times.length * 0.9)];
  log(`bit click -> DOM update over ${times.length} clicks: median ${median.toFixed(2)} ms, p90 ${p90.toFixed(2)} ms, max ${times.at(-1).toFixed(2)} ms`);
  assert.ok(median < 16, `median interaction ${median} ms`);

  // Format change (SPEC typed -> 256-code table and every panel updated).
  const formatTimes = await formatChangeTimes(page, ['e5m2', 'e4m3', 'binary8(p=3)', 'e4m3fn', 'e4m3', 'e5m2', 'e4m3fn', 'binary8(p=3)', 'e4m3']);
  const [formatMedian, formatMax] = medianMax(formatTimes);
  log(`format change -> code table updated: ${formatTimes.map((t) => t.toFixed(1)).join(', ')} ms (median ${formatMedian.toFixed(1)}, max ${formatMax.toFixed(1)})`);
  assert.ok(formatMedian < 16, `median format change ${formatMedian} ms`);

  await page.screenshot({ path: join(artifacts, 'explorer.png'), fullPage: true });

  // 9. Tensor view on WebGPU: pasted values, a block format; the block inspector's values equal
  //    `lowp quantize`, and so do the error statistics of an element-wise format.
  const pasted = [0.1, -0.2, 0.3, 1e-5, 3, -0.007, 2.5e-3, 1.75];
  await page.selectOption('#tensor-source', 'paste');
  await page.fill('#pasted', pasted.join(' '));
  await page.dispatchEvent('#pasted', 'change');
  await page.fill('#tensor-spec', 'block(wl=5,dim=-1)');
  await page.dispatchEvent('#tensor-spec', 'change');
  await page.waitForSelector('#block-elements tbody tr');
  assert.equal(await page.getAttribute('#tensor-run', 'data-backend'), 'wgpu');
  const blockRows = await page.$$eval('#block-elements tbody tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.innerText)));
  const blockWant = cliQuantize('block(wl=5,dim=-1)', 'nearest', pasted);
  assert.equal(blockRows.length, pasted.length);
  blockRows.forEach(([index, x, q]) => {
    assert.ok(same(x, Math.fround(pasted[Number(index)])), `block input ${index}`);
    assert.ok(same(q, blockWant[Number(index)]), `block(wl=5) element ${index}: app ${q}, lowp quantize ${blockWant[Number(index)]}`);
  });
  log('tensor view (wgpu): block(wl=5,dim=-1) elements match lowp quantize');
  await page.screenshot({ path: join(artifacts, 'tensor-block.png'), fullPage: true });

  await page.fill('#tensor-spec', 'e4m3');
  await page.dispatchEvent('#tensor-spec', 'change');
  await page.waitForFunction(() => !document.querySelector('#blocks'));
  const e4m3Out = cliQuantize('e4m3', 'nearest', pasted);
  const errors32 = pasted.map((x, i) => Math.abs(e4m3Out[i] - Math.fround(x)));
  const maxAbs = Math.max(...errors32);
  const shownMax = Number(await text(page, '#stat-max-abs'));
  assert.ok(Math.abs(shownMax - maxAbs) <= 1e-3 * maxAbs, `max abs error: app ${shownMax}, from lowp quantize ${maxAbs}`);
  const flushed = pasted.filter((x, i) => x !== 0 && e4m3Out[i] === 0).length;
  assert.equal(await text(page, '#stat-flushed'), `${(100 * flushed / pasted.length).toFixed(2)}%`);
  log(`tensor view (wgpu): e4m3 max abs error ${shownMax} and flushed ${flushed}/${pasted.length} match lowp quantize`);

  await page.selectOption('#tensor-source', 'digits');
  await page.fill('#tensor-spec', 'fixed(wl=3,fl=2)');
  await page.dispatchEvent('#tensor-spec', 'change');
  await page.waitForSelector('#digits figure');
  assert.equal(await page.locator('#digits figure').count(), 20);
  await page.selectOption('#tensor-source', 'generate');
  await page.selectOption('#distribution', 'normal + outliers');
  await page.fill('#tensor-spec', 'e4m3');
  await page.dispatchEvent('#tensor-spec', 'change');
  await page.waitForSelector('.histogram-svg');
  await page.locator('.tensor').screenshot({ path: join(artifacts, 'tensor-outliers.png') });
  await page.selectOption('#tensor-source', 'digits');
  await page.waitForSelector('#digits figure');
  await page.locator('.tensor').screenshot({ path: join(artifacts, 'tensor-digits.png') });
  log('tensor view: digits before/after drawn, screenshots saved');
  // 11. Training on WebGPU: two format sets side by side, stop/resume, curves and histograms.
  const shortRuns = { samples: 320, batch: 32, epochs: 2, optimizer: 'adam', lr: '0.02' };
  const gpuRuns = await checkTraining(page, 'wgpu', shortRuns);

  // 12. Backend check: every case agrees bit for bit between WebGPU and the CPU backend.
  await page.locator('.check').scrollIntoViewIfNeeded();
  await page.click('#check-run');
  await page.waitForFunction(() => document.querySelector('#check-summary').dataset.done === 'true', null, { timeout: 300000 });
  const adapter = (await text(page, '#check-adapter')).trim();
  const summary = (await text(page, '#check-summary')).trim();
  log(`backend check: ${summary}; ${adapter}`);
  assert.match(adapter, /adapter: /, 'the check names the WebGPU adapter');
  const checks = await page.$$eval('#check-table tr.check-row', (rows) => rows.map((r) => ({
    passed: r.dataset.passed === 'true', text: r.innerText.replace(/\s+/g, ' ') })));
  const failures = checks.filter((c) => !c.passed).map((c) => c.text);
  assert.deepEqual(failures, [], 'every backend check row passes on WebGPU');
  assert.ok(checks.length >= 100, `${checks.length} check rows`);
  await page.locator('.check').screenshot({ path: join(artifacts, 'backend-check.png') });

  assert.deepEqual(errors, [], 'no page errors');
  await browser.close();

  // 10. Without the WebGPU flag the app falls back to the CPU backend and says so.
  const plain = await chromium.launch({ executablePath: chromiumPath, headless: true, args: [...baseArgs, '--disable-features=WebGPU'] });
  const fallback = await open(plain);
  await fallback.page.waitForFunction(() => document.querySelector('#backend').dataset.backend !== 'detecting', null, { timeout: 30000 });
  const fallbackBackend = await fallback.page.getAttribute('#backend', 'data-backend');
  log(`backend without WebGPU: ${fallbackBackend}`);
  assert.equal(fallbackBackend, 'cpu');
  await fallback.page.waitForSelector('#tensor-run');
  assert.equal(await fallback.page.getAttribute('#tensor-run', 'data-backend'), 'cpu');
  log(`fallback: ${(await fallback.page.innerText('#tensor-run')).trim()}`);
  await fallback.page.screenshot({ path: join(artifacts, 'cpu-fallback.png') });
  // 13. Training on the CPU fallback, each run in a worker of its own.
  await checkTraining(fallback.page, 'cpu', { samples: 1437, batch: 32, epochs: 1, optimizer: 'sgd', lr: '0.1' });
  // 13b. The page's thread stays responsive while a CPU run trains in its worker.
  await fallback.page.click('#train-clear');
  await checkResponsiveness(fallback.page);
  // 14. The same two runs as on WebGPU, on the CPU: the same losses, bit for bit.
  const cpuRuns = await checkTraining(fallback.page, 'cpu', shortRuns);
  for (const [gpu, cpu] of gpuRuns.map((run, i) => [run, cpuRuns[i]])) {
    log(`loss curve fingerprint of run ${gpu.run}: WebGPU ${gpu.fingerprint}, CPU ${cpu.fingerprint}`);
    assert.equal(cpu.fingerprint, gpu.fingerprint, 'WebGPU and CPU training give the same losses, bit for bit');
  }
  assert.equal(await fallback.page.isDisabled('#check-run'), true, 'no check without WebGPU');
  assert.deepEqual(fallback.errors, [], 'no page errors without WebGPU');
  await plain.close();

  writeFileSync(join(artifacts, 'report.txt'), report.join('\n') + '\n');
  console.log('E2E OK');
}

main().catch((error) => {
  console.error(error);
  writeFileSync(join(artifacts, 'report.txt'), report.join('\n') + `\nFAILED: ${error}\n`);
  process.exit(1);
});
