package PVE::RS::ResourceScheduling::Static;
# Stand-in for libpve-rs-perl @VERSION@ (pve-balancer package test): the shape of perlmod's
# generated package files, a base class that binds the Rust code at load time.
use base 'Proxmox::Lib::PVE';
BEGIN { __PACKAGE__->bootstrap(); }
1;
