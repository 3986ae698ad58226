/*
 * Test doubles of the proxmox-widget-toolkit (proxmoxlib.js) classes www/pve-balancer.js uses,
 * written from a reading of proxmox-widget-toolkit 5.2.7 src/ (no code copied). Each keeps
 * the behaviour that matters to the caller:
 *
 *   src/Utils.js          the Ext.Ajax 'beforerequest' hook (CSRFPreventionToken header);
 *                         Proxmox.Utils.API2Request (prefixes /api2/extjs, waitMsgTarget mask,
 *                         {success, data, message, status, errors} answers: success=0 calls
 *                         failure with response.result and response.htmlStatus as
 *                         extractRequestError(result, true) builds it, HTTP errors call failure
 *                         with "Connection error ..."; without failure/callback an error box);
 *                         extractRequestError, setErrorMask, format_size, format_duration_human,
 *                         render_timestamp, parse_task_upid, task_desc_table,
 *                         override_task_descriptions, format_task_description,
 *                         assemble_field_data, dialog_title, yesText/noText
 *   src/panel/InputPanel.js   Proxmox.panel.InputPanel (xtype inputpanel): getValues through
 *                         onGetValues, setValues by field name
 *   src/window/Edit.js    Proxmox.window.Edit: autoLoad GET (digest from the answer), OK
 *                         enabled when the form is dirty and valid, submit as PUT with the
 *                         digest, on failure form.markInvalid(errors) and an error box
 *   src/window/TaskViewer.js  Proxmox.window.TaskViewer: title "Task viewer: <description>",
 *                         polls GET /api2/json/nodes/<node>/tasks/<upid>/status every second
 *                         and the log (GET /api2/extjs/.../log?start=0&limit=510, lines {n, t})
 *                         in an "Output" tab until the status is 'stopped', then calls
 *                         taskDone(exitstatus === 'OK'); a "Status" tab lists the status
 */

Ext.ns('Proxmox');

Ext.Ajax.on('beforerequest', function (conn, options) {
    if (Proxmox.CSRFPreventionToken) {
        options.headers = options.headers || {};
        options.headers.CSRFPreventionToken = Proxmox.CSRFPreventionToken;
    }
});

