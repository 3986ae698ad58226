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
                    xtype: 'pveBalancerNodesGrid',
                    reference: 'nodes',
                },
                {
                    xtype: 'pveBalancerRunsGrid',
                    reference: 'runs',
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
