package PVE::RS::ResourceScheduling::Static;

# Installed by pve-balancer in place of libpve-rs-perl's file, which dpkg-divert keeps as
# Static.pm.distrib (debian/pve-balancer.preinst). pve-ha-manager's static CRS mode then runs on
# PVE::Balancer::HAScheduler::Static, in the mode set in /etc/pve/balancer.cfg (docs/ha.md).
# Removing pve-balancer puts the original back.

use strict;
use warnings;

use PVE::Balancer::HAScheduler::Shim;

our $BACKEND;

BEGIN {
    $BACKEND = PVE::Balancer::HAScheduler::Shim::install(
        __PACKAGE__, 'PVE::Balancer::HAScheduler::Static', __FILE__);
}

1;
