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
