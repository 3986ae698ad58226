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
                            xtype: 'pveBalancerPlanMigrationsGrid',
                            reference: 'migrations',
                        },
                        {
                            xtype: 'pveBalancerPlanUnplacedGrid',
                            reference: 'unplaced',
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
