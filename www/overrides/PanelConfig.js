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
