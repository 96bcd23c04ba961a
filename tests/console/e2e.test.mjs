// The staff console, end to end: headless Chromium (Debian's `chromium`, driven by
// playwright-core) against the real binary on loopback with a fresh demo city. Each story is
// what a clerk, a station manager or a city admin does in the browser; riders act through the
// API as the mini-program would. Screenshots go to target/console-screenshots/.
//
// BIN names the binary (default target/debug/xinhuoban); CHROMIUM the browser (/usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = resolve(ROOT, process.env.BIN || 'target/debug/xinhuoban');
const SHOTS = join(ROOT, 'target/console-screenshots');
mkdirSync(SHOTS, { recursive: true });

let server, browser, base, work;

async function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
    s.on('error', fail);
  });
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'xhb-console-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(BIN, ['serve'], {
    cwd: work,
    env: { ...process.env, XHB_BIND: `127.0.0.1:${port}`, XHB_LOG: 'warn', XHB_DATABASE_URL: '', XHB_DEMO: 'true', XHB_DEMAND_FLUSH_MS: '300',
      XHB_WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', XHB_WEBHOOK_MAX_ATTEMPTS: '1', XHB_OUTBOX_POLL_MS: '200' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(base + '/readyz')).ok) break; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  await new Promise((r) => (server ? server.on('exit', r) : r()));
  rmSync(work, { recursive: true, force: true });
});

/** Calls the API as the mini-program or a script would. */
async function call(method, path, { token, json, body, type } = {}) {
  const headers = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  if (json !== undefined) headers['Content-Type'] = 'application/json';
  if (type) headers['Content-Type'] = type;
  const resp = await fetch(base + '/api/v1' + path, { method, headers, body: json !== undefined ? JSON.stringify(json) : body });
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  return { status: resp.status, data };
}

const rider = async (name) => (await call('POST', '/auth/wechat-login', { json: { code: 'demo-' + name } })).data.token;
const staff = async (username, password = 'demo') => (await call('POST', '/auth/staff-login', { json: { username, password } })).data.token;

/** A rider files a report at a GCJ-02 point in 城关街道's band (120.10–120.14). */
async function file(token, description, lat = 30.2700, lng = 120.1200, category = 'road_damage') {
  const r = await call('POST', '/reports', { token, json: { category, description, lat, lng } });
  assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r));
  return r.data.report ? r.data.report : r.data;
}

/** A small valid PNG (solid colour), built here: a resolution photo to upload. */
function png(w = 64, h = 48, rgb = [40, 140, 90]) {
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4); c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw.set(rgb, y * (w * 3 + 1) + 1 + x * 3);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** A browser page logged in as `username`, in Chinese unless `locale` says otherwise. */
async function loggedIn(username, { locale = 'zh-CN', viewport = { width: 1280, height: 900 }, password = 'demo' } = {}) {
  const context = await browser.newContext({ locale, viewport });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  // The policy is strict: anything it blocks is a bug in the console.
  page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy/.test(m.text())) problems.push(m.text()); });
  page.on('dialog', async (d) => { problems.push('dialog: ' + d.message()); await d.dismiss(); });
  await page.goto(base + '/console/');
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('#nav a');
  return { page, context, problems };
}

