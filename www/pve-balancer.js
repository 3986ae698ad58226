/*
 * pve-balancer in the Proxmox VE web UI: Datacenter -> Balance (status, HA capacity, automatic
 * balancing, last runs), the plan dialog (Balance, and Evacuate from a node's Bulk Actions and
 * context menu), the settings of /etc/pve/balancer.cfg and readable task names.
 *
 * Loaded after pvemanagerlib.js by one <script> tag in index.html.tpl (see docs/ui.md). Only
 * ExtJS APIs that exist in both ExtJS 7.0 (what Proxmox VE 9 ships) and the GPL ExtJS 6.2 the
 * browser tests run on, and the proxmox-widget-toolkit classes pve-manager itself uses.
 *
 * Copyright (C) the pve-balancer authors. AGPL-3.0-or-later.
 */

Ext.define('PVE.balancer.Utils', {
    singleton: true,

    url: '/cluster/balance',

    // the options the plan dialog offers, per plan kind; their types, values and defaults
    // come from GET /cluster/balance/config/schema and /config
    planOptions: {
        balance: ['max-migrations', 'mode', 'ha-guests'],
        evacuate: ['mode', 'allow-container-restart'],
    },

    num: function (value) {
        // the API may still send some numbers as strings (JSON::XS), so always convert
        if (value === undefined || value === null || value === '') {
            return undefined;
        }
        let n = Number(value);
        return Number.isFinite(n) ? n : undefined;
    },

    pct: function (value) {
        let n = PVE.balancer.Utils.num(value);
        return n === undefined ? '-' : (n * 100).toFixed(1) + ' %';
    },

    metric: function (value) {
        let n = PVE.balancer.Utils.num(value);
        return n === undefined ? '-' : n.toFixed(4);
    },

    size: function (bytes) {
        let n = PVE.balancer.Utils.num(bytes);
        return n === undefined ? '-' : Proxmox.Utils.format_size(n);
    },

    seconds: function (value) {
        let n = PVE.balancer.Utils.num(value);
        if (n === undefined) {
            return '-';
        }
        return n < 1 ? n.toFixed(2) + ' s' : Proxmox.Utils.format_duration_human(n);
    },

    time: function (epoch) {
        let n = PVE.balancer.Utils.num(epoch);
        return n ? Proxmox.Utils.render_timestamp(n) : '-';
    },

    enc: function (value) {
        return Ext.htmlEncode(value === undefined || value === null ? '' : String(value));
    },

    icon: function (cls, extraCls) {
        return `<i class="fa fa-fw ${cls}${extraCls ? ' ' + extraCls : ''}"></i> `;
    },

    guest: function (g) {
        let text = PVE.balancer.Utils.enc(g.vmid);
        if (g.name) {
            text += ' (' + PVE.balancer.Utils.enc(g.name) + ')';
        }
        if (!g.type) {
            return text;
        }
        return PVE.balancer.Utils.icon(g.type === 'lxc' ? 'fa-cube' : 'fa-desktop') + text;
    },

    level: function (fraction) {
        if (fraction >= 0.9) {
            return 'critical';
        }
        return fraction >= 0.8 ? 'warning' : '';
    },

    // a usage bar: the fill shows the fraction, the text says it
    bar: function (fraction, text, extraCls) {
        let f = PVE.balancer.Utils.num(fraction);
        if (f === undefined) {
            return '-';
        }
        let width = Math.max(0, Math.min(100, f * 100)).toFixed(1);
        let label = text !== undefined ? text : PVE.balancer.Utils.pct(f);
        return (
            `<div class="pve-balancer-bar ${extraCls || ''}">` +
            `<div class="pve-balancer-bar-fill ${PVE.balancer.Utils.level(f)}" style="width: ${width}%"></div>` +
            `<div class="pve-balancer-bar-text">${label}</div></div>`
        );
    },

    // before and after as two bars, the text says "before -> after"
    barBeforeAfter: function (before, after) {
        let U = PVE.balancer.Utils;
        if (U.num(before) === undefined && U.num(after) === undefined) {
            return '-';
        }
        return (
            '<div class="pve-balancer-ba">' +
            U.bar(before, '', 'pve-balancer-bar-before') +
            U.bar(after, '', 'pve-balancer-bar-after') +
            `<div class="pve-balancer-ba-text">${U.pct(before)} &rarr; <b>${U.pct(after)}</b></div>` +
            '</div>'
        );
    },

    kvTable: function (rows) {
        let html = '<table class="pve-balancer-kv">';
        for (const row of rows) {
            if (!row) {
                continue;
            }
            html += `<tr><td class="pve-balancer-kv-key">${row[0]}</td><td>${row[1]}</td></tr>`;
        }
        return html + '</table>';
    },

    // A message from the API failure response, HTML-safe: the message and, per field, the
    // errors (as Proxmox.Utils.extractRequestError shows them).
    errorText: function (response) {
        let status = response && ((response.result && response.result.status) || response.status);
        if (status === 501) {
            // pveproxy answers 501 when this node does not have the API (package not installed)
            return Ext.htmlEncode(gettext('pve-balancer is not installed on this node; install it on every node of the cluster.')) +
                '<br>' + (response.htmlStatus || '');
        }
        if (response && response.htmlStatus) {
            return response.htmlStatus;
        }
        return Ext.htmlEncode(gettext('Connection error'));
    },

    // GuiCap: the coarse capabilities of the login (used only when the API does not say)
    caps: function () {
        return (Ext.state.Manager.get('GuiCap') || {
            dc: {},
            vms: {},
        });
    },

    // whether the caller may apply, and if not, why: the API's answer ('permissions' in the
    // status and in dry runs) decides; without it, the login's capabilities
    applyPermission: function (answer) {
        let perm = answer && answer.permissions;
        if (perm && perm.apply !== undefined) {
            return {
                allowed: !!Number(perm.apply),
                why: perm.why,
            };
        }
        let caps = PVE.balancer.Utils.caps();
        let missing = [];
        if (!(caps.dc || {})['Sys.Modify']) {
            missing.push("'Sys.Modify' on '/'");
        }
        if (!(caps.vms || {})['VM.Migrate']) {
            missing.push("'VM.Migrate' on the guests");
        }
        return {
            allowed: missing.length === 0,
            why: missing.length ? gettext('Applying needs') + ' ' + missing.join(' and ') : undefined,
        };
    },

    configPermission: function (answer) {
        let perm = answer && answer.permissions;
        if (perm && perm.config !== undefined) {
            return !!Number(perm.config);
        }
        return !!(PVE.balancer.Utils.caps().dc || {})['Sys.Modify'];
    },

    // Ext.Msg for an error, never an empty box
    alertError: function (response, title) {
        Ext.Msg.alert(title || gettext('Error'), PVE.balancer.Utils.errorText(response));
    },

    openTask: function (upid, taskDone) {
        Ext.create('Proxmox.window.TaskViewer', {
            autoShow: true,
            upid: upid,
            taskDone: taskDone || Ext.emptyFn,
        });
    },

    // A form field for one key of the option schema (GET /cluster/balance/config/schema).
    // 'fallback' is the value that applies when the field is left empty (shown as
    // "Default (...)"); leaving it empty means "do not set".
    fieldFor: function (entry, fallback, extra) {
        let U = PVE.balancer.Utils;
        let shown = fallback !== undefined && fallback !== null ? fallback : entry.default;
        let defaultText = gettext('Default');
        if (shown !== undefined && shown !== null && shown !== '') {
            if (entry.type === 'boolean') {
                shown = Number(shown) ? Proxmox.Utils.yesText : Proxmox.Utils.noText;
            }
            defaultText += ` (${shown})`;
        }
        let field = {
            name: entry.key,
            fieldLabel: entry.label || entry.key,
            msgTarget: 'side',
        };
        if (entry.enum || entry.type === 'boolean') {
            let data = [['', defaultText]];
            if (entry.type === 'boolean') {
                data.push([1, Proxmox.Utils.yesText], [0, Proxmox.Utils.noText]);
            } else {
                for (const v of entry.enum) {
                    data.push([v, v]);
                }
            }
            Ext.apply(field, {
                xtype: 'combobox',
                editable: false,
                queryMode: 'local',
                valueField: 'value',
                displayField: 'text',
                value: '',
                store: {
                    fields: ['value', 'text'],
                    data: data.map((d) => ({ value: d[0], text: d[1] })),
                },
            });
        } else if (entry.type === 'integer' || entry.type === 'number') {
            Ext.apply(field, {
                xtype: 'numberfield',
                allowDecimals: entry.type === 'number',
                decimalPrecision: 6,
                emptyText: defaultText,
                minValue: U.num(entry.minimum),
                maxValue: U.num(entry.maximum),
            });
        } else {
            let cfg = {
                xtype: 'textfield',
                emptyText: defaultText,
            };
            if (entry.pattern) {
                try {
                    // the API's patterns are anchored at both ends, like PVE::JSONSchema does
                    cfg.regex = new RegExp('^(?:' + entry.pattern + ')$');
                    cfg.regexText = gettext('Format') + ': ' + entry.pattern;
                } catch (_e) {
                    // a pattern JavaScript cannot read is left to the API
                }
            }
            Ext.apply(field, cfg);
        }
        return Ext.apply(field, extra || {});
    },

    // a value for display in the settings: booleans as Yes/No
    displayValue: function (entry, value) {
        if (value === undefined || value === null || value === '') {
            return '';
        }
        if (entry.type === 'boolean') {
            return Number(value) ? Proxmox.Utils.yesText : Proxmox.Utils.noText;
        }
        return String(value);
    },

    // load the option schema and the effective configuration together
    loadOptions: function (callback) {
        let result = {};
        let pending = 2;
        let done = function () {
            if (--pending === 0) {
                callback(result);
            }
        };
        Proxmox.Utils.API2Request({
            url: PVE.balancer.Utils.url + '/config/schema',
            method: 'GET',
            success: function (response) {
                result.schema = {};
                for (const entry of response.result.data || []) {
                    result.schema[entry.key] = entry;
                }
                done();
            },
            failure: function (response) {
                result.schemaError = PVE.balancer.Utils.errorText(response);
                done();
            },
        });
        Proxmox.Utils.API2Request({
            url: PVE.balancer.Utils.url + '/config',
            method: 'GET',
            params: { defaults: 1 },
            success: function (response) {
                result.config = response.result.data || {};
                done();
            },
            failure: function (response) {
                result.configError = PVE.balancer.Utils.errorText(response);
                done();
            },
        });
    },

    evacuate: function (nodename, taskDone) {
        Ext.create('PVE.balancer.PlanWindow', {
            autoShow: true,
            kind: 'evacuate',
            nodes: [nodename],
            taskDone: taskDone,
        });
    },

    evacuateMenuItem: function (nodename, itemId) {
        let caps = PVE.balancer.Utils.caps();
        return {
            text: gettext('Evacuate'),
            itemId: itemId,
            iconCls: 'fa fa-fw fa-sign-out',
            // a dry run needs Sys.Audit on '/'; whether it may be applied, the dialog says
            disabled: !(caps.dc || {})['Sys.Audit'],
            hidden: !!(PVE.Utils && PVE.Utils.isStandaloneNode && PVE.Utils.isStandaloneNode()),
            handler: () => PVE.balancer.Utils.evacuate(nodename),
        };
    },
});

