// styles, here so that one <script> tag is all the page needs
Ext.util.CSS.createStyleSheet(
    `
.pve-balancer-kv { border-collapse: collapse; width: 100%; }
.pve-balancer-kv td { padding: 3px 6px 3px 0; vertical-align: top; }
.pve-balancer-kv-key { white-space: nowrap; color: #555; width: 1%; padding-right: 14px !important; }
.pve-balancer-head { margin-bottom: 6px; }
.pve-balancer-muted { color: #888; }
.pve-balancer-info .x-panel-body { line-height: 17px; }
.pve-balancer-bar { position: relative; height: 16px; border: 1px solid #b5c9dc; border-radius: 2px; background: #fff; overflow: hidden; }
.pve-balancer-bar-fill { position: absolute; top: 0; left: 0; bottom: 0; background: #7db6e6; }
.pve-balancer-bar-fill.warning { background: #fbc02d; }
.pve-balancer-bar-fill.critical { background: #e57373; }
.pve-balancer-bar-text { position: relative; text-align: center; font-size: 12px; line-height: 14px; color: #222; white-space: nowrap; }
.pve-balancer-ba .pve-balancer-bar { height: 6px; margin-bottom: 2px; }
.pve-balancer-ba .pve-balancer-bar-before .pve-balancer-bar-fill { background: #c5c5c5; }
.pve-balancer-ba .pve-balancer-bar-before .pve-balancer-bar-fill.warning,
.pve-balancer-ba .pve-balancer-bar-before .pve-balancer-bar-fill.critical { background: #e0a8a8; }
.pve-balancer-ba-text { font-size: 12px; line-height: 14px; }
.pve-balancer-tag { display: inline-block; padding: 0 4px; border-radius: 3px; background: #e4edf5; color: #24557d; font-size: 11px; line-height: 15px; }
.pve-balancer-summary { line-height: 19px; }
.pve-balancer-headline { font-size: 14px; margin-bottom: 2px; }
.pve-balancer-notes, .pve-balancer-notices { list-style: none; margin: 2px 0 0 0; padding: 0; }
.pve-balancer-notices li { padding: 2px 0; }
.pve-balancer-error { color: #b71c1c; }
.pve-balancer-apply-hint { color: #8a6d3b; }
.pve-balancer-description { color: #555; margin: 4px 0 0 85px; line-height: 17px; }
.pve-balancer-key { font-family: monospace; }
.pve-balancer-settings .x-grid-cell-inner { white-space: normal; }
.fa.pvebal-good { color: #21bf4b; }
.fa.pvebal-warning { color: #e6a700; }
.fa.pvebal-critical { color: #ff6c59; }
.fa.pvebal-muted { color: #999; }
`,
    'pve-balancer-css',
);
