/*
 * Datacenter -> Balance: the last balance and evacuate runs; a double click or the action
 * column opens the task log.
 */
Ext.define('PVE.balancer.RunsGrid', {
    extend: 'Ext.grid.Panel',
    alias: 'widget.pveBalancerRunsGrid',

    title: gettext('Recent runs'),
    iconCls: 'fa fa-history',
    cls: 'pve-balancer-runs',

    initComponent: function () {
        let me = this;
        let U = PVE.balancer.Utils;

        Ext.apply(me, {
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
        });

        me.callParent();
    },
});
