/*
 * Test doubles of the pve-manager 9.2 (pvemanagerlib.js) classes that www/pve-balancer.js
 * overrides or calls, written from a reading of www/manager6 (no code copied):
 *
 *   StateProvider.js     the state provider holding 'GuiCap' (what the login ticket's 'cap'
 *                        says: per area dc, vms, nodes, ... the privileges the user has)
 *   Utils.js             PVE.Utils.isStandaloneNode
 *   panel/ConfigPanel.js PVE.panel.Config: its initComponent turns the 'items' the subclass
 *                        built into the navigation tree (a treelist docked left, groups by
 *                        'groups'), keeps them in savedItems, shows one as a card, restores the
 *                        selection saved under 'hstateid', and puts the subclass's 'tbar' after
 *                        the title in the top toolbar (itemId 'toolbar'); selectById()
 *   dc/Config.js         PVE.dc.Config: the Datacenter items by capability (Sys.Audit on '/'
 *                        for most), HA with 'Affinity Rules' and 'Fencing' under it, the
 *                        "Bulk Actions" menu button; the items' own panels are placeholders
 *   node/Config.js       PVE.node.Config: Reboot, Shutdown, Shell and the "Bulk Actions" menu
 *                        (Bulk Start, Bulk Shutdown, Bulk Suspend, Bulk Migrate) in the toolbar
 *   node/CmdMenu.js      PVE.node.CmdMenu: the node's context menu with the item ids
 *                        createvm, createct, bulkstart, bulkstop, bulksuspend, bulkmigrate,
 *                        shell, wakeonlan, disabled by GuiCap as the real one does
 */

Ext.ns('PVE');

Ext.define('PVE.StateProvider', {
    extend: 'Ext.state.Provider',

    get: function (name, defaultValue) {
        let value = this.callParent([name, defaultValue]);
        if (value === undefined && name === 'GuiCap') {
            value = { vms: {}, storage: {}, access: {}, nodes: {}, dc: {}, sdn: {}, mapping: {} };
        }
        return value;
    },
});

Ext.define('PVE.Utils', {
    singleton: true,

    isStandaloneNode: function () {
        return (PVE.TestSession.nodes || []).length < 2;
    },
});

// a card shown for the Datacenter and node items this test does not exercise
Ext.define('PVE.test.Placeholder', {
    extend: 'Ext.panel.Panel',
    alias: 'widget.pveTestPlaceholder',
    bodyPadding: 20,
    html: '<div style="color:#888">(not part of the pve-balancer test)</div>',
});

Ext.define('PVE.panel.Config', {
    extend: 'Ext.panel.Panel',
    alias: 'widget.pvePanelConfig',

    showSearch: true,
    layout: 'card',
    border: 0,

    activateCard: function (cardid) {
        let me = this;
        let item = me.savedItems[cardid];
        if (!item) {
            return;
        }
        let cur = me.getLayout().getActiveItem();
        let card = me.add(item);
        me.setActiveItem(card);
        if (cur && cur !== card) {
            me.remove(cur, true);
        }
        if (me.hstateid) {
            me.sp.set(me.hstateid, { value: cardid === me.firstItem ? '' : cardid });
        }
    },

    selectById: function (cardid) {
        let me = this;
        let node = me.store.getRoot().findChild('id', cardid, true);
        if (!node) {
            return '';
        }
        me.down('#menu').setSelection(node);
        return cardid;
    },

    insertNodes: function (items) {
        let me = this;
        let root = me.store.getRoot();
        items.forEach(function (item) {
            if (me.savedItems[item.itemId] !== undefined) {
                throw 'itemId already exists, please use another';
            }
            item.header = false;
            me.savedItems[item.itemId] = item;
            let parent = root;
            for (const group of item.groups || []) {
                let child = parent.findChild('id', group);
                if (!child) {
                    break;
                }
                parent = child;
            }
            parent.appendChild({
                id: item.itemId,
                text: item.title,
                iconCls: item.iconCls,
                leaf: true,
                expanded: item.expandedOnInit,
            });
        });
    },

    initComponent: function () {
        let me = this;
        me.sp = Ext.state.Manager.getProvider();
        let saved = me.hstateid ? me.sp.get(me.hstateid) : undefined;
        let activeTab = saved && saved.value ? saved.value : undefined;

        let title = me.title;
        me.title = undefined;
        let tbar = me.tbar || [];
        me.tbar = undefined;
        tbar.unshift({ xtype: 'tbtext', text: title, cls: 'pve-test-config-title' }, '->');

        me.items = me.items || [];
        if (me.showSearch) {
            me.items.unshift({
                xtype: 'pveTestPlaceholder',
                itemId: 'search',
                title: gettext('Search'),
                iconCls: 'fa fa-search',
            });
        }
        me.savedItems = {};
        me.firstItem = me.items[0] ? me.items[0].itemId : '';
        me.store = Ext.create('Ext.data.TreeStore', { root: { expanded: true } });
        me.insertNodes(me.items);
        delete me.items;

        me.defaults = Ext.apply(me.defaults || {}, {
            pveSelNode: me.pveSelNode,
            border: 0,
        });

        me.dockedItems = [
            {
                xtype: 'toolbar',
                dock: 'left',
                cls: 'pve-test-nav',
                width: 200,
                scrollable: 'y',
                items: {
                    xtype: 'treelist',
                    itemId: 'menu',
                    ui: 'nav',
                    expanderOnly: true,
                    animation: false,
                    listeners: {
                        selectionchange: function (list, selection) {
                            if (selection) {
                                me.activateCard(selection.data.id);
                            }
                        },
                    },
                },
            },
            {
                xtype: 'toolbar',
                itemId: 'toolbar',
                dock: 'top',
                height: 36,
                items: tbar,
            },
        ];

        me.callParent();

        let root = me.store.getRoot();
        let menu = me.down('#menu');
        let selection = (activeTab && root.findChild('id', activeTab, true)) || root.firstChild;
        for (let node = selection; node && node !== root; node = node.parentNode) {
            node.expand();
        }
        menu.setStore(me.store);
        menu.setSelection(selection);
    },
});