// task names in the task list and the task viewer's title
Proxmox.Utils.override_task_descriptions({
    balance: ['', gettext('Balance cluster')],
    'balance-evacuate': ['Node', gettext('Evacuate')],
});

/*
 * Datacenter -> Balance
 */
Ext.define('PVE.balancer.StatusPanel', {
    extend: 'Ext.panel.Panel',
    alias: 'widget.pveBalancerStatus',

    scrollable: true,
    bodyPadding: 5,
    refreshInterval: 15000,

    layout: {
        type: 'vbox',
        align: 'stretch',
    },

    defaults: {
        margin: 5,
    },

    reload: function () {
        let me = this;
        if (me.loading || me.isDestroyed) {
            return;
        }
        me.loading = true;
        Proxmox.Utils.API2Request({
            url: PVE.balancer.Utils.url,
            method: 'GET',
            params: { runs: 10 },
            success: function (response) {
                me.loading = false;
                if (me.isDestroyed) {
                    return;
                }
                Proxmox.Utils.setErrorMask(me, false);
                me.setStatus(response.result.data || {});
            },
            failure: function (response) {
                me.loading = false;
                if (me.isDestroyed) {
                    return;
                }
                me.status = undefined;
                Proxmox.Utils.setErrorMask(
                    me,
                    gettext('Unable to load the balance status') + ':<br>' +
                        PVE.balancer.Utils.errorText(response),
                );
                me.lookup('balanceBtn').setDisabled(true);
            },
        });
    },

    setStatus: function (st) {
        let me = this;
        let U = PVE.balancer.Utils;
        me.status = st;

        me.lookup('balanceBtn').setDisabled(false);
        me.lookup('updated').setText(gettext('Updated') + ': ' + Ext.Date.format(new Date(), 'H:i:s'));

        me.lookup('balanceInfo').update(me.renderBalance(st));
        me.lookup('capacityInfo').update(me.renderCapacity(st));
        me.lookup('autoInfo').update(me.renderAuto(st));

        let notices = me.renderNotices(st);
        let noticePanel = me.lookup('notices');
        noticePanel.update(notices || '');
        noticePanel.setVisible(!!notices);

        let nodes = (st.nodes || []).map((n) => ({
            node: n.node,
            status: n.status,
            maintenance: !!n.maintenance,
            guests: U.num(n.guests),
            running: U.num(n.running),
            cpu: U.num((n.cpu || {}).util),
            cpuUsed: U.num((n.cpu || {}).used),
            cpuTotal: U.num((n.cpu || {}).total),
            mem: U.num((n.memory || {}).util),
            memUsed: U.num((n.memory || {}).used),
            memTotal: U.num((n.memory || {}).total),
        }));
        me.lookup('nodes').getStore().loadData(nodes);

        let runs = (st.runs || []).map((r) => {
            let m = r.metrics || {};
            return {
                id: r.id,
                upid: r.upid || r.id,
                kind: r.kind,
                user: r.user,
                status: r.status,
                started: U.num(r.started),
                finished: U.num(r.finished),
                planned: U.num(r.planned),
                moved: U.num(r.moved),
                failed: U.num(r.failed),
                skipped: U.num(r.skipped),
                notStarted: U.num(r['not-started']),
                nodes: (r.options || {}).node,
                before: U.num((m.before || {}).imbalance),
                after: U.num((m.after || {}).imbalance),
            };
        });
        me.lookup('runs').getStore().loadData(runs);
    },

    renderBalance: function (st) {
        let U = PVE.balancer.Utils;
        let m = st.metrics;
        let s = st.summary || {};
        if (!m) {
            return `<div class="pve-balancer-muted">${U.icon('fa-question-circle')}${gettext('No metrics: the cluster state could not be scored (see the notices below).')}</div>`;
        }
        let head = '';
        if (U.num(s.guests) === 0) {
            head = '<div class="pve-balancer-head">' + U.icon('fa-info-circle') + '<b>' +
                gettext('No guests in this cluster: there is nothing to balance.') + '</b></div>';
        }
        let rows = [];
        let range = (x) =>
            Ext.String.format(gettext('mean {0} ({1} to {2})'), U.pct((x || {}).mean), U.pct((x || {}).min), U.pct((x || {}).max));
        rows.push(
            [
                `<span data-qtip="${gettext('What pve-balancer minimises (docs/algorithms.md); 0 is perfectly even')}">${gettext('Objective')}</span>`,
                `<b class="pve-balancer-objective">${U.metric(m.objective)}</b>`,
            ],
            [
                `<span data-qtip="${gettext("Proxmox CRS's imbalance of the same cluster")}">${gettext('Imbalance (CRS)')}</span>`,
                `<span class="pve-balancer-imbalance">${U.metric(m.imbalance)}</span>`,
            ],
            [gettext('CPU'), range(m.cpu)],
            [gettext('Memory'), range(m.memory)],
            [
                gettext('Guests'),
                Ext.String.format(gettext('{0} ({1} running)'), U.enc(s.guests), U.enc(s.running)),
            ],
            [
                gettext('Nodes'),
                Ext.String.format(gettext('{0} ({1} online)'), U.enc(s.nodes), U.enc(s.online)),
            ],
            [gettext('Load model'), st.mode === 'static' ? gettext('assigned (static)') : gettext('measured (used)')],
        );
        if (st.engine) {
            rows.push([gettext('Engine'), U.enc(st.engine)]);
        }
        return head + U.kvTable(rows);
    },

    renderCapacity: function (st) {
        let U = PVE.balancer.Utils;
        let c = st.capacity;
        if (!c) {
            return `<div class="pve-balancer-muted">${gettext('Not available (see the notices below).')}</div>`;
        }
        let k = U.num(c['tolerated-failures']) || 0;
        let exact = c.exact === undefined || !!c.exact;
        let haGuests = U.num(c['ha-guests']);
        let head;
        if (haGuests === 0) {
            head = U.icon('fa-info-circle') + gettext('No HA-managed guests.');
        } else if (k === 0) {
            head = U.icon('fa-times-circle', 'pvebal-critical') + '<b>' + gettext('The HA guests do not survive a node failure') + '</b>';
        } else {
            let text = k === 1 ? gettext('Survives 1 node failure') : Ext.String.format(gettext('Survives {0} node failures'), k);
            if (!exact) {
                text = Ext.String.format(gettext('Survives at least {0} node failure(s)'), k);
            }
            head = U.icon('fa-check-circle', 'pvebal-good') + '<b>' + text + '</b>';
        }
        let rows = [];
        let headHtml = `<div class="pve-balancer-head pve-balancer-survives">${head}</div>`;
        let t = haGuests === 0 ? undefined : c.target;
        if (t) {
            let met = !!t.met;
            rows.push([
                Ext.String.format(gettext('Target N+{0}'), U.enc(t.failures)),
                met
                    ? U.icon('fa-check', 'pvebal-good') + gettext('met')
                    : U.icon('fa-exclamation-triangle', 'pvebal-warning') + gettext('not met'),
            ]);
            let r = t['reserve-needed'] || {};
            let parts = [];
            if (U.num(r.cpu)) {
                parts.push(Ext.String.format(gettext('{0} cores'), U.num(r.cpu).toFixed(1)));
            }
            if (U.num(r.memory)) {
                parts.push(U.size(r.memory) + ' ' + gettext('memory'));
            }
            rows.push([gettext('Reserve needed'), parts.length ? '<b>' + parts.join(', ') + '</b>' : gettext('none')]);
            let w = t.worst || c.worst;
            if (w) {
                let failed = (w['failed-nodes'] || []).map(U.enc).join(' + ');
                let unplaced = U.num(w.unplaced) || (Ext.isArray(w.unplaced) ? w.unplaced.length : 0);
                let text = Ext.String.format(gettext('{0} failing'), failed || '?');
                if (unplaced) {
                    text += ': ' + Ext.String.format(gettext('{0} HA guest(s) cannot restart'), unplaced);
                }
                let sf = w.shortfall || {};
                let short = [];
                if (U.num(sf.memory)) {
                    short.push(U.size(sf.memory) + ' ' + gettext('memory'));
                }
                if (U.num(sf.cpu)) {
                    short.push(Ext.String.format(gettext('{0} cores'), U.num(sf.cpu).toFixed(1)));
                }
                if (short.length) {
                    text += ' (' + gettext('short of') + ' ' + short.join(', ') + ')';
                }
                rows.push([gettext('Worst scenario'), text]);
            } else {
                rows.push([gettext('Worst scenario'), gettext('none: every HA guest restarts')]);
            }
        }
        if (haGuests !== undefined) {
            rows.push([gettext('HA guests'), U.enc(haGuests)]);
        }
        if (c.method) {
            rows.push([gettext('Method'), U.enc(c.method)]);
        }
        return headHtml + U.kvTable(rows);
    },

    // the daemon's part of the status (pve-balancerd); absent until it is installed and runs
    renderAuto: function (st) {
        let U = PVE.balancer.Utils;
        let rows = [];
        let auto = !!Number(st.auto);
        rows.push([
            gettext('State'),
            auto
                ? U.icon('fa-check', 'pvebal-good') + Ext.String.format(gettext('enabled, every {0} min'), U.enc(st.interval))
                : U.icon('fa-minus-circle', 'pvebal-muted') + gettext('disabled'),
        ]);
        let d = st.daemon;
        if (!d || typeof d !== 'object') {
            rows.push([
                gettext('Daemon'),
                `<span class="pve-balancer-muted" data-qtip="${gettext('GET /cluster/balance has no status from the daemon')}">${gettext('not running or not installed')}</span>`,
            ]);
        } else {
            let active = d['active-node'] || d.active;
            rows.push([
                gettext('Active node'),
                active ? U.icon('fa-star', 'pvebal-good') + U.enc(active) : gettext('none'),
            ]);
            if (Ext.isArray(d.nodes) && d.nodes.length) {
                rows.push([
                    gettext('Daemons'),
                    d.nodes
                        .map((n) => {
                            let text = `${U.enc(n.node)}: ${U.enc(n.state || '-')}`;
                            if (Ext.isArray(n.pressure) && n.pressure.length) {
                                text += ' (' + gettext('pressure') + ': ' + U.enc(n.pressure.join(', ')) + ')';
                            }
                            return text;
                        })
                        .join(', '),
                ]);
            }
            let here = d['this-node'];
            if (here && here['config-error']) {
                rows.push([
                    gettext('Configuration'),
                    U.icon('fa-exclamation-triangle', 'pvebal-warning') +
                        Ext.String.format(gettext('not read, the last good one is in effect: {0}'), U.enc(here['config-error'])),
                ]);
            }
            let running = d.running;
            if (running && typeof running === 'object') {
                let text = running.started ? U.time(running.started) : '';
                if (running.trigger) {
                    text += ' (' + U.enc(running.trigger) + ')';
                }
                if (running.node) {
                    text += ' ' + gettext('on') + ' ' + U.enc(running.node);
                }
                rows.push([gettext('Cycle running'), text]);
            }
            let last = d['last-cycle'];
            if (last) {
                let text = U.time(last.time);
                if (last.trigger) {
                    text += ' (' + U.enc(last.trigger) + ')';
                }
                if (last.result && last.result !== 'ok') {
                    text += ' ' + U.icon('fa-exclamation-triangle', 'pvebal-warning') + U.enc(last.result);
                }
                if (last.why) {
                    text += '<br>' + (last.decision ? U.enc(last.decision) + ': ' : '') + U.enc(last.why);
                }
                rows.push([gettext('Last cycle'), text]);
            }
            let next = d['next-cycle'];
            if (next) {
                let text = U.time(typeof next === 'object' ? next.time : next);
                if (next.trigger) {
                    text += ' (' + U.enc(next.trigger) + ')';
                }
                rows.push([gettext('Next cycle'), text]);
            }
            if (Ext.isArray(d.cooldown) && d.cooldown.length) {
                let list = d.cooldown
                    .slice(0, 20)
                    .map((c) => Ext.String.format(gettext('{0} until {1}'), c.vmid, U.time(c.until)))
                    .join('<br>');
                rows.push([
                    gettext('In cool-down'),
                    `<span data-qtip="${Ext.htmlEncode(list)}">` +
                        Ext.String.format(gettext('{0} guest(s)'), d.cooldown.length) +
                        '</span>',
                ]);
            }
        }
        let skip = st['ha-guests'] === 'skip';
        rows.push([
            gettext('HA guests'),
            skip
                ? gettext('left to the HA manager') +
                      (Number(st['ha-auto-rebalance']) ? ' (' + gettext('HA auto-rebalance is on') + ')' : '')
                : gettext('balanced (through the HA manager)'),
        ]);
        rows.push([
            gettext('CRS auto-rebalance'),
            Number(st['ha-auto-rebalance']) ? gettext('on') : gettext('off'),
        ]);
        if (st['ha-scheduler']) {
            rows.push([gettext('HA scheduler'), U.enc(st['ha-scheduler'])]);
        }
        if (st.active) {
            let upid = st.active.upid || st.active.id;
            rows.push([
                gettext('Running now'),
                U.icon('fa-spinner fa-pulse') +
                    `<a href="#" class="pve-balancer-task" data-upid="${U.enc(upid)}">${gettext('show task')}</a>` +
                    (st.active.user ? ' (' + U.enc(st.active.user) + ')' : ''),
            ]);
        }
        return U.kvTable(rows);
    },

    renderNotices: function (st) {
        let U = PVE.balancer.Utils;
        let lines = [];
        for (const e of st.errors || []) {
            lines.push(U.icon('fa-times-circle', 'pvebal-critical') + U.enc(e));
        }
        for (const w of st.warnings || []) {
            let who = w.vmid !== undefined ? U.guest(w) : U.enc(w.node || '');
            let reasons = (w.reasons || []).map((r) => U.enc(r.message)).join('; ');
            lines.push(
                U.icon('fa-exclamation-triangle', 'pvebal-warning') +
                    who + ': ' + U.enc(w.message) + (reasons ? ' - ' + reasons : ''),
            );
        }
        if (!lines.length) {
            return '';
        }
        return '<ul class="pve-balancer-notices"><li>' + lines.join('</li><li>') + '</li></ul>';
    },

    openPlan: function () {
        let me = this;
        Ext.create('PVE.balancer.PlanWindow', {
            autoShow: true,
            kind: 'balance',
            taskDone: () => me.reload(),
            listeners: {
                destroy: () => me.reload(),
            },
        });
    },

    openSettings: function () {
        let me = this;
        Ext.create('PVE.balancer.SettingsWindow', {
            autoShow: true,
            canEdit: PVE.balancer.Utils.configPermission(me.status),
            listeners: {
                destroy: () => me.reload(),
            },
        });
    },

    initComponent: function () {
        let me = this;
        let U = PVE.balancer.Utils;

        let infoPanel = (title, ref, iconCls) => ({
            xtype: 'panel',
            title: title,
            iconCls: iconCls,
            reference: ref,
            flex: 1,
            bodyPadding: 10,
            margin: '0 5 0 0',
            cls: 'pve-balancer-info',
            html: `<div class="pve-balancer-muted">${gettext('Loading...')}</div>`,
        });

        Ext.apply(me, {
            referenceHolder: true,
            tbar: [
                {
                    text: gettext('Balance'),
                    reference: 'balanceBtn',
                    itemId: 'balanceBtn',
                    iconCls: 'fa fa-balance-scale',
                    disabled: true,
                    handler: () => me.openPlan(),
                },
                {
                    text: gettext('Settings'),
                    itemId: 'settingsBtn',
                    iconCls: 'fa fa-sliders',
                    handler: () => me.openSettings(),
                },
                '->',
                {
                    xtype: 'tbtext',
                    reference: 'updated',
                    cls: 'pve-balancer-muted',
                    text: '',
                },
                {
                    iconCls: 'fa fa-refresh',
                    tooltip: gettext('Reload'),
                    handler: () => me.reload(),
                },
            ],
            items: [
                {
                    xtype: 'container',
                    layout: {
                        type: 'hbox',
                        align: 'stretch',
                    },
                    items: [
                        infoPanel(gettext('Cluster balance'), 'balanceInfo', 'fa fa-balance-scale'),
                        infoPanel(gettext('HA capacity'), 'capacityInfo', 'fa fa-heartbeat'),
                        Ext.apply(infoPanel(gettext('Automatic balancing'), 'autoInfo', 'fa fa-clock-o'), {
                            margin: 0,
                        }),
                    ],
                },
                {
                    xtype: 'panel',
                    title: gettext('Notices'),
                    iconCls: 'fa fa-exclamation-triangle',
                    reference: 'notices',
                    hidden: true,
                    bodyPadding: '5 10',
                },
                {
                    xtype: 'grid',
                    title: gettext('Nodes'),
                    iconCls: 'fa fa-server',
                    reference: 'nodes',
                    disableSelection: true,
                    cls: 'pve-balancer-nodes',
                    store: {
                        fields: ['node', 'status', 'maintenance', 'guests', 'running', 'cpu', 'cpuUsed', 'cpuTotal', 'mem', 'memUsed', 'memTotal'],
                        sorters: 'node',
                        data: [],
                    },
                    viewConfig: {
                        deferEmptyText: false,
                        emptyText: gettext('No nodes'),
                    },
                    columns: [
                        {
                            header: gettext('Node'),
                            dataIndex: 'node',
                            width: 160,
                            renderer: function (value, meta, rec) {
                                let st = rec.data.status;
                                let icon = st === 'online' ? 'fa-check-circle pvebal-good' : 'fa-times-circle pvebal-critical';
                                let text = U.icon('fa-building') + U.enc(value);
                                text += ' <i class="fa ' + icon + '" data-qtip="' + U.enc(st) + '"></i>';
                                if (rec.data.maintenance) {
                                    text += ' <span class="pve-balancer-tag">' + gettext('maintenance') + '</span>';
                                }
                                return text;
                            },
                        },
                        {
                            header: gettext('Guests'),
                            dataIndex: 'guests',
                            width: 110,
                            renderer: (v, m, rec) =>
                                v === undefined ? '-' : Ext.String.format(gettext('{0} ({1} running)'), v, rec.data.running),
                        },
                        {
                            header: gettext('CPU usage'),
                            dataIndex: 'cpu',
                            flex: 1,
                            renderer: (v, m, rec) =>
                                U.bar(
                                    v,
                                    U.pct(v) +
                                        (rec.data.cpuTotal !== undefined
                                            ? ' ' + Ext.String.format(gettext('({0} of {1} cores)'), (rec.data.cpuUsed || 0).toFixed(1), rec.data.cpuTotal)
                                            : ''),
                                ),
                        },
                        {
                            header: gettext('Memory usage'),
                            dataIndex: 'mem',
                            flex: 1,
                            renderer: (v, m, rec) =>
                                U.bar(
                                    v,
                                    U.pct(v) +
                                        (rec.data.memTotal !== undefined
                                            ? ' ' + Ext.String.format(gettext('({0} of {1})'), U.size(rec.data.memUsed), U.size(rec.data.memTotal))
                                            : ''),
                                ),
                        },
                    ],
                },
                {
                    xtype: 'grid',
                    title: gettext('Recent runs'),
                    iconCls: 'fa fa-history',
                    reference: 'runs',
                    cls: 'pve-balancer-runs',
                    store: {
                        fields: ['id', 'upid', 'kind', 'user', 'status', 'started', 'finished', 'planned', 'moved', 'failed', 'skipped', 'notStarted', 'nodes', 'before', 'after'],
                        data: [],
                    },
                    viewConfig: {
                        deferEmptyText: false,
                        emptyText: gettext('No balancing run yet. Press "Balance" to see a plan.'),
                    },
                    listeners: {
                        itemdblclick: (view, rec) => U.openTask(rec.data.upid),
                    },
                    columns: [
                        {
                            header: gettext('Started'),
                            dataIndex: 'started',
                            width: 140,
                            renderer: U.time,
                        },
                        {
                            header: gettext('Kind'),
                            dataIndex: 'kind',
                            width: 115,
                            renderer: (v, m, rec) =>
                                v === 'evacuate'
                                    ? gettext('Evacuate') + (rec.data.nodes ? ' ' + U.enc(rec.data.nodes) : '')
                                    : gettext('Balance'),
                        },
                        {
                            header: gettext('User'),
                            dataIndex: 'user',
                            width: 110,
                            renderer: U.enc,
                        },
                        {
                            header: gettext('Status'),
                            dataIndex: 'status',
                            width: 110,
                            renderer: function (v) {
                                let map = {
                                    ok: ['fa-check pvebal-good', gettext('OK')],
                                    partial: ['fa-exclamation-triangle pvebal-warning', gettext('partial')],
                                    failed: ['fa-times pvebal-critical', gettext('failed')],
                                    error: ['fa-times pvebal-critical', gettext('error')],
                                    running: ['fa-spinner fa-pulse', gettext('running')],
                                    interrupted: ['fa-exclamation-triangle pvebal-warning', gettext('interrupted')],
                                };
                                let e = map[v] || ['fa-question', U.enc(v)];
                                return U.icon(e[0]) + e[1];
                            },
                        },
                        {
                            header: gettext('Migrations'),
                            dataIndex: 'moved',
                            flex: 1,
                            minWidth: 150,
                            renderer: function (v, m, rec) {
                                let d = rec.data;
                                let text = Ext.String.format(gettext('{0} of {1} done'), v || 0, d.planned || 0);
                                let extra = [];
                                if (d.failed) {
                                    extra.push(d.failed + ' ' + gettext('failed'));
                                }
                                if (d.skipped) {
                                    extra.push(d.skipped + ' ' + gettext('skipped'));
                                }
                                if (d.notStarted) {
                                    extra.push(d.notStarted + ' ' + gettext('not started'));
                                }
                                return text + (extra.length ? ' (' + extra.join(', ') + ')' : '');
                            },
                        },
                        {
                            header: gettext('Imbalance before / after'),
                            dataIndex: 'before',
                            width: 165,
                            renderer: (v, m, rec) => U.metric(v) + ' &rarr; ' + U.metric(rec.data.after),
                        },
                        {
                            header: gettext('Duration'),
                            dataIndex: 'finished',
                            width: 90,
                            renderer: (v, m, rec) =>
                                v && rec.data.started ? U.seconds(Math.max(v - rec.data.started, 0.2)) : '-',
                        },
                        {
                            xtype: 'actioncolumn',
                            width: 30,
                            items: [
                                {
                                    iconCls: 'fa fa-file-text-o',
                                    tooltip: gettext('Task log'),
                                    handler: (grid, row) => U.openTask(grid.getStore().getAt(row).data.upid),
                                },
                            ],
                        },
                    ],
                },
            ],
        });

        me.callParent();

        // links in the rendered HTML (the running task)
        me.on('afterrender', function () {
            me.getEl().on('click', function (event, target) {
                let upid = target.getAttribute('data-upid');
                if (upid) {
                    event.preventDefault();
                    U.openTask(upid, () => me.reload());
                }
            }, null, { delegate: 'a.pve-balancer-task' });
        });

        me.reload();
        me.refreshTask = Ext.TaskManager.start({
            run: () => me.reload(),
            interval: me.refreshInterval,
            fireOnStart: false,
        });
        me.on('destroy', () => Ext.TaskManager.stop(me.refreshTask));
    },
});

