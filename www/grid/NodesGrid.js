/*
 * Datacenter -> Balance: the nodes with their guests and their CPU and memory usage.
 */
Ext.define('PVE.balancer.NodesGrid', {
    extend: 'Ext.grid.Panel',
    alias: 'widget.pveBalancerNodesGrid',

    title: gettext('Nodes'),
    iconCls: 'fa fa-server',
    disableSelection: true,
    cls: 'pve-balancer-nodes',

    initComponent: function () {
        let me = this;
        let U = PVE.balancer.Utils;

        Ext.apply(me, {
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
        });

        me.callParent();
    },
});
