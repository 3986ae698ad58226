// a node's Bulk Actions -> Evacuate
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