/*
 * The plan dialog: a dry run with options, the plan grouped by wave, what cannot move, the
 * nodes and metrics before and after, and Apply (digest-checked) into the task viewer.
 */
Ext.define('PVE.balancer.PlanWindow', {
    extend: 'Ext.window.Window',
    alias: 'widget.pveBalancerPlanWindow',

    kind: 'balance', // or 'evacuate' (with 'nodes')
    nodes: undefined,
    taskDone: Ext.emptyFn,

    width: 1100,
    height: 720,
    modal: true,
    resizable: true,
    maximizable: true,
    border: false,
    layout: {
        type: 'vbox',
        align: 'stretch',
    },

    planUrl: function () {
        return PVE.balancer.Utils.url + (this.kind === 'evacuate' ? '/evacuate' : '');
    },

    // the parameters of the dry run and of Apply: the options that are set
    planParams: function () {
        let me = this;
        let params = {};
        if (me.kind === 'evacuate') {
            params.node = me.nodes.join(',');
        }
        let keys = PVE.balancer.Utils.planOptions[me.kind] || [];
        me.lookup('options').query('field').forEach(function (field) {
            let value = field.getValue();
            if (keys.indexOf(field.getName()) !== -1 && value !== '' && value !== null && value !== undefined) {
                params[field.getName()] = value;
            }
        });
        return params;
    },

    buildOptions: function (opts) {
        let me = this;
        let form = me.lookup('options');
        let keys = PVE.balancer.Utils.planOptions[me.kind] || [];
        let labels = {
            'max-migrations': gettext('Max. migrations'),
            mode: gettext('Load model'),
            'ha-guests': gettext('HA guests'),
            'allow-container-restart': gettext('Restart containers'),
        };
        let fields = [];
        if (opts.schema) {
            for (const key of keys) {
                let entry = opts.schema[key];
                if (!entry) {
                    continue;
                }
                let fallback = opts.config ? opts.config[key] : undefined;
                fields.push(
                    PVE.balancer.Utils.fieldFor(Ext.apply({ label: labels[key] }, entry), fallback, {
                        labelWidth: key === 'allow-container-restart' ? 120 : 105,
                        width: key === 'max-migrations' ? 240 : 270,
                        margin: '0 15 0 0',
                        autoEl: {
                            tag: 'div',
                            'data-qtip': Ext.htmlEncode(entry.description || ''),
                        },
                    }),
                );
            }
        }
        form.removeAll();
        if (!fields.length) {
            form.add({
                xtype: 'component',
                cls: 'pve-balancer-muted',
                padding: '4 15 0 0',
                html: opts.loading
                    ? gettext('Loading options...')
                    : gettext('Options of balancer.cfg (the option schema is not available)'),
            });
        } else {
            form.add(fields);
        }
        form.add({
            xtype: 'button',
            itemId: 'planBtn',
            text: gettext('Plan again'),
            iconCls: 'fa fa-refresh',
            handler: () => me.dryRun(),
        });
    },

    dryRun: function () {
        let me = this;
        let form = me.lookup('options');
        if (!form.getForm().isValid()) {
            return;
        }
        form.getForm().clearInvalid();
        me.plan = undefined;
        me.updateApply();
        Proxmox.Utils.API2Request({
            url: me.planUrl(),
            method: 'POST',
            params: me.planParams(),
            waitMsgTarget: me,
            waitMsg: gettext('Computing the plan...'),
            success: function (response) {
                if (me.isDestroyed) {
                    return;
                }
                me.showPlan(response.result.data || {});
            },
            failure: function (response) {
                if (me.isDestroyed) {
                    return;
                }
                let errors = response.result && response.result.errors;
                if (errors) {
                    form.getForm().markInvalid(errors);
                }
                me.showError(response);
            },
        });
    },

    showError: function (response) {
        let me = this;
        me.plan = undefined;
        me.lookup('summary').update(
            '<div class="pve-balancer-error">' +
                PVE.balancer.Utils.icon('fa-times-circle', 'pvebal-critical') +
                '<b>' + gettext('No plan') + ':</b> ' +
                PVE.balancer.Utils.errorText(response) + '</div>',
        );
        me.lookup('metrics').getStore().removeAll();
        me.lookup('nodesGrid').getStore().removeAll();
        me.lookup('migrations').getStore().removeAll();
        me.lookup('unplaced').getStore().removeAll();
        me.updateApply();
    },

    showPlan: function (plan) {
        let me = this;
        let U = PVE.balancer.Utils;
        me.plan = plan;

        let migrations = (plan.migrations || []).map((m) => ({
            step: U.num(m.step),
            wave: U.num(m.wave),
            vmid: U.num(m.vmid),
            type: m.type,
            name: m.name,
            from: m.from,
            to: m.to,
            mode: m.mode,
            ha: !!m.ha,
            localDisks: !!m['with-local-disks'],
            temporary: !!m.temporary,
            bytes: U.num((m.cost || {}).bytes),
            seconds: U.num((m.cost || {}).seconds),
            downtime: U.num((m.cost || {}).downtime),
            reason: m.reason,
        }));
        me.lookup('migrations').getStore().loadData(migrations);

        let unplaced = (plan.unplaced || []).map((u) => ({
            vmid: U.num(u.vmid),
            type: u.type,
            name: u.name,
            node: u.node,
            reasons: (u.reasons || [])
                .map((r) => (r.node ? r.node + ': ' : '') + r.message)
                .join('\n'),
        }));
        for (const d of plan.dropped || []) {
            unplaced.push({
                vmid: U.num(d.vmid),
                type: d.type,
                name: d.name,
                node: d.from || d.node,
                reasons: d.reason || (d.reasons || []).map((r) => r.message).join('\n') || gettext('could not be ordered safely'),
            });
        }
        me.lookup('unplaced').getStore().loadData(unplaced);

        let tabs = me.lookup('tabs');
        me.lookup('migrations').setTitle(Ext.String.format(gettext('Migrations ({0})'), migrations.length));
        me.lookup('unplaced').setTitle(Ext.String.format(gettext('Cannot move ({0})'), unplaced.length));
        if (!migrations.length && unplaced.length) {
            tabs.setActiveTab(me.lookup('unplaced'));
        }

        let before = (plan.metrics || {}).before || {};
        let after = (plan.metrics || {}).after || {};
        let metric = (label, get, fmt) => ({
            metric: label,
            before: get(before),
            after: get(after),
            fmt: fmt,
        });
        me.lookup('metrics').getStore().loadData([
            metric(gettext('Objective'), (m) => U.num(m.objective), 'metric'),
            metric(gettext('Imbalance (CRS)'), (m) => U.num(m.imbalance), 'metric'),
            metric(gettext('CPU max'), (m) => U.num((m.cpu || {}).max), 'pct'),
            metric(gettext('CPU std. dev.'), (m) => U.num((m.cpu || {}).stddev), 'pct'),
            metric(gettext('Memory max'), (m) => U.num((m.memory || {}).max), 'pct'),
            metric(gettext('Memory std. dev.'), (m) => U.num((m.memory || {}).stddev), 'pct'),
        ]);

        let drained = plan.drained || me.nodes || [];
        me.lookup('nodesGrid').getStore().loadData(
            (plan.nodes || []).map((n) => ({
                node: n.node,
                drained: drained.indexOf(n.node) !== -1,
                active: n.active,
                cpuBefore: U.num((n.before || {}).cpu),
                cpuAfter: U.num((n.after || {}).cpu),
                memBefore: U.num((n.before || {}).memory),
                memAfter: U.num((n.after || {}).memory),
                guestsBefore: U.num((n.before || {}).guests),
                guestsAfter: U.num((n.after || {}).guests),
            })),
        );

        me.lookup('summary').update(me.renderSummary(plan, migrations, unplaced));
        me.updateApply();
    },

    renderSummary: function (plan, migrations, unplaced) {
        let U = PVE.balancer.Utils;
        let s = plan.summary || {};
        let before = (plan.metrics || {}).before || {};
        let after = (plan.metrics || {}).after || {};
        let html = '';
        if (migrations.length) {
            let waves = U.num(s.waves) || 1;
            html += '<div class="pve-balancer-headline">' +
                U.icon('fa-exchange') + '<b>' +
                Ext.String.format(
                    migrations.length === 1 ? gettext('1 migration in {1} wave(s)') : gettext('{0} migrations in {1} wave(s)'),
                    migrations.length,
                    waves,
                ) + '</b>, ' +
                Ext.String.format(
                    gettext('{0} to transfer, estimated {1}, downtime {2}'),
                    U.size(s.bytes),
                    U.seconds(s['estimated-duration']),
                    U.seconds(s['downtime-seconds']),
                ) + '</div>';
        } else if (this.kind === 'evacuate') {
            html += '<div class="pve-balancer-headline">' + U.icon('fa-info-circle') + '<b>' +
                (unplaced.length
                    ? gettext('No guest can leave the node.')
                    : gettext('Nothing to move: no guest on the node.')) + '</b></div>';
        } else {
            html += '<div class="pve-balancer-headline">' + U.icon('fa-check-circle', 'pvebal-good') + '<b>' +
                gettext('No migration needed.') + '</b></div>';
        }
        if (U.num(before.objective) !== undefined) {
            let change = '';
            let b = U.num(before.objective);
            let a = U.num(after.objective);
            if (b > 0 && a !== undefined && a !== b) {
                change = ` (${a < b ? '&minus;' : '+'}${(Math.abs(b - a) / b * 100).toFixed(1)} %)`;
            }
            html += '<div>' +
                gettext('Objective') + ' ' + U.metric(b) + ' &rarr; <b>' + U.metric(a) + '</b>' + change +
                ' &middot; ' + gettext('Imbalance (Proxmox CRS)') + ' ' + U.metric(before.imbalance) +
                ' &rarr; <b>' + U.metric(after.imbalance) + '</b></div>';
        }
        let notes = plan.notes || [];
        if (unplaced.length) {
            notes = notes.concat([Ext.String.format(gettext('{0} guest(s) cannot move, see "Cannot move"'), unplaced.length)]);
        }
        if (notes.length) {
            html += '<ul class="pve-balancer-notes">' +
                notes.map((n) => '<li>' + U.icon('fa-info-circle') + U.enc(n) + '</li>').join('') + '</ul>';
        }
        return html;
    },

    updateApply: function () {
        let me = this;
        let btn = me.lookup('applyBtn');
        let hint = me.lookup('applyHint');
        let plan = me.plan;
        let why;
        if (!plan) {
            why = gettext('No plan to apply');
        } else if (!(plan.migrations || []).length) {
            why = gettext('Nothing to apply: the plan has no migration');
        } else {
            let perm = PVE.balancer.Utils.applyPermission(plan);
            if (!perm.allowed) {
                why = perm.why || gettext('You may not apply this plan');
            }
        }
        btn.setDisabled(!!why);
        btn.setTooltip(why || gettext('Run exactly this plan as a task'));
        let wrap = me.lookup('applyWrap');
        if (wrap.rendered) {
            wrap.getEl().dom.setAttribute('data-qtip', why ? Ext.htmlEncode(why) : '');
        } else {
            wrap.autoEl = { tag: 'div', 'data-qtip': why ? Ext.htmlEncode(why) : '' };
        }
        let locked = plan && why && (plan.migrations || []).length;
        hint.setText(locked ? PVE.balancer.Utils.icon('fa-lock') + Ext.htmlEncode(why) : '');
    },

    apply: function () {
        let me = this;
        let plan = me.plan;
        if (!plan) {
            return;
        }
        let params = Ext.apply(me.planParams(), {
            apply: 1,
            digest: plan.digest,
        });
        Proxmox.Utils.API2Request({
            url: me.planUrl(),
            method: 'POST',
            params: params,
            waitMsgTarget: me,
            success: function (response) {
                let upid = response.result.data;
                let taskDone = me.taskDone;
                me.close();
                PVE.balancer.Utils.openTask(upid, taskDone);
            },
            failure: function (response) {
                let result = response.result || {};
                if (result.errors) {
                    me.lookup('options').getForm().markInvalid(result.errors);
                }
                if (Number(result.status) === 409 && /digest/.test(result.message || '')) {
                    // the cluster changed since the plan was computed: show the new one
                    Ext.Msg.alert(
                        gettext('The plan changed'),
                        PVE.balancer.Utils.errorText(response) + '<br><br>' +
                            gettext('The plan was computed again; review it and apply again.'),
                    );
                    me.dryRun();
                    return;
                }
                PVE.balancer.Utils.alertError(response);
            },
        });
    },

    initComponent: function () {
        let me = this;
        let U = PVE.balancer.Utils;

        if (me.kind === 'evacuate') {
            if (!me.nodes || !me.nodes.length) {
                throw 'no node to evacuate';
            }
            me.title = me.nodes.length === 1
                ? Ext.String.format(gettext("Evacuate node '{0}'"), me.nodes[0])
                : Ext.String.format(gettext('Evacuate nodes {0}'), me.nodes.join(', '));
        } else {
            me.title = gettext('Balance cluster');
        }

        Ext.apply(me, {
            referenceHolder: true,
            items: [
                {
                    xtype: 'form',
                    reference: 'options',
                    layout: 'hbox',
                    bodyPadding: '10 10 5 10',
                    border: false,
                    items: [],
                },
                {
                    xtype: 'component',
                    reference: 'summary',
                    cls: 'pve-balancer-summary',
                    padding: '5 10',
                    html: '<div class="pve-balancer-muted">' + gettext('Computing the plan...') + '</div>',
                },
                {
                    xtype: 'container',
                    height: 245,
                    layout: {
                        type: 'hbox',
                        align: 'stretch',
                    },
                    margin: '0 10 5 10',
                    items: [
                        {
                            xtype: 'grid',
                            reference: 'metrics',
                            title: gettext('Metrics'),
                            cls: 'pve-balancer-metrics',
                            width: 370,
                            margin: '0 10 0 0',
                            disableSelection: true,
                            store: {
                                fields: ['metric', 'before', 'after', 'fmt'],
                                data: [],
                            },
                            columns: [
                                { header: gettext('Metric'), dataIndex: 'metric', flex: 1 },
                                {
                                    header: gettext('Before'),
                                    dataIndex: 'before',
                                    width: 80,
                                    align: 'right',
                                    renderer: (v, m, rec) => (rec.data.fmt === 'pct' ? U.pct(v) : U.metric(v)),
                                },
                                {
                                    header: gettext('After'),
                                    dataIndex: 'after',
                                    width: 95,
                                    align: 'right',
                                    renderer: function (v, m, rec) {
                                        let text = rec.data.fmt === 'pct' ? U.pct(v) : U.metric(v);
                                        let b = rec.data.before;
                                        if (v !== undefined && b !== undefined && v !== b) {
                                            let better = v < b;
                                            text = `<i class="fa fa-fw fa-long-arrow-${better ? 'down pvebal-good' : 'up pvebal-warning'}"></i>` + text;
                                        }
                                        return '<b>' + text + '</b>';
                                    },
                                },
                            ],
                        },
                        {
                            xtype: 'grid',
                            reference: 'nodesGrid',
                            title: gettext('Nodes before and after'),
                            flex: 1,
                            disableSelection: true,
                            cls: 'pve-balancer-plan-nodes',
                            store: {
                                fields: ['node', 'drained', 'active', 'cpuBefore', 'cpuAfter', 'memBefore', 'memAfter', 'guestsBefore', 'guestsAfter'],
                                sorters: 'node',
                                data: [],
                            },
                            columns: [
                                {
                                    header: gettext('Node'),
                                    dataIndex: 'node',
                                    width: 120,
                                    renderer: (v, m, rec) =>
                                        U.enc(v) + (rec.data.drained ? ' <span class="pve-balancer-tag">' + gettext('drained') + '</span>' : ''),
                                },
                                {
                                    header: gettext('CPU'),
                                    dataIndex: 'cpuAfter',
                                    flex: 1,
                                    renderer: (v, m, rec) => U.barBeforeAfter(rec.data.cpuBefore, v),
                                },
                                {
                                    header: gettext('Memory'),
                                    dataIndex: 'memAfter',
                                    flex: 1,
                                    renderer: (v, m, rec) => U.barBeforeAfter(rec.data.memBefore, v),
                                },
                                {
                                    header: gettext('Guests'),
                                    dataIndex: 'guestsAfter',
                                    width: 85,
                                    align: 'right',
                                    renderer: (v, m, rec) => `${U.enc(rec.data.guestsBefore)} &rarr; <b>${U.enc(v)}</b>`,
                                },
                            ],
                        },
                    ],
                },
                {
                    xtype: 'tabpanel',
                    reference: 'tabs',
                    flex: 1,
                    margin: '0 10 0 10',
                    items: [
                        {
                            xtype: 'grid',
                            reference: 'migrations',
                            title: gettext('Migrations'),
                            iconCls: 'fa fa-exchange',
                            cls: 'pve-balancer-migrations',
                            store: {
                                fields: ['step', 'wave', 'vmid', 'type', 'name', 'from', 'to', 'mode', 'ha', 'localDisks', 'temporary', 'bytes', 'seconds', 'downtime', 'reason'],
                                groupField: 'wave',
                                sorters: [{ property: 'step', direction: 'ASC' }],
                                data: [],
                            },
                            features: [
                                {
                                    ftype: 'grouping',
                                    collapsible: false,
                                    groupHeaderTpl: [
                                        '{[values.name ? "' + gettext('Wave') + ' " + values.name : ""]}',
                                        ' ({[values.rows.length]} {[values.rows.length === 1 ? "' + gettext('migration') + '" : "' + gettext('migrations') + '"]}, ',
                                        '{[values.rows.length > 1 ? "' + gettext('in parallel') + '" : "' + gettext('alone') + '"]})',
                                    ],
                                },
                            ],
                            viewConfig: {
                                deferEmptyText: false,
                                emptyText: gettext('No migration.'),
                            },
                            columns: [
                                { header: '#', dataIndex: 'step', width: 45, align: 'right' },
                                {
                                    header: gettext('Guest'),
                                    dataIndex: 'vmid',
                                    width: 190,
                                    renderer: function (v, m, rec) {
                                        let text = U.guest(rec.data);
                                        if (rec.data.ha) {
                                            text += ' <span class="pve-balancer-tag" data-qtip="' + gettext('moved through the HA manager') + '">HA</span>';
                                        }
                                        return text;
                                    },
                                },
                                {
                                    header: gettext('From') + ' &rarr; ' + gettext('To'),
                                    dataIndex: 'from',
                                    width: 140,
                                    renderer: (v, m, rec) => `${U.enc(v)} &rarr; <b>${U.enc(rec.data.to)}</b>`,
                                },
                                {
                                    header: gettext('Mode'),
                                    dataIndex: 'mode',
                                    width: 130,
                                    renderer: function (v, m, rec) {
                                        let text = U.enc(v);
                                        if (rec.data.localDisks) {
                                            text += ', ' + gettext('with local disks');
                                        }
                                        if (rec.data.temporary) {
                                            text += ', ' + gettext('temporary');
                                        }
                                        return text;
                                    },
                                },
                                {
                                    header: gettext('Data'),
                                    dataIndex: 'bytes',
                                    width: 90,
                                    align: 'right',
                                    renderer: U.size,
                                },
                                {
                                    header: gettext('Est. time'),
                                    dataIndex: 'seconds',
                                    width: 95,
                                    align: 'right',
                                    renderer: U.seconds,
                                },
                                {
                                    header: gettext('Reason'),
                                    dataIndex: 'reason',
                                    flex: 1,
                                    renderer: U.enc,
                                },
                            ],
                        },
                        {
                            xtype: 'grid',
                            reference: 'unplaced',
                            title: gettext('Cannot move'),
                            iconCls: 'fa fa-ban',
                            cls: 'pve-balancer-unplaced',
                            store: {
                                fields: ['vmid', 'type', 'name', 'node', 'reasons'],
                                sorters: 'vmid',
                                data: [],
                            },
                            viewConfig: {
                                deferEmptyText: false,
                                emptyText: gettext('Every guest of the plan can move.'),
                            },
                            columns: [
                                {
                                    header: gettext('Guest'),
                                    dataIndex: 'vmid',
                                    width: 190,
                                    renderer: (v, m, rec) => U.guest(rec.data),
                                },
                                { header: gettext('Node'), dataIndex: 'node', width: 100, renderer: U.enc },
                                {
                                    header: gettext('Reason'),
                                    dataIndex: 'reasons',
                                    flex: 1,
                                    cellWrap: true,
                                    renderer: (v) => U.enc(v).replace(/\n/g, '<br>'),
                                },
                            ],
                        },
                    ],
                },
            ],
            buttons: [
                {
                    xtype: 'tbtext',
                    reference: 'applyHint',
                    cls: 'pve-balancer-apply-hint',
                    text: '',
                },
                '->',
                {
                    // a disabled button gets no mouse events: its wrapper carries the tooltip
                    xtype: 'container',
                    reference: 'applyWrap',
                    items: [
                        {
                            xtype: 'button',
                            text: gettext('Apply'),
                            reference: 'applyBtn',
                            itemId: 'applyBtn',
                            iconCls: 'fa fa-play',
                            disabled: true,
                            handler: () => me.apply(),
                        },
                    ],
                },
            ],
        });

        me.callParent();

        // the options first (their defaults come from the configuration), then the dry run
        me.buildOptions({ loading: true });
        PVE.balancer.Utils.loadOptions(function (opts) {
            if (!me.isDestroyed) {
                me.buildOptions(opts);
                me.dryRun();
            }
        });
    },
});

