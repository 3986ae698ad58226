/*
 * pve-balancer in the Proxmox VE web UI: Datacenter -> Balance (status, HA capacity, automatic
 * balancing, last runs), the plan dialog (Balance, and Evacuate from a node's Bulk Actions and
 * context menu), the settings of /etc/pve/balancer.cfg and readable task names.
 *
 * One class per file under www/; www/Makefile concatenates them into pve-balancer.js (as
 * pve-manager builds pvemanagerlib.js), which one <script> tag in index.html.tpl loads after
 * pvemanagerlib.js (see docs/ui.md). Only ExtJS APIs that exist in both ExtJS 7.0 (what
 * Proxmox VE 9 ships) and the GPL ExtJS 6.2 the browser tests run on, and the
 * proxmox-widget-toolkit classes pve-manager itself uses.
 *
 * Copyright (C) the pve-balancer authors. AGPL-3.0-or-later.
 */

Ext.define('PVE.balancer.Utils', {
    singleton: true,

    url: '/cluster/balance',

    // the options the plan dialog offers, per plan kind; their types, values and defaults
    // come from GET /cluster/balance/config/schema and /config
    planOptions: {
        balance: ['max-migrations', 'mode', 'ha-guests'],
        evacuate: ['mode', 'allow-container-restart'],
    },

    num: function (value) {
        // the API may still send some numbers as strings (JSON::XS), so always convert
        if (value === undefined || value === null || value === '') {
            return undefined;
        }
        let n = Number(value);
        return Number.isFinite(n) ? n : undefined;
    },

    pct: function (value) {
        let n = PVE.balancer.Utils.num(value);
        return n === undefined ? '-' : (n * 100).toFixed(1) + ' %';
    },

    metric: function (value) {
        let n = PVE.balancer.Utils.num(value);
        return n === undefined ? '-' : n.toFixed(4);
    },

    size: function (bytes) {
        let n = PVE.balancer.Utils.num(bytes);
        return n === undefined ? '-' : Proxmox.Utils.format_size(n);
    },

    seconds: function (value) {
        let n = PVE.balancer.Utils.num(value);
        if (n === undefined) {
            return '-';
        }
        return n < 1 ? n.toFixed(2) + ' s' : Proxmox.Utils.format_duration_human(n);
    },

    time: function (epoch) {
        let n = PVE.balancer.Utils.num(epoch);
        return n ? Proxmox.Utils.render_timestamp(n) : '-';
    },

    enc: function (value) {
        return Ext.htmlEncode(value === undefined || value === null ? '' : String(value));
    },

    icon: function (cls, extraCls) {
        return `<i class="fa fa-fw ${cls}${extraCls ? ' ' + extraCls : ''}"></i> `;
    },

    guest: function (g) {
        let text = PVE.balancer.Utils.enc(g.vmid);
        if (g.name) {
            text += ' (' + PVE.balancer.Utils.enc(g.name) + ')';
        }
        if (!g.type) {
            return text;
        }
        return PVE.balancer.Utils.icon(g.type === 'lxc' ? 'fa-cube' : 'fa-desktop') + text;
    },

    level: function (fraction) {
        if (fraction >= 0.9) {
            return 'critical';
        }
        return fraction >= 0.8 ? 'warning' : '';
    },

    // a usage bar: the fill shows the fraction, the text says it
    bar: function (fraction, text, extraCls) {
        let f = PVE.balancer.Utils.num(fraction);
        if (f === undefined) {
            return '-';
        }
        let width = Math.max(0, Math.min(100, f * 100)).toFixed(1);
        let label = text !== undefined ? text : PVE.balancer.Utils.pct(f);
        return (
            `<div class="pve-balancer-bar ${extraCls || ''}">` +
            `<div class="pve-balancer-bar-fill ${PVE.balancer.Utils.level(f)}" style="width: ${width}%"></div>` +
            `<div class="pve-balancer-bar-text">${label}</div></div>`
        );
    },

    // before and after as two bars, the text says "before -> after"
    barBeforeAfter: function (before, after) {
        let U = PVE.balancer.Utils;
        if (U.num(before) === undefined && U.num(after) === undefined) {
            return '-';
        }
        return (
            '<div class="pve-balancer-ba">' +
            U.bar(before, '', 'pve-balancer-bar-before') +
            U.bar(after, '', 'pve-balancer-bar-after') +
            `<div class="pve-balancer-ba-text">${U.pct(before)} &rarr; <b>${U.pct(after)}</b></div>` +
            '</div>'
        );
    },

    kvTable: function (rows) {
        let html = '<table class="pve-balancer-kv">';
        for (const row of rows) {
            if (!row) {
                continue;
            }
            html += `<tr><td class="pve-balancer-kv-key">${row[0]}</td><td>${row[1]}</td></tr>`;
        }
        return html + '</table>';
    },

    // A message from the API failure response, HTML-safe: the message and, per field, the
    // errors (as Proxmox.Utils.extractRequestError shows them).
    errorText: function (response) {
        let status = response && ((response.result && response.result.status) || response.status);
        if (status === 501) {
            // pveproxy answers 501 when this node does not have the API (package not installed)
            return Ext.htmlEncode(gettext('pve-balancer is not installed on this node; install it on every node of the cluster.')) +
                '<br>' + (response.htmlStatus || '');
        }
        if (response && response.htmlStatus) {
            return response.htmlStatus;
        }
        return Ext.htmlEncode(gettext('Connection error'));
    },

    // GuiCap: the coarse capabilities of the login (used only when the API does not say)
    caps: function () {
        return (Ext.state.Manager.get('GuiCap') || {
            dc: {},
            vms: {},
        });
    },

    // whether the caller may apply, and if not, why: the API's answer ('permissions' in the
    // status and in dry runs) decides; without it, the login's capabilities
    applyPermission: function (answer) {
        let perm = answer && answer.permissions;
        if (perm && perm.apply !== undefined) {
            return {
                allowed: !!Number(perm.apply),
                why: perm.why,
            };
        }
        let caps = PVE.balancer.Utils.caps();
        let missing = [];
        if (!(caps.dc || {})['Sys.Modify']) {
            missing.push("'Sys.Modify' on '/'");
        }
        if (!(caps.vms || {})['VM.Migrate']) {
            missing.push("'VM.Migrate' on the guests");
        }
        return {
            allowed: missing.length === 0,
            why: missing.length ? gettext('Applying needs') + ' ' + missing.join(' and ') : undefined,
        };
    },

    configPermission: function (answer) {
        let perm = answer && answer.permissions;
        if (perm && perm.config !== undefined) {
            return !!Number(perm.config);
        }
        return !!(PVE.balancer.Utils.caps().dc || {})['Sys.Modify'];
    },

    // Ext.Msg for an error, never an empty box
    alertError: function (response, title) {
        Ext.Msg.alert(title || gettext('Error'), PVE.balancer.Utils.errorText(response));
    },

    openTask: function (upid, taskDone) {
        Ext.create('Proxmox.window.TaskViewer', {
            autoShow: true,
            upid: upid,
            taskDone: taskDone || Ext.emptyFn,
        });
    },

    // A form field for one key of the option schema (GET /cluster/balance/config/schema).
    // 'fallback' is the value that applies when the field is left empty (shown as
    // "Default (...)"); leaving it empty means "do not set".
    fieldFor: function (entry, fallback, extra) {
        let U = PVE.balancer.Utils;
        let shown = fallback !== undefined && fallback !== null ? fallback : entry.default;
        let defaultText = gettext('Default');
        if (shown !== undefined && shown !== null && shown !== '') {
            if (entry.type === 'boolean') {
                shown = Number(shown) ? Proxmox.Utils.yesText : Proxmox.Utils.noText;
            }
            defaultText += ` (${shown})`;
        }
        let field = {
            name: entry.key,
            fieldLabel: entry.label || entry.key,
            msgTarget: 'side',
        };
        if (entry.enum || entry.type === 'boolean') {
            let data = [['', defaultText]];
            if (entry.type === 'boolean') {
                data.push([1, Proxmox.Utils.yesText], [0, Proxmox.Utils.noText]);
            } else {
                for (const v of entry.enum) {
                    data.push([v, v]);
                }
            }
            Ext.apply(field, {
                xtype: 'combobox',
                editable: false,
                queryMode: 'local',
                valueField: 'value',
                displayField: 'text',
                value: '',
                store: {
                    fields: ['value', 'text'],
                    data: data.map((d) => ({ value: d[0], text: d[1] })),
                },
            });
        } else if (entry.type === 'integer' || entry.type === 'number') {
            Ext.apply(field, {
                xtype: 'numberfield',
                allowDecimals: entry.type === 'number',
                decimalPrecision: 6,
                emptyText: defaultText,
                minValue: U.num(entry.minimum),
                maxValue: U.num(entry.maximum),
            });
        } else {
            let cfg = {
                xtype: 'textfield',
                emptyText: defaultText,
            };
            if (entry.pattern) {
                try {
                    // the API's patterns are anchored at both ends, like PVE::JSONSchema does
                    cfg.regex = new RegExp('^(?:' + entry.pattern + ')$');
                    cfg.regexText = gettext('Format') + ': ' + entry.pattern;
                } catch (_e) {
                    // a pattern JavaScript cannot read is left to the API
                }
            }
            Ext.apply(field, cfg);
        }
        return Ext.apply(field, extra || {});
    },

    // a value for display in the settings: booleans as Yes/No
    displayValue: function (entry, value) {
        if (value === undefined || value === null || value === '') {
            return '';
        }
        if (entry.type === 'boolean') {
            return Number(value) ? Proxmox.Utils.yesText : Proxmox.Utils.noText;
        }
        return String(value);
    },

    // load the option schema and the effective configuration together
    loadOptions: function (callback) {
        let result = {};
        let pending = 2;
        let done = function () {
            if (--pending === 0) {
                callback(result);
            }
        };
        Proxmox.Utils.API2Request({
            url: PVE.balancer.Utils.url + '/config/schema',
            method: 'GET',
            success: function (response) {
                result.schema = {};
                for (const entry of response.result.data || []) {
                    result.schema[entry.key] = entry;
                }
                done();
            },
            failure: function (response) {
                result.schemaError = PVE.balancer.Utils.errorText(response);
                done();
            },
        });
        Proxmox.Utils.API2Request({
            url: PVE.balancer.Utils.url + '/config',
            method: 'GET',
            params: { defaults: 1 },
            success: function (response) {
                result.config = response.result.data || {};
                done();
            },
            failure: function (response) {
                result.configError = PVE.balancer.Utils.errorText(response);
                done();
            },
        });
    },

    evacuate: function (nodename, taskDone) {
        Ext.create('PVE.balancer.PlanWindow', {
            autoShow: true,
            kind: 'evacuate',
            nodes: [nodename],
            taskDone: taskDone,
        });
    },

    evacuateMenuItem: function (nodename, itemId) {
        let caps = PVE.balancer.Utils.caps();
        return {
            text: gettext('Evacuate'),
            itemId: itemId,
            iconCls: 'fa fa-fw fa-sign-out',
            // a dry run needs Sys.Audit on '/'; whether it may be applied, the dialog says
            disabled: !(caps.dc || {})['Sys.Audit'],
            hidden: !!(PVE.Utils && PVE.Utils.isStandaloneNode && PVE.Utils.isStandaloneNode()),
            handler: () => PVE.balancer.Utils.evacuate(nodename),
        };
    },
});

// task names in the task list and the task viewer's title
Proxmox.Utils.override_task_descriptions({
    balance: ['', gettext('Balance cluster')],
    'balance-evacuate': ['Node', gettext('Evacuate')],
});
