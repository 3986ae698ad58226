/*
 * The test shell: what PVE.StdWorkspace gives the admin around the panels (header, the
 * resource tree "Server View" with the Datacenter and its nodes, the content area, the node
 * context menu), reduced to what the pve-balancer scenarios click through.
 */
Ext.onReady(function () {
    let session = PVE.TestSession;

    Ext.state.Manager.setProvider(Ext.create('PVE.StateProvider'));
    Ext.state.Manager.set('GuiCap', session.cap);
    Ext.tip.QuickTipManager.init();

    let content = Ext.create('Ext.container.Container', {
        region: 'center',
        layout: 'fit',
        itemId: 'content',
        margin: '0 0 0 4',
    });

    let show = function (rec) {
        let data = rec.data;
        let sel = { data: { id: data.id, type: data.type, node: data.node, running: true } };
        content.removeAll(true);
        content.add({
            xtype: data.type === 'node' ? 'PVE.node.Config' : 'PVE.dc.Config',
            pveSelNode: sel,
        });
    };

    let tree = Ext.create('Ext.tree.Panel', {
        region: 'west',
        width: 210,
        title: gettext('Server View'),
        cls: 'pve-test-resource-tree',
        rootVisible: true,
        store: {
            root: {
                id: 'root',
                text: gettext('Datacenter') + (session.cluster ? ` (${session.cluster})` : ''),
                type: 'dc',
                iconCls: 'fa fa-server',
                expanded: true,
                children: session.nodes.map((n) => ({
                    id: 'node/' + n,
                    text: n,
                    node: n,
                    type: 'node',
                    iconCls: 'fa fa-building',
                    leaf: true,
                })),
            },
        },
        listeners: {
            selectionchange: function (sm, selected) {
                if (selected.length) {
                    show(selected[0]);
                }
            },
            itemcontextmenu: function (view, rec, item, index, event) {
                event.stopEvent();
                if (rec.data.type !== 'node') {
                    return;
                }
                Ext.create('PVE.node.CmdMenu', {
                    nodename: rec.data.node,
                    pveSelNode: { data: { node: rec.data.node, type: 'node', running: true } },
                }).showAt(event.getXY());
            },
        },
    });

    Ext.create('Ext.container.Viewport', {
        layout: 'border',
        items: [
            {
                region: 'north',
                xtype: 'container',
                height: 40,
                cls: 'pve-test-header',
                html:
                    '<span class="pve-test-logo">PROXMOX</span>' +
                    '<span class="pve-test-version">Virtual Environment 9.2 (test shell)</span>' +
                    `<span class="pve-test-user"><i class="fa fa-user"></i> ${Ext.htmlEncode(session.user)}</span>`,
            },
            tree,
            content,
        ],
    });

    tree.getSelectionModel().select(tree.getRootNode());
    window.pveTestReady = true;
});