/*
 * Settings: every key of balancer.cfg with its value, default and description, from the
 * option schema the API returns; Edit and Reset write it through PUT /cluster/balance/config.
 */
Ext.define('PVE.balancer.OptionEdit', {
    extend: 'Proxmox.window.Edit',
    alias: 'widget.pveBalancerOptionEdit',

    url: '/api2/extjs/cluster/balance/config',
    method: 'PUT',
    width: 520,
    autoLoad: true,

    entry: undefined, // the key's schema entry

    initComponent: function () {
        let me = this;
        let entry = me.entry;
        if (!entry) {
            throw 'no option given';
        }
        me.subject = entry.key;

        let field = PVE.balancer.Utils.fieldFor(entry, entry.default, {
            fieldLabel: gettext('Value'),
            labelWidth: 80,
            msgTarget: 'under',
            listeners: {
                // The API's error stays until the value changes, not until focus leaves:
                // clearing it on blur would shrink the window under the pointer that is
                // clicking OK, and the click would be lost.
                change: function (f) {
                    if (f.hasActiveError()) {
                        f.clearInvalid();
                        f.validate();
                    }
                },
            },
        });

        let range = [];
        if (entry.minimum !== undefined) {
            range.push(gettext('minimum') + ' ' + entry.minimum);
        }
        if (entry.maximum !== undefined) {
            range.push(gettext('maximum') + ' ' + entry.maximum);
        }

        me.items = [
            {
                xtype: 'inputpanel',
                onGetValues: function (values) {
                    // an empty field resets the key to its default
                    let value = values[entry.key];
                    if (value === '' || value === null || value === undefined) {
                        return { delete: entry.key };
                    }
                    return values;
                },
                items: [
                    field,
                    {
                        xtype: 'component',
                        cls: 'pve-balancer-description',
                        html:
                            PVE.balancer.Utils.enc(entry.description || '') +
                            (range.length ? '<br>' + PVE.balancer.Utils.enc(range.join(', ')) : '') +
                            '<br>' + gettext('Leave empty for the default.'),
                    },
                ],
            },
        ];

        me.callParent();
    },
});

