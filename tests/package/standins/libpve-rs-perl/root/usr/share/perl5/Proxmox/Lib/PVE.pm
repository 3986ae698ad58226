package Proxmox::Lib::PVE;
# Stand-in for libpve-rs-perl @VERSION@ (pve-balancer package test): the base class perlmod
# generates for the package files; the real one binds libpve_rs.so. Like the real package,
# the stand-in owns files that pve-balancer does not divert (dpkg counts a package whose every
# file is diverted away as having disappeared).
use strict;
use warnings;
sub bootstrap { die "stand-in for libpve-rs-perl: no Rust code here\n"; }
1;
