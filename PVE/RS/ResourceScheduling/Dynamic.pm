package PVE::RS::ResourceScheduling::Dynamic;

# Installed by pve-balancer in place of libpve-rs-perl's file, which dpkg-divert keeps as
# Dynamic.pm.distrib (debian/pve-balancer.preinst). pve-ha-manager's dynamic CRS mode then runs on
# PVE::Balancer::HAScheduler::Dynamic, in the mode set in /etc/pve/balancer.cfg (docs/ha.md).
# Removing pve-balancer puts the original back.

use strict;
use warnings;

use PVE::Balancer::HAScheduler::Shim;

our $BACKEND;

BEGIN {
    $BACKEND = PVE::Balancer::HAScheduler::Shim::install(
        __PACKAGE__, 'PVE::Balancer::HAScheduler::Dynamic', __FILE__);
}

1;