Ext.define('PVE.balancer.SettingsWindow', {
    extend: 'Ext.window.Window',
    alias: 'widget.pveBalancerSettings',

    title: gettext('Balancer Settings') + ' (/etc/pve/balancer.cfg)',
    width: 1000,
    height: 640,
    modal: true,
    resizable: true,
    maximizable: true,
    layout: 'fit',

    canEdit: false,

    reload: function () {
        let me = this;
        let grid = me.lookup('grid');
        Proxmox.Utils.setErrorMask(grid, true);
        PVE.balancer.Utils.loadOptions(function (opts) {
            if (me.isDestroyed) {
                return;
            }
            if (opts.schemaError || opts.configError) {
                Proxmox.Utils.setErrorMask(grid, opts.schemaError || opts.configError);
                return;
            }
            Proxmox.Utils.setErrorMask(grid, false);
            me.schema = opts.schema;
            // which keys are set: the configuration without defaults
            Proxmox.Utils.API2Request({
                url: PVE.balancer.Utils.url + '/config',
                method: 'GET',
                success: function (response) {
                    if (me.isDestroyed) {
                        return;
                    }
                    let set = response.result.data || {};
                    me.digest = set.digest;
                    let rows = Object.keys(opts.schema).sort().map(function (key) {
                        let e = opts.schema[key];
                        return {
                            key: key,
                            section: Number(e.engine) ? gettext('Engine options') : gettext('Balancer'),
                            value: set[key],
                            isSet: set[key] !== undefined,
                            def: e.default,
                            description: e.description,
                        };
                    });
                    let store = grid.getStore();
                    store.loadData(rows);
                    me.updateButtons();
                },
                failure: (response) => Proxmox.Utils.setErrorMask(grid, PVE.balancer.Utils.errorText(response)),
            });
        });
    },

    updateButtons: function () {
        let me = this;
        let rec = me.lookup('grid').getSelection()[0];
        let why = me.canEdit ? undefined : gettext("Changing the settings needs 'Sys.Modify' on '/'");
        let edit = me.lookup('editBtn');
        let reset = me.lookup('resetBtn');
        edit.setDisabled(!rec || !!why);
        edit.setTooltip(why || '');
        reset.setDisabled(!rec || !!why || !rec.data.isSet);
        reset.setTooltip(why || gettext('Set the selected key back to its default'));
    },

    editSelected: function () {
        let me = this;
        let rec = me.lookup('grid').getSelection()[0];
        if (!rec || !me.canEdit) {
            return;
        }
        Ext.create('PVE.balancer.OptionEdit', {
            autoShow: true,
            entry: me.schema[rec.data.key],
            listeners: {
                destroy: () => me.reload(),
            },
        });
    },

    resetSelected: function () {
        let me = this;
        let rec = me.lookup('grid').getSelection()[0];
        if (!rec || !rec.data.isSet) {
            return;
        }
        Ext.Msg.confirm(
            gettext('Confirm'),
            Ext.String.format(gettext("Reset '{0}' to its default?"), Ext.htmlEncode(rec.data.key)),
            function (answer) {
                if (answer !== 'yes') {
                    return;
                }
                Proxmox.Utils.API2Request({
                    url: PVE.balancer.Utils.url + '/config',
                    method: 'PUT',
                    params: { delete: rec.data.key, digest: me.digest },
                    waitMsgTarget: me,
                    success: () => me.reload(),
                    failure: (response) => {
                        PVE.balancer.Utils.alertError(response);
                        me.reload();
                    },
                });
            },
        );
    },

    initComponent: function () {
        let me = this;
        let U = PVE.balancer.Utils;

        Ext.apply(me, {
            referenceHolder: true,
            items: [
                {
                    xtype: 'grid',
                    reference: 'grid',
                    border: false,
                    cls: 'pve-balancer-settings',
                    store: {
                        fields: ['key', 'section', 'value', 'isSet', 'def', 'description'],
                        groupField: 'section',
                        sorters: 'key',
                        data: [],
                    },
                    features: [{ ftype: 'grouping', groupHeaderTpl: '{name}' }],
                    tbar: [
                        {
                            text: gettext('Edit'),
                            reference: 'editBtn',
                            itemId: 'editBtn',
                            disabled: true,
                            handler: () => me.editSelected(),
                        },
                        {
                            text: gettext('Reset to default'),
                            reference: 'resetBtn',
                            itemId: 'resetBtn',
                            disabled: true,
                            handler: () => me.resetSelected(),
                        },
                        '->',
                        {
                            xtype: 'tbtext',
                            hidden: me.canEdit,
                            cls: 'pve-balancer-muted',
                            text: U.icon('fa-lock') + gettext("Read only: changing the settings needs 'Sys.Modify' on '/'"),
                        },
                    ],
                    listeners: {
                        selectionchange: () => me.updateButtons(),
                        itemdblclick: () => me.editSelected(),
                    },
                    columns: [
                        {
                            header: gettext('Setting'),
                            dataIndex: 'key',
                            width: 215,
                            renderer: (v) => '<span class="pve-balancer-key">' + U.enc(v) + '</span>',
                        },
                        {
                            header: gettext('Value'),
                            dataIndex: 'value',
                            width: 170,
                            renderer: function (v, m, rec) {
                                let entry = me.schema ? me.schema[rec.data.key] : {};
                                if (rec.data.isSet) {
                                    return '<b>' + U.enc(U.displayValue(entry, v)) + '</b>';
                                }
                                let def = U.displayValue(entry, rec.data.def);
                                return '<span class="pve-balancer-muted">' + gettext('Default') +
                                    (def !== '' ? ' (' + U.enc(def) + ')' : '') + '</span>';
                            },
                        },
                        {
                            header: gettext('Description'),
                            dataIndex: 'description',
                            flex: 1,
                            cellWrap: true,
                            renderer: U.enc,
                        },
                    ],
                },
            ],
        });

        me.callParent();
        me.reload();
    },
});