Ext.define('PVE.dc.Config', {
    extend: 'PVE.panel.Config',
    alias: 'widget.PVE.dc.Config',

    initComponent: function () {
        let me = this;
        let caps = Ext.state.Manager.get('GuiCap');
        let p = (title, itemId, iconCls, extra) =>
            Ext.apply({ xtype: 'pveTestPlaceholder', title, itemId, iconCls }, extra || {});

        me.items = [];
        let bulk = Ext.create('Ext.Button', {
            text: gettext('Bulk Actions'),
            iconCls: 'fa fa-fw fa-ellipsis-v',
            disabled: !caps.vms['VM.PowerMgmt'] && !caps.vms['VM.Migrate'],
            menu: {
                items: [
                    { text: gettext('Bulk Start'), iconCls: 'fa fa-fw fa-play' },
                    { text: gettext('Bulk Shutdown'), iconCls: 'fa fa-fw fa-stop' },
                    { text: gettext('Bulk Suspend'), iconCls: 'fa fa-fw fa-download' },
                    { text: gettext('Bulk Migrate'), iconCls: 'fa fa-fw fa-send-o' },
                ],
            },
        });
        Ext.apply(me, { title: gettext('Datacenter'), hstateid: 'dctab', tbar: [bulk] });

        if (caps.dc['Sys.Audit']) {
            me.items.push(
                p(gettext('Summary'), 'summary', 'fa fa-book'),
                p(gettext('Notes'), 'notes', 'fa fa-sticky-note-o'),
                p(gettext('Cluster'), 'cluster', 'fa fa-server'),
                p('Ceph', 'ceph', 'fa fa-ceph'),
                p(gettext('Options'), 'options', 'fa fa-gear'),
            );
        }
        if (caps.storage['Datastore.Allocate'] || caps.dc['Sys.Audit']) {
            me.items.push(p(gettext('Storage'), 'storage', 'fa fa-database'));
        }
        if (caps.dc['Sys.Audit']) {
            me.items.push(
                p(gettext('Backup'), 'backup', 'fa fa-floppy-o'),
                p(gettext('Replication'), 'replication', 'fa fa-retweet'),
                p(gettext('Permissions'), 'permissions', 'fa fa-unlock'),
            );
        }
        me.items.push(p(gettext('Users'), 'users', 'fa fa-user', { groups: ['permissions'] }));
        if (caps.dc['Sys.Audit']) {
            me.items.push(
                p('HA', 'ha', 'fa fa-heartbeat'),
                p(gettext('Affinity Rules'), 'ha-rules', 'fa fa-gears', { groups: ['ha'] }),
                p(gettext('Fencing'), 'ha-fencing', 'fa fa-bolt', { groups: ['ha'] }),
                p(gettext('Firewall'), 'firewall', 'fa fa-shield'),
                p(gettext('Metric Server'), 'metricservers', 'fa fa-bar-chart'),
            );
        }
        if (caps.dc['Sys.Audit']) {
            me.items.push(p(gettext('Support'), 'support', 'fa fa-comments-o'));
        }
        me.callParent();
    },
});

