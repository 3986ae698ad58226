/*
 * Settings: every key of balancer.cfg with its value, default and description, from the
 * option schema the API returns; Edit and Reset write it through PUT /cluster/balance/config.
 */
Ext.define('PVE.balancer.SettingsWindow', {
    extend: 'Ext.window.Window',
    alias: 'widget.pveBalancerSettings',

    title: gettext('Balancer Settings') + ' (/etc/pve/balancer.cfg)',
    width: 1000,
    height: 640,
    modal: true,
    resizable: true,
    maximizable: true,
    layout: 'fit',

    canEdit: false,

    reload: function () {
        let me = this;
        let grid = me.lookup('grid');
        Proxmox.Utils.setErrorMask(grid, true);
        PVE.balancer.Utils.loadOptions(function (opts) {
            if (me.isDestroyed) {
                return;
            }
            if (opts.schemaError || opts.configError) {
                Proxmox.Utils.setErrorMask(grid, opts.schemaError || opts.configError);
                return;
            }
            Proxmox.Utils.setErrorMask(grid, false);
            me.schema = opts.schema;
            // which keys are set: the configuration without defaults
            Proxmox.Utils.API2Request({
                url: PVE.balancer.Utils.url + '/config',
                method: 'GET',
                success: function (response) {
                    if (me.isDestroyed) {
                        return;
                    }
                    let set = response.result.data || {};
                    me.digest = set.digest;
                    let rows = Object.keys(opts.schema).sort().map(function (key) {
                        let e = opts.schema[key];
                        return {
                            key: key,
                            section: Number(e.engine) ? gettext('Engine options') : gettext('Balancer'),
                            value: set[key],
                            isSet: set[key] !== undefined,
                            def: e.default,
                            description: e.description,
                        };
                    });
                    let store = grid.getStore();
                    store.loadData(rows);
                    me.updateButtons();
                },
                failure: (response) => Proxmox.Utils.setErrorMask(grid, PVE.balancer.Utils.errorText(response)),
            });
        });
    },

    updateButtons: function () {
        let me = this;
        let rec = me.lookup('grid').getSelection()[0];
        let why = me.canEdit ? undefined : gettext("Changing the settings needs 'Sys.Modify' on '/'");
        let edit = me.lookup('editBtn');
        let reset = me.lookup('resetBtn');
        edit.setDisabled(!rec || !!why);
        edit.setTooltip(why || '');
        reset.setDisabled(!rec || !!why || !rec.data.isSet);
        reset.setTooltip(why || gettext('Set the selected key back to its default'));
    },

    editSelected: function () {
        let me = this;
        let rec = me.lookup('grid').getSelection()[0];
        if (!rec || !me.canEdit) {
            return;
        }
        Ext.create('PVE.balancer.OptionEdit', {
            autoShow: true,
            entry: me.schema[rec.data.key],
            listeners: {
                destroy: () => me.reload(),
            },
        });
    },

    resetSelected: function () {
        let me = this;
        let rec = me.lookup('grid').getSelection()[0];
        if (!rec || !rec.data.isSet) {
            return;
        }
        Ext.Msg.confirm(
            gettext('Confirm'),
            Ext.String.format(gettext("Reset '{0}' to its default?"), Ext.htmlEncode(rec.data.key)),
            function (answer) {
                if (answer !== 'yes') {
                    return;
                }
                Proxmox.Utils.API2Request({
                    url: PVE.balancer.Utils.url + '/config',
                    method: 'PUT',
                    params: { delete: rec.data.key, digest: me.digest },
                    waitMsgTarget: me,
                    success: () => me.reload(),
                    failure: (response) => {
                        PVE.balancer.Utils.alertError(response);
                        me.reload();
                    },
                });
            },
        );
    },

    initComponent: function () {
        let me = this;
        let U = PVE.balancer.Utils;

        Ext.apply(me, {
            referenceHolder: true,
            items: [
                {
                    xtype: 'grid',
                    reference: 'grid',
                    border: false,
                    cls: 'pve-balancer-settings',
                    store: {
                        fields: ['key', 'section', 'value', 'isSet', 'def', 'description'],
                        groupField: 'section',
                        sorters: 'key',
                        data: [],
                    },
                    features: [{ ftype: 'grouping', groupHeaderTpl: '{name}' }],
                    tbar: [
                        {
                            text: gettext('Edit'),
                            reference: 'editBtn',
                            itemId: 'editBtn',
                            disabled: true,
                            handler: () => me.editSelected(),
                        },
                        {
                            text: gettext('Reset to default'),
                            reference: 'resetBtn',
                            itemId: 'resetBtn',
                            disabled: true,
                            handler: () => me.resetSelected(),
                        },
                        '->',
                        {
                            xtype: 'tbtext',
                            hidden: me.canEdit,
                            cls: 'pve-balancer-muted',
                            text: U.icon('fa-lock') + gettext("Read only: changing the settings needs 'Sys.Modify' on '/'"),
                        },
                    ],
                    listeners: {
                        selectionchange: () => me.updateButtons(),
                        itemdblclick: () => me.editSelected(),
                    },
                    columns: [
                        {
                            header: gettext('Setting'),
                            dataIndex: 'key',
                            width: 215,
                            renderer: (v) => '<span class="pve-balancer-key">' + U.enc(v) + '</span>',
                        },
                        {
                            header: gettext('Value'),
                            dataIndex: 'value',
                            width: 170,
                            renderer: function (v, m, rec) {
                                let entry = me.schema ? me.schema[rec.data.key] : {};
                                if (rec.data.isSet) {
                                    return '<b>' + U.enc(U.displayValue(entry, v)) + '</b>';
                                }
                                let def = U.displayValue(entry, rec.data.def);
                                return '<span class="pve-balancer-muted">' + gettext('Default') +
                                    (def !== '' ? ' (' + U.enc(def) + ')' : '') + '</span>';
                            },
                        },
                        {
                            header: gettext('Description'),
                            dataIndex: 'description',
                            flex: 1,
                            cellWrap: true,
                            renderer: U.enc,
                        },
                    ],
                },
            ],
        });

        me.callParent();
        me.reload();
    },
});