/*
 * Where it shows up: Datacenter -> Balance, a node's Bulk Actions and context menu -> Evacuate.
 */

// PVE.dc.Config builds its items and then calls PVE.panel.Config's initComponent, which turns
// them into the navigation tree; inserting here keeps a saved selection of 'Balance' working.
Ext.define('PVE.balancer.PanelConfigOverride', {
    override: 'PVE.panel.Config',

    initComponent: function () {
        let me = this;
        if (PVE.dc && PVE.dc.Config && me instanceof PVE.dc.Config && Ext.isArray(me.items)) {
            let caps = PVE.balancer.Utils.caps();
            let exists = me.items.some((item) => item.itemId === 'balancer');
            if ((caps.dc || {})['Sys.Audit'] && !exists) {
                let item = {
                    xtype: 'pveBalancerStatus',
                    title: gettext('Balance'),
                    iconCls: 'fa fa-balance-scale',
                    itemId: 'balancer',
                };
                // after the HA entries, else before Support, else last
                let pos = -1;
                me.items.forEach(function (it, i) {
                    if (['ha', 'ha-rules', 'ha-fencing', 'ha-groups'].indexOf(it.itemId) !== -1) {
                        pos = i + 1;
                    }
                });
                if (pos === -1) {
                    let support = me.items.findIndex((it) => it.itemId === 'support');
                    pos = support === -1 ? me.items.length : support;
                }
                me.items.splice(pos, 0, item);
            }
        }
        me.callParent(arguments);
    },
});