test('a clerk logs in, sees a new report arrive, accepts and resolves it with a photo; the rider sees it', async () => {
  const { page, context, problems } = await loggedIn('demo-clerk');
  await page.waitForSelector('#queue tbody tr');
  assert.match(await page.textContent('h1'), /待办队列/);

  const li = await rider('wang');
  const report = await file(li, '人行道塌陷一个大坑，晚上看不见');
  // Polling (every 10 s) brings it in without a reload, with a visible cue.
  await page.waitForSelector(`#queue tr[data-id="${report.id}"]`, { timeout: 20000 });
  await page.waitForSelector('.banner.new:not([hidden])');
  assert.match(await page.textContent('.banner.new'), /1 条新上报/);
  // Overdue first, then by the deadline that falls next: the countdowns are in order.
  await page.screenshot({ path: join(SHOTS, 'queue.png'), fullPage: true });

  await page.click(`#queue tr[data-id="${report.id}"]`);
  await page.waitForSelector('#report-description');
  assert.equal(await page.textContent('#report-description'), '人行道塌陷一个大坑，晚上看不见');
  await page.waitForSelector('svg.map path.outline');
  // Only what a submitted report allows is offered.
  const offered = await page.$$eval('.actions button', (bs) => bs.map((b) => b.dataset.action));
  assert.deepEqual(offered, ['accept', 'reject', 'mark_duplicate', 'transfer', 'assign', 'reply', 'note']);
  await page.screenshot({ path: join(SHOTS, 'report.png'), fullPage: true });

  await page.click('.actions button[data-action=accept]');
  await page.fill('form[data-action=accept] textarea[name=public_note]', '已受理，马上派人查看');
  await page.click('form[data-action=accept] button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#report-status')?.textContent === '已受理');

  // Resolve: the note is required in the form before anything is sent.
  await page.click('.actions button[data-action=resolve]');
  await page.click('form[data-action=resolve] button[type=submit]');
  await page.waitForSelector('form[data-action=resolve] .field.invalid[data-field=public_note] .err:not([hidden])');
  await page.setInputFiles('form[data-action=resolve] input[type=file]', { name: 'done.png', mimeType: 'image/png', buffer: png() });
  await page.waitForSelector('form[data-action=resolve] .photos img');
  await page.fill('form[data-action=resolve] textarea[name=public_note]', '坑已填平并设置警示');
  await page.waitForFunction(() => !document.querySelector('form[data-action=resolve] button[type=submit]').disabled);
  await page.click('form[data-action=resolve] button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#report-status')?.textContent === '已办结');
  // The photo is on the report, full size on click.
  await page.waitForSelector('.photos button img');
  await page.click('.photos button');
  await page.waitForSelector('dialog.lightbox img');
  assert.ok(await page.$eval('dialog.lightbox img', (i) => i.complete && i.naturalWidth > 0));
  await page.keyboard.press('Escape');
  await page.screenshot({ path: join(SHOTS, 'report-resolved.png'), fullPage: true });
  // A resolved report offers no lifecycle step, only notes.
  const after = await page.$$eval('.actions button', (bs) => bs.map((b) => b.dataset.action));
  assert.deepEqual(after, ['reply', 'note']);

  // The rider's timeline shows the acceptance and the resolution with their notes.
  const mine = await call('GET', '/reports/' + report.id, { token: li });
  assert.equal(mine.status, 200);
  const kinds = mine.data.timeline.map((e) => e.kind);
  assert.deepEqual(kinds.slice(-2), ['accepted', 'resolved']);
  assert.equal(mine.data.timeline.at(-1).public_note, '坑已填平并设置警示');
  assert.deepEqual(problems, []);
  await context.close();
});

test('a clerk of another office never sees the report, in the queue or by its address', async () => {
  const admin = await staff('demo-admin');
  const units = await call('GET', '/admin/units?limit=100', { token: admin });
  const other = units.data.items.find((u) => u.kind === 'street_office' && u.name === '东湖街道办事处');
  const created = await call('POST', '/admin/staff', { token: admin, json: { role: 'clerk', username: 'e2e-other', password: 'other-pass-1', display_name: '东区工作人员', office_id: other.id } });
  assert.equal(created.status, 200, JSON.stringify(created));
  const report = await file(await rider('zhao'), '井盖缺失', 30.2650, 120.1150);

  const { page, context, problems } = await loggedIn('e2e-other', { password: 'other-pass-1' });
  await page.waitForSelector('#queue tbody tr');
  assert.equal(await page.$(`#queue tr[data-id="${report.id}"]`), null);
  await page.goto(base + '/console/#/report/' + report.id);
  await page.waitForSelector('.banner.error');
  assert.equal(await page.$('#report-description'), null);
  assert.deepEqual(problems, []);
  await context.close();
});

test('a description written as markup is shown as text and never runs', async () => {
  const xss = '<img src=x onerror=alert(1)><script>alert(2)</script>';
  const report = await file(await rider('xss'), xss, 30.2710, 120.1210, 'other');
  const { page, context, problems } = await loggedIn('demo-clerk');
  await page.waitForSelector(`#queue tr[data-id="${report.id}"]`);
  assert.equal(await page.textContent(`#queue tr[data-id="${report.id}"] td.desc`), xss);
  await page.click(`#queue tr[data-id="${report.id}"]`);
  await page.waitForSelector('#report-description');
  assert.equal(await page.textContent('#report-description'), xss);
  assert.equal(await page.$('img[src="x"]'), null);
  assert.equal(await page.$('#app script'), null);
  assert.deepEqual(problems, []);
  await context.close();
});

