#!/usr/bin/env node
/*
 * Browser tests of www/pve-balancer.js (make check-ui): headless Chromium (Debian's), driven by
 * playwright-core, on the test page of tests/ui/server.pl, which answers /cluster/balance with
 * the real API handlers on a simulated cluster. Each scenario clicks like an admin, asserts on
 * the DOM, saves screenshots under tests/out/ui/ and fails on any JavaScript console error.
 * Prints TAP (run by prove: prove --exec node tests/ui/scenarios.js).
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');

const NPM = process.env.UI_NPM_DIR || '/var/cache/pve-balancer/npm';
const ROOT = path.resolve(__dirname, '..', '..');
const OUT = path.join(ROOT, 'tests', 'out', 'ui');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ONLY = process.env.UI_SCENARIO; // run one scenario (by name) while working on it

let chromium;
try {
    ({ chromium } = require(path.join(NPM, 'node_modules', 'playwright-core')));
} catch (e) {
    console.log('1..0 # SKIP playwright-core not installed in ' + NPM + ' (make deps)');
    console.error(e.message);
    process.exit(1);
}

let testNo = 0;
let failures = 0;

function ok(cond, name, diag) {
    testNo++;
    if (!cond) {
        failures++;
    }
    console.log(`${cond ? 'ok' : 'not ok'} ${testNo} - ${name}`);
    if (!cond && diag !== undefined) {
        for (const line of String(diag).split('\n')) {
            console.log('# ' + line);
        }
    }
    return !!cond;
}


function is(got, want, name) {
    return ok(got === want, name, `got:  ${JSON.stringify(got)}\nwant: ${JSON.stringify(want)}`);
}

function like(got, re, name) {
    return ok(re.test(String(got)), name, `got:  ${JSON.stringify(got)}\nwant: ${re}`);
}

// --- the test server -----------------------------------------------------------------------

function startServer() {
    return new Promise((resolve, reject) => {
        let perl5lib = [
            path.join(ROOT, 'perl/build/lib'),
            path.join(ROOT, 'perl/build/arch'),
            ROOT,
            process.env.PERL5LIB,
        ].filter(Boolean).join(':');
        let proc = spawn('perl', [path.join(__dirname, 'server.pl')], {
            env: Object.assign({}, process.env, { PERL5LIB: perl5lib, UI_NPM_DIR: NPM }),
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        let buf = '';
        proc.stdout.on('data', (d) => {
            buf += d;
            let m = /listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(buf);
            if (m) {
                resolve({ proc, url: m[1] });
            }
        });
        proc.stderr.on('data', (d) => {
            for (const line of String(d).split('\n').filter((l) => l)) {
                console.log('# server: ' + line);
            }
        });
        proc.on('exit', (code) => reject(new Error('test server exited with ' + code)));
    });
}

async function post(url, body) {
    let res = await fetch(url, { method: 'POST', body: JSON.stringify(body || {}) });
    if (!res.ok) {
        throw new Error(`${url}: ${res.status}`);
    }
    return res.status === 204 ? undefined : res.json();
}

// --- the browser ---------------------------------------------------------------------------

const ACL = {
    'auditor@pve': { '/': ['Sys.Audit'], '/vms': ['VM.Audit'] },
    'limited@pve': { '/': ['Sys.Audit', 'Sys.Modify'], '/vms': ['VM.Audit'], '/vms/101': ['VM.Migrate'] },
};

async function openPage(ctx, server, scenario) {
    let session = await post(server.url + '__test/reset', scenario);
    let page = await ctx.newPage();
    page.errors = [];
    page.on('console', (msg) => {
        if (msg.type() === 'error') {
            page.errors.push(msg.text());
        }
    });
    page.on('pageerror', (err) => page.errors.push(String(err)));
    await page.goto(server.url);
    await page.waitForFunction(() => window.pveTestReady === true, null, { timeout: 20000 });
    page.session = session;
    return page;
}

async function shot(page, name) {
    await page.waitForTimeout(150); // let ExtJS finish its layout run
    await page.screenshot({ path: path.join(OUT, name + '.png') });
}

// clicks, as an admin: by the text on the screen
const ui = {
    tree: (page, text) =>
        page.locator('.pve-test-resource-tree .x-tree-node-text').filter({ hasText: new RegExp(`^${text}`) }).first(),
    nav: (page, text) =>
        page.locator('.x-treelist-item-text').filter({ hasText: new RegExp(`^${text}$`) }).first(),
    button: (page, text, scope) =>
        page.locator(`${scope || ''} .x-btn:visible`).filter({ hasText: new RegExp(`^\\s*${text}\\s*$`) }).first(),
    window: (page, titleRe) =>
        page.locator('.x-window:visible').filter({ has: page.locator('.x-window-header-title', { hasText: titleRe }) }).first(),
    menuItem: (page, text) =>
        page.locator('.x-menu:visible .x-menu-item-text').filter({ hasText: new RegExp(`^${text}$`) }).first(),
};

// the component behind a window title, for values the DOM does not show as text
async function cq(page, query, fn) {
    return page.evaluate(([q, f]) => {
        let c = Ext.ComponentQuery.query(q)[0];
        return c ? new Function('c', 'return (' + f + ')(c)')(c) : undefined;
    }, [query, fn.toString()]);
}

async function gridTexts(page, scopeSel) {
    return page.locator(`${scopeSel} .x-grid-item`).allInnerTexts();
}

async function openBalancePanel(page) {
    await ui.nav(page, 'Balance').click();
    await page.waitForFunction(
        () => /Objective|No metrics/.test(document.querySelector('.pve-balancer-info')?.innerText || ''),
        null,
        { timeout: 20000 },
    );
}

async function openPlan(page) {
    await ui.button(page, 'Balance', '.x-toolbar').click();
    let win = ui.window(page, /^Balance cluster$/);
    await win.waitFor();
    await page.waitForFunction(() => {
        let w = Ext.ComponentQuery.query('pveBalancerPlanWindow')[0];
        return w && (w.plan || /No plan/.test(w.lookup('summary').getEl().dom.innerText));
    }, null, { timeout: 20000 });
    return win;
}

async function waitTaskStopped(page) {
    await page.waitForFunction(
        () => /stopped/.test(Ext.ComponentQuery.query('proxmoxTaskViewer')[0]?.taskStatus?.status || ''),
        null,
        { timeout: 30000 },
    );
    // the viewer reads the log once more after the last status
    await page.waitForTimeout(400);
}

// --- scenarios -----------------------------------------------------------------------------

const scenarios = [];
function scenario(name, setup, fn) {
    scenarios.push({ name, setup, fn });
}

scenario('status', { fixture: 'lab.json' }, async (page) => {
    let nav = await page.locator('.x-treelist-item-text').allInnerTexts();
    let i = nav.indexOf('Balance');
    ok(i > 0, 'Datacenter has a "Balance" entry', nav.join(', '));
    is(nav[i - 1], 'Fencing', '"Balance" comes right after the HA entries');

    await openBalancePanel(page);
    let info = await page.locator('.pve-balancer-info').allInnerTexts();
    like(info[0], /Objective\s+0\.\d{4}/, 'shows our objective');
    like(info[0], /Imbalance \(CRS\)\s+0\.\d{4}/, "shows Proxmox's imbalance");
    like(info[0], /Guests\s+16 \(15 running\)\s+Nodes\s+4 \(4 online\)/, 'counts guests and nodes');
    like(info[1], /Survives \d node failures?/, 'HA capacity: survives N node failures');
    like(info[1], /Target N\+1\s+met/, 'HA capacity: the N+1 target');
    like(info[1], /Reserve needed\s+none/, 'HA capacity: the reserve needed');
    like(info[1], /Worst scenario/, 'HA capacity: the worst scenario');
    like(info[2], /State\s+disabled/, 'automatic balancing is off (balancer.cfg)');
    like(info[2], /Daemon\s+not running or not installed/, 'no daemon status: says so');

    let nodes = await gridTexts(page, '.pve-balancer-nodes');
    is(nodes.length, 4, 'four nodes in the node chart');
    like(nodes[0], /pve1[\s\S]*7 \(7 running\)[\s\S]*\d+\.\d % \(\d+\.\d of 32 cores\)[\s\S]*GiB of 192 GiB/, 'pve1: guests, CPU and memory bars');
    let fill = await page.locator('.pve-balancer-nodes .x-grid-item').first().locator('.pve-balancer-bar-fill').first().getAttribute('style');
    like(fill, /width: [1-9]\d?\.\d%/, 'the CPU bar is drawn to its value');
    let notices = await page.locator('.pve-balancer-notices').innerText();
    like(notices, /107 \(cache\): guest can never be moved - running container can only move by restart/, 'notices: the container that cannot move, and why');
    let runs = await page.locator('.pve-balancer-runs').innerText();
    like(runs, /No balancing run yet/, 'no run yet: says so');
    await shot(page, 'ui-status');

    // the daemon's part, once pve-balancerd reports (shape in docs/ui.md): rendered from a
    // status answer as the daemon is expected to extend it
    let auto = await cq(page, 'pveBalancerStatus', (c) => c.renderAuto(Object.assign({}, c.status, {
        auto: 1,
        daemon: {
            'active-node': 'pve2',
            nodes: [{ node: 'pve1', state: 'standby' }, { node: 'pve2', state: 'active' }],
            'last-cycle': { time: 1700000000, trigger: 'timer', why: 'objective 0.0123 within threshold' },
            'next-cycle': { time: 1700003600, trigger: 'timer' },
        },
    })));
    like(auto, /Active node.*pve2.*pve1: standby, pve2: active.*Last cycle.*\(timer\)<br>objective 0\.0123 within threshold.*Next cycle/, 'the daemon section renders active node, last and next cycle, why');

    // what GET /cluster/balance sends since pve-balancerd and its cycles report (docs/daemon.md)
    let full = await cq(page, 'pveBalancerStatus', (c) => c.renderAuto(Object.assign({}, c.status, {
        auto: 1,
        daemon: {
            'active-node': 'pve1',
            nodes: [{ node: 'pve1', state: 'active', pressure: ['cpu'] }, { node: 'pve2', state: 'no-quorum' }],
            'this-node': { node: 'pve1', state: 'active', 'config-error': 'line 3: interval: expected an integer' },
            running: { id: 'pve1-1700003600-5', node: 'pve1', trigger: 'pressure', started: 1700003600 },
            'last-cycle': { time: 1700000030, trigger: 'interval', decision: 'held', result: 'ok',
                why: 'out of balance (objective 0.1000 -> 0.0500 with 2 migration(s)) in 1 of 2 consecutive round(s)' },
            'next-cycle': { time: 1700003600, trigger: 'interval' },
            cooldown: [{ vmid: 101, until: 1700003600, level: 1 }, { vmid: 102, until: 1700007200, level: 2 }],
        },
    })));
    like(full, /pve1: active \(pressure: cpu\), pve2: no-quorum/, 'node states with their pressure');
    like(full, /Configuration.*not read, the last good one is in effect: line 3: interval/, 'the daemon\'s configuration error');
    like(full, /Cycle running.*\(pressure\) on pve1/, 'the cycle in progress and its trigger');
    like(full, /Last cycle.*\(interval\)<br>held: out of balance .* in 1 of 2 consecutive round/, 'what the last cycle decided, and why');
    like(full, /In cool-down.*2 guest\(s\)/, 'guests in cooldown');
});

scenario('balance and apply', { fixture: 'lab.json' }, async (page) => {
    await openBalancePanel(page);
    let win = await openPlan(page);
    let plan = await cq(page, 'pveBalancerPlanWindow', (c) => c.plan);
    let n = plan.migrations.length;
    ok(n >= 3, `the dry run plans migrations (${n})`);

    let summary = await win.locator('.pve-balancer-summary').innerText();
    like(summary, new RegExp(`${n} migrations in \\d wave\\(s\\), [\\d.]+ GiB to transfer, estimated`), 'headline: migrations, waves, data, time');
    like(summary, /Objective 0\.\d{4} → 0\.\d{4} \(−\d+\.\d %\)/, 'objective before → after');
    let groups = await win.locator('.x-grid-group-title').allInnerTexts();
    like(groups[0], /^Wave 1 \(\d migrations?, (in parallel|alone)\)$/, 'migrations are grouped by wave');
    let waves = new Set(plan.migrations.map((m) => String(m.wave)));
    is(groups.length, waves.size, 'one group per wave');
    let rows = await gridTexts(page, '.pve-balancer-migrations');
    is(rows.length, n, 'one row per migration');
    let m0 = plan.migrations[0];
    like(rows[0], new RegExp(`(^|\\n)1\\s+${m0.vmid} \\(${m0.name}\\)[\\s\\S]*${m0.from} → ${m0.to}[\\s\\S]*online[\\s\\S]*GiB[\\s\\S]*s[\\s\\S]*lowers the objective`), 'a row: step, guest, from → to, mode, data, time, reason');
    let nodeRows = await gridTexts(page, '.pve-balancer-plan-nodes');
    is(nodeRows.length, 4, 'nodes before and after: four');
    like(nodeRows[0], /pve1[\s\S]*\d+\.\d % → \d+\.\d %[\s\S]*7 → \d/, 'pve1 before → after, with guest counts');
    let metrics = await gridTexts(page, '.pve-balancer-metrics');
    like(metrics[0], /Objective\s+0\.\d{4}\s+0\.\d{4}/, 'metrics before / after');
    let apply = win.locator('.x-btn').filter({ hasText: 'Apply' });
    is(await apply.evaluate((el) => el.classList.contains('x-btn-disabled')), false, 'Apply is enabled for root@pam');
    await shot(page, 'ui-plan');

    await apply.click();
    let viewer = ui.window(page, /^Task viewer: Balance cluster$/);
    await viewer.waitFor({ timeout: 20000 });
    ok(true, 'Apply opens the task viewer titled "Task viewer: Balance cluster"');
    await page.waitForFunction(() => /balance plan:/.test(document.querySelector('.pve-test-tasklog')?.innerText || ''), null, { timeout: 20000 });
    let early = await cq(page, 'proxmoxTaskViewer', (c) => (c.taskStatus || {}).status);
    await shot(page, 'ui-task-running');
    await waitTaskStopped(page);
    let log = await viewer.locator('.pve-test-tasklog').innerText();
    like(log, new RegExp(`balance plan: ${n} migration\\(s\\) in \\d wave\\(s\\) \\(digest ${plan.digest}\\)`), 'the task runs exactly the reviewed plan (same digest)');
    for (let i = 0; i < n; i++) {
        let m = plan.migrations[i];
        like(log, new RegExp(`migration ${i + 1}/${n}: vm ${m.vmid} ${m.from} -> ${m.to}`), `log line of migration ${i + 1}/${n} (vm ${m.vmid})`);
    }
    is(early, 'running', 'the viewer saw the task running before it stopped');
    like(log, /summary: \d+ of \d+ migration\(s\) done/, 'the log ends with the summary');
    ok(/TASK OK/.test(log) && !/SKIPPED/.test(log), 'every migration done, TASK OK');
    await shot(page, 'ui-task');

    await viewer.locator('.x-tool-close').click();
    await page.waitForFunction(() => Ext.ComponentQuery.query('pveBalancerStatus')[0].lookup('runs').getStore().getCount() > 0, null, { timeout: 20000 });
    let runs = await gridTexts(page, '.pve-balancer-runs');
    is(runs.length, 1, 'the run is listed under "Recent runs"');
    like(runs[0], new RegExp(`Balance\\s+root@pam\\s+(OK|partial|failed)\\s+\\d+ of ${n} done`), 'the run: kind, user, status, migrations');
    like(runs[0], /0\.\d{4} → 0\.\d{4}/, 'the run: imbalance before → after');
    await page.locator('.pve-balancer-runs').scrollIntoViewIfNeeded();
    await shot(page, 'ui-status-after-run');
});

scenario('evacuate', { fixture: 'lab.json' }, async (page) => {
    // the context menu of a node in the resource tree
    await ui.tree(page, 'pve3').click({ button: 'right' });
    let items = await page.locator('.x-menu:visible .x-menu-item-text').allInnerTexts();
    let i = items.indexOf('Evacuate');
    ok(i > 0 && items[i - 1] === 'Bulk Migrate', 'node context menu: "Evacuate" after "Bulk Migrate"', items.join(', '));
    await page.keyboard.press('Escape');

    // the node's Bulk Actions
    await ui.tree(page, 'pve2').click();
    await ui.button(page, 'Bulk Actions').click();
    items = await page.locator('.x-menu:visible .x-menu-item-text').allInnerTexts();
    i = items.indexOf('Evacuate');
    ok(i > 0 && items[i - 1] === 'Bulk Migrate', 'node Bulk Actions: "Evacuate" after "Bulk Migrate"', items.join(', '));
    await ui.menuItem(page, 'Evacuate').click();
    let win = ui.window(page, /^Evacuate node 'pve2'$/);
    await win.waitFor();
    await page.waitForFunction(() => Ext.ComponentQuery.query('pveBalancerPlanWindow')[0]?.plan, null, { timeout: 20000 });
    let plan = await cq(page, 'pveBalancerPlanWindow', (c) => c.plan);
    let rows = await gridTexts(page, '.pve-balancer-migrations');
    ok(rows.length > 0 && rows.every((r) => /pve2 → pve[134]/.test(r)), 'every migration leaves pve2', rows.join('\n'));
    like(await win.locator('.x-tab').allInnerTexts().then((t) => t.join(' | ')), /Migrations \(\d\) \| Cannot move \(1\)/, 'one guest cannot move');
    await win.locator('.x-tab').filter({ hasText: 'Cannot move' }).click();
    let unplaced = await gridTexts(page, '.pve-balancer-unplaced');
    like(unplaced[0], /204 \(dns\)\s+pve2\s+running container can only move by restart migration/, 'the container that cannot leave, and why');
    like(await win.locator('.pve-balancer-plan-nodes').innerText(), /pve2 drained/, 'the drained node is marked');
    await shot(page, 'ui-evacuate');

    // allow restart migration for this plan: now everything can leave
    await win.locator('input[name="allow-container-restart"]').click();
    await ui.menuItem(page, 'Yes').click().catch(() => page.locator('.x-boundlist-item:visible', { hasText: 'Yes' }).click());
    await win.locator('.x-btn', { hasText: 'Plan again' }).click();
    await page.waitForFunction((d) => {
        let w = Ext.ComponentQuery.query('pveBalancerPlanWindow')[0];
        return w.plan && w.plan.digest !== d;
    }, plan.digest, { timeout: 20000 });
    like(await win.locator('.x-tab').allInnerTexts().then((t) => t.join(' | ')), /Cannot move \(0\)/, 'with "Restart containers: Yes" every guest can leave');
    await win.locator('.x-tab').filter({ hasText: 'Migrations' }).click();
    rows = await gridTexts(page, '.pve-balancer-migrations');
    ok(rows.some((r) => /204 \(dns\)[\s\S]*restart/.test(r)), 'the container moves by restart', rows.join('\n'));

    await win.locator('.x-btn').filter({ hasText: 'Apply' }).click();
    let viewer = ui.window(page, /^Task viewer: Node pve2 - Evacuate$/);
    await viewer.waitFor({ timeout: 20000 });
    ok(true, 'Apply opens "Task viewer: Node pve2 - Evacuate"');
    await waitTaskStopped(page);
    like(await viewer.locator('.pve-test-tasklog').innerText(), /evacuate plan: \d+ migration\(s\)|balance plan: \d+ migration\(s\)|plan: \d+ migration/, 'the evacuation task log');
});

// select the key's row, then Edit
async function editKey(page, win, key) {
    let row = win.locator('.x-grid-item').filter({ has: page.locator('.pve-balancer-key', { hasText: new RegExp(`^${key}$`) }) });
    await row.scrollIntoViewIfNeeded();
    await row.click();
    await page.waitForFunction((k) => Ext.ComponentQuery.query('pveBalancerSettings')[0].lookup('grid').getSelection()[0]?.data.key === k, key);
    await win.locator('.x-btn').filter({ hasText: /^Edit$/ }).click();
}

scenario('settings and a 400 on its field', { fixture: 'lab.json' }, async (page) => {
    await openBalancePanel(page);
    await ui.button(page, 'Settings', '.x-toolbar').click();
    let win = ui.window(page, /^Balancer Settings/);
    await win.waitFor();
    await page.waitForFunction(() => Ext.ComponentQuery.query('pveBalancerSettings')[0]?.lookup('grid').getStore().getCount() > 0, null, { timeout: 20000 });
    let schema = await page.evaluate(async () => (await (await fetch('/api2/json/cluster/balance/config/schema')).json()).data);
    let rows = await gridTexts(page, '.pve-balancer-settings');
    // the store, not the DOM: the grid renders only the rows in view (buffered rendering)
    let count = await page.evaluate(() => Ext.ComponentQuery.query('pveBalancerSettings')[0].lookup('grid').getStore().getCount());
    is(count, schema.length, 'one row per key of the option schema the API returns');
    let groups = await win.locator('.x-grid-group-title').allInnerTexts();
    is(groups.join(', '), 'Balancer, Engine options', 'grouped: the balancer keys and the engine options');
    let mm = rows.find((r) => /^max-migrations\s/.test(r));
    let def = schema.find((e) => e.key === 'max-migrations');
    like(mm, new RegExp(`max-migrations\\s+Default \\(${def.default}\\)\\s+${def.description.replace(/[.()]/g, '\\$&')}`), 'a row: key, default, description from the schema');
    await shot(page, 'ui-settings');

    // an invalid node name: only the API knows the format; its 400 lands on the field
    await editKey(page, win, 'maintenance-nodes');
    let edit = ui.window(page, /^Edit: maintenance-nodes$/);
    await edit.waitFor();
    like(await edit.locator('.pve-balancer-description').innerText(), /Nodes treated as in maintenance/, 'the edit dialog shows the description');
    await edit.locator('input[name="maintenance-nodes"]').fill('pve_1');
    await edit.locator('.x-btn', { hasText: 'OK' }).click();
    let box = page.locator('.x-message-box:visible');
    await box.waitFor();
    like(await box.innerText(), /Parameter verification failed\. \(400\)[\s\S]*maintenance-nodes: invalid format - value does not look like a valid node name/, 'the error box names the field and the reason');
    let fieldError = await cq(page, 'pveBalancerOptionEdit field[name=maintenance-nodes]', (c) => c.getActiveErrors().join(' '));
    like(fieldError, /invalid format - value does not look like a valid node name/, 'the API error is on the field');
    await shot(page, 'ui-settings-errorbox');
    await box.locator('.x-btn', { hasText: 'OK' }).click();
    await box.waitFor({ state: 'hidden' });
    like(await edit.locator('.x-form-error-wrap').innerText(), /invalid format - value does not look like a valid node name/, 'the message is shown under the field');
    await shot(page, 'ui-settings-error');

    // as an admin: click into the field, select all, type the new value
    let input = edit.locator('input[name="maintenance-nodes"]');
    await input.click();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('pve4');
    is(await input.inputValue(), 'pve4', 'the field holds the new value');
    await edit.locator('.x-form-error-wrap').waitFor({ state: 'hidden' });
    ok(true, 'typing a new value clears the API error (before OK is clicked, so OK does not move)');
    await page.waitForFunction(() => {
        let w = Ext.ComponentQuery.query('pveBalancerOptionEdit')[0];
        return w.down('field[name=maintenance-nodes]').getValue() === 'pve4' && !w.down('#submitbutton').isDisabled();
    });
    await edit.locator('.x-btn', { hasText: 'OK' }).click();
    await edit.waitFor({ state: 'detached', timeout: 20000 });
    await page.waitForFunction(() => /maintenance-nodes\s+pve4/.test(document.querySelector('.pve-balancer-settings')?.innerText || ''), null, { timeout: 20000 });
    ok(true, 'a valid value is saved and shown as set');

    // a number: client-side range from the schema
    await editKey(page, win, 'max-migrations');
    edit = ui.window(page, /^Edit: max-migrations$/);
    await edit.waitFor();
    await edit.locator('input[name="max-migrations"]').fill('5');
    await page.waitForFunction(() => !Ext.ComponentQuery.query('pveBalancerOptionEdit')[0].down('#submitbutton').isDisabled());
    await edit.locator('.x-btn', { hasText: 'OK' }).click();
    await edit.waitFor({ state: 'detached', timeout: 20000 });
    await page.waitForFunction(() => /max-migrations\s+5\b/.test(document.querySelector('.pve-balancer-settings')?.innerText || ''), null, { timeout: 20000 });
    let cfg = await page.evaluate(async () => (await (await fetch('/api2/json/cluster/balance/config')).json()).data);
    ok(cfg['max-migrations'] === 5 && cfg['maintenance-nodes'] === 'pve4', 'balancer.cfg has both values', JSON.stringify(cfg));

    // reset to default: PUT delete
    await win.locator('.x-grid-item').filter({ has: page.locator('.pve-balancer-key', { hasText: /^max-migrations$/ }) }).click();
    await win.locator('.x-btn', { hasText: 'Reset to default' }).click();
    await page.locator('.x-message-box:visible .x-btn', { hasText: 'Yes' }).click();
    await page.waitForFunction(() => /max-migrations\s+Default \(10\)/.test(document.querySelector('.pve-balancer-settings')?.innerText || ''), null, { timeout: 20000 });
    ok(true, '"Reset to default" deletes the key');
    await shot(page, 'ui-settings-saved');

    // the plan dialog shows the configured value as its default
    await win.locator('.x-tool-close').click();
    await openPlan(page);
    let empty = await cq(page, 'pveBalancerPlanWindow field[name=ha-guests]', (c) => c.getRawValue());
    like(empty, /^Default \(auto\)$/, 'plan options: the default comes from the configuration');
});

scenario('no rights: Apply disabled, and why', { fixture: 'lab.json', user: 'auditor@pve', acl: ACL }, async (page) => {
    await openBalancePanel(page);
    let win = await openPlan(page);
    ok((await gridTexts(page, '.pve-balancer-migrations')).length > 0, 'a user with Sys.Audit sees the plan');
    let apply = win.locator('.x-btn').filter({ hasText: 'Apply' });
    is(await apply.evaluate((el) => el.classList.contains('x-btn-disabled')), true, 'Apply is disabled');
    let tip = await apply.getAttribute('data-qtip');
    like(tip, /Applying needs 'Sys\.Modify' on '\/' and 'VM\.Migrate' on \/vms\/\d+/, 'its tooltip says why');
    like(await win.locator('.pve-balancer-apply-hint').innerText(), /Applying needs 'Sys\.Modify' on '\/'/, 'and the dialog says it next to the button');
    await apply.hover({ force: true });
    await page.waitForTimeout(1200);
    let shown = await page.locator('.x-tip:visible').allInnerTexts();
    ok(shown.some((t) => /Sys\.Modify/.test(t)), 'hovering the disabled Apply shows the tooltip', shown.join(' | '));
    await shot(page, 'ui-no-rights');
    await win.locator('.x-tool-close').click();

    await ui.button(page, 'Settings', '.x-toolbar').click();
    let settings = ui.window(page, /^Balancer Settings/);
    await settings.waitFor();
    await page.waitForFunction(() => Ext.ComponentQuery.query('pveBalancerSettings')[0]?.lookup('grid').getStore().getCount() > 0, null, { timeout: 20000 });
    await settings.locator('.x-grid-item').first().click();
    is(await settings.locator('.x-btn').filter({ hasText: /^Edit$/ }).evaluate((el) => el.classList.contains('x-btn-disabled')), true, 'settings are read-only without Sys.Modify');
    like(await settings.innerText(), /Read only: changing the settings needs 'Sys\.Modify' on '\/'/, 'and the dialog says so');
});

scenario('VM.Migrate on one guest only', { fixture: 'lab.json', user: 'limited@pve', acl: ACL }, async (page) => {
    await openBalancePanel(page);
    let win = await openPlan(page);
    let plan = await cq(page, 'pveBalancerPlanWindow', (c) => c.plan);
    let others = plan.migrations.map((m) => Number(m.vmid)).filter((v) => v !== 101);
    ok(others.length > 0, 'the plan moves guests the user may not migrate');
    like(await win.locator('.pve-balancer-apply-hint').innerText(), new RegExp(`Applying needs 'VM\\.Migrate' on /vms/${Math.min(...others)}`), 'Apply names the guests without VM.Migrate');
    ok(!/Sys\.Modify/.test(await win.locator('.pve-balancer-apply-hint').innerText()), 'and not Sys.Modify, which the user has');
});

scenario('empty cluster', { fixture: 'empty.json' }, async (page) => {
    await openBalancePanel(page);
    like(await page.locator('.pve-balancer-info').first().innerText(), /No guests in this cluster: there is nothing to balance\./, 'the status says there is nothing to balance');
    like(await page.locator('.pve-balancer-info').nth(1).innerText(), /No HA-managed guests/, 'HA capacity: no HA guests');
    await shot(page, 'ui-empty');
    let win = await openPlan(page);
    like(await win.locator('.pve-balancer-summary').innerText(), /No migration needed\.[\s\S]*already balanced/, 'the plan says no migration is needed');
    is(await cq(page, 'pveBalancerPlanWindow #applyBtn', (c) => c.isDisabled()), true, 'Apply is disabled');
    like(await win.locator('.x-btn').filter({ hasText: 'Apply' }).getAttribute('data-qtip'), /Nothing to apply/, 'its tooltip: nothing to apply');
    like(await win.locator('.pve-balancer-migrations').innerText(), /No migration\./, 'the migration list says it is empty');
});

scenario('balanced cluster', { fixture: 'balanced.json' }, async (page) => {
    await openBalancePanel(page);
    let win = await openPlan(page);
    like(await win.locator('.pve-balancer-summary').innerText(), /No migration needed\.[\s\S]*Objective 0\.0000 → 0\.0000[\s\S]*already balanced: objective 0\.0000 is within the threshold 0\.0200/, 'the plan says the cluster is balanced and why');
    is(await cq(page, 'pveBalancerPlanWindow #applyBtn', (c) => c.isDisabled()), true, 'Apply is disabled');
    await shot(page, 'ui-balanced');
});

scenario('the plan changed (digest, 409)', { fixture: 'lab.json' }, async (page, server) => {
    await openBalancePanel(page);
    let win = await openPlan(page);
    let plan = await cq(page, 'pveBalancerPlanWindow', (c) => c.plan);
    let m = plan.migrations[0];
    await post(server.url + '__test/move', { vmid: Number(m.vmid), node: m.to });
    await win.locator('.x-btn').filter({ hasText: 'Apply' }).click();
    let box = page.locator('.x-message-box:visible');
    await box.waitFor();
    like(await box.innerText(), /The plan changed[\s\S]*digest mismatch[\s\S]*computed again/, 'Apply refuses a changed plan and says so');
    await page.waitForFunction((d) => {
        let w = Ext.ComponentQuery.query('pveBalancerPlanWindow')[0];
        return w && w.plan && w.plan.digest !== d;
    }, plan.digest, { timeout: 20000 });
    ok(true, 'the new plan is shown for review');
    is(await page.locator('.x-window:visible').filter({ hasText: 'Task viewer' }).count(), 0, 'no task was started');
});

scenario('API errors are shown, never a blank panel', { fixture: 'lab.json', unmounted: true }, async (page) => {
    await ui.nav(page, 'Balance').click();
    let mask = page.locator('.x-mask-msg:visible');
    await mask.waitFor({ timeout: 20000 });
    like(await mask.innerText(), /Unable to load the balance status:[\s\S]*not installed on this node[\s\S]*not implemented/, 'the panel shows the error of the status call, and what to do');
    await shot(page, 'ui-error');
});

scenario('task names', { fixture: 'lab.json' }, async (page) => {
    let names = await page.evaluate(() => [
        Proxmox.Utils.format_task_description('balance', ''),
        Proxmox.Utils.format_task_description('balance-evacuate', 'pve2'),
    ]);
    is(names[0], 'Balance cluster', "task type 'balance' reads \"Balance cluster\"");
    is(names[1], 'Node pve2 - Evacuate', "task type 'balance-evacuate' reads \"Node pve2 - Evacuate\"");
});

// --- main ----------------------------------------------------------------------------------

(async function main() {
    fs.mkdirSync(OUT, { recursive: true });
    for (const f of fs.readdirSync(OUT).filter((f) => f.endsWith('.png'))) {
        fs.unlinkSync(path.join(OUT, f)); // no stale screenshot of an earlier run
    }
    let server = await startServer();
    // the server goes with this process, however it ends (a closed pipe, a signal)
    process.on('exit', () => server.proc.kill('SIGTERM'));
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGPIPE']) {
        process.on(sig, () => process.exit(1));
    }
    let profile = fs.mkdtempSync(path.join(os.tmpdir(), 'pve-balancer-ui-'));
    let ctx;
    try {
        ctx = await chromium.launchPersistentContext(profile, {
            executablePath: CHROMIUM,
            headless: true,
            viewport: { width: 1280, height: 800 },
            args: [
                '--headless',
                '--no-sandbox',
                '--disable-gpu',
                '--disable-quic',
                '--no-first-run',
                '--disable-background-networking',
                '--disable-component-update',
                '--disable-sync',
            ],
        });
        for (const s of scenarios) {
            if (ONLY && s.name !== ONLY) {
                continue;
            }
            console.log(`# scenario: ${s.name}`);
            let page;
            try {
                page = await openPage(ctx, server, s.setup);
                await s.fn(page, server);
            } catch (e) {
                ok(false, `${s.name}: ran to the end`, e.stack || String(e));
                if (page) {
                    await page.screenshot({ path: path.join(OUT, 'failed-' + s.name.replace(/\W+/g, '-') + '.png') }).catch(() => {});
                }
            }
            if (page) {
                ok(page.errors.length === 0, `${s.name}: no JavaScript console errors`, page.errors.join('\n'));
                await page.close();
            }
        }
    } finally {
        if (ctx) {
            await ctx.close();
        }
        server.proc.removeAllListeners('exit');
        server.proc.kill('SIGTERM');
        fs.rmSync(profile, { recursive: true, force: true });
    }
    console.log(`1..${testNo}`);
    process.exit(failures ? 1 : 0);
})().catch((e) => {
    console.log('not ok - the test run failed: ' + String(e.stack || e).split('\n').join('\n# '));
    console.log(`1..${testNo + 1}`);
    process.exit(1);
});