Ext.define('PVE.balancer.NodeConfigOverride', {
    override: 'PVE.node.Config',

    initComponent: function () {
        let me = this;
        me.callParent(arguments);

        let nodename = me.pveSelNode.data.node;
        let item = PVE.balancer.Utils.evacuateMenuItem(nodename, 'pveBalancerEvacuate');
        // in the Bulk Actions menu, right after Bulk Migrate
        let bulk = me.query('button').find(
            (btn) => btn.menu && btn.menu.items && btn.menu.items.findBy((i) => i.text === gettext('Bulk Migrate')),
        );
        if (bulk) {
            let migrate = bulk.menu.items.findBy((i) => i.text === gettext('Bulk Migrate'));
            bulk.menu.insert(bulk.menu.items.indexOf(migrate) + 1, item);
        } else {
            let tbar = me.down('#toolbar');
            if (tbar) {
                tbar.insert(tbar.items.length - 1, Ext.apply({ xtype: 'button' }, item));
            }
        }
    },
});

Ext.define('PVE.balancer.NodeCmdMenuOverride', {
    override: 'PVE.node.CmdMenu',

    initComponent: function () {
        let me = this;
        me.callParent(arguments);

        let migrate = me.getComponent('bulkmigrate');
        let pos = migrate ? me.items.indexOf(migrate) + 1 : me.items.length;
        me.insert(pos, PVE.balancer.Utils.evacuateMenuItem(me.nodename, 'pveBalancerEvacuate'));
    },
});

