// a node's context menu -> Evacuate
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