Ext.define('Proxmox.Utils', {
    singleton: true,

    yesText: gettext('Yes'),
    noText: gettext('No'),

    task_desc_table: {
        vncshell: ['', gettext('Shell')],
        srvreload: ['SRV', gettext('Reload')],
    },

    override_task_descriptions: function (extra) {
        Ext.Object.each(extra, (key, value) => {
            Proxmox.Utils.task_desc_table[key] = value;
        });
    },

    format_task_description: function (type, id) {
        let desc = Proxmox.Utils.task_desc_table[type];
        if (!desc) {
            return id ? `${type} ${id}` : type;
        }
        if (Ext.isFunction(desc)) {
            return desc(type, id);
        }
        if (desc[0] && id !== undefined) {
            return `${desc[0]} ${id} - ${desc[1]}`;
        }
        return desc[1];
    },

    parse_task_upid: function (upid) {
        let m = /^UPID:([^\s:]+):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):(?:([0-9A-Fa-f]{8,16}):)?([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$/.exec(upid);
        if (!m) {
            throw "unable to parse upid '" + upid + "'";
        }
        let task = {
            node: m[1],
            pid: parseInt(m[2], 16),
            pstart: parseInt(m[3], 16),
            starttime: parseInt(m[5], 16),
            type: m[6],
            id: m[7],
            user: m[8],
        };
        task.desc = Proxmox.Utils.format_task_description(task.type, task.id);
        return task;
    },

    extractRequestError: function (result, verbose) {
        if (result.success) {
            return gettext('Successful');
        }
        let msg = gettext('Unknown error');
        if (result.message) {
            msg = Ext.htmlEncode(result.message);
            if (result.status) {
                msg += ` (${result.status})`;
            }
        }
        if (verbose && Ext.isObject(result.errors)) {
            msg += '<br>';
            Ext.Object.each(result.errors, (field, text) => {
                msg += `<br><b>${Ext.htmlEncode(field)}</b>: ${Ext.htmlEncode(text)}`;
            });
        }
        return msg;
    },

    setErrorMask: function (comp, msg) {
        let el = comp.el;
        if (!el) {
            return;
        }
        if (!msg) {
            el.unmask();
        } else if (msg === true) {
            el.mask(gettext('Loading...'));
        } else {
            el.mask(msg);
        }
    },

    API2Request: function (reqOpts) {
        let opts = Ext.apply({ waitMsg: gettext('Please wait...') }, reqOpts);
        let autoErrorAlert = reqOpts.autoErrorAlert ??
            (typeof reqOpts.failure !== 'function' && typeof reqOpts.callback !== 'function');
        if (!/^\/api2/.test(opts.url)) {
            opts.url = '/api2/extjs' + opts.url;
        }
        let successFn = reqOpts.success;
        let failureFn = reqOpts.failure;
        let callbackFn = reqOpts.callback;
        delete opts.callback;

        let target = opts.waitMsgTarget;
        let unmask = function () {
            if (target && !target.isDestroyed) {
                if (--target.waitMsgTargetCount <= 0) {
                    delete target.waitMsgTargetCount;
                    target.setLoading(false);
                }
            }
        };

        opts.success = function (response, options) {
            unmask();
            let result = Ext.decode(response.responseText);
            response.result = result;
            if (!result.success) {
                response.htmlStatus = Proxmox.Utils.extractRequestError(result, true);
                Ext.callback(callbackFn, options.scope, [options, false, response]);
                Ext.callback(failureFn, options.scope, [response, options]);
                if (autoErrorAlert) {
                    Ext.Msg.alert(gettext('Error'), response.htmlStatus);
                }
                return;
            }
            Ext.callback(callbackFn, options.scope, [options, true, response]);
            Ext.callback(successFn, options.scope, [response, options]);
        };
        opts.failure = function (response, options) {
            unmask();
            response.result = {};
            try {
                response.result = Ext.decode(response.responseText);
            } catch (_e) {
                // not JSON
            }
            let msg = gettext('Connection error') + ' - server offline?';
            if (response.status && response.statusText) {
                msg = gettext('Connection error') + ' ' + response.status + ': ' + response.statusText;
            }
            response.htmlStatus = Ext.htmlEncode(msg);
            Ext.callback(callbackFn, options.scope, [options, false, response]);
            Ext.callback(failureFn, options.scope, [response, options]);
        };

        if (target) {
            target.waitMsgTargetCount = (target.waitMsgTargetCount || 0) + 1;
            if (target.rendered) {
                target.setLoading(opts.waitMsg);
            } else {
                target.on('afterlayout', () => {
                    if (target.waitMsgTargetCount > 0) {
                        target.setLoading(opts.waitMsg);
                    }
                }, target, { single: true });
            }
        }
        Ext.Ajax.request(opts);
    },

    assemble_field_data: function (values, data) {
        if (!Ext.isObject(data)) {
            return;
        }
        Ext.Object.each(data, function (name, val) {
            if (Object.prototype.hasOwnProperty.call(values, name)) {
                let bucket = Ext.isArray(values[name]) ? values[name] : [values[name]];
                values[name] = bucket.concat(val);
            } else {
                values[name] = val;
            }
        });
    },

    dialog_title: function (subject, create, isAdd) {
        if (create) {
            return (isAdd ? gettext('Add') : gettext('Create')) + ': ' + subject;
        }
        return gettext('Edit') + ': ' + subject;
    },

    // binary units with two decimals, bytes without
    format_size: function (size, useSI) {
        let units = useSI
            ? ['B', 'KB', 'MB', 'GB', 'TB', 'PB']
            : ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
        let base = useSI ? 1000 : 1024;
        let i = 0;
        while (size >= base && i < units.length - 1) {
            size /= base;
            i++;
        }
        let text = i === 0 ? String(size) : size.toFixed(2).replace(/\.?0+$/, '');
        return `${text} ${units[i]}`;
    },

    // "<0.1s" below a tenth, else days, hours, minutes and seconds that are not zero
    format_duration_human: function (ut) {
        if (ut <= 0.1) {
            return '<0.1s';
        }
        let seconds = Number((ut % 60).toFixed(1));
        let minutes = Math.trunc(ut / 60) % 60;
        let hours = Math.trunc(ut / 3600) % 24;
        let days = Math.trunc(ut / 86400);
        let parts = [];
        if (days) {
            parts.push(days + 'd');
        }
        if (hours) {
            parts.push(hours + 'h');
        }
        if (minutes) {
            parts.push(minutes + 'm');
        }
        if (seconds && !days) {
            parts.push(seconds + 's');
        }
        return parts.join(' ');
    },

    render_timestamp: function (value) {
        return Ext.Date.format(new Date(value * 1000), 'Y-m-d H:i:s');
    },
});

Ext.define('Proxmox.panel.InputPanel', {
    extend: 'Ext.panel.Panel',
    alias: 'widget.inputpanel',

    border: false,

    onGetValues: function (values) {
        return values;
    },

    getValues: function () {
        let values = {};
        this.query('[isFormField]').forEach(function (field) {
            Proxmox.Utils.assemble_field_data(values, field.getSubmitData());
        });
        return this.onGetValues(values);
    },

    setValues: function (values) {
        let me = this;
        let form = me.up('form');
        Ext.Object.each(values, function (name, value) {
            me.query('[isFormField][name=' + name + ']').forEach(function (field) {
                field.setValue(value);
                if (form && form.trackResetOnLoad) {
                    field.resetOriginalValue();
                }
            });
        });
    },

    initComponent: function () {
        let me = this;
        me.items = [{ xtype: 'container', layout: 'anchor', items: me.items }];
        me.layout = { type: 'vbox', align: 'stretch' };
        me.callParent();
    },
});

Ext.define('Proxmox.window.Edit', {
    extend: 'Ext.window.Window',
    alias: 'widget.proxmoxWindowEdit',

    autoLoad: false,
    method: 'PUT',
    resizable: false,
    modal: true,
    width: 400,

    getValues: function () {
        let me = this;
        let values = {};
        me.query('inputpanel').forEach(function (panel) {
            Proxmox.Utils.assemble_field_data(values, panel.getValues());
        });
        return values;
    },

    setValues: function (values) {
        this.query('inputpanel').forEach((panel) => panel.setValues(values));
    },

    submit: function () {
        let me = this;
        let form = me.formPanel.getForm();
        let values = me.getValues();
        if (me.digest) {
            values.digest = me.digest;
        }
        Proxmox.Utils.API2Request({
            url: me.url,
            method: me.method,
            params: values,
            waitMsgTarget: me,
            failure: function (response) {
                if (response.result && response.result.errors) {
                    form.markInvalid(response.result.errors);
                }
                Ext.Msg.alert(gettext('Error'), response.htmlStatus);
            },
            success: function () {
                me.close();
            },
        });
    },

    load: function () {
        let me = this;
        let form = me.formPanel.getForm();
        Proxmox.Utils.API2Request({
            url: me.url,
            method: 'GET',
            waitMsgTarget: me,
            success: function (response) {
                form.clearInvalid();
                let data = response.result.data || {};
                me.digest = data.digest;
                me.setValues(data);
            },
            failure: function (response) {
                Ext.Msg.alert(gettext('Error'), response.htmlStatus, () => me.close());
            },
        });
    },

    initComponent: function () {
        let me = this;
        if (!me.url) {
            throw 'no url specified';
        }
        let items = Ext.isArray(me.items) ? me.items : [me.items];
        me.items = undefined;

        me.formPanel = Ext.create('Ext.form.Panel', {
            trackResetOnLoad: true,
            bodyPadding: 10,
            border: false,
            fieldDefaults: { labelWidth: 100, anchor: '100%' },
            items: items,
        });
        let form = me.formPanel.getForm();

        let submitBtn = Ext.create('Ext.Button', {
            text: gettext('OK'),
            itemId: 'submitbutton',
            disabled: true,
            handler: () => me.submit(),
        });
        let update = function () {
            submitBtn.setDisabled(!form.isValid() || !form.isDirty());
        };
        form.on('dirtychange', update);
        form.on('validitychange', update);

        if (me.subject && !me.title) {
            me.title = Proxmox.Utils.dialog_title(me.subject, false, false);
        }
        Ext.apply(me, {
            items: [me.formPanel],
            buttons: [submitBtn],
        });
        me.callParent();

        if (me.autoLoad) {
            me.load();
        }
    },
});

Ext.define('Proxmox.window.TaskViewer', {
    extend: 'Ext.window.Window',
    alias: 'widget.proxmoxTaskViewer',

    extraTitle: '',
    taskDone: Ext.emptyFn,

    initComponent: function () {
        let me = this;
        if (!me.upid) {
            throw 'no task specified';
        }
        let task = Proxmox.Utils.parse_task_upid(me.upid);
        let base = `/nodes/${task.node}/tasks/${encodeURIComponent(me.upid)}`;

        let logView = Ext.create('Ext.panel.Panel', {
            title: gettext('Output'),
            itemId: 'log',
            scrollable: true,
            bodyPadding: 5,
            bodyCls: 'pve-test-tasklog',
            html: '',
        });
        let statusView = Ext.create('Ext.panel.Panel', {
            title: gettext('Status'),
            itemId: 'status',
            bodyPadding: 5,
            html: '',
        });

        let stopped = false;
        let loadLog = function () {
            Proxmox.Utils.API2Request({
                url: `/api2/extjs${base}/log`,
                method: 'GET',
                params: { start: 0, limit: 510 },
                success: function (response) {
                    if (me.isDestroyed) {
                        return;
                    }
                    let lines = (response.result.data || []).map((l) => Ext.htmlEncode(l.t));
                    logView.update(lines.join('<br>'));
                },
                failure: (response) => Proxmox.Utils.setErrorMask(logView, response.htmlStatus),
            });
        };
        // the real viewer reads the status through a Proxmox.data.ObjectStore (JSON proxy on
        // /api2/json, answer {data: {...}}), the log through API2Request (/api2/extjs)
        let loadStatus = function () {
            Ext.Ajax.request({
                url: `/api2/json${base}/status`,
                method: 'GET',
                success: function (response) {
                    if (me.isDestroyed) {
                        return;
                    }
                    let st = Ext.decode(response.responseText).data || {};
                    let text = st.status === 'stopped' ? `stopped: ${st.exitstatus}` : st.status;
                    statusView.update(
                        `<div class="pve-test-taskstatus">${gettext('Status')}: ${Ext.htmlEncode(text)}</div>` +
                            `<div>${gettext('Task type')}: ${Ext.htmlEncode(st.type)}</div>` +
                            `<div>${gettext('User name')}: ${Ext.htmlEncode(st.user)}</div>` +
                            `<div>${gettext('Node')}: ${Ext.htmlEncode(st.node)}</div>`,
                    );
                    me.taskStatus = st;
                    loadLog();
                    if (st.status === 'stopped' && !stopped) {
                        stopped = true;
                        Ext.TaskManager.stop(me.poller);
                        me.taskDone(st.exitstatus === 'OK');
                    }
                },
                failure: function (response) {
                    if (!me.isDestroyed) {
                        Proxmox.Utils.setErrorMask(statusView, Ext.htmlEncode(response.statusText || 'error'));
                    }
                },
            });
        };

        Ext.apply(me, {
            title: Ext.htmlEncode('Task viewer: ' + task.desc + me.extraTitle),
            width: 800,
            height: 500,
            layout: 'fit',
            modal: true,
            items: [{ xtype: 'tabpanel', items: [logView, statusView] }],
        });
        me.callParent();

        // GET .../status reads JSON (the status grid's store), the log the extjs format
        me.poller = Ext.TaskManager.start({ run: loadStatus, interval: 1000 });
        me.on('destroy', () => Ext.TaskManager.stop(me.poller));
    },
});
