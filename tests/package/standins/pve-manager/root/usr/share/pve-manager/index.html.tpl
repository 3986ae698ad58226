<!DOCTYPE html>
<!-- Stand-in for pve-manager's index.html.tpl (version @VERSION@), for pve-balancer's package
     test: a Template Toolkit page with the script tags in pve-manager's order and form. -->
<html>
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
    <title>[% nodename %] - Proxmox Virtual Environment</title>
    <script type="text/javascript" src="/pve2/ext6/ext-all.js?ver=7.0.0"></script>
    <script type="text/javascript" src="/proxmoxlib.js?ver=[% wtversion %]"></script>
    <script type="text/javascript" src="/pve2/js/pvemanagerlib.js?ver=[% version %]"></script>
    <script type="text/javascript" src="/pve2/ext6/locale/locale-[% lang %].js?ver=7.0.0"></script>

    <script type="text/javascript">
    Ext.onReady(function() { Ext.create('PVE.StdWorkspace');});
    </script>
  </head>
  <body>
  </body>
</html>
