/*
 * The plan dialog: the guests that cannot move, with the reasons per node.
 */
Ext.define('PVE.balancer.PlanUnplacedGrid', {
    extend: 'Ext.grid.Panel',
    alias: 'widget.pveBalancerPlanUnplacedGrid',

    title: gettext('Cannot move'),
    iconCls: 'fa fa-ban',
    cls: 'pve-balancer-unplaced',

    initComponent: function () {
        let me = this;
        let U = PVE.balancer.Utils;

        Ext.apply(me, {
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
        });

        me.callParent();
    },
});
