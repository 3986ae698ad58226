package PVE::RS::ResourceScheduling::Dynamic;

# Installed by pve-balancer in place of libpve-rs-perl's file, which dpkg-divert keeps as
# Dynamic.pm.distrib (debian/pve-balancer.preinst). Its new() returns pve-balancer's scheduler
# (PVE::Balancer::HAScheduler::Dynamic, in the mode set in /etc/pve/balancer.cfg) for the
# libpve-rs-perl and pve-ha-manager versions pve-balancer was verified with, and
# libpve-rs-perl's own one (from Dynamic.pm.distrib) otherwise; see docs/ha.md.
# Removing pve-balancer puts the original back.

use strict;
use warnings;

use PVE::Balancer::HAScheduler::Shim;

our $BACKEND;

BEGIN {
    $BACKEND = PVE::Balancer::HAScheduler::Shim::install(__PACKAGE__, 'dynamic', __FILE__);
}

1;
