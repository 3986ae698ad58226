/*
 * The plan dialog: the migrations of the plan, in order and grouped by wave.
 */
Ext.define('PVE.balancer.PlanMigrationsGrid', {
    extend: 'Ext.grid.Panel',
    alias: 'widget.pveBalancerPlanMigrationsGrid',

    title: gettext('Migrations'),
    iconCls: 'fa fa-exchange',
    cls: 'pve-balancer-migrations',

    initComponent: function () {
        let me = this;
        let U = PVE.balancer.Utils;

        Ext.apply(me, {
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
        });

        me.callParent();
    },
});