// styles, here so that one <script> tag is all the page needs
Ext.util.CSS.createStyleSheet(
    `
.pve-balancer-kv { border-collapse: collapse; width: 100%; }
.pve-balancer-kv td { padding: 3px 6px 3px 0; vertical-align: top; }
.pve-balancer-kv-key { white-space: nowrap; color: #555; width: 1%; padding-right: 14px !important; }
.pve-balancer-head { margin-bottom: 6px; }
.pve-balancer-muted { color: #888; }
.pve-balancer-info .x-panel-body { line-height: 17px; }
.pve-balancer-bar { position: relative; height: 16px; border: 1px solid #b5c9dc; border-radius: 2px; background: #fff; overflow: hidden; }
.pve-balancer-bar-fill { position: absolute; top: 0; left: 0; bottom: 0; background: #7db6e6; }
.pve-balancer-bar-fill.warning { background: #fbc02d; }
.pve-balancer-bar-fill.critical { background: #e57373; }
.pve-balancer-bar-text { position: relative; text-align: center; font-size: 12px; line-height: 14px; color: #222; white-space: nowrap; }
.pve-balancer-ba .pve-balancer-bar { height: 6px; margin-bottom: 2px; }
.pve-balancer-ba .pve-balancer-bar-before .pve-balancer-bar-fill { background: #c5c5c5; }
.pve-balancer-ba .pve-balancer-bar-before .pve-balancer-bar-fill.warning,
.pve-balancer-ba .pve-balancer-bar-before .pve-balancer-bar-fill.critical { background: #e0a8a8; }
.pve-balancer-ba-text { font-size: 12px; line-height: 14px; }
.pve-balancer-tag { display: inline-block; padding: 0 4px; border-radius: 3px; background: #e4edf5; color: #24557d; font-size: 11px; line-height: 15px; }
.pve-balancer-summary { line-height: 19px; }
.pve-balancer-headline { font-size: 14px; margin-bottom: 2px; }
.pve-balancer-notes, .pve-balancer-notices { list-style: none; margin: 2px 0 0 0; padding: 0; }
.pve-balancer-notices li { padding: 2px 0; }
.pve-balancer-error { color: #b71c1c; }
.pve-balancer-apply-hint { color: #8a6d3b; }
.pve-balancer-description { color: #555; margin: 4px 0 0 85px; line-height: 17px; }
.pve-balancer-key { font-family: monospace; }
.pve-balancer-settings .x-grid-cell-inner { white-space: normal; }
.fa.pvebal-good { color: #21bf4b; }
.fa.pvebal-warning { color: #e6a700; }
.fa.pvebal-critical { color: #ff6c59; }
.fa.pvebal-muted { color: #999; }
`,
    'pve-balancer-css',
);