Ext.define('PVE.node.Config', {
    extend: 'PVE.panel.Config',
    alias: 'widget.PVE.node.Config',

    initComponent: function () {
        let me = this;
        let nodename = me.pveSelNode.data.node;
        if (!nodename) {
            throw 'no node name specified';
        }
        let caps = Ext.state.Manager.get('GuiCap');
        let p = (title, itemId, iconCls) => ({ xtype: 'pveTestPlaceholder', title, itemId, iconCls });

        let bulk = Ext.create('Ext.Button', {
            text: gettext('Bulk Actions'),
            iconCls: 'fa fa-fw fa-ellipsis-v',
            disabled: !caps.vms['VM.PowerMgmt'] && !caps.vms['VM.Migrate'],
            menu: new Ext.menu.Menu({
                items: [
                    { text: gettext('Bulk Start'), iconCls: 'fa fa-fw fa-play', disabled: !caps.vms['VM.PowerMgmt'] },
                    { text: gettext('Bulk Shutdown'), iconCls: 'fa fa-fw fa-stop', disabled: !caps.vms['VM.PowerMgmt'] },
                    { text: gettext('Bulk Suspend'), iconCls: 'fa fa-fw fa-download', disabled: !caps.vms['VM.PowerMgmt'] },
                    {
                        text: gettext('Bulk Migrate'),
                        iconCls: 'fa fa-fw fa-send-o',
                        disabled: !caps.vms['VM.Migrate'],
                        hidden: PVE.Utils.isStandaloneNode(),
                    },
                ],
            }),
        });
        let simple = (text, iconCls, cap) => ({
            xtype: 'button',
            text: text,
            iconCls: iconCls,
            disabled: !caps.nodes[cap],
        });

        me.items = [];
        Ext.apply(me, {
            title: gettext('Node') + " '" + nodename + "'",
            hstateid: 'nodetab',
            tbar: [
                simple(gettext('Reboot'), 'fa fa-undo', 'Sys.PowerMgmt'),
                simple(gettext('Shutdown'), 'fa fa-power-off', 'Sys.PowerMgmt'),
                simple(gettext('Shell'), 'fa fa-terminal', 'Sys.Console'),
                bulk,
            ],
        });
        if (caps.nodes['Sys.Audit']) {
            me.items.push(
                p(gettext('Summary'), 'summary', 'fa fa-book'),
                p(gettext('Notes'), 'notes', 'fa fa-sticky-note-o'),
                p(gettext('System'), 'services', 'fa fa-cogs'),
                p(gettext('Certificates'), 'certificates', 'fa fa-certificate'),
                p(gettext('Disks'), 'storage', 'fa fa-hdd-o'),
                p(gettext('Task History'), 'tasks', 'fa fa-list-alt'),
                p(gettext('Subscription'), 'support', 'fa fa-support'),
            );
        }
        me.callParent();
    },
});

Ext.define('PVE.node.CmdMenu', {
    extend: 'Ext.menu.Menu',
    xtype: 'nodeCmdMenu',

    showSeparator: false,

    items: [
        { text: gettext('Create VM'), itemId: 'createvm', iconCls: 'fa fa-desktop' },
        { text: gettext('Create CT'), itemId: 'createct', iconCls: 'fa fa-cube' },
        { xtype: 'menuseparator' },
        { text: gettext('Bulk Start'), itemId: 'bulkstart', iconCls: 'fa fa-fw fa-play' },
        { text: gettext('Bulk Shutdown'), itemId: 'bulkstop', iconCls: 'fa fa-fw fa-stop' },
        { text: gettext('Bulk Suspend'), itemId: 'bulksuspend', iconCls: 'fa fa-fw fa-download' },
        { text: gettext('Bulk Migrate'), itemId: 'bulkmigrate', iconCls: 'fa fa-fw fa-send-o' },
        { xtype: 'menuseparator' },
        { text: gettext('Shell'), itemId: 'shell', iconCls: 'fa fa-fw fa-terminal' },
        { xtype: 'menuseparator' },
        { text: gettext('Wake-on-LAN'), itemId: 'wakeonlan', iconCls: 'fa fa-fw fa-power-off' },
    ],

    initComponent: function () {
        let me = this;
        if (!me.nodename) {
            throw 'no nodename specified';
        }
        me.title = gettext('Node') + " '" + me.nodename + "'";
        me.callParent();

        let caps = Ext.state.Manager.get('GuiCap');
        me.getComponent('createvm').setDisabled(!caps.vms['VM.Allocate']);
        me.getComponent('createct').setDisabled(!caps.vms['VM.Allocate']);
        me.getComponent('bulkmigrate').setDisabled(!caps.vms['VM.Migrate']);
        ['bulkstart', 'bulkstop', 'bulksuspend'].forEach(
            (id) => me.getComponent(id).setDisabled(!caps.vms['VM.PowerMgmt']),
        );
        me.getComponent('wakeonlan').setDisabled(!caps.nodes['Sys.PowerMgmt'] || me.pveSelNode.data.running);
        me.getComponent('shell').setDisabled(!caps.nodes['Sys.Console']);
        if (PVE.Utils.isStandaloneNode()) {
            me.getComponent('bulkmigrate').setVisible(false);
        }
    },
});