test('the figures page shows the rates, an overdue count and a chart by week', async () => {
  const { page, context, problems } = await loggedIn('demo-clerk');
  await page.click('#nav a[data-path=figures]');
  await page.waitForSelector('#figures .tiles');
  await page.waitForSelector('svg.chart rect', { state: 'attached' });
  const tiles = await page.$$eval('.tile .k', (ks) => ks.map((k) => k.textContent));
  assert.ok(tiles.includes('按时响应率') && tiles.includes('满意率') && tiles.includes('当前超时'));
  await page.screenshot({ path: join(SHOTS, 'figures.png'), fullPage: true });
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
  assert.match(download.suggestedFilename(), /^reports-.*\.csv$/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('the console speaks English to a browser that prefers it', async () => {
  const { page, context } = await loggedIn('demo-clerk', { locale: 'en-US' });
  await page.waitForSelector('#queue');
  assert.equal(await page.textContent('h1'), 'Queue');
  await context.close();
});

test('a station manager on a phone closes a station until tomorrow, and riders\' nearby search shows it', async () => {
  const manager = await staff('demo-manager');
  const places = (await call('GET', '/manager/places?limit=100', { token: manager })).data.items;
  const station = places.find((p) => p.name === '城关暖新驿站');
  // A rider found the microwave broken: the manager sees failures first.
  const li = await rider('checkin');
  const ci = await call('POST', `/places/${station.id}/checkins`, { token: li, json: { outcome: 'amenity_broken', amenity: 'microwave', note: '微波炉不热' } });
  assert.equal(ci.status, 201, JSON.stringify(ci));

  const { page, context, problems } = await loggedIn('demo-manager', { viewport: { width: 360, height: 740 } });
  const card = `section[data-place="${station.id}"]`;
  await page.waitForSelector(card);
  assert.equal(await page.getAttribute('#checkins tbody tr:first-child', 'data-success'), 'false');
  assert.match(await page.textContent('#checkins tbody tr:first-child'), /设施损坏/);
  // Nothing is wider than the phone.
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1));

  await page.check(`${card} input[name=status][value=temporarily_closed]`);
  await page.click(`${card} .status-form button[type=submit]`);
  await page.waitForSelector(`${card} .status-form .field.invalid[data-field=status_reason]`);
  await page.fill(`${card} input[name=status_reason]`, '设备检修');
  const until = await page.inputValue(`${card} input[name=status_until]`);
  await page.click(`${card} .status-form button[type=submit]`);
  await page.waitForFunction((sel) => document.querySelector(sel + ' [data-role=status]')?.textContent === '暂停开放', card);
  await page.screenshot({ path: join(SHOTS, 'manager-phone.png') });

  // Riders see it closed until tomorrow morning, and an open-now search leaves it out.
  const near = await call('GET', `/places/nearby?lat=${station.lat}&lng=${station.lng}&kind=station&radius_m=2000`);
  const seen = near.data.items.find((p) => p.id === station.id);
  assert.equal(seen.status, 'temporarily_closed', JSON.stringify(seen));
  assert.equal(seen.open_now, false);
  // Tapping it shows why and until when: the form's default, tomorrow 08:00 (browser time).
  const one = (await call('GET', `/places/${station.id}`)).data;
  assert.equal(one.status_reason, '设备检修');
  const tomorrow = new Date(Date.parse(until));
  assert.equal(new Date(one.status_until).getTime(), tomorrow.getTime());
  assert.equal(tomorrow.getHours(), 8);
  assert.ok(tomorrow.getTime() - Date.now() > 0 && tomorrow.getTime() - Date.now() <= 33 * 3600 * 1000);
  const openNow = await call('GET', `/places/nearby?lat=${station.lat}&lng=${station.lng}&kind=station&radius_m=2000&open_now=true`);
  assert.ok(!openNow.data.items.some((p) => p.id === station.id));

  // An amenity toggle saves at once.
  await page.uncheck(`${card} input[name=amenity][value=microwave]`);
  for (let i = 0; i < 50; i++) {
    const p = await call('GET', `/places/${station.id}`);
    if (!p.data.amenities.includes('microwave')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(!(await call('GET', `/places/${station.id}`)).data.amenities.includes('microwave'));
  assert.deepEqual(problems, []);
  await context.close();
});

test('every message the console names is in both catalogues', async () => {
  const { readdirSync, readFileSync, statSync } = await import('node:fs');
  const dir = join(ROOT, 'console/js');
  const files = [];
  const walk = (d) => { for (const f of readdirSync(d)) { const p = join(d, f); if (statSync(p).isDirectory()) walk(p); else if (p.endsWith('.js')) files.push(p); } };
  walk(dir);
  const zh = (await import(join(dir, 'messages/zh.js'))).default;
  const en = (await import(join(dir, 'messages/en.js'))).default;
  assert.deepEqual(Object.keys(zh).sort(), Object.keys(en).sort());
  const used = new Set();
  for (const f of files) {
    const src = readFileSync(f, 'utf8');
    assert.ok(!/innerHTML|outerHTML|insertAdjacentHTML|document\.write/.test(src), `${f} writes markup`);
    for (const m of src.matchAll(/\bt\('([\w.]+)'\s*[,)]/g)) used.add(m[1]);
  }
  const missing = [...used].filter((k) => !(k in zh));
  assert.deepEqual(missing, []);
});

test('a station manager confirms a pickup by typing the rider\'s code', async () => {
  const admin = await staff('demo-admin');
  const manager = await staff('demo-manager');
  const station = (await call('GET', '/manager/places?limit=100', { token: manager })).data.items.find((p) => p.name === '东湖新伙伴驿站');
  const until = new Date(Date.now() + 7 * 86400000).toISOString();
  const reward = await call('POST', '/rewards', { token: admin, json: { place_id: station.id, name: '保温杯', cost: 10, stock: 5, valid_until: until, pickup_secs: 86400 } });
  assert.equal(reward.status, 201, JSON.stringify(reward));
  const token = await rider('pickup');
  const me = (await call('GET', '/me', { token })).data;
  const award = await call('POST', '/points/awards', { token: admin, json: { rider_id: me.account_id, amount: 20, reason: '志愿服务' } });
  assert.ok(award.status < 300, JSON.stringify(award));
  const redeemed = await call('POST', `/rewards/${reward.data.id}/redeem`, { token, json: {} });
  assert.ok(redeemed.status < 300, JSON.stringify(redeemed));
  const code = redeemed.data.code;

  const { page, context, problems } = await loggedIn('demo-manager', { viewport: { width: 360, height: 740 } });
  await page.click('#nav a[data-path=pickup]');
  await page.waitForSelector('input[name=code]');
  await page.selectOption('select[name=place_id]', station.id);
  await page.waitForFunction(() => document.querySelector('h2')?.textContent.includes('1'));
  // A wrong code: the API's message next to the code field.
  await page.fill('input[name=code]', '0000000000');
  await page.click('form button[type=submit]');
  await page.waitForSelector('.field.invalid[data-field=code] .err:not([hidden]), .form-error:not([hidden])');
  await page.fill('input[name=code]', code.replace(/(\d{5})/, '$1 '));
  await page.click('form button[type=submit]');
  await page.waitForSelector('.banner.ok');
  assert.match(await page.textContent('.banner.ok'), /保温杯/);
  const mine = await call('GET', `/me/redemptions/${redeemed.data.id}`, { token });
  assert.equal(mine.data.status, 'picked_up');
  assert.deepEqual(problems, []);
  await context.close();
});

test('an admin imports a places file with a bad row and sees its line number', async () => {
  const { page, context, problems } = await loggedIn('demo-admin');
  await page.click('#nav a[data-path="admin/places"]');
  await page.waitForSelector('#import input[type=file]');
  const csv = 'kind,name,address,lat,lng,amenities,hours\n'
    + 'station,新建驿站一号,测试路1号,30.2700,120.1300,drinking_water,24/7\n'
    + 'station,坏行驿站,测试路2号,95.0,120.1300,,24/7\n'
    + 'parking_zone,新建停车区,测试路3号,30.2710,120.1310,,mon-fri 08:00-20:00\n';
  await page.setInputFiles('#import input[type=file]', { name: 'places.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.click('#import button[type=submit]');
  await page.waitForSelector('#import-errors table');
  const rows = await page.$$eval('#import-errors tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  assert.equal(rows.length, 1, JSON.stringify(rows));
  assert.equal(rows[0][0], '第 3 行');
  assert.equal(rows[0][1], 'lat');
  await page.screenshot({ path: join(SHOTS, 'admin-import-errors.png'), fullPage: true });
  // Nothing was imported; the fixed file goes in whole.
  assert.equal(await page.$('#place-list tr:has-text("新建驿站一号")'), null);
  await page.setInputFiles('#import input[type=file]', { name: 'places.csv', mimeType: 'text/csv', buffer: Buffer.from(csv.replace('95.0', '30.2705')) });
  await page.click('#import button[type=submit]');
  await page.waitForSelector('#place-list tr:has-text("新建驿站一号")');
  assert.match(await page.textContent('.banner.ok'), /已导入 3 个站点/);
  // A place's managers are read before they are changed: demo-manager keeps the first station.
  const first = '#place-list tr:has-text("城关暖新驿站")';
  await page.click(`${first} button[data-action=managers]`);
  await page.waitForSelector(`${first} input[name=account_ids]`);
  assert.equal(await page.$eval(`${first} input[name=account_ids]`, (i) => i.checked), true);

  // Every admin page opens without an error.
  for (const path of ['admin/staff', 'admin/units', 'admin/categories', 'admin/points', 'admin/rewards', 'admin/demand', 'queue', 'figures']) {
    await page.click(`#nav a[data-path="${path}"]`);
    // Its heading is its name in the navigation, and nothing is still loading.
    await page.waitForFunction((p) => {
      const h1 = document.querySelector('#app h1');
      return h1 && h1.textContent === document.querySelector(`#nav a[data-path="${p}"]`).textContent && !document.querySelector('#app .loading');
    }, path);
    assert.equal(await page.$('#app .banner.error'), null, path);
    if (path === 'admin/units') await page.screenshot({ path: join(SHOTS, 'admin-units.png'), fullPage: true });
  }
  await page.screenshot({ path: join(SHOTS, 'admin-figures.png'), fullPage: true });
  // Riders searched a corner with no station a dozen times: a cell on the demand map.
  for (let i = 0; i < 12; i++) await call('GET', '/places/nearby?lat=30.3050&lng=120.2150&kind=station&radius_m=300');
  await new Promise((r) => setTimeout(r, 1000));
  await page.click('#nav a[data-path="admin/demand"]');
  await page.waitForSelector('#demand svg.map path.cell');
  assert.equal(await page.textContent('#cells tbody tr:first-child td:first-child'), '12');
  await page.screenshot({ path: join(SHOTS, 'demand.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await context.close();
});

test('a clerk registers a webhook, sees a failed delivery become a dead letter and retries it', async () => {
  // The unit's own system, on loopback: down at first, then up.
  let up = false;
  const received = [];
  const receiver = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.statusCode = up ? 200 : 503;
      res.end();
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${receiver.address().port}/xhb-events`;

  const { page, context, problems } = await loggedIn('demo-clerk');
  await page.click('#nav a[data-path=webhooks]');
  await page.waitForSelector('#new-webhook');
  // A URL that is not one: the API's message next to the field.
  await page.fill('#new-webhook input[name=url]', 'ftp://example');
  await page.click('#new-webhook button[type=submit]');
  await page.waitForSelector('#new-webhook .field.invalid[data-field=url] .err:not([hidden])');
  await page.fill('#new-webhook input[name=url]', url);
  await page.fill('#new-webhook input[name=description]', '街道网格化平台');
  await page.click('#new-webhook button[type=submit]');
  await page.waitForSelector('#webhook-secret');
  assert.ok((await page.textContent('#webhook-secret')).length >= 16);
  const card = 'section[data-webhook]';
  await page.waitForSelector(card);
  await page.click(`${card} button[data-action=test]`);
  // One attempt allowed here: the 503 makes it a dead letter.
  for (let i = 0; i < 60 && !(await page.$(`${card} tr[data-status=dead]`)); i++) {
    await page.waitForTimeout(250);
    await page.click(`${card} button[data-action=refresh]`);
  }
  await page.waitForSelector(`${card} tr[data-status=dead] button[data-action=retry]`);
  assert.match(await page.textContent(`${card} tr[data-status=dead]`), /503/);
  up = true;
  await page.click(`${card} tr[data-status=dead] button[data-action=retry]`);
  for (let i = 0; i < 60 && !(await page.$(`${card} tr[data-status=sent]`)); i++) {
    await page.waitForTimeout(250);
    await page.click(`${card} button[data-action=refresh]`);
  }
  await page.waitForSelector(`${card} tr[data-status=sent]`);
  await page.screenshot({ path: join(SHOTS, 'webhooks.png'), fullPage: true });
  assert.ok(received.length >= 2);
  assert.match(received.at(-1).headers['x-xhb-signature'], /^t=\d+,v1=[0-9a-f]{64}$/);
  assert.deepEqual(problems, []);
  await context.close();
  await new Promise((r) => receiver.close(r));
});
