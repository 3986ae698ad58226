// Stand-in for pve-manager @VERSION@ pvemanagerlib.js (pve-balancer package test).
